/*
 * Image input and output of the tools: IDX (unsigned byte, float, double;
 * gzip or not) and PGM (P2, P5, 16-bit) round trips, PNG output, and bad
 * files refused with a message.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imageio.h"
#include "testutil.h"

static char dir[64];

static const char *path(const char *name)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static void write_bytes(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

START_TEST(idx_round_trips)
{
    gmmpio_stack a, b;
    char err[256];
    ck_assert_int_eq(gmmpio_stack_alloc(&a, 3, 4, 5), 0);
    for (size_t i = 0; i < 60; i++)
        a.pixels[i] = (double)(i * 4) + 0.25;
    const struct {
        enum gmmpio_idx_type type;
        int gz;
        double tol;
    } cases[] = {{GMMPIO_IDX_DOUBLE, 0, 1e-300}, {GMMPIO_IDX_DOUBLE, 1, 1e-300},
                 {GMMPIO_IDX_FLOAT, 0, 1e-5}, {GMMPIO_IDX_UBYTE, 1, 0.5}};
    for (size_t c = 0; c < 4; c++) {
        ck_assert_msg(gmmpio_idx_write(path("a.idx"), &a, cases[c].type, cases[c].gz, err,
                                       sizeof err) == 0,
                      "%s", err);
        ck_assert_msg(gmmpio_idx_read(path("a.idx"), &b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(b.count, 3);
        ck_assert_uint_eq(b.rows, 4);
        ck_assert_uint_eq(b.cols, 5);
        for (size_t i = 0; i < 60; i++) {
            double want = a.pixels[i] > 255 && cases[c].type == GMMPIO_IDX_UBYTE ? 255 : a.pixels[i];
            ck_assert_double_eq_tol(b.pixels[i], want, cases[c].tol);
        }
        gmmpio_stack_free(&b);
    }
    /* The streaming reader gives the same images in batches. */
    ck_assert_int_eq(gmmpio_idx_write(path("a.idx"), &a, GMMPIO_IDX_DOUBLE, 1, err, sizeof err), 0);
    gmmpio_reader *r;
    ck_assert_int_eq(gmmpio_reader_open(&r, path("a.idx"), err, sizeof err), 0);
    double buf[40];
    ck_assert_int_eq(gmmpio_reader_next(r, buf, 2, err, sizeof err), 2);
    ck_assert_mem_eq(buf, a.pixels, 40 * sizeof(double));
    ck_assert_int_eq(gmmpio_reader_next(r, buf, 2, err, sizeof err), 1);
    ck_assert_mem_eq(buf, a.pixels + 40, 20 * sizeof(double));
    ck_assert_int_eq(gmmpio_reader_next(r, buf, 2, err, sizeof err), 0);
    ck_assert_int_eq(gmmpio_reader_rewind(r, err, sizeof err), 0);
    ck_assert_int_eq(gmmpio_reader_next(r, buf, 1, err, sizeof err), 1);
    ck_assert_mem_eq(buf, a.pixels, 20 * sizeof(double));
    gmmpio_reader_close(r);
    gmmpio_stack_free(&a);
}
END_TEST

START_TEST(pgm_and_png)
{
    gmmpio_stack a, b;
    char err[256];
    ck_assert_int_eq(gmmpio_stack_alloc(&a, 1, 3, 4), 0);
    for (size_t i = 0; i < 12; i++)
        a.pixels[i] = (double)(i * 23) - 10.0; /* -10 clips to 0 */
    for (int plain = 0; plain < 2; plain++) {
        ck_assert_int_eq(gmmpio_pgm_write(path("a.pgm"), &a, 0, plain, err, sizeof err), 0);
        ck_assert_msg(gmmpio_pgm_read(path("a.pgm"), &b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(b.rows, 3);
        ck_assert_uint_eq(b.cols, 4);
        for (size_t i = 0; i < 12; i++)
            ck_assert_double_eq(b.pixels[i], a.pixels[i] < 0 ? 0 : a.pixels[i]);
        gmmpio_stack_free(&b);
    }
    const char sixteen[] = "P5\n# comment\n2 1\n1000\n\x01\x02\x03\xe8";
    write_bytes("b.pgm", sixteen, sizeof sixteen - 1);
    ck_assert_msg(gmmpio_pgm_read(path("b.pgm"), &b, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(b.pixels[0], 258.0);
    ck_assert_double_eq(b.pixels[1], 1000.0);
    gmmpio_stack_free(&b);
    ck_assert_int_eq(gmmpio_png_write(path("a.png"), a.pixels, 3, 4, err, sizeof err), 0);
    FILE *f = fopen(path("a.png"), "rb");
    unsigned char sig[8];
    ck_assert_uint_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    ck_assert_mem_eq(sig, "\x89PNG\r\n\x1a\n", 8);
    gmmpio_stack_free(&a);
}
END_TEST

START_TEST(bad_files_are_refused)
{
    gmmpio_stack s = {0};
    char err[256];
    const struct {
        const char *name, *data;
        size_t size;
        const char *says;
    } cases[] = {
        {"magic.idx", "\x01\x02\x08\x03\0\0\0\1\0\0\0\1\0\0\0\1\7", 17, "not an IDX"},
        {"type.idx", "\0\0\x42\x03\0\0\0\1\0\0\0\1\0\0\0\1\7", 17, "element type"},
        {"dims.idx", "\0\0\x08\x02\0\0\0\1\0\0\0\1\7", 13, "dimensions"},
        {"short.idx", "\0\0\x08\x03\0\0\0\2\0\0\0\2\0\0\0\2\1\2\3", 19, "truncated"},
        {"long.idx", "\0\0\x08\x03\0\0\0\1\0\0\0\1\0\0\0\1\1\2", 18, "continues"},
        {"huge.idx", "\0\0\x08\x03\x7f\xff\xff\xff\0\0\0\1\0\0\0\1\1", 17, "not in 1.."},
        {"zero.idx", "\0\0\x08\x03\0\0\0\0\0\0\0\1\0\0\0\1", 16, "not in 1.."},
        {"header.idx", "\0\0\x08\x03\0\0\0\1", 8, "truncated"},
        {"magic.pgm", "P7\n1 1\n255\n\0", 12, "not a PGM"},
        {"short.pgm", "P5\n4 4\n255\n\1\2\3", 14, "truncated"},
        {"maxval.pgm", "P5\n1 1\n70000\n\0\0", 15, "maxval"},
        {"plain.pgm", "P2\n2 2\n9\n1 2 3 12\n", 18, "above maxval"},
        {"size.pgm", "P2\n40000 40000\n255\n0 1 2", 24, "truncated"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_bytes(cases[c].name, cases[c].data, cases[c].size);
        int is_pgm = strstr(cases[c].name, ".pgm") != NULL;
        err[0] = '\0';
        int rc = is_pgm ? gmmpio_pgm_read(path(cases[c].name), &s, err, sizeof err)
                        : gmmpio_idx_read(path(cases[c].name), &s, err, sizeof err);
        ck_assert_msg(rc == -1, "%s was accepted", cases[c].name);
        ck_assert_msg(strstr(err, cases[c].says) != NULL, "%s: '%s' lacks '%s'", cases[c].name,
                      err, cases[c].says);
        ck_assert_ptr_null(s.pixels);
    }
    ck_assert_int_eq(gmmpio_idx_read(path("missing.idx"), &s, err, sizeof err), -1);
    ck_assert_int_eq(gmmpio_read_images(path("magic.pgm"), &s, NULL, err, sizeof err), -1);
}
END_TEST

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/gmmp-io-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("imageio");
    TCase *tc = tu_tcase("io");
    tcase_add_test(tc, idx_round_trips);
    tcase_add_test(tc, pgm_and_png);
    tcase_add_test(tc, bad_files_are_refused);
    suite_add_tcase(s, tc);
    int rc = tu_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? rc : 1;
}
