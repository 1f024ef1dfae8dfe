/*
 * Eigendecompositions of a model's covariances, Sigma_k = U_k diag(lambda_k)
 * U_k^T, for denoising plans: with them, any noise level costs no new
 * factorisation. Computed once per model, shared by reference count.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EIGEN_H
#define GMMP_EIGEN_H

#include <stdatomic.h>
#include <stddef.h>

#include "gmmprior/model.h"

#include "workers.h"

typedef struct gmmp__eigen {
    atomic_size_t refs;
    size_t K, d;
    size_t top;     /* d, or the `top` largest eigenpairs only (partial: gmmp__eigen_get) */
    double *lambda; /* K x d eigenvalues, ascending */
    double *ut;     /* K x d x d: U_k^T, row j = eigenvector j */
    float *ut_f;    /* the same in float, made by the first single-precision plan */
    /* What a plan derives from these bases and the model alone, whatever
     * the noise (posterior's flat-tail layouts), kept here so that plans
     * for other noise levels reuse it: set and read under the model's
     * lock, released with the bases by derived_release. NULL for none. */
    void *derived;
    void (*derived_release)(void *derived);
} gmmp__eigen;

/* Returns the model's eigendecompositions (computing them on first use,
 * on `threads`) with a reference for the caller, released with
 * gmmp__eigen_release. With top < d the caller needs only the `top`
 * largest eigenpairs and the sum of the others (flat-tail plans): when
 * the model has a hint (gmmp__eigen_hint), they may come from two
 * subspace iterations started from the hint's and a Rayleigh-Ritz step,
 * an approximation (eigen.c says how close); the other d - top
 * eigenvalues then each hold their mean and their eigenvectors are zero
 * (top < d in the result). */
int gmmp__eigen_get(const gmmp_model *m, gmmp__exec_threads threads, size_t top,
                    gmmp__eigen **out);

/* Lets `to` (a model adapted from `from`, with the same K and d) start
 * partial decompositions from from's eigenbases, if they are computed.
 * Does nothing otherwise. */
void gmmp__eigen_hint(gmmp_model *to, const gmmp_model *from);

/* The float copy of the model's eigenbases (e, from gmmp__eigen_get on
 * m), made on first use under the model's lock and shared like them, so
 * that a single-precision plan for a new sigma still allocates O(K d).
 * NULL when out of memory (message set). */
const float *gmmp__eigen_single(const gmmp_model *m, gmmp__eigen *e);

/* The r (<= d) largest eigenpairs of each covariance, exactly (full
 * decompositions, the model's cache when it holds them): eigenvalues
 * ascending into lambda (K x r), eigenvectors as rows into ut (K x r x d),
 * row a belonging to lambda[a]. For gmmp_model_set_spectra. */
int gmmp__eigen_leading(const gmmp_model *m, size_t r, double *lambda, double *ut);

/* Checks that lambda and ut (gmmp__eigen_leading's layout) hold r
 * leading eigenpairs of m's covariances, and makes them m's cache when it
 * has none: a model file's stored spectra, so that flat-tail plans of
 * rank <= r decompose nothing. GMMP_EFORMAT, naming the component and
 * what disagrees, when they do not fit (eigen.c says what is checked). */
int gmmp__eigen_adopt(gmmp_model *m, size_t r, const double *lambda, const double *ut);

/* gmmp__eigen_adopt in parts, for loading on several threads: the cache
 * to fill (begin), component k's pairs (lk: r, uk: r x d) checked and
 * copied into it, for any k in any order (one; scratch of
 * gmmp__eigen_adopt_scratch doubles), then made m's (end, which takes e's
 * reference). */
int gmmp__eigen_adopt_begin(const gmmp_model *m, size_t r, gmmp__eigen **out);
size_t gmmp__eigen_adopt_scratch(size_t r, size_t d);
int gmmp__eigen_adopt_one(const gmmp_model *m, gmmp__eigen *e, size_t k, const double *lk,
                          const double *uk, double *scratch);
void gmmp__eigen_adopt_end(gmmp_model *m, gmmp__eigen *e);

/* Drops one reference. Accepts NULL. */
void gmmp__eigen_release(gmmp__eigen *e);

#endif /* GMMP_EIGEN_H */
