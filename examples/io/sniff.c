/*
 * Reading and writing images whatever their file kind, for the tools.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imageio.h"
#include "ioutil.h"

int gmmpio_read_images(const char *path, gmmpio_stack *out, enum gmmpio_kind *kind, char *err,
                       size_t errlen)
{
    return gmmpio_read_images_ex(path, 0, out, kind, err, errlen);
}

int gmmpio_read_images_ex(const char *path, unsigned flags, gmmpio_stack *out,
                          enum gmmpio_kind *kind, char *err, size_t errlen)
{
    /* One open: a FIFO, directory or device is refused here, without
     * blocking, and the file sniffed is the file read. */
    long long size;
    int fd = gmmpio_open_input(path, &size, err, errlen);
    if (fd < 0)
        return -1;
    unsigned char head[4] = {0};
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0) {
        int e = errno;
        close(fd);
        return gmmpio__fail(err, errlen, "cannot read %s: %s", path, strerror(e));
    }
    if (got >= 2 && head[0] == 'P' &&
        (head[1] == '2' || head[1] == '5' || head[1] == '3' || head[1] == '6')) {
        if (kind)
            *kind = head[1] == '3' || head[1] == '6' ? GMMPIO_KIND_PPM : GMMPIO_KIND_PGM;
        return gmmpio__pgm_read_fd(fd, size, path, flags, out, err, errlen);
    }
    if (got == 4 && memcmp(head, "\x89PNG", 4) == 0) {
        if (kind)
            *kind = GMMPIO_KIND_PNG;
        return gmmpio__png_read_fd(fd, size, path, flags, out, err, errlen);
    }
    /* IDX starts with two zero bytes, gzip with 1f 8b. */
    if (got >= 2 && ((head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b))) {
        if (kind)
            *kind = GMMPIO_KIND_IDX;
        return gmmpio__idx_read_fd(fd, size, path, (flags & GMMPIO_READ_COLOUR) ? 2 : 1, out,
                                   err, errlen);
    }
    close(fd);
    if (got == 0)
        return gmmpio__fail(err, errlen, "%s is empty", path);
    return gmmpio__fail(err, errlen, "%s is neither an IDX, a %s nor a PNG file (it starts "
                                     "with bytes %02x %02x)",
                        path, (flags & GMMPIO_READ_COLOUR) ? "PGM, a PPM" : "PGM", head[0],
                        head[1]);
}

int gmmpio_kind_from_name(const char *path, enum gmmpio_kind *kind, char *err, size_t errlen)
{
    static const struct {
        const char *suffix;
        enum gmmpio_kind kind;
    } known[] = {{".png", GMMPIO_KIND_PNG}, {".pgm", GMMPIO_KIND_PGM},
                 {".ppm", GMMPIO_KIND_PPM}, {".idx", GMMPIO_KIND_IDX},
                 {".idx.gz", GMMPIO_KIND_IDX}};
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t n = strlen(known[i].suffix);
        if (len > n && strcasecmp(path + len - n, known[i].suffix) == 0) {
            *kind = known[i].kind;
            return 0;
        }
    }
    return gmmpio__fail(err, errlen, "%s: the output's format is chosen by its suffix, which "
                                     "must be .png, .pgm, .ppm, .idx or .idx.gz",
                        path);
}

int gmmpio_write_images(const char *path, const gmmpio_stack *img, enum gmmpio_kind kind,
                        char *err, size_t errlen)
{
    /* A name that says a format gets that format (out.png is a PNG, never
     * a PGM under a PNG's name); one that says none gets `kind`. */
    enum gmmpio_kind named;
    char ignored[8];
    if (gmmpio_kind_from_name(path, &named, ignored, sizeof ignored) == 0)
        kind = named;
    size_t C = gmmpio_stack_channels(img);
    if ((kind == GMMPIO_KIND_PPM && C != 3) || (kind == GMMPIO_KIND_PGM && C != 1))
        return gmmpio__fail(err, errlen, "cannot write %s: a %s file holds %s images, these have "
                                         "%zu channel(s)",
                            path, kind == GMMPIO_KIND_PPM ? "PPM" : "PGM",
                            kind == GMMPIO_KIND_PPM ? "RGB" : "grey", C);
    if (kind == GMMPIO_KIND_PGM || kind == GMMPIO_KIND_PNG || kind == GMMPIO_KIND_PPM) {
        static const char *const names[] = {"IDX", "PGM", "PNG", "PPM"};
        if (img->count != 1)
            return gmmpio__fail(err, errlen, "cannot write %s: a %s file holds one image, not %zu",
                                path, names[kind], img->count);
        if (kind == GMMPIO_KIND_PNG)
            return gmmpio_png_write_stack(path, img, 0, err, errlen);
        if (kind == GMMPIO_KIND_PPM)
            return gmmpio_ppm_write(path, img, 0, err, errlen);
        return gmmpio_pgm_write(path, img, 0, 0, err, errlen);
    }
    size_t len = strlen(path);
    int gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;
    return gmmpio_idx_write(path, img, GMMPIO_IDX_DOUBLE, gz, err, errlen);
}
