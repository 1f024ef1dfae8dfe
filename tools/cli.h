/*
 * Small helpers shared by the command-line tools: strict number parsing
 * with messages that name the option.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_CLI_H
#define GMMP_CLI_H

#include <stdint.h>

/* Parses an integer in [lo, hi]; on failure prints "PROG: bad value ..."
 * and returns -1. */
int cli_int(const char *prog, const char *option, const char *text, int64_t lo, int64_t hi,
            int64_t *out);

/* Parses a finite real in [lo, hi]. */
int cli_real(const char *prog, const char *option, const char *text, double lo, double hi,
             double *out);

#endif
