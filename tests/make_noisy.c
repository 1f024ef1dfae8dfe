/*
 * Test helper for the tool tests: writes the first COUNT images of an
 * image file with Gaussian noise added (clipped to 0..255), as IDX
 * (doubles) or, with KIND "pgm", the first image as PGM; with sigma 0 it
 * just converts.
 * usage: make_noisy IN OUT SIGMA COUNT idx|pgm
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageio.h"
#include "restore.h"

int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    gmmpio_stack in, out;
    char err[512];
    if (gmmpio_read_images(argv[1], &in, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t count = (size_t)atol(argv[4]);
    count = count < in.count ? count : in.count;
    if (gmmpio_stack_alloc(&out, count, in.rows, in.cols)) {
        gmmpio_stack_free(&in);
        return 1;
    }
    memcpy(out.pixels, in.pixels, count * in.rows * in.cols * sizeof(double));
    double sigma = atof(argv[3]);
    if (sigma > 0)
        restore_add_noise(&out, sigma, 7, 0.0, 255.0);
    int pgm = strcmp(argv[5], "pgm") == 0;
    if (pgm)
        out.count = 1;
    int status = 0;
    if (gmmpio_write_images(argv[2], &out, pgm ? GMMPIO_KIND_PGM : GMMPIO_KIND_IDX, err,
                            sizeof err)) {
        fprintf(stderr, "%s\n", err);
        status = 1;
    }
    gmmpio_stack_free(&in);
    gmmpio_stack_free(&out);
    return status;
}
