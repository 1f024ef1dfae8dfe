/*
 * The one strict option parser of every installed tool and example
 * (gmmp-train, gmmp-denoise, gmmp-epll, gmmp-mpi-train, gmmp-mnist-demo,
 * minimal): every value is parsed whole ("12abc", "", " 5", "nan", "inf",
 * 1e308 for an integer are refused), checked against its range, and a
 * refusal prints "PROG: bad value 'TEXT' for --OPTION: expected ..." with
 * the accepted range or choices. Callers exit with status CLI_USAGE (2).
 *
 * Choices (--estimator, --init) match exactly, lower case as documented:
 * "MMSE" is refused, and the message lists the choices.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_CLI_H
#define GMMP_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit status of a usage error. */
#define CLI_USAGE 2

/* Ranges shared by the tools. A noise level or peak must have a square
 * that is a normal double with room to spare, and pixel values must stay
 * far from overflow when squared and summed over patches. */
#define CLI_SIGMA_MIN 1e-6
#define CLI_SIGMA_MAX 1e15
#define CLI_PEAK_MIN 1e-6
#define CLI_PEAK_MAX 1e30
#define CLI_VALUE_LIMIT 1e30 /* |pixel| at most this, finite */

/* Parses an integer in [lo, hi]; on failure prints "PROG: bad value ..."
 * and returns -1. */
int cli_int(const char *prog, const char *option, const char *text, int64_t lo, int64_t hi,
            int64_t *out);

/* Parses a finite real in [lo, hi]. */
int cli_real(const char *prog, const char *option, const char *text, double lo, double hi,
             double *out);

/* Parses a comma-separated list of 1 to max reals, each in [lo, hi]
 * ("1,4,8"; no empty items). */
int cli_real_list(const char *prog, const char *option, const char *text, double lo, double hi,
                  double *out, size_t max, size_t *n);

/* The values of --precision, indexed by gmmp_precision: "double",
 * "single". */
extern const char *const cli_precisions[];

/* Matches text exactly against the NULL-terminated choices; *out is the
 * index. The message lists the choices. */
int cli_choice(const char *prog, const char *option, const char *text,
               const char *const *choices, int *out);

/* True when the two names are the same file (or the same text), so that
 * a reference given as the output can be refused. */
int cli_same_file(const char *a, const char *b);

/* Flushes stdout; on failure (a full disk, a closed pipe) says so and
 * returns -1, so that results printed there are never lost silently. */
int cli_flush_stdout(const char *prog);

/* Silences the messages (for all but one MPI rank, or fuzzing). */
void cli_set_silent(int on);

/* Prints "PROG: message" and returns CLI_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cli_usage_error(const char *prog, const char *fmt, ...);

/* Prints "PROG (libgmmprior) VERSION" for --version; returns the exit
 * status (1 if standard output could not be written). */
int cli_print_version(const char *prog);

#endif
