/*
 * The model's layout, shared by the scoring, training, posterior and file
 * code. Not installed.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_MODEL_INTERNAL_H
#define GMMP_MODEL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "gmmprior/model.h"
#include "workers.h"

struct gmmp__eigen;

struct gmmp_model {
    atomic_size_t refs;  /* the handle's reference plus one per plan using it */
    size_t K, d;
    double *weights;     /* K */
    double *log_weights; /* K: log weights[k] (-inf for a zero weight) */
    double *means;       /* K x d */
    double *covs;        /* K x d x d, exactly symmetric */
    double *chol_inv;    /* K x d x d: L_k^{-1}, lower, zero above (Sigma_k = L_k L_k^T);
                            the precision's Cholesky factor. L_k itself is rarely needed
                            and recomputed then: a model stays at two d x d arrays per
                            component, which matters for training memory. Filled for
                            components k < n_inverted only: factored and inverted on
                            the first scoring call (gmmp__model_prepare_scoring), since
                            loading a prior and adapting it for fast EPLL never score
                            (gmmp__model_factor checks the factors in scratch). */
    size_t n_inverted;    /* components whose chol_inv is inverted, under the lock */
    atomic_bool scoring_ready; /* n_inverted == K, read without the lock */
    double *log_norm;    /* K: log of N's constant, -d/2 log 2pi - log det(L_k) */

    /* Eigendecompositions of the covariances, computed on first use by a
     * denoising plan. Shared (reference counted) with the plans, and
     * filled under the lock, so that a const model stays thread-safe. */
    pthread_mutex_t lock;
    struct gmmp__eigen *eigen;
    /* A nearby model's eigendecompositions (the prior this model was
     * adapted from), a start for partial ones (eigen.h), or NULL. */
    struct gmmp__eigen *eigen_hint;

    /* The leading eigenpairs the model's file carries (format 3:
     * gmmp_model_set_spectra, or read from a file): spectra_rank per
     * component, eigenvalues ascending (K x rank), eigenvectors as rows
     * (K x rank x d). Rank 0 and NULL: none. */
    size_t spectra_rank;
    double *spectra_lambda;
    double *spectra_ut;

    /* What the d values are (gmmp_model_set_patch); channels = 0: unknown. */
    size_t patch_h, patch_w, channels;
    int remove_mean;
    char *description; /* NULL or a NUL-terminated text */
};

/* Another reference to a model, for a plan that shares its parameters. */
gmmp_model *gmmp__model_retain(const gmmp_model *m);

/* Drops a reference; the last one frees the model. Accepts NULL. */
void gmmp__model_release(gmmp_model *m);

/* Allocates a model with uninitialised parameters. */
int gmmp__model_alloc(gmmp_model **out, size_t K, size_t d);

/* Checks the weights, means and covariances written into a model from
 * gmmp__model_alloc (finite, weights summing to one, covariances
 * symmetric to rounding), makes the covariances exactly symmetric and
 * factors them: gmmp_model_create without copying the parameters in. On
 * failure the caller destroys m. */
int gmmp__model_finish(gmmp_model *m);

/* gmmp__model_finish in parts, for loading on several threads (its
 * parameters all decoded): component k's (l: d x d scratch), for any k in
 * any order once the weights are decoded, then the weights'. They accept
 * what gmmp__model_finish accepts and make the same model; their
 * messages only say that something failed, so a caller reports failures
 * through gmmp__model_finish itself. */
int gmmp__model_finish_component(gmmp_model *m, size_t k, double *l);
int gmmp__model_finish_weights(gmmp_model *m);

/* Checks the Cholesky factors and computes the normalising constants
 * from weights, means and covs, the components shared among `threads`.
 * On a covariance that is not positive definite, fails with
 * GMMP_ENOTSPD; the message names the first such component and `hint`
 * (what the caller should change). */
int gmmp__model_factor(gmmp_model *m, const char *hint, gmmp__exec_threads threads);

/* Makes chol_inv hold every L_k^{-1} (once per model, under its lock):
 * every path that scores with chol_inv (gmmp__log_prob,
 * gmmp__single_view_fill) calls this first, in the calling thread,
 * before any worker reads the factors. */
int gmmp__model_prepare_scoring(const gmmp_model *m);

/* Writes L_k (lower Cholesky factor of covariance k, zero above) into l;
 * returns gmmp__cholesky's result (0 for every model that was made). */
int gmmp__model_chol(const gmmp_model *m, size_t k, double *l);

/* Size checks shared by every entry point that takes (K, d). */
int gmmp__check_model_size(size_t K, size_t d);

#endif /* GMMP_MODEL_INTERNAL_H */
