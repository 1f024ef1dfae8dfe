/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file posterior.h
 * @brief Planned, batched posterior of a Gaussian-mixture prior under a
 *        linear Gaussian observation model.
 *
 * Observations y (p values) of a patch z (d values) follow
 *
 *     y = W z + b + n,   n ~ N(0, Sigma_y),   z ~ sum_k pi_k N(mu_k, Sigma_k).
 *
 * The posterior is again a mixture. For each component k, with
 * S_k = W Sigma_k W^T + Sigma_y,
 *
 *     Sigma_{k|y} = Sigma_k - Sigma_k W^T S_k^{-1} W Sigma_k
 *     mu_{k|y}    = mu_k + Sigma_k W^T S_k^{-1} (y - W mu_k - b)
 *     p(k|y)      = pi_k N(y; W mu_k + b, S_k) / p(y)
 *
 * (the same quantities as (Sigma_k^{-1} + W^T Sigma_y^{-1} W)^{-1} and its
 * mean, without ever inverting Sigma_k, which is close to singular for
 * patch priors). The estimates are MAP-component (mu_{k|y} of the most
 * responsible k) and MMSE (sum_k p(k|y) mu_{k|y}).
 *
 * **Plan, then execute.** gmmp_plan_create() does every factorisation
 * once; gmmp_plan_execute() then applies the plan to any number of
 * batches with matrix-matrix products over the batch. For denoising (W the
 * identity, Sigma_y = sigma^2 I) the plan uses by default the model's
 * eigendecompositions, computed once per model, so a plan for a new sigma
 * costs O(K d) and no factorisation; for large batches under one sigma,
 * GMMP_PLAN_CHOLESKY executes twice as fast (see gmmp_plan_method).
 *
 * **Threading.** A plan is never modified by executing it: any number of
 * threads may execute one plan at once (each call uses its own buffers).
 * With #GMMP_OPT_THREADS > 1 one call itself runs on several threads
 * (and with #GMMP_OPT_BLAS_SERIAL makes OpenBLAS single-threaded while
 * they run: OpenBLAS's thread count is process-wide, see docs/threading.md).
 *
 * **Memory.** A plan references the model's parameters and cached
 * factorisations (reference counted), it does not copy them: a denoising
 * plan for a new sigma allocates O(K d). A flat-tail plan's eigenvector
 * layout (#GMMP_OPT_RANK; about 4 MB for K = 200, d = 64, rank 16) is
 * kept with the model's cached eigenbases as well, the newest one, for
 * the model's next flat plans (since 1.1). The model may be destroyed
 * before the plan.
 */
#ifndef GMMPRIOR_POSTERIOR_H
#define GMMPRIOR_POSTERIOR_H

#include "common.h"
#include "model.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A posterior plan. Opaque and immutable. */
typedef struct gmmp_plan gmmp_plan;

/** How the noise covariance Sigma_y is given. */
typedef enum gmmp_noise_kind {
    GMMP_NOISE_SCALAR = 0,   /**< one variance: Sigma_y = noise[0] I */
    GMMP_NOISE_DIAGONAL = 1, /**< p variances: Sigma_y = diag(noise) */
    GMMP_NOISE_FULL = 2      /**< a p x p symmetric positive definite matrix */
} gmmp_noise_kind;


/**
 * Creates a posterior plan.
 *
 * @param[out] out  receives the plan; free it with gmmp_plan_destroy().
 * @param model     the prior (d dimensions, K components). The plan keeps
 *                  what it needs: the model may be destroyed afterwards.
 * @param p         number of observed values per patch.
 * @param W         p x d observation matrix, or NULL for the identity (then p must be d).
 * @param kind      how `noise` gives Sigma_y.
 * @param noise     1, p or p x p values for GMMP_NOISE_SCALAR, _DIAGONAL, _FULL:
 *                  positive variances, or a symmetric positive definite matrix.
 * @param b         p offsets, or NULL for zero.
 * @param options   NULL for the defaults; reads #GMMP_OPT_PLAN_METHOD,
 *                  #GMMP_OPT_SKIP, #GMMP_OPT_THREADS, #GMMP_OPT_BLAS_SERIAL,
 *                  #GMMP_OPT_PRECISION (see gmmp_plan_single_components()).
 * @return GMMP_OK; GMMP_EINVAL for NULL model, output or noise, p = 0, an
 *         unknown noise kind, a variance that is not positive, or bad
 *         options; GMMP_EDIM if W is NULL and p != d; GMMP_ENONFINITE for
 *         NaN or infinity in W, noise or b; GMMP_ENOTSPD if the full noise
 *         covariance is not symmetric positive definite, or a marginal
 *         covariance S_k is not (the message names the component);
 *         GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_plan_create(gmmp_plan **out, const gmmp_model *model, size_t p,
                              const double *W, gmmp_noise_kind kind, const double *noise,
                              const double *b, const gmmp_options *options);

/**
 * Creates a denoising plan: W the identity, Sigma_y = sigma^2 I, no offset.
 * The common case of gmmp_plan_create(), in one short call.
 * @param[out] out  receives the plan; free it with gmmp_plan_destroy().
 * @param model     the prior.
 * @param sigma     the noise's standard deviation, in the data's units
 *                  (pixels of 0..255 images: sigma 25 is "sigma = 25").
 *                  Positive, finite, with sigma^2 a normal number.
 * @param options   NULL for the defaults; as gmmp_plan_create().
 * @return as gmmp_plan_create(); GMMP_EINVAL for a sigma out of range.
 */
GMMP_API int gmmp_plan_create_denoise(gmmp_plan **out, const gmmp_model *model, double sigma,
                                      const gmmp_options *options);

/** Destroys a plan. Accepts NULL. */
GMMP_API void gmmp_plan_destroy(gmmp_plan *plan);

/** Number of components K (0 if plan is NULL). */
GMMP_API size_t gmmp_plan_components(const gmmp_plan *plan);

/** Patch dimension d (0 if plan is NULL). */
GMMP_API size_t gmmp_plan_dim(const gmmp_plan *plan);

/** Observation dimension p (0 if plan is NULL). */
GMMP_API size_t gmmp_plan_obs_dim(const gmmp_plan *plan);

/**
 * Components whose products run in single precision (#GMMP_OPT_PRECISION),
 * 0 if plan is NULL. A component stays double when float is not accurate
 * enough for it: the condition number of its whitening (from the
 * correlations of its marginal covariance S_k, or sqrt(max/min of
 * lambda + sigma^2) in the eigenbasis) exceeds 1e5, a marginal variance
 * lies outside [2^-80, 2^80], or an observation mean exceeds 2^40 in
 * magnitude (docs/math.md). At execution, a block of observations with a
 * value beyond 2^40 runs in double. Flat-tail plans (#GMMP_OPT_RANK)
 * project the observations themselves in float: a block runs so only
 * while u d max|y| stays below 1e-3 sigma (u = 2^-24), else in double
 * (the count is then K, whatever the blocks do). Masked execution
 * computes in double; plans made with double precision have 0.
 */
GMMP_API size_t gmmp_plan_single_components(const gmmp_plan *plan);

/**
 * Writes the posterior covariance Sigma_{k|y} of component k (d x d); it
 * does not depend on y.
 * @param plan  the plan.
 * @param k     component, < K.
 * @param cov   output, d x d doubles.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments; GMMP_EDIM if k >= K; GMMP_ENOMEM;
 *         GMMP_ENOTSPD if Sigma_k + Sigma_y fails to factor (not for a model the
 *         library accepted and a valid noise level).
 */
GMMP_API int gmmp_plan_posterior_cov(const gmmp_plan *plan, size_t k, double *cov);

/**
 * Applies the plan to n observations (Y is n x p, row-major). Each output
 * may be NULL; at least one must be given. Outputs are owned by the caller.
 *
 * @param plan          the plan.
 * @param Y             n x p observations; only read.
 * @param n             number of observations (0 is allowed).
 * @param resp          n x K responsibilities p(k | y_i).
 * @param log_evidence  n values log p(y_i).
 * @param map           n x d: posterior mean of each row's most responsible component.
 * @param mmse          n x d: posterior mean, sum_k p(k|y_i) mu_{k|y_i}.
 * @return GMMP_OK; GMMP_EINVAL for a NULL plan, a NULL Y with n > 0, or no
 *         output; GMMP_ENONFINITE if Y holds NaN or infinity (the message
 *         says where); GMMP_EOVERFLOW; GMMP_ENOMEM. On failure nothing is written.
 */
GMMP_API int gmmp_plan_execute(const gmmp_plan *plan, const double *Y, size_t n, double *resp,
                               double *log_evidence, double *map, double *mmse);

/**
 * Writes the posterior means mu_{k|y_i} of one component for n
 * observations.
 * @param plan   the plan.
 * @param k      component, < K.
 * @param Y      n x p observations.
 * @param n      number of observations.
 * @param means  output, n x d.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers; GMMP_EDIM if k >= K;
 *         GMMP_ENONFINITE; GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_plan_component_means(const gmmp_plan *plan, size_t k, const double *Y,
                                       size_t n, double *means);

/**
 * Applies the plan to patches with missing pixels: row i of `observed`
 * (n x d bytes, non-zero = observed) selects which of patch i's d pixels
 * are observed, so each patch has its own W_i = the rows of the identity
 * for its observed pixels, with the plan's noise on those pixels. The
 * other values of Y are ignored (they may be NaN). A patch with no
 * observed pixel gets the prior: responsibilities pi_k, log-evidence 0.
 *
 * Patches that share a mask share the factorisations of
 * Sigma_k[O,O] + Sigma_y[O]; every patch then costs two triangular solves
 * and one matrix-vector product per component. Needs a plan made with
 * W = NULL and scalar or diagonal noise (any method); offsets b apply.
 *
 * @param plan          the plan.
 * @param Y             n x d observations; values where the mask is 0 are not read.
 * @param observed      n x d mask bytes.
 * @param n             number of patches (0 is allowed).
 * @param resp          NULL, or n x K responsibilities.
 * @param log_evidence  NULL, or n values log p(y_i observed).
 * @param map           NULL, or n x d MAP-component estimates.
 * @param mmse          NULL, or n x d posterior means.
 * @return GMMP_OK; GMMP_EINVAL for a NULL plan, NULL Y or mask with n > 0,
 *         no output, or a plan made with W or full noise; GMMP_ENONFINITE
 *         if an observed value is NaN or infinite; GMMP_EOVERFLOW;
 *         GMMP_ENOMEM.
 */
GMMP_API int gmmp_plan_execute_masked(const gmmp_plan *plan, const double *Y,
                                      const unsigned char *observed, size_t n, double *resp,
                                      double *log_evidence, double *map, double *mmse);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_POSTERIOR_H */
