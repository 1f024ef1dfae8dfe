/*
 * Times gmmp_estimate_noise on images given as files (IDX of doubles,
 * grey h x w or RGB 1 x h x w x 3, PNG, PGM, PPM), for bench/noise_bench.py,
 * which adds the noise: one line per image, "FILE INDEX SIGMA SECONDS",
 * the seconds being the fastest of `repeats` calls (the estimate is
 * deterministic, so every call returns the same sigma). The machine and
 * BLAS come first, on lines starting with "machine" and "BLAS".
 *
 * Usage: bench_noise [-r REPEATS] FILE...
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "gmmprior.h"
#include "imageio.h"

int main(int argc, char **argv)
{
    int first = 1, repeats = 3;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        repeats = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || repeats < 1) {
        fprintf(stderr, "usage: %s [-r REPEATS] FILE...\n", argv[0]);
        return 2;
    }
    bench_print_machine();
    for (int a = first; a < argc; a++) {
        gmmpio_stack img = {0};
        char err[256];
        if (gmmpio_read_images_ex(argv[a], GMMPIO_READ_COLOUR, &img, NULL, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        size_t C = gmmpio_stack_channels(&img), per = img.rows * img.cols * C;
        for (size_t i = 0; i < img.count; i++) {
            double sigma = 0.0, best = 0.0;
            for (int k = 0; k < repeats; k++) {
                double t0 = bench_now();
                CHECK(gmmp_estimate_noise(img.pixels + i * per, img.rows, img.cols, C,
                                          img.cols * C, &sigma));
                double t = bench_now() - t0;
                best = k == 0 || t < best ? t : best;
            }
            printf("%s %zu %.17g %.6f\n", argv[a], i, sigma, best);
        }
        gmmpio_stack_free(&img);
    }
    return 0;
}
