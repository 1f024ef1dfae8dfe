/*
 * Helpers shared by the unit tests: fixtures, random data, comparisons
 * (those that need only Check are in tucore.c, the others in testutil.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_TESTUTIL_H
#define GMMP_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a raw little-endian float64 fixture file under tests/fixtures/, and
 * fails the test unless it holds exactly `count` values. Free with free(). */
double *tu_load_f64(const char *relpath, size_t count);

/* Path of a file below the source tree's tests/ directory (static buffer). */
const char *tu_path(const char *relpath);

/* Deterministic generator for test data (splitmix64). */
typedef struct tu_rng {
    uint64_t state;
} tu_rng;
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r);   /* in [0, 1) */
double tu_normal(tu_rng *r);    /* standard normal */
void tu_fill_uniform(tu_rng *r, double *x, size_t n, double lo, double hi);

/* Normwise relative difference ||a - b|| / max(||b||, tiny). */
double tu_rel_diff(const double *a, const double *b, size_t n);
/* Largest absolute difference. */
double tu_max_abs_diff(const double *a, const double *b, size_t n);

/* Makes the columns of the n x n matrix q orthonormal (Gram-Schmidt). */
void tu_orthonormal_columns(double *q, size_t n);

/* A random symmetric positive definite n x n matrix, eigenvalues in [lo, hi]. */
void tu_random_spd(tu_rng *r, double *a, size_t n, double lo, double hi);

/* A random prior of K equally weighted components in d dimensions
 * (covariance eigenvalues in 1..900, means in -40..40) and N rows near
 * its means (row i near mean i mod K, noise of sigma 20), from `seed`.
 * `few`: its variance and means mostly in the first 4 coordinates
 * (eigenvalues 1..30 plus 400..4000 there, means outside them a
 * twentieth), as natural patches lie mostly in a few directions, so that
 * preselection ranks through a basis of them (flat_layout.c). */
void tu_random_prior(uint64_t seed, size_t K, size_t d, size_t N, int few, double *w, double *mu,
                     double *cov, double *Y);

/* An options handle with every option at its default (fails the test on
 * error). Free with gmmp_options_destroy(). */
struct gmmp_options;
struct gmmp_options *tu_options(void);

/* A K = 3 model of ph x pw x C patches, random but fixed for the shape
 * (means in -20..20 if it removes patch means, 40..200 otherwise;
 * covariance eigenvalues in 5..900). Free with gmmp_model_destroy(). */
struct gmmp_model;
struct gmmp_model *tu_patch_model(size_t ph, size_t pw, size_t C, int remove_mean);

/* Rewrites a model file's trailing CRC-32 (docs/model-format.md: every
 * byte before it) after a deliberate change, so that the change itself is
 * what a reader sees; computed bit by bit, independently of the library. */
void tu_model_fix_crc(unsigned char *buf, size_t size);

/* Counts the library's allocations between the two calls: the first sets
 * a counting allocator (gmmp_set_allocator), the second restores the
 * default and returns the largest single request in between. */
void tu_count_allocations(void);
size_t tu_largest_allocation(void);

/* A test case with no Check timeout of its own (Check's default is 4 s,
 * too short on a loaded machine): meson's timeout applies instead. */
TCase *tu_tcase(const char *name);

/* Runs a suite with Check and returns the process exit status. */
int tu_run(Suite *s);

#define ck_assert_ok(expr)                                                          \
    do {                                                                            \
        int tu_rc_ = (expr);                                                        \
        ck_assert_msg(tu_rc_ == 0, "%s returned %d (%s): %s", #expr, tu_rc_,        \
                      gmmp_strerror(tu_rc_), gmmp_last_error());                     \
    } while (0)

/* Checks a call fails with `code` and leaves a non-empty message. */
#define ck_assert_fails(expr, code)                                                 \
    do {                                                                            \
        int tu_rc_ = (expr);                                                        \
        ck_assert_msg(tu_rc_ == (code), "%s returned %d (%s), expected %d (%s)",    \
                      #expr, tu_rc_, gmmp_strerror(tu_rc_), (code),                 \
                      gmmp_strerror(code));                                         \
        ck_assert_msg(gmmp_last_error()[0] != '\0', "%s left no message", #expr);   \
    } while (0)

#endif /* GMMP_TESTUTIL_H */
