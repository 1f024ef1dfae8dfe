/*
 * libFuzzer target: the tools' shared option parser (examples/common/cli.c),
 * through which every option value of every tool and example goes. The
 * first byte picks the parser and its range, the rest is the value text.
 * Whatever is accepted must be within the range and must be what the text
 * says (an integer printed back gives the same text, modulo a leading '+'
 * and zeros).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    cli_set_silent(1);
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    static const struct { int64_t lo, hi; } iranges[] = {
        {1, 256}, {0, INT64_MAX}, {1, INT64_MAX / 65536}, {1, 1000000000}};
    static const struct { double lo, hi; } rranges[] = {
        {CLI_SIGMA_MIN, CLI_SIGMA_MAX}, {0.0, 1e300}, {0.0, 0.99}, {1e-6, 1e6}};
    static const char *const choices[] = {"mmse", "map", NULL};
    int which = data[0] % 4, range = (data[0] / 4) % 4;
    switch (which) {
    case 0: {
        int64_t v;
        if (cli_int("fuzz", "int", text, iranges[range].lo, iranges[range].hi, &v) == 0) {
            if (v < iranges[range].lo || v > iranges[range].hi)
                fuzz_abort("integer accepted outside its range");
            if (strtoll(text, NULL, 10) != v)
                fuzz_abort("integer accepted with another value");
        }
        break;
    }
    case 1: {
        double v;
        if (cli_real("fuzz", "real", text, rranges[range].lo, rranges[range].hi, &v) == 0) {
            if (!isfinite(v) || v < rranges[range].lo || v > rranges[range].hi)
                fuzz_abort("real accepted outside its range");
            if (strtod(text, NULL) != v)
                fuzz_abort("real accepted with another value");
        }
        break;
    }
    case 2: {
        double v[32];
        size_t n = 0;
        if (cli_real_list("fuzz", "list", text, rranges[range].lo, rranges[range].hi, v, 32,
                          &n) == 0) {
            if (n < 1 || n > 32)
                fuzz_abort("list of a bad length accepted");
            for (size_t i = 0; i < n; i++)
                if (!isfinite(v[i]) || v[i] < rranges[range].lo || v[i] > rranges[range].hi)
                    fuzz_abort("list item accepted outside its range");
        }
        break;
    }
    default: {
        int k = -1;
        if (cli_choice("fuzz", "choice", text, choices, &k) == 0 &&
            (k < 0 || k > 1 || strcmp(text, choices[k]) != 0))
            fuzz_abort("choice accepted that is not one");
        break;
    }
    }
    free(text);
    return 0;
}
