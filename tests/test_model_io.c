/*
 * Model files: round trips, files written by the scikit-learn converter,
 * and every way a file can be damaged.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gmmprior.h"
#include "testutil.h"

static gmmp_model *blobs_final(void)
{
    double *w = tu_load_f64("fixtures/em_blobs/final_weights.f64", 4);
    double *mu = tu_load_f64("fixtures/em_blobs/final_means.f64", 4 * 16);
    double *cov = tu_load_f64("fixtures/em_blobs/final_covariances.f64", 4 * 16 * 16);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, 4, 16, w, mu, cov));
    free(w), free(mu), free(cov);
    return m;
}

/* Parameters equal to the last bit. */
static void assert_same_model(const gmmp_model *a, const gmmp_model *b)
{
    size_t K = gmmp_model_components(a), d = gmmp_model_dim(a);
    ck_assert_uint_eq(gmmp_model_components(b), K);
    ck_assert_uint_eq(gmmp_model_dim(b), d);
    size_t n = K + K * d + K * d * d;
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    ck_assert_ok(gmmp_model_get(a, pa, pa + K, pa + K + K * d));
    ck_assert_ok(gmmp_model_get(b, pb, pb + K, pb + K + K * d));
    ck_assert_mem_eq(pa, pb, n * sizeof *pa);
    free(pa);
    free(pb);
}

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

START_TEST(round_trips_are_exact)
{
    gmmp_model *m = blobs_final(), *back;
    size_t size = gmmp_model_serialized_size(m);
    /* Version 2 adds the patch description to version 1's 8772 bytes. */
    ck_assert_uint_gt(size, 32 + 8 * (4 + 4 * 16 + 4 * 256) + 4);
    unsigned char *buf = malloc(size);
    ck_assert_ok(gmmp_model_serialize(m, buf, size));
    ck_assert_ok(gmmp_model_deserialize(&back, buf, size));
    assert_same_model(m, back);
    gmmp_model_destroy(back);
    const char *path = tmp_path("m.gmmp");
    ck_assert_ok(gmmp_model_save(m, path));
    ck_assert_ok(gmmp_model_load(&back, path));
    assert_same_model(m, back);
    /* The file is exactly the serialized form, with the documented header. */
    FILE *f = fopen(path, "rb");
    unsigned char *file = malloc(size + 1);
    ck_assert_uint_eq(fread(file, 1, size + 1, f), size);
    fclose(f);
    ck_assert_mem_eq(file, buf, size);
    const unsigned char head[] = {0x89, 'G', 'M', 'P', '\r', '\n', 0x1A, '\n', 2, 0, 0, 0,
                                  0,    0,   0,   0,   4,    0,    0,    0,    0, 0, 0, 0,
                                  16,   0,   0,   0,   0,    0,    0,    0};
    ck_assert_mem_eq(file, head, sizeof head);
    ck_assert_int_eq(access(tmp_path("m.gmmp.tmp"), F_OK), -1); /* no leftover */
    gmmp_model_destroy(back);
    gmmp_model_destroy(m);
    free(buf);
    free(file);
}
END_TEST

START_TEST(reads_files_from_the_scikit_learn_converter)
{
    /* examples/sklearn_to_gmmp.py on a GaussianMixture fitted to the
     * em_blobs data from its initial model: equal to scikit-learn's own
     * final parameters in the fixture. */
    gmmp_model *want = blobs_final(), *got;
    ck_assert_ok(gmmp_model_load(&got, tu_path("fixtures/sklearn_blobs.gmmp")));
    double a[4 + 64 + 1024], b[4 + 64 + 1024];
    ck_assert_ok(gmmp_model_get(got, a, a + 4, a + 68));
    ck_assert_ok(gmmp_model_get(want, b, b + 4, b + 68));
    ck_assert_double_le(tu_rel_diff(a, b, 4 + 64 + 1024), 1e-12);
    gmmp_model_destroy(got);
    gmmp_model_destroy(want);
    /* A 'diag' mixture, expanded to full covariances by the converter. */
    ck_assert_ok(gmmp_model_load(&got, tu_path("fixtures/sklearn_blobs_diag.gmmp")));
    ck_assert_uint_eq(gmmp_model_components(got), 3);
    double *ref = tu_load_f64("fixtures/sklearn_blobs_diag_params.f64", 3 + 48 + 48);
    double w[3], mu[48], cov[3 * 256];
    ck_assert_ok(gmmp_model_get(got, w, mu, cov));
    ck_assert_mem_eq(w, ref, sizeof w);
    ck_assert_mem_eq(mu, ref + 3, sizeof mu);
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < 16; i++)
            for (size_t j = 0; j < 16; j++)
                ck_assert_double_eq(cov[k * 256 + i * 16 + j], i == j ? ref[51 + k * 16 + i] : 0.0);
    free(ref);
    gmmp_model_destroy(got);
}
END_TEST

/* A version-1 file of a model, byte by byte as docs/model-format.md's
 * version-1 layout says, independently of the library's writer. */
static unsigned char *v1_bytes(const gmmp_model *m, size_t *size_out)
{
    size_t K = gmmp_model_components(m), d = gmmp_model_dim(m);
    size_t count = K + K * d + K * d * d, size = 36 + 8 * count;
    unsigned char *buf = calloc(size, 1);
    double *par = malloc(count * sizeof *par);
    ck_assert_ok(gmmp_model_get(m, par, par + K, par + K + K * d));
    const unsigned char magic[8] = {0x89, 'G', 'M', 'P', '\r', '\n', 0x1A, '\n'};
    memcpy(buf, magic, 8);
    buf[8] = 1; /* version 1, flags 0 */
    for (int i = 0; i < 8; i++) {
        buf[16 + i] = (unsigned char)((uint64_t)K >> (8 * i));
        buf[24 + i] = (unsigned char)((uint64_t)d >> (8 * i));
    }
    for (size_t j = 0; j < count; j++) {
        uint64_t bits;
        memcpy(&bits, &par[j], 8);
        for (int i = 0; i < 8; i++)
            buf[32 + 8 * j + i] = (unsigned char)(bits >> (8 * i));
    }
    tu_model_fix_crc(buf, size);
    free(par);
    *size_out = size;
    return buf;
}

START_TEST(damaged_data_is_refused)
{
    gmmp_model *m = blobs_final(), *out = NULL;
    size_t size = gmmp_model_serialized_size(m);
    unsigned char *good = malloc(size + 16), *buf = malloc(size + 16);
    ck_assert_ok(gmmp_model_serialize(m, good, size));
    /* Every truncation. */
    for (size_t len = 0; len < size; len++)
        ck_assert_fails(gmmp_model_deserialize(&out, good, len), GMMP_EFORMAT);
    /* Trailing bytes. */
    memcpy(buf, good, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size + 1), GMMP_EFORMAT);
    /* Every single-byte corruption is caught: by the magic, the version,
     * the flags, the sizes or the checksum. */
    for (size_t i = 0; i < size; i++) {
        memcpy(buf, good, size);
        buf[i] ^= 0x40;
        int rc = gmmp_model_deserialize(&out, buf, size);
        ck_assert_msg(rc == GMMP_EFORMAT || (rc == GMMP_EVERSION && i >= 8 && i < 12),
                      "byte %zu flipped: %d (%s)", i, rc, gmmp_last_error());
    }
    /* A newer version, with a valid checksum. */
    memcpy(buf, good, size);
    buf[8] = GMMP_MODEL_FORMAT_VERSION + 1;
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EVERSION);
    char want[32];
    snprintf(want, sizeof want, "version %d", GMMP_MODEL_FORMAT_VERSION + 1);
    ck_assert_msg(strstr(gmmp_last_error(), want) != NULL, "%s", gmmp_last_error());
    /* Absurd sizes are refused before any allocation. */
    memcpy(buf, good, size);
    for (int i = 16; i < 24; i++)
        buf[i] = 0xFF;
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EFORMAT);
    memcpy(buf, good, size);
    buf[16] = 0;
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EFORMAT); /* K = 0 */
    memcpy(buf, good, size);
    buf[16] = 5; /* K = 5: the sizes disagree with the data */
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EFORMAT);
    /* Intact but invalid: a NaN weight, an indefinite covariance, in a
     * version-1 file, whose layout docs/model-format.md gives. */
    free(good);
    free(buf);
    good = v1_bytes(m, &size);
    buf = malloc(size + 16);
    ck_assert_ok(gmmp_model_deserialize(&out, good, size));
    gmmp_model_destroy(out);
    out = NULL;
    for (size_t i = 0; i < size; i++) { /* and every flipped byte of it */
        memcpy(buf, good, size);
        buf[i] ^= 0x40;
        int rc = gmmp_model_deserialize(&out, buf, size);
        ck_assert_msg(rc == GMMP_EFORMAT || (rc == GMMP_EVERSION && i >= 8 && i < 12),
                      "version 1, byte %zu flipped: %d (%s)", i, rc, gmmp_last_error());
    }
    memcpy(buf, good, size);
    memset(buf + 32, 0xFF, 8); /* weight 0 = NaN */
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_ENONFINITE);
    memcpy(buf, good, size);
    size_t cov0 = 32 + 8 * (4 + 64);
    double minus = -5.0;
    memcpy(buf + cov0, &minus, 8); /* little-endian host, as the fixtures */
    tu_model_fix_crc(buf, size);
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_ENOTSPD);
    ck_assert_msg(strstr(gmmp_last_error(), "component 0") != NULL, "%s", gmmp_last_error());
    ck_assert_ptr_null(out);
    ck_assert_fails(gmmp_model_deserialize(NULL, good, size), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_deserialize(&out, NULL, size), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_serialize(m, buf, size - 1), GMMP_EDIM);
    ck_assert_fails(gmmp_model_serialize(NULL, buf, size), GMMP_EINVAL);
    ck_assert_uint_eq(gmmp_model_serialized_size(NULL), 0);
    free(good);
    free(buf);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(version_1_files_still_load)
{
    /* Built here from the documented version-1 layout. */
    gmmp_model *m = blobs_final(), *back = NULL;
    size_t size;
    unsigned char *v1 = v1_bytes(m, &size);
    ck_assert_uint_eq(size, 32 + 8 * (4 + 4 * 16 + 4 * 256) + 4);
    ck_assert_ok(gmmp_model_deserialize(&back, v1, size));
    assert_same_model(m, back);
    size_t ph = 77, pw = 77, ch = 77;
    int rm = 77;
    ck_assert_fails(gmmp_model_patch(back, &ph, &pw, &ch, &rm), GMMP_EDIM);
    ck_assert_uint_eq(ph, 77); /* outputs untouched */
    ck_assert_uint_eq(pw, 77);
    ck_assert_uint_eq(ch, 77);
    ck_assert_int_eq(rm, 77);
    ck_assert_str_eq(gmmp_model_description(back), "");
    /* Written back, it is version 2 (version 3 only adds eigenpairs,
     * which it has none of: test_model_spectra.c). */
    size_t n2 = gmmp_model_serialized_size(back);
    unsigned char *v2 = malloc(n2);
    ck_assert_ok(gmmp_model_serialize(back, v2, n2));
    ck_assert_uint_eq(v2[8], 2);
    gmmp_model_destroy(back);
    free(v2);
    free(v1);
    gmmp_model_destroy(m);
    /* The shipped model, re-saved as version 2 with its description. */
    ck_assert_ok(gmmp_model_load(&back, tu_path("../data/models/natural-8x8-k50.gmmp")));
    ck_assert_uint_eq(gmmp_model_components(back), 50);
    ck_assert_uint_eq(gmmp_model_dim(back), 64);
    size_t sph, spw, sch;
    int srm;
    ck_assert_ok(gmmp_model_patch(back, &sph, &spw, &sch, &srm));
    ck_assert(sph == 8 && spw == 8 && sch == 1 && srm == 1);
    ck_assert(strlen(gmmp_model_description(back)) > 0);
    gmmp_model_destroy(back);
}
END_TEST

START_TEST(patch_description_set_get_and_round_trip)
{
    gmmp_model *m = blobs_final(), *back = NULL; /* d = 16 */
    ck_assert_fails(gmmp_model_patch(m, NULL, NULL, NULL, NULL), GMMP_EDIM);
    ck_assert_str_eq(gmmp_model_description(m), "");
    ck_assert_str_eq(gmmp_model_description(NULL), "");
    /* Bad values change nothing. */
    ck_assert_fails(gmmp_model_set_patch(m, 3, 3, 1, 0), GMMP_EDIM);
    ck_assert_fails(gmmp_model_set_patch(m, 4, 4, 2, 0), GMMP_EDIM);
    ck_assert_fails(gmmp_model_set_patch(m, 4, 4, 1, 2), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_set_patch(m, 0, 4, 1, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_set_patch(m, 4, 4, 0, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_set_patch(NULL, 4, 4, 1, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_patch(NULL, NULL, NULL, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_patch(m, NULL, NULL, NULL, NULL), GMMP_EDIM);
    /* 2 x 4 pixels of 2 channels, means kept; then 4 x 4 grey, removed. */
    size_t ph, pw, ch;
    int rm;
    ck_assert_ok(gmmp_model_set_patch(m, 2, 4, 2, 0));
    ck_assert_ok(gmmp_model_patch(m, &ph, &pw, &ch, &rm));
    ck_assert_uint_eq(ph, 2);
        ck_assert_uint_eq(pw, 4);
        ck_assert_uint_eq(ch, 2);
    ck_assert_int_eq(rm, 0);
    ck_assert_ok(gmmp_model_set_patch(m, 4, 4, 1, 1));
    ck_assert_fails(gmmp_model_set_patch(m, 2, 2, 4, 2), GMMP_EINVAL); /* kept 4x4x1, 1 */
    ck_assert_ok(gmmp_model_patch(m, &ph, NULL, NULL, &rm));
    ck_assert_uint_eq(ph, 4);
    ck_assert_int_eq(rm, 1);
    /* Description: up to the limit; one byte more is refused. */
    char *text = malloc(GMMP_MODEL_DESCRIPTION_MAX + 2);
    memset(text, 'x', GMMP_MODEL_DESCRIPTION_MAX + 1);
    text[GMMP_MODEL_DESCRIPTION_MAX + 1] = '\0';
    ck_assert_ok(gmmp_model_set_description(m, "short"));
    ck_assert_fails(gmmp_model_set_description(m, text), GMMP_EINVAL);
    ck_assert_str_eq(gmmp_model_description(m), "short");
    text[GMMP_MODEL_DESCRIPTION_MAX] = '\0';
    ck_assert_ok(gmmp_model_set_description(m, text));
    ck_assert_str_eq(gmmp_model_description(m), text);
    ck_assert_ok(gmmp_model_set_description(m, NULL));
    ck_assert_str_eq(gmmp_model_description(m), "");
    ck_assert_fails(gmmp_model_set_description(NULL, "x"), GMMP_EINVAL);
    /* Round trips keep it all: memory and file, long and UTF-8 text. */
    const char *descs[] = {"MNIST digits, 16x16, gmmp-train -k 11 \xc3\xa9t\xc3\xa9", text, ""};
    for (int i = 0; i < 3; i++) {
        ck_assert_ok(gmmp_model_set_description(m, descs[i]));
        size_t size = gmmp_model_serialized_size(m);
        unsigned char *buf = malloc(size);
        ck_assert_ok(gmmp_model_serialize(m, buf, size));
        ck_assert_uint_eq(buf[8], 2);
        ck_assert_ok(gmmp_model_deserialize(&back, buf, size));
        assert_same_model(m, back);
        ck_assert_ok(gmmp_model_patch(back, &ph, &pw, &ch, &rm));
        ck_assert_uint_eq(ph, 4);
        ck_assert_uint_eq(pw, 4);
        ck_assert_uint_eq(ch, 1);
        ck_assert_int_eq(rm, 1);
        ck_assert_str_eq(gmmp_model_description(back), descs[i]);
        gmmp_model_destroy(back);
        const char *path = tmp_path("described.gmmp");
        ck_assert_ok(gmmp_model_save(m, path));
        ck_assert_ok(gmmp_model_load(&back, path));
        ck_assert_ok(gmmp_model_patch(back, &ph, &pw, &ch, &rm));
        ck_assert_uint_eq(ph * pw * ch, 16);
        ck_assert_int_eq(rm, 1);
        ck_assert_str_eq(gmmp_model_description(back), descs[i]);
        gmmp_model_destroy(back);
        /* Every truncation and every flipped byte of a version-2 file. */
        for (size_t len = 0; len < size; len += 1 + len / 64)
            ck_assert_fails(gmmp_model_deserialize(&back, buf, len), GMMP_EFORMAT);
        for (size_t b = 0; b < size && i == 0; b++) {
            buf[b] ^= 0x40;
            int rc = gmmp_model_deserialize(&back, buf, size);
            ck_assert_msg(rc == GMMP_EFORMAT || (rc == GMMP_EVERSION && b >= 8 && b < 12),
                          "version 2, byte %zu flipped: %d (%s)", b, rc, gmmp_last_error());
            buf[b] ^= 0x40;
        }
        free(buf);
    }
    /* A model without patch description also round-trips without one. */
    gmmp_model *plain = blobs_final();
    size_t size = gmmp_model_serialized_size(plain);
    unsigned char *buf = malloc(size);
    ck_assert_ok(gmmp_model_serialize(plain, buf, size));
    ck_assert_ok(gmmp_model_deserialize(&back, buf, size));
    ck_assert_fails(gmmp_model_patch(back, NULL, NULL, NULL, NULL), GMMP_EDIM);
    gmmp_model_destroy(back);
    gmmp_model_destroy(plain);
    free(buf);
    free(text);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(file_errors_are_reported)
{
    gmmp_model *m = blobs_final(), *out = NULL;
    ck_assert_fails(gmmp_model_load(&out, tmp_path("does-not-exist.gmmp")), GMMP_EIO);
    ck_assert_msg(strstr(gmmp_last_error(), "does-not-exist") != NULL, "%s", gmmp_last_error());
    ck_assert_fails(gmmp_model_save(m, tmp_path("no/such/dir/m.gmmp")), GMMP_EIO);
    ck_assert_fails(gmmp_model_load(&out, tmpdir), GMMP_EIO); /* a directory */
    /* A truncated file names itself. */
    const char *path = tmp_path("short.gmmp");
    ck_assert_ok(gmmp_model_save(m, path));
    ck_assert_int_eq(truncate(path, 100), 0);
    ck_assert_fails(gmmp_model_load(&out, path), GMMP_EFORMAT);
    ck_assert_msg(strstr(gmmp_last_error(), "short.gmmp") != NULL &&
                      strstr(gmmp_last_error(), "truncated") != NULL,
                  "%s", gmmp_last_error());
    FILE *f = fopen(path, "wb");
    fputs("hello, not a model\n", f);
    fclose(f);
    ck_assert_fails(gmmp_model_load(&out, path), GMMP_EFORMAT);
    ck_assert_fails(gmmp_model_load(&out, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_load(NULL, path), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_save(NULL, path), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_save(m, NULL), GMMP_EINVAL);
    /* gmmp_model_load_with, on one thread (NULL options) and on two
     * (tmp_path's buffer is reused: the file's path kept apart). */
    char not_a_model[600];
    snprintf(not_a_model, sizeof not_a_model, "%s", path);
    gmmp_options *two;
    ck_assert_ok(gmmp_options_create(&two));
    ck_assert_ok(gmmp_options_set_int(two, GMMP_OPT_THREADS, 2));
    for (int t = 0; t < 2; t++) {
        const gmmp_options *o = t ? two : NULL;
        ck_assert_fails(gmmp_model_load_with(&out, NULL, o), GMMP_EINVAL);
        ck_assert_fails(gmmp_model_load_with(NULL, not_a_model, o), GMMP_EINVAL);
        ck_assert_fails(gmmp_model_load_with(&out, tmp_path("does-not-exist.gmmp"), o),
                        GMMP_EIO);
        ck_assert_fails(gmmp_model_load_with(&out, tmpdir, o), GMMP_EIO);
        ck_assert_fails(gmmp_model_load_with(&out, not_a_model, o), GMMP_EFORMAT);
    }
    gmmp_options_destroy(two);
    ck_assert_ptr_null(out);
    gmmp_model_destroy(m);
}
END_TEST

/* Number of entries in the temporary directory (leftover temporaries). */
static int entries_in_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

/* Issue 16, items 5, 6 and 9: the save replaces only what it should. */
START_TEST(save_is_atomic_and_safe)
{
    gmmp_model *m = blobs_final(), *back = NULL;
    char path[512], victim[512], link[600];
    const int at_start = entries_in_tmpdir();
    /* A symlink at the old fixed temporary name is never followed. */
    snprintf(victim, sizeof victim, "%s", tmp_path("victim.txt"));
    FILE *f = fopen(victim, "w");
    fputs("precious\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s", tmp_path("out.gmmp"));
    snprintf(link, sizeof link, "%s.tmp", path);
    ck_assert_int_eq(symlink(victim, link), 0);
    ck_assert_ok(gmmp_model_save(m, path));
    size_t len;
    char *text = slurp(victim, &len);
    ck_assert_str_eq(text, "precious\n");
    free(text);
    ck_assert_int_eq(unlink(link), 0);
    /* A mode-600 file stays 600. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_ok(gmmp_model_save(m, path));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    /* A symlink is written through: the link stays, its target changes. */
    snprintf(link, sizeof link, "%s", tmp_path("link.gmmp"));
    ck_assert_int_eq(symlink(victim, link), 0);
    ck_assert_ok(gmmp_model_save(m, link));
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_ok(gmmp_model_load(&back, victim));
    gmmp_model_destroy(back);
    back = NULL;
    /* Non-regular targets are refused, and left as they were. */
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s", tmp_path("fifo"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_fails(gmmp_model_save(m, fifo), GMMP_EIO);
    ck_assert_msg(strstr(gmmp_last_error(), "FIFO") != NULL, "%s", gmmp_last_error());
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_fails(gmmp_model_save(m, tmpdir), GMMP_EIO);
    ck_assert_msg(strstr(gmmp_last_error(), "directory") != NULL, "%s", gmmp_last_error());
    /* A FIFO as a model to load is refused at once instead of blocking. */
    ck_assert_fails(gmmp_model_load(&back, fifo), GMMP_EIO);
    ck_assert_msg(strstr(gmmp_last_error(), "FIFO") != NULL, "%s", gmmp_last_error());
    /* Names of 252 to 255 bytes (the old ".tmp" suffix made them fail). */
    for (int n = 252; n <= 255; n++) {
        char name[256];
        memset(name, 'n', (size_t)n);
        name[n] = '\0';
        ck_assert_ok(gmmp_model_save(m, tmp_path(name)));
        ck_assert_ok(gmmp_model_load(&back, tmp_path(name)));
        gmmp_model_destroy(back);
        back = NULL;
        ck_assert_int_eq(unlink(tmp_path(name)), 0);
    }
    /* A failed save (no such directory) leaves nothing behind. */
    int before = entries_in_tmpdir();
    ck_assert_fails(gmmp_model_save(m, tmp_path("no/such/dir/m.gmmp")), GMMP_EIO);
    ck_assert_msg(strstr(gmmp_last_error(), "No such file") != NULL, "%s", gmmp_last_error());
    ck_assert_int_eq(entries_in_tmpdir(), before);
    /* Every save above left only its targets: no temporaries. */
    ck_assert_int_eq(entries_in_tmpdir(), at_start + 4); /* victim.txt, out.gmmp, link.gmmp, fifo */
    unlink(fifo);
    unlink(link);
    unlink(victim);
    unlink(path);
    gmmp_model_destroy(m);
}
END_TEST

/* Issue 16, item 12: impossible sizes are refused from the header alone,
 * before a multi-gigabyte file is read (a sparse file: no disk used). */
START_TEST(impossible_sizes_are_refused_before_reading)
{
    const char *path = tmp_path("huge.gmmp");
    unsigned char head[32] = {0x89, 'G', 'M', 'P', '\r', '\n', 0x1A, '\n', 1};
    const struct { uint64_t K, d; const char *why; } cases[] = {
        {0, 16, "impossible sizes"},
        {UINT64_C(1) << 40, UINT64_C(1) << 40, "impossible sizes"},
        {2, 2, "need"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int b = 0; b < 8; b++) {
            head[16 + b] = (unsigned char)(cases[i].K >> (8 * b));
            head[24 + b] = (unsigned char)(cases[i].d >> (8 * b));
        }
        FILE *f = fopen(path, "wb");
        ck_assert_uint_eq(fwrite(head, 1, sizeof head, f), sizeof head);
        fclose(f);
        ck_assert_int_eq(truncate(path, (off_t)3 << 30), 0); /* 3 GiB, sparse */
        tu_count_allocations();
        gmmp_model *out = NULL;
        int rc = gmmp_model_load(&out, path);
        size_t largest = tu_largest_allocation();
        ck_assert_int_eq(rc, GMMP_EFORMAT);
        ck_assert_msg(strstr(gmmp_last_error(), cases[i].why) != NULL &&
                          strstr(gmmp_last_error(), "huge.gmmp") != NULL,
                      "%s", gmmp_last_error());
        ck_assert_msg(largest < (1u << 20), "allocated %zu bytes", largest);
        unlink(path);
    }
}
END_TEST

/* Writes `size` bytes to the file `name` in tmpdir; its path. */
static const char *write_tmp(const char *name, const unsigned char *buf, size_t size)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* gmmp_model_load_with on several threads gives what gmmp_model_load
 * gives for the file: the same model (its serialized bytes and its
 * scores), or the same error and message. */
static void assert_loads_alike(const char *path, const char *what)
{
    gmmp_model *one = NULL;
    int rc = gmmp_model_load(&one, path);
    char message[600];
    snprintf(message, sizeof message, "%s", gmmp_last_error());
    for (int threads = 2; threads <= 5; threads += 3) {
        gmmp_options *o;
        ck_assert_ok(gmmp_options_create(&o));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, threads));
        gmmp_model *many = NULL;
        int got = gmmp_model_load_with(&many, path, o);
        gmmp_options_destroy(o);
        ck_assert_msg(got == rc, "%s, %d threads: %d against %d (%s)", what, threads, got, rc,
                      gmmp_last_error());
        if (rc) {
            ck_assert_msg(strcmp(gmmp_last_error(), message) == 0, "%s, %d threads: %s against %s",
                          what, threads, gmmp_last_error(), message);
            ck_assert_ptr_null(many);
            continue;
        }
        size_t size = gmmp_model_serialized_size(one);
        ck_assert_uint_eq(gmmp_model_serialized_size(many), size);
        unsigned char *a = malloc(size), *b = malloc(size);
        ck_assert_ok(gmmp_model_serialize(one, a, size));
        ck_assert_ok(gmmp_model_serialize(many, b, size));
        ck_assert_mem_eq(a, b, size);
        /* The normalising constants, through the scores of the means. */
        size_t K = gmmp_model_components(one), d = gmmp_model_dim(one);
        double *mu = malloc(K * d * sizeof *mu), *la = malloc(K * sizeof *la),
               *lb = malloc(K * sizeof *lb);
        ck_assert_ok(gmmp_model_get(one, NULL, mu, NULL));
        ck_assert_ok(gmmp_model_score_samples(one, mu, K, la, NULL));
        ck_assert_ok(gmmp_model_score_samples(many, mu, K, lb, NULL));
        ck_assert_mem_eq(la, lb, K * sizeof *la);
        free(a), free(b), free(mu), free(la), free(lb);
        gmmp_model_destroy(many);
    }
    gmmp_model_destroy(one);
}

START_TEST(loading_on_threads_is_loading)
{
    /* A file with everything: patch, description and eigenpairs. */
    gmmp_model *m = blobs_final();
    ck_assert_ok(gmmp_model_set_patch(m, 4, 4, 1, 1));
    ck_assert_ok(gmmp_model_set_description(m, "blobs"));
    ck_assert_ok(gmmp_model_set_spectra(m, 3));
    const size_t K = 4, d = 16, r = 3, size = gmmp_model_serialized_size(m);
    unsigned char *good = malloc(size), *buf = malloc(size);
    ck_assert_ok(gmmp_model_serialize(m, good, size));
    assert_loads_alike(write_tmp("good.gmmp", good, size), "intact");
    /* Flipped bytes throughout (the checksum fails, or the header). */
    for (size_t i = 0; i < size; i += 37) {
        memcpy(buf, good, size);
        buf[i] ^= 0x10;
        char what[64];
        snprintf(what, sizeof what, "byte %zu flipped", i);
        assert_loads_alike(write_tmp("flipped.gmmp", buf, size), what);
    }
    /* Intact but invalid, with the checksum made right: every kind of
     * component failure, in one component and in two (the message names
     * the first). Little-endian host, as the fixtures. */
    const size_t params = 32 + 24 + 8, means = params + 8 * K, covs = means + 8 * K * d;
    const size_t lambdas = covs + 8 * K * d * d + 8, vectors = lambdas + 8 * K * r;
    const struct {
        size_t at;
        double value;
        const char *what;
    } bad[] = {{params + 8, -0.25, "negative weight"},
               {params, NAN, "NaN weight"},
               {means + 8 * (2 * d + 5), INFINITY, "infinite mean"},
               {covs + 8 * (1 * d * d + 3 * d + 7), 1e6, "asymmetric covariance"},
               {covs + 8 * (2 * d * d + 5 * d + 5), -1.0, "indefinite covariance"},
               {covs + 8 * (3 * d * d), -2.0, "indefinite covariance, after another"},
               {lambdas + 8 * (1 * r + 2), 1e9, "wrong eigenvalue"},
               {vectors + 8 * (2 * r * d + 4), 0.5, "wrong eigenvector"}};
    ck_assert_uint_eq(size, vectors + 8 * K * r * d + 4);
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        if (!strstr(bad[c].what, "after another"))
            memcpy(buf, good, size);
        memcpy(buf + bad[c].at, &bad[c].value, 8);
        tu_model_fix_crc(buf, size);
        assert_loads_alike(write_tmp("bad.gmmp", buf, size), bad[c].what);
        gmmp_model *out = NULL;
        ck_assert_int_ne(gmmp_model_deserialize(&out, buf, size), GMMP_OK);
    }
    free(good);
    free(buf);
    gmmp_model_destroy(m);
    /* A file of more than 2 MB, which two threads read in two parts. */
    enum { BK = 70, BD = 64 };
    double *w = malloc(BK * sizeof *w), *mu = malloc(BK * BD * sizeof *mu);
    double *cov = malloc((size_t)BK * BD * BD * sizeof *cov);
    tu_rng rng = {70};
    tu_fill_uniform(&rng, mu, BK * BD, -100, 100);
    for (size_t k = 0; k < BK; k++) {
        w[k] = 1.0 / BK;
        tu_random_spd(&rng, cov + k * BD * BD, BD, 1.0, 500.0);
    }
    ck_assert_ok(gmmp_model_create(&m, BK, BD, w, mu, cov));
    const char *path = tmp_path("big.gmmp");
    ck_assert_ok(gmmp_model_save(m, path));
    ck_assert_uint_gt(gmmp_model_serialized_size(m), 2u << 20);
    assert_loads_alike(path, "a file of 2.3 MB");
    free(w), free(mu), free(cov);
    gmmp_model_destroy(m);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gmmp-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    Suite *s = suite_create("model_io");
    TCase *tc = tu_tcase("core");
    tcase_add_test(tc, round_trips_are_exact);
    tcase_add_test(tc, reads_files_from_the_scikit_learn_converter);
    tcase_add_test(tc, damaged_data_is_refused);
    tcase_add_test(tc, version_1_files_still_load);
    tcase_add_test(tc, patch_description_set_get_and_round_trip);
    tcase_add_test(tc, file_errors_are_reported);
    tcase_add_test(tc, save_is_atomic_and_safe);
    tcase_add_test(tc, impossible_sizes_are_refused_before_reading);
    tcase_add_test(tc, loading_on_threads_is_loading);
    suite_add_tcase(s, tc);
    int rc = tu_run(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
