/*
 * Model files that carry their leading eigenpairs (format 3,
 * gmmp_model_set_spectra): the stored pairs against closed forms, plans
 * from them against plans that decompose, and every way the section can
 * be wrong.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmmprior.h"
#include "testutil.h"

enum { K = 2, D = 20, R = 16 };

/* Eigenvalues of component 1, and its eigenvectors: the columns of the
 * Householder reflection Q = I - 2 v v^T / (v^T v), which is symmetric
 * and orthogonal, so Sigma_1 = Q diag(lambda) Q has them in closed form.
 * Component 0 is diag(1, 2, ..., D): eigenvectors the unit vectors. */
static double lambda1(size_t j)
{
    return 3.0 + 7.0 * (double)((j * 7) % D); /* distinct, in no order */
}

static void householder(double *q)
{
    double v[D], vv = 0.0;
    for (size_t i = 0; i < D; i++) {
        v[i] = 1.0 + 0.3 * (double)i - 0.01 * (double)(i * i);
        vv += v[i] * v[i];
    }
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++)
            q[i * D + j] = (i == j) - 2.0 * v[i] * v[j] / vv;
}

static gmmp_model *closed_form_model(void)
{
    double w[K] = {0.25, 0.75}, mu[K * D], cov[K * D * D] = {0}, q[D * D];
    for (size_t i = 0; i < K * D; i++)
        mu[i] = sin((double)i);
    householder(q);
    for (size_t i = 0; i < D; i++) {
        cov[i * D + i] = (double)(i + 1);
        for (size_t j = 0; j < D; j++) {
            double s = 0.0;
            for (size_t a = 0; a < D; a++)
                s += q[i * D + a] * lambda1(a) * q[a * D + j];
            cov[D * D + i * D + j] = s;
        }
    }
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    ck_assert_ok(gmmp_model_set_patch(m, 4, 5, 1, 0));
    return m;
}

static unsigned char *serialized(const gmmp_model *m, size_t *size)
{
    *size = gmmp_model_serialized_size(m);
    unsigned char *buf = malloc(*size);
    ck_assert_ok(gmmp_model_serialize(m, buf, *size));
    return buf;
}

static double get_f64(const unsigned char *p)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)p[i] << (8 * i);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static void put_f64(unsigned char *p, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(bits >> (8 * i));
}

/* Where the eigenpair section starts: after the version 2 layout's
 * parameters (the description "" takes no bytes). */
static size_t section_offset(void)
{
    return 56 + 8 * K * (1 + D + D * D);
}

START_TEST(stored_eigenpairs_are_the_closed_forms)
{
    gmmp_model *m = closed_form_model();
    ck_assert_uint_eq(gmmp_model_spectra(m), 0);
    size_t plain_size;
    unsigned char *plain = serialized(m, &plain_size);
    ck_assert_uint_eq(plain[8], 2); /* nothing to carry: version 2, as before */
    ck_assert_uint_eq(plain_size, section_offset() + 4);

    ck_assert_ok(gmmp_model_set_spectra(m, R));
    ck_assert_uint_eq(gmmp_model_spectra(m), R);
    size_t size;
    unsigned char *buf = serialized(m, &size);
    ck_assert_uint_eq(size, plain_size + 8 + 8 * K * R * (D + 1));
    ck_assert_uint_eq(buf[8], 3);
    ck_assert_uint_eq(buf[12], 1); /* flag: eigenpairs follow the parameters */
    /* The parameters are byte for byte those of version 2. */
    ck_assert_mem_eq(buf + 16, plain + 16, section_offset() - 16);
    const unsigned char *s = buf + section_offset();
    ck_assert_uint_eq(s[0] | s[1] << 8 | s[2] << 16 | (uint32_t)s[3] << 24, R);
    for (int i = 4; i < 8; i++)
        ck_assert_uint_eq(s[i], 0);
    double q[D * D], sorted[D];
    householder(q);
    for (size_t j = 0; j < D; j++)
        sorted[j] = lambda1(j);
    for (size_t a = 0; a < D; a++) /* ascending */
        for (size_t b = a + 1; b < D; b++)
            if (sorted[b] < sorted[a]) {
                double t = sorted[a];
                sorted[a] = sorted[b];
                sorted[b] = t;
            }
    const unsigned char *lam = s + 8, *vec = lam + 8 * K * R;
    for (size_t a = 0; a < R; a++) {
        /* Component 0: the R largest of 1..D, ascending, and +-e_j. */
        double l0 = get_f64(lam + 8 * a), want0 = (double)(D - R + 1 + a);
        ck_assert_double_eq_tol(l0, want0, 1e-12 * D);
        for (size_t i = 0; i < D; i++)
            ck_assert_double_eq_tol(fabs(get_f64(vec + 8 * (a * D + i))),
                                    i == (size_t)want0 - 1 ? 1.0 : 0.0, 1e-12);
        /* Component 1: the R largest lambda1, and +-the matching column of Q. */
        double l1 = get_f64(lam + 8 * (R + a)), want1 = sorted[D - R + a];
        ck_assert_double_eq_tol(l1, want1, 1e-12 * want1);
        size_t col = 0;
        while (lambda1(col) != want1)
            col++;
        double dot = 0.0;
        for (size_t i = 0; i < D; i++)
            dot += get_f64(vec + 8 * ((R * D) + a * D + i)) * q[i * D + col];
        ck_assert_double_eq_tol(fabs(dot), 1.0, 1e-12);
    }

    /* Read back: the same model, the same eigenpairs, the same bytes. */
    gmmp_model *back;
    ck_assert_ok(gmmp_model_deserialize(&back, buf, size));
    ck_assert_uint_eq(gmmp_model_spectra(back), R);
    size_t again_size;
    unsigned char *again = serialized(back, &again_size);
    ck_assert_uint_eq(again_size, size);
    ck_assert_mem_eq(again, buf, size);
    /* Dropped, the file is version 2's again. */
    ck_assert_ok(gmmp_model_set_spectra(back, 0));
    ck_assert_uint_eq(gmmp_model_spectra(back), 0);
    free(again);
    again = serialized(back, &again_size);
    ck_assert_uint_eq(again_size, plain_size);
    ck_assert_mem_eq(again, plain, plain_size);
    /* All d of them is a full decomposition, and allowed: no tail. */
    ck_assert_ok(gmmp_model_set_spectra(back, D));
    ck_assert_uint_eq(gmmp_model_spectra(back), D);
    free(again);
    again = serialized(back, &again_size);
    ck_assert_uint_eq(again_size, plain_size + 8 + 8 * K * D * (D + 1));
    gmmp_model *full;
    ck_assert_ok(gmmp_model_deserialize(&full, again, again_size));
    ck_assert_uint_eq(gmmp_model_spectra(full), D);
    gmmp_model_destroy(full);

    ck_assert_fails(gmmp_model_set_spectra(m, D + 1), GMMP_EDIM);
    ck_assert_uint_eq(gmmp_model_spectra(m), R); /* a refusal changes nothing */
    ck_assert_fails(gmmp_model_set_spectra(NULL, 1), GMMP_EINVAL);
    ck_assert_uint_eq(gmmp_model_spectra(NULL), 0);
    free(again);
    free(buf);
    free(plain);
    gmmp_model_destroy(back);
    gmmp_model_destroy(m);
}
END_TEST

/* Denoising outputs of a plan of the given rank on model m. */
static void denoise(const gmmp_model *m, int rank, const double *Y, size_t n, double *resp,
                    double *mmse)
{
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, rank));
    gmmp_plan *plan;
    ck_assert_ok(gmmp_plan_create_denoise(&plan, m, 1.5, o));
    ck_assert_ok(gmmp_plan_execute(plan, Y, n, resp, NULL, NULL, mmse));
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
}

START_TEST(plans_from_stored_eigenpairs_match_plans_that_decompose)
{
    gmmp_model *m = closed_form_model(), *loaded;
    ck_assert_ok(gmmp_model_set_spectra(m, R));
    char path[64];
    snprintf(path, sizeof path, "/tmp/gmmp-%d-spectra.gmmp", (int)getpid());
    ck_assert_ok(gmmp_model_save(m, path));
    ck_assert_ok(gmmp_model_load(&loaded, path));
    unlink(path);
    ck_assert_uint_eq(gmmp_model_spectra(loaded), R);
    gmmp_model *fresh = closed_form_model(); /* no eigenpairs: decomposes */
    enum { N = 50 };
    tu_rng rng = {7};
    double Y[N * D], r1[N * K], r2[N * K], x1[N * D], x2[N * D];
    for (size_t i = 0; i < N * D; i++)
        Y[i] = 4.0 * tu_normal(&rng);
    /* Ranks within what the file carries use it, one beyond decomposes,
     * 0 is exact: all agree with the model that never had eigenpairs. */
    const int ranks[] = {4, R, R + 2, 0};
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++) {
        denoise(loaded, ranks[i], Y, N, r1, x1);
        denoise(fresh, ranks[i], Y, N, r2, x2);
        ck_assert_msg(tu_max_abs_diff(r1, r2, N * K) < 1e-10, "rank %d: resp %g", ranks[i],
                      tu_max_abs_diff(r1, r2, N * K));
        ck_assert_msg(tu_rel_diff(x1, x2, N * D) < 1e-12, "rank %d: mmse %g", ranks[i],
                      tu_rel_diff(x1, x2, N * D));
    }
    gmmp_model_destroy(fresh);
    gmmp_model_destroy(loaded);
    gmmp_model_destroy(m);
}
END_TEST

/* A valid file with eigenpairs, changed by `edit`, CRC fixed: refused
 * with GMMP_EFORMAT and a message holding `why`. */
static void assert_refused(const unsigned char *good, size_t size,
                           void (*edit)(unsigned char *buf), const char *why)
{
    unsigned char *buf = malloc(size);
    memcpy(buf, good, size);
    edit(buf);
    tu_model_fix_crc(buf, size);
    gmmp_model *out = NULL;
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EFORMAT);
    ck_assert_msg(strstr(gmmp_last_error(), why) != NULL, "want \"%s\": %s", why,
                  gmmp_last_error());
    ck_assert_ptr_null(out);
    free(buf);
}

/* The rank of the file being damaged. */
static size_t rank = R;

static unsigned char *lam(unsigned char *buf, size_t k, size_t a)
{
    return buf + section_offset() + 8 + 8 * (k * rank + a);
}

static unsigned char *vec(unsigned char *buf, size_t k, size_t a, size_t i)
{
    return buf + section_offset() + 8 + 8 * (K * rank + (k * rank + a) * D + i);
}

static void nudge_vector(unsigned char *b)
{
    put_f64(vec(b, 1, 3, 5), get_f64(vec(b, 1, 3, 5)) + 1e-4);
}

static void rotate_vectors(unsigned char *b)
{
    /* Rows 0 and 1 of component 1 turned by 30 degrees within their
     * plane: still orthonormal, no longer eigenvectors. */
    double c = cos(0.5236), s = sin(0.5236);
    for (size_t i = 0; i < D; i++) {
        double u = get_f64(vec(b, 1, 0, i)), v = get_f64(vec(b, 1, 1, i));
        put_f64(vec(b, 1, 0, i), c * u - s * v);
        put_f64(vec(b, 1, 1, i), s * u + c * v);
    }
}

static void nudge_value(unsigned char *b)
{
    put_f64(lam(b, 1, 7), get_f64(lam(b, 1, 7)) * (1.0 + 1e-5));
}

static void descending(unsigned char *b)
{
    unsigned char t[8];
    memcpy(t, lam(b, 0, 0), 8);
    memcpy(lam(b, 0, 0), lam(b, 0, 1), 8);
    memcpy(lam(b, 0, 1), t, 8);
}

static void nan_value(unsigned char *b)
{
    put_f64(lam(b, 0, 2), NAN);
}

static void smallest_instead(unsigned char *b)
{
    /* Component 0 is diag(1..D): its R smallest pairs are (j, e_j). */
    for (size_t a = 0; a < R; a++) {
        put_f64(lam(b, 0, a), (double)(a + 1));
        for (size_t i = 0; i < D; i++)
            put_f64(vec(b, 0, a, i), i == a ? 1.0 : 0.0);
    }
}

static void middle_instead(unsigned char *b)
{
    /* Pairs 2..R+1 of diag(1..D): ascending, orthonormal, true
     * eigenpairs, but not the largest (Ky Fan's bound tells). */
    for (size_t a = 0; a < R; a++) {
        put_f64(lam(b, 0, a), (double)(a + 2));
        for (size_t i = 0; i < D; i++)
            put_f64(vec(b, 0, a, i), i == a + 1 ? 1.0 : 0.0);
    }
}

static void a_gap(unsigned char *b)
{
    /* Rank 4 of diag(1..D): 14, 15, 16 and D instead of D-3..D. True
     * eigenpairs, and the smallest, 14, is above the mean of the other
     * 16 (9.06): only Ky Fan's bound on their sum tells. */
    const double kept[4] = {14, 15, 16, D};
    for (size_t a = 0; a < 4; a++) {
        put_f64(lam(b, 0, a), kept[a]);
        for (size_t i = 0; i < D; i++)
            put_f64(vec(b, 0, a, i), i + 1 == (size_t)kept[a] ? 1.0 : 0.0);
    }
}

static void rank_zero(unsigned char *b)
{
    memset(b + section_offset(), 0, 4);
}

static void reserved_set(unsigned char *b)
{
    b[section_offset() + 5] = 1;
}

static void unknown_flag(unsigned char *b)
{
    b[12] |= 2;
}

static void version_2_with_flag(unsigned char *b)
{
    b[8] = 2;
}

START_TEST(impossible_sizes_do_not_wrap)
{
    /* K = (2^61 - 8) / 3 and d = 1: the parameters' size passes its own
     * checks and ends 8 bytes short of 2^64, where a sum with the
     * eigenpair section's header wraps to a small number; the section's
     * r was then read from 8 bytes in front of the buffer. A 60-byte
     * header with a zero patch section, at the start of its allocation. */
    unsigned char *buf = calloc(60, 1);
    const unsigned char magic[8] = {0x89, 'G', 'M', 'P', '\r', '\n', 0x1A, '\n'};
    memcpy(buf, magic, 8);
    buf[8] = 3;
    buf[12] = 1;
    uint64_t k = (UINT64_C(1) << 61) / 3 - 2; /* (2^61 - 8) / 3 */
    ck_assert(3 * k == (UINT64_C(1) << 61) - 8);
    for (int i = 0; i < 8; i++)
        buf[16 + i] = (unsigned char)(k >> (8 * i));
    buf[24] = 1;
    gmmp_model *out = NULL;
    ck_assert_fails(gmmp_model_deserialize(&out, buf, 60), GMMP_EFORMAT);
    ck_assert_ptr_null(out);
    free(buf);
}
END_TEST

START_TEST(damaged_eigenpairs_are_refused)
{
    gmmp_model *m = closed_form_model();
    ck_assert_ok(gmmp_model_set_spectra(m, R));
    size_t size;
    unsigned char *good = serialized(m, &size);
    assert_refused(good, size, nudge_vector, "component 1");
    assert_refused(good, size, rotate_vectors, "do not fit its covariance");
    assert_refused(good, size, nudge_value, "do not fit its covariance");
    assert_refused(good, size, descending, "ascending");
    assert_refused(good, size, nan_value, "finite");
    assert_refused(good, size, smallest_instead, "not its 16 largest");
    assert_refused(good, size, middle_instead, "not its 16 largest");
    assert_refused(good, size, rank_zero, "eigenpair section is invalid");
    assert_refused(good, size, reserved_set, "eigenpair section is invalid");
    assert_refused(good, size, unknown_flag, "unknown flags");
    assert_refused(good, size, version_2_with_flag, "unknown flags");
    /* With fewer pairs, a true subset that is not the leading one. */
    gmmp_model *m4 = closed_form_model();
    ck_assert_ok(gmmp_model_set_spectra(m4, 4));
    size_t size4;
    unsigned char *good4 = serialized(m4, &size4);
    rank = 4;
    assert_refused(good4, size4, a_gap, "not its 4 largest");
    rank = R;
    free(good4);
    gmmp_model_destroy(m4);
    /* r = d + 1: the sizes then disagree too, but r is named first. */
    unsigned char *buf = malloc(size + 8 * K * (D + 1));
    memcpy(buf, good, size);
    buf[section_offset()] = D + 1;
    gmmp_model *out = NULL;
    ck_assert_fails(gmmp_model_deserialize(&out, buf, size), GMMP_EFORMAT);
    ck_assert_msg(strstr(gmmp_last_error(), "21 pairs per component for d=20"), "%s",
                  gmmp_last_error());
    /* Every truncation, and every flipped byte. */
    for (size_t len = 0; len < size; len++)
        ck_assert_fails(gmmp_model_deserialize(&out, good, len), GMMP_EFORMAT);
    for (size_t i = 0; i < size; i++) {
        memcpy(buf, good, size);
        buf[i] ^= 0x40;
        int rc = gmmp_model_deserialize(&out, buf, size);
        ck_assert_msg(rc == GMMP_EFORMAT || (rc == GMMP_EVERSION && i >= 8 && i < 12),
                      "byte %zu flipped: %d (%s)", i, rc, gmmp_last_error());
    }
    /* A file longer than its eigenpairs allow is refused by its size,
     * before it is read: nothing of its size is allocated. A newer
     * version is named as such, whatever its size. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/gmmp-%d-long.gmmp", (int)getpid());
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(good, 1, size, f), size);
    fclose(f);
    ck_assert_int_eq(truncate(path, (off_t)(3 * size)), 0);
    tu_count_allocations();
    int rc = gmmp_model_load(&out, path);
    size_t largest = tu_largest_allocation();
    ck_assert_int_eq(rc, GMMP_EFORMAT);
    ck_assert_msg(strstr(gmmp_last_error(), path) != NULL, "%s", gmmp_last_error());
    ck_assert_uint_lt(largest, size);
    f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(GMMP_MODEL_FORMAT_VERSION + 1, f);
    fclose(f);
    ck_assert_fails(gmmp_model_load(&out, path), GMMP_EVERSION);
    ck_assert_msg(strstr(gmmp_last_error(), "version 4"), "%s", gmmp_last_error());
    unlink(path);
    free(buf);
    free(good);
    gmmp_model_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_spectra");
    TCase *tc = tu_tcase("core");
    tcase_add_test(tc, stored_eigenpairs_are_the_closed_forms);
    tcase_add_test(tc, plans_from_stored_eigenpairs_match_plans_that_decompose);
    tcase_add_test(tc, damaged_eigenpairs_are_refused);
    tcase_add_test(tc, impossible_sizes_do_not_wrap);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
