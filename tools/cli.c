/*
 * Strict option values for the tools.
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int cli_int(const char *prog, const char *option, const char *text, int64_t lo, int64_t hi,
            int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || v < lo || v > hi) {
        fprintf(stderr, "%s: bad value '%s' for --%s: expected an integer in [%lld, %lld]\n",
                prog, text, option, (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_real(const char *prog, const char *option, const char *text, double lo, double hi,
             double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "%s: bad value '%s' for --%s: expected a number in [%g, %g]\n", prog,
                text, option, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}
