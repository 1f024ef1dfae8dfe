/*
 * Reading and writing images whatever their file kind, for the tools.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "imageio.h"
#include "ioutil.h"

int gmmpio_read_images(const char *path, gmmpio_stack *out, enum gmmpio_kind *kind, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gmmpio__fail(err, errlen, "cannot open %s", path);
    unsigned char head[2] = {0, 0};
    size_t got = fread(head, 1, 2, f);
    fclose(f);
    if (got == 2 && head[0] == 'P' && (head[1] == '2' || head[1] == '5')) {
        if (kind)
            *kind = GMMPIO_KIND_PGM;
        return gmmpio_pgm_read(path, out, err, errlen);
    }
    /* IDX starts with two zero bytes, gzip with 1f 8b. */
    if (got == 2 && ((head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b))) {
        if (kind)
            *kind = GMMPIO_KIND_IDX;
        return gmmpio_idx_read(path, out, err, errlen);
    }
    return gmmpio__fail(err, errlen, "%s is neither an IDX nor a PGM file", path);
}

int gmmpio_write_images(const char *path, const gmmpio_stack *img, enum gmmpio_kind kind,
                        char *err, size_t errlen)
{
    if (kind == GMMPIO_KIND_PGM) {
        if (img->count != 1)
            return gmmpio__fail(err, errlen, "a PGM file holds one image, not %zu", img->count);
        return gmmpio_pgm_write(path, img, 0, 0, err, errlen);
    }
    size_t len = strlen(path);
    int gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;
    return gmmpio_idx_write(path, img, GMMPIO_IDX_DOUBLE, gz, err, errlen);
}
