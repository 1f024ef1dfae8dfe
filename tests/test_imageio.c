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
#include <dirent.h>
#include <sys/stat.h>
#include <zlib.h>

#include "imageio.h"
#include "testutil.h"

static char dir[64];

static const char *path(const char *name)
{
    static char buf[512];
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
        {"size.pgm", "P2\n4000 4000\n255\n0 1 2", 22, "truncated"},
        /* Issue 16, item 11: trailing data is refused. */
        {"trail5.pgm", "P5\n1 1\n255\n\1\2\3", 14, "trailing data"},
        {"trail2.pgm", "P2\n1 1\n255\n7\n8\n", 14, "trailing data"},
        {"big.pgm", "P2\n40000 40000\n255\n0 1 2", 24, "limit"},
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

static size_t count_entries(void)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0);
    if (d)
        closedir(d);
    return n;
}

/* Issue 16, items 10, 13, 14, 15, 19, 20: hostile inputs to the readers. */
START_TEST(hostile_inputs)
{
    gmmpio_stack s = {0};
    char err[512];
    gmmpio_reader *r = NULL;
    /* A FIFO is refused at once (it used to block in fopen), once opened. */
    ck_assert_int_eq(mkfifo(path("fifo"), 0600), 0);
    ck_assert_int_eq(gmmpio_read_images(path("fifo"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "FIFO") && strstr(err, "fifo"), "%s", err);
    ck_assert_int_eq(gmmpio_reader_open(&r, path("fifo"), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "FIFO"), "%s", err);
    ck_assert_int_eq(gmmpio_idx_read(path("fifo"), &s, err, sizeof err), -1);
    ck_assert_int_eq(gmmpio_pgm_read(path("fifo"), &s, err, sizeof err), -1);
    /* A directory says so. */
    ck_assert_int_eq(gmmpio_read_images(dir, &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "directory"), "%s", err);
    /* A missing file gives the system's reason. */
    ck_assert_int_eq(gmmpio_read_images(path("none.idx"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "none.idx") && strstr(err, "No such file"), "%s", err);
    /* IDX header errors name the file. */
    write_bytes("type.idx", "\0\0\x42\x03\0\0\0\1\0\0\0\1\0\0\0\1\7", 17);
    ck_assert_int_eq(gmmpio_read_images(path("type.idx"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "type.idx") && strstr(err, "element type"), "%s", err);
    /* 1-dimensional IDX (labels) is no image, in memory as streamed. */
    write_bytes("labels.idx", "\0\0\x08\x01\0\0\0\3\1\2\3", 11);
    ck_assert_int_eq(gmmpio_read_images(path("labels.idx"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "labels"), "%s", err);
    ck_assert_int_eq(gmmpio_reader_open(&r, path("labels.idx"), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "labels"), "%s", err);
    /* A gzip with a bad CRC is called corrupt, not short. */
    unsigned char raw[16 + 4] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    ck_assert_int_eq(gmmpio_stack_alloc(&s, 1, 2, 2), 0);
    gzFile gz = gzopen(path("crc.idx.gz"), "wb");
    ck_assert_int_eq(gzwrite(gz, raw, sizeof raw), (int)sizeof raw);
    gzclose(gz);
    gmmpio_stack_free(&s);
    FILE *f = fopen(path("crc.idx.gz"), "r+b");
    fseek(f, -8, SEEK_END); /* the CRC-32 of the gzip trailer */
    fputc(0x55, f);
    fclose(f);
    ck_assert_int_eq(gmmpio_read_images(path("crc.idx.gz"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "crc.idx.gz") && strstr(err, "corrupt"), "%s", err);
    /* A gzip bomb: 16 MiB of zeros in a few KiB, refused from its header
     * under a lower limit, whatever the data. */
    size_t big = (size_t)1 << 24;
    unsigned char *zeros = calloc(big + 16, 1);
    memcpy(zeros, "\0\0\x08\x03\0\0\0\1\0\0\x10\0\0\0\x10\0", 16);
    gz = gzopen(path("bomb.idx.gz"), "wb9");
    ck_assert_int_eq(gzwrite(gz, zeros, (unsigned)(big + 16)), (int)(big + 16));
    gzclose(gz);
    free(zeros);
    gmmpio_set_max_elements(1000000);
    ck_assert_uint_eq(gmmpio_max_elements(), 1000000);
    ck_assert_int_eq(gmmpio_read_images(path("bomb.idx.gz"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "limit") && strstr(err, "--max-elements"), "%s", err);
    ck_assert_int_eq(gmmpio_reader_open(&r, path("bomb.idx.gz"), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too large"), "%s", err);
    gmmpio_set_max_elements(GMMPIO_DEFAULT_MAX_ELEMENTS);
    ck_assert_int_eq(gmmpio_read_images(path("bomb.idx.gz"), &s, NULL, err, sizeof err), 0);
    gmmpio_stack_free(&s);
    /* The streaming reader caps one image's size ("too large", not "no memory"). */
    write_bytes("wide.idx", "\0\0\x08\x03\0\0\0\1\0\x0f\x42\x40\0\x0f\x42\x40", 16);
    ck_assert_int_eq(gmmpio_reader_open(&r, path("wide.idx"), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "wide.idx") && strstr(err, "too large"), "%s", err);
    /* A PGM larger than any image it could hold is refused by its size,
     * before it is read (a sparse file: no disk used). */
    write_bytes("huge.pgm", "P5 1 1 255\n\0", 12);
    ck_assert_int_eq(truncate(path("huge.pgm"), (off_t)5 << 30), 0);
    ck_assert_int_eq(gmmpio_read_images(path("huge.pgm"), &s, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "limit"), "%s", err);
    unlink(path("huge.pgm"));
    /* 16-bit PGM keeps its depth through a write. */
    const char sixteen[] = "P5\n2 1\n1000\n\x01\x02\x03\xe8";
    write_bytes("d.pgm", sixteen, sizeof sixteen - 1);
    enum gmmpio_kind kind;
    ck_assert_int_eq(gmmpio_read_images(path("d.pgm"), &s, &kind, err, sizeof err), 0);
    ck_assert_uint_eq(s.maxval, 1000);
    ck_assert_int_eq(gmmpio_write_images(path("e.pgm"), &s, kind, err, sizeof err), 0);
    gmmpio_stack_free(&s);
    f = fopen(path("e.pgm"), "rb");
    char back[64] = {0};
    size_t got = fread(back, 1, sizeof back, f);
    fclose(f);
    ck_assert_uint_eq(got, 12 + 4);
    ck_assert_mem_eq(back, "P5\n2 1\n1000\n\x01\x02\x03\xe8", 16);
    /* PNG input: grayscale read back; PNG as an output kind. */
    ck_assert_int_eq(gmmpio_stack_alloc(&s, 1, 2, 3), 0);
    for (size_t i = 0; i < 6; i++)
        s.pixels[i] = (double)(40 * i);
    ck_assert_int_eq(gmmpio_write_images(path("g.png"), &s, GMMPIO_KIND_PNG, err, sizeof err), 0);
    gmmpio_stack_free(&s);
    ck_assert_msg(gmmpio_read_images(path("g.png"), &s, &kind, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(kind, GMMPIO_KIND_PNG);
    ck_assert_uint_eq(s.rows, 2);
    ck_assert_uint_eq(s.cols, 3);
    ck_assert_double_eq(s.pixels[5], 200.0);
    gmmpio_stack_free(&s);
    /* Values: finite and bounded. */
    ck_assert_int_eq(gmmpio_stack_alloc(&s, 1, 1, 2), 0);
    s.pixels[1] = 1e200;
    ck_assert_int_eq(gmmpio_check_values(&s, 1e100, "v.idx", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "v.idx") && strstr(err, "1e+200"), "%s", err);
    gmmpio_stack_free(&s);
    unlink(path("fifo"));
}
END_TEST

/* Issue 16, items 5 to 9: every output goes through one atomic write. */
START_TEST(outputs_are_atomic)
{
    gmmpio_stack s = {0};
    char err[512];
    ck_assert_int_eq(gmmpio_stack_alloc(&s, 2, 2, 2), 0);
    size_t before = count_entries();
    /* A FIFO or a directory as output is refused, and left alone. */
    ck_assert_int_eq(mkfifo(path("out-fifo"), 0600), 0);
    ck_assert_int_eq(gmmpio_write_images(path("out-fifo"), &s, GMMPIO_KIND_IDX, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "FIFO"), "%s", err);
    ck_assert_int_eq(gmmpio_atomic_check(path("out-fifo"), err, sizeof err), -1);
    ck_assert_int_eq(gmmpio_atomic_check("/dev/null", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "character device"), "%s", err);
    ck_assert_int_eq(gmmpio_atomic_check(path("no/dir/x.idx"), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "No such file"), "%s", err);
    ck_assert_int_eq(gmmpio_atomic_check(path("fine.idx"), err, sizeof err), 0);
    /* A symlink is written through; the link stays. */
    write_bytes("target.idx", "old", 3);
    ck_assert_int_eq(symlink("target.idx", path("link.idx")), 0);
    ck_assert_int_eq(gmmpio_write_images(path("link.idx"), &s, GMMPIO_KIND_IDX, err, sizeof err), 0);
    struct stat st;
    ck_assert_int_eq(lstat(path("link.idx"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat(path("target.idx"), &st), 0);
    ck_assert_int_eq(st.st_size, 16 + 8 * 8);
    /* A write that fails (two images asked of a PGM, under a name with no
     * format suffix) leaves the old file whole and no temporary. */
    write_bytes("target.old", "old", 3);
    ck_assert_int_eq(gmmpio_write_images(path("target.old"), &s, GMMPIO_KIND_PGM, err, sizeof err), -1);
    ck_assert_int_eq(stat(path("target.old"), &st), 0);
    ck_assert_int_eq(st.st_size, 3);
    ck_assert_uint_eq(count_entries(), before + 4);
    /* A name that says a format gets it: out.png is a PNG, not a PGM. */
    gmmpio_stack one = {0};
    ck_assert_int_eq(gmmpio_stack_alloc(&one, 1, 2, 2), 0);
    ck_assert_int_eq(gmmpio_write_images(path("named.png"), &one, GMMPIO_KIND_PGM, err, sizeof err), 0);
    FILE *png = fopen(path("named.png"), "rb");
    unsigned char sig[4] = {0};
    ck_assert_ptr_nonnull(png);
    ck_assert_uint_eq(fread(sig, 1, 4, png), 4);
    fclose(png);
    ck_assert(sig[0] == 0x89 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G');
    gmmpio_stack_free(&one);
    ck_assert_uint_eq(count_entries(), before + 5);
    /* Names of 255 bytes. */
    char name[256];
    memset(name, 'x', 255);
    name[255] = '\0';
    s.count = 1;
    ck_assert_msg(gmmpio_write_images(path(name), &s, GMMPIO_KIND_PGM, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(unlink(path(name)), 0);
    gmmpio_stack_free(&s);
    unlink(path("out-fifo"));
    unlink(path("link.idx"));
    unlink(path("target.idx"));
}
END_TEST

/* Issues 13 and 14: colour and 16-bit images in every format, through
 * the colour-aware reader; the grey readers still refuse colour. */
START_TEST(colour_and_depth_round_trips)
{
    char err[256];
    gmmpio_stack zero = {0};
    ck_assert_uint_eq(gmmpio_stack_channels(&zero), 1);
    const struct {
        const char *name;
        enum gmmpio_kind kind;
        size_t channels;
        unsigned maxval; /* 0: 8-bit; IDX: exact doubles */
    } cases[] = {
        {"g8.png", GMMPIO_KIND_PNG, 1, 0},     {"g16.png", GMMPIO_KIND_PNG, 1, 65535},
        {"c8.png", GMMPIO_KIND_PNG, 3, 0},     {"c16.png", GMMPIO_KIND_PNG, 3, 65535},
        {"c8.ppm", GMMPIO_KIND_PPM, 3, 255},   {"c16.ppm", GMMPIO_KIND_PPM, 3, 65535},
        {"g16.pgm", GMMPIO_KIND_PGM, 1, 65535}, {"g.idx", GMMPIO_KIND_IDX, 1, 0},
        {"c.idx", GMMPIO_KIND_IDX, 3, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gmmpio_stack a, b = {0};
        const size_t rows = 5, cols = 7, ch = cases[k].channels, n = rows * cols * ch;
        ck_assert_int_eq(gmmpio_stack_alloc_channels(&a, 1, rows, cols, ch), 0);
        a.maxval = cases[k].maxval;
        int is_idx = cases[k].kind == GMMPIO_KIND_IDX;
        for (size_t i = 0; i < n; i++)
            a.pixels[i] = is_idx ? (double)i * 3.25 - 17.5 /* unclipped floats */
                          : a.maxval > 255 ? (double)((i * 1973) % 65536)
                                           : (double)((i * 37) % 256);
        ck_assert_msg(gmmpio_write_images(path(cases[k].name), &a, cases[k].kind, err,
                                          sizeof err) == 0, "%s: %s", cases[k].name, err);
        enum gmmpio_kind kind;
        ck_assert_msg(gmmpio_read_images_ex(path(cases[k].name), GMMPIO_READ_COLOUR, &b, &kind,
                                            err, sizeof err) == 0, "%s: %s", cases[k].name, err);
        ck_assert_int_eq(kind, cases[k].kind);
        ck_assert_uint_eq(b.rows, rows);
        ck_assert_uint_eq(b.cols, cols);
        ck_assert_uint_eq(gmmpio_stack_channels(&b), ch);
        ck_assert_uint_eq(b.maxval, a.maxval);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(b.pixels[i] == a.pixels[i], "%s: value %zu is %g, wrote %g",
                          cases[k].name, i, b.pixels[i], a.pixels[i]);
        gmmpio_stack_free(&b);
        /* Without the flag, colour is refused with a reason; grey still reads. */
        int rc = gmmpio_read_images(path(cases[k].name), &b, NULL, err, sizeof err);
        if (ch == 3) {
            ck_assert_msg(rc == -1, "%s read as grey", cases[k].name);
            ck_assert_msg(strstr(err, is_idx ? "dimensions" : "colour") != NULL, "%s: %s",
                          cases[k].name, err);
            ck_assert_ptr_null(b.pixels);
        } else {
            ck_assert_msg(rc == 0, "%s: %s", cases[k].name, err);
            gmmpio_stack_free(&b);
        }
        gmmpio_stack_free(&a);
    }
    /* A 2-dimensional IDX array is one grey image for the colour-aware reader. */
    const unsigned char two[] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    write_bytes("two.idx", two, sizeof two);
    gmmpio_stack b = {0};
    ck_assert_msg(gmmpio_read_images_ex(path("two.idx"), GMMPIO_READ_COLOUR, &b, NULL, err,
                                        sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.count, 1);
    ck_assert_uint_eq(b.rows, 2);
    ck_assert_uint_eq(b.cols, 3);
    ck_assert_double_eq(b.pixels[5], 6.0);
    gmmpio_stack_free(&b);
    /* Suffixes choose the output kind; others are refused. */
    enum gmmpio_kind kind;
    ck_assert_int_eq(gmmpio_kind_from_name("a/b.PNG", &kind, err, sizeof err), 0);
    ck_assert_int_eq(kind, GMMPIO_KIND_PNG);
    ck_assert_int_eq(gmmpio_kind_from_name("b.idx.gz", &kind, err, sizeof err), 0);
    ck_assert_int_eq(kind, GMMPIO_KIND_IDX);
    ck_assert_int_eq(gmmpio_kind_from_name("b.ppm", &kind, err, sizeof err), 0);
    ck_assert_int_eq(kind, GMMPIO_KIND_PPM);
    ck_assert_int_eq(gmmpio_kind_from_name("b.jpg", &kind, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ".ppm"));
    /* A grey stack is not written as PPM, nor a colour one as PGM. */
    gmmpio_stack g, c;
    ck_assert_int_eq(gmmpio_stack_alloc(&g, 1, 2, 2), 0);
    ck_assert_int_eq(gmmpio_stack_alloc_channels(&c, 1, 2, 2, 3), 0);
    ck_assert_int_eq(gmmpio_write_images(path("g.ppm"), &g, GMMPIO_KIND_PPM, err, sizeof err), -1);
    ck_assert_int_eq(gmmpio_write_images(path("c.pgm"), &c, GMMPIO_KIND_PGM, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PGM"));
    gmmpio_stack_free(&g);
    gmmpio_stack_free(&c);
}
END_TEST

/* Recomputes the CRC of the PNG chunk at `off` (length, type, data, CRC). */
static void fix_crc(unsigned char *png, size_t off)
{
    size_t len = (size_t)png[off] << 24 | png[off + 1] << 16 | png[off + 2] << 8 | png[off + 3];
    uLong crc = crc32(0L, png + off + 4, (uInt)(len + 4));
    unsigned char *p = png + off + 8 + len;
    p[0] = (unsigned char)(crc >> 24), p[1] = (unsigned char)(crc >> 16);
    p[2] = (unsigned char)(crc >> 8), p[3] = (unsigned char)crc;
}

/* Appends a PNG chunk (length, type, data, CRC) at `p`; returns its end. */
static unsigned char *put_chunk(unsigned char *p, const char *type, const unsigned char *data,
                                size_t len)
{
    p[0] = (unsigned char)(len >> 24), p[1] = (unsigned char)(len >> 16);
    p[2] = (unsigned char)(len >> 8), p[3] = (unsigned char)len;
    memcpy(p + 4, type, 4);
    if (len)
        memcpy(p + 8, data, len);
    uLong crc = crc32(0L, p + 4, (uInt)(len + 4));
    unsigned char *c = p + 8 + len;
    c[0] = (unsigned char)(crc >> 24), c[1] = (unsigned char)(crc >> 16);
    c[2] = (unsigned char)(crc >> 8), c[3] = (unsigned char)crc;
    return c + 4;
}

/* A 3x2 PNG of colour type `type` and bit depth `depth` from packed rows
 * (`rowbytes` each), with a PLTE chunk when `plte` and a tRNS chunk. */
static size_t small_png(unsigned char *out, int type, int depth, const unsigned char *rows,
                        size_t rowbytes, const unsigned char *plte, size_t plte_len,
                        const unsigned char *trns, size_t trns_len)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0, 0, 0, 3, 0, 0, 0, 2, (unsigned char)depth, (unsigned char)type,
                              0, 0, 0};
    unsigned char raw[64], z[256];
    size_t n = 0;
    for (size_t r = 0; r < 2; r++) {
        raw[n++] = 0; /* filter: none */
        memcpy(raw + n, rows + r * rowbytes, rowbytes);
        n += rowbytes;
    }
    uLongf zlen = sizeof z;
    ck_assert_int_eq(compress(z, &zlen, raw, n), Z_OK);
    unsigned char *p = out;
    memcpy(p, sig, 8);
    p = put_chunk(p + 8, "IHDR", ihdr, sizeof ihdr);
    if (plte)
        p = put_chunk(p, "PLTE", plte, plte_len);
    p = put_chunk(p, "tRNS", trns, trns_len);
    p = put_chunk(p, "IDAT", z, zlen);
    p = put_chunk(p, "IEND", NULL, 0);
    return (size_t)(p - out);
}

/* A tRNS chunk is ignored: a palette PNG reads as its colours, a 2-bit
 * grey one as its grey levels scaled to 8 bits, with no alpha channel. */
START_TEST(transparency_chunks_are_ignored)
{
    char err[256];
    unsigned char png[512];
    gmmpio_stack s = {0};
    const unsigned char plte[9] = {10, 20, 30, 200, 100, 0, 0, 255, 7};
    const unsigned char idx[6] = {0, 1, 2, 2, 1, 0}, alpha[3] = {0, 128, 255};
    size_t n = small_png(png, 3, 8, idx, 3, plte, sizeof plte, alpha, sizeof alpha);
    write_bytes("palette-trns.png", png, n);
    ck_assert_msg(gmmpio_read_images_ex(path("palette-trns.png"), GMMPIO_READ_COLOUR, &s, NULL,
                                        err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(gmmpio_stack_channels(&s), 3);
    for (size_t i = 0; i < 6; i++)
        for (size_t c = 0; c < 3; c++)
            ck_assert_double_eq(s.pixels[i * 3 + c], plte[idx[i] * 3 + c]);
    gmmpio_stack_free(&s);
    /* 2-bit grey, levels 0..3 -> 0, 85, 170, 255; tRNS names level 1. */
    const unsigned char packed[2] = {0x1b, 0xe4}; /* 0 1 2 3 | 3 2 1 0, 4 pixels a byte */
    const unsigned char grey_trns[2] = {0, 1};
    n = small_png(png, 0, 2, packed, 1, NULL, 0, grey_trns, sizeof grey_trns);
    write_bytes("grey2-trns.png", png, n);
    ck_assert_msg(gmmpio_read_images_ex(path("grey2-trns.png"), 0, &s, NULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(gmmpio_stack_channels(&s), 1);
    const double want[6] = {0, 85, 170, 255, 170, 85};
    for (size_t i = 0; i < 6; i++)
        ck_assert_double_eq(s.pixels[i], want[i]);
    gmmpio_stack_free(&s);
}
END_TEST

START_TEST(bad_colour_files_are_refused)
{
    char err[256];
    gmmpio_stack a, s = {0};
    ck_assert_int_eq(gmmpio_stack_alloc_channels(&a, 1, 8, 8, 3), 0);
    ck_assert_int_eq(gmmpio_write_images(path("ok.png"), &a, GMMPIO_KIND_PNG, err, sizeof err), 0);
    gmmpio_stack_free(&a);
    FILE *f = fopen(path("ok.png"), "rb");
    unsigned char png[4096];
    size_t n = fread(png, 1, sizeof png, f);
    fclose(f);
    ck_assert_uint_gt(n, 60);
    ck_assert_uint_lt(n, sizeof png);
    unsigned char bad[4096];
    struct {
        const char *name;
        size_t size;
        int depth, type; /* IHDR bytes 24, 25 (-1: unchanged) */
        const char *says;
    } cases[] = {
        {"trunc.png", 50, -1, -1, "PNG"},
        {"trunc-data.png", 0, -1, -1, "PNG"}, /* size set below: cut inside the data */
        {"depth.png", 0, 4, 2, "bit depth"},  /* RGB of 4 bits does not exist */
        {"depth3.png", 0, 3, 0, "bit depth"}, /* nor grey of 3 */
        {"alpha.png", 0, 8, 6, "alpha"},      /* RGBA: refused, not guessed */
        {"greyalpha.png", 0, 8, 4, "alpha"},
    };
    cases[1].size = n - 20;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(bad, png, n);
        size_t size = cases[k].size ? cases[k].size : n;
        if (cases[k].depth >= 0) {
            bad[24] = (unsigned char)cases[k].depth;
            bad[25] = (unsigned char)cases[k].type;
            fix_crc(bad, 8);
        }
        write_bytes(cases[k].name, bad, size);
        err[0] = '\0';
        int rc = gmmpio_read_images_ex(path(cases[k].name), GMMPIO_READ_COLOUR, &s, NULL, err,
                                       sizeof err);
        ck_assert_msg(rc == -1, "%s was accepted", cases[k].name);
        ck_assert_msg(strstr(err, cases[k].says) != NULL, "%s: '%s' lacks '%s'", cases[k].name,
                      err, cases[k].says);
        ck_assert_msg(strstr(err, cases[k].name) != NULL, "%s: '%s' does not name the file",
                      cases[k].name, err);
        ck_assert_ptr_null(s.pixels);
    }
    const struct {
        const char *name, *data;
        size_t size;
        const char *says;
    } files[] = {
        {"maxval0.ppm", "P6\n1 1\n0\n\1\2\3", 13, "maxval"},
        {"maxval.ppm", "P6\n1 1\n70000\n\0\0\0\0\0\0", 19, "maxval"},
        {"sample.ppm", "P6\n1 1\n100\n\1\2\377", 14, "above maxval"},
        {"short.ppm", "P6\n2 2\n255\n\1\2\3", 14, "truncated"},
        {"last2.idx", "\0\0\x08\x04\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\2\7\7", 22, "ends in 2"},
        {"dims5.idx", "\0\0\x08\x05\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\7", 25,
         "dimensions"},
        {"short4.idx", "\0\0\x08\x04\0\0\0\1\0\0\0\1\0\0\0\2\0\0\0\3\7\7", 22, "truncated"},
    };
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        write_bytes(files[k].name, files[k].data, files[k].size);
        err[0] = '\0';
        int rc = gmmpio_read_images_ex(path(files[k].name), GMMPIO_READ_COLOUR, &s, NULL, err,
                                       sizeof err);
        ck_assert_msg(rc == -1, "%s was accepted", files[k].name);
        ck_assert_msg(strstr(err, files[k].says) != NULL, "%s: '%s' lacks '%s'", files[k].name,
                      err, files[k].says);
        ck_assert_ptr_null(s.pixels);
    }
    /* The limit counts values: an RGB image of 4x4 is 48 of them. */
    gmmpio_set_max_elements(40);
    write_bytes("rgb4.ppm", "P6\n4 4\n255\n", 11);
    ck_assert_int_eq(gmmpio_read_images_ex(path("ok.png"), GMMPIO_READ_COLOUR, &s, NULL, err,
                                           sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "limit"));
    gmmpio_set_max_elements(GMMPIO_DEFAULT_MAX_ELEMENTS);
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
    tcase_add_test(tc, hostile_inputs);
    tcase_add_test(tc, outputs_are_atomic);
    tcase_add_test(tc, colour_and_depth_round_trips);
    tcase_add_test(tc, bad_colour_files_are_refused);
    tcase_add_test(tc, transparency_chunks_are_ignored);
    suite_add_tcase(s, tc);
    int rc = tu_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? rc : 1;
}
