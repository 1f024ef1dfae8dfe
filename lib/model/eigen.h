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
    double *lambda; /* K x d eigenvalues, ascending */
    double *ut;     /* K x d x d: U_k^T, row j = eigenvector j */
    float *ut_f;    /* the same in float, made by the first single-precision plan */
} gmmp__eigen;

/* Returns the model's eigendecompositions (computing them on first use,
 * on `threads`) with a reference for the caller, released with
 * gmmp__eigen_release. */
int gmmp__eigen_get(const gmmp_model *m, gmmp__exec_threads threads, gmmp__eigen **out);

/* The float copy of the model's eigenbases (e, from gmmp__eigen_get on
 * m), made on first use under the model's lock and shared like them, so
 * that a single-precision plan for a new sigma still allocates O(K d).
 * NULL when out of memory (message set). */
const float *gmmp__eigen_single(const gmmp_model *m, gmmp__eigen *e);

/* Drops one reference. Accepts NULL. */
void gmmp__eigen_release(gmmp__eigen *e);

#endif /* GMMP_EIGEN_H */
