/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file train.h
 * @brief Expectation-maximisation: streaming sufficient statistics and the trainer.
 *
 * **Sufficient statistics** (gmmp_stats) are what one EM iteration needs
 * from the data: per component k, the sum of responsibilities N_k = sum_i
 * r_ik, the first moment sum_i r_ik x_i and the second moment sum_i r_ik
 * x_i x_i^T, plus the log-likelihood sum. They are accumulated from chunks
 * of data, merged, and turned into a new model by the M-step, so data that
 * does not fit in memory (or lives on several machines) can be trained on.
 * The in-memory trainer uses the same code.
 *
 * Moments are kept about the means of the model the data was scored with
 * (a shift), which keeps the covariance update free of cancellation when
 * the data's mean is large against its spread. Statistics can only be
 * merged when they were accumulated under the same model.
 *
 * **Threading.** Statistics and trainers are modified by their functions:
 * use one per thread. gmmp_trainer_fit() may itself use several threads
 * (#GMMP_OPT_THREADS); its result does not depend on their number: the
 * sums are formed block by block and added in block order. The library
 * leaves OpenBLAS's own threading alone unless #GMMP_OPT_BLAS_SERIAL asks
 * it to make OpenBLAS single-threaded while the trainer's threads run
 * (0.66 s against 1.24 s per iteration on the reference workload, 2 cores,
 * when both pools would otherwise share the cores).
 */
#ifndef GMMPRIOR_TRAIN_H
#define GMMPRIOR_TRAIN_H

#include "common.h"
#include "model.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Sufficient statistics for EM. Opaque. */
typedef struct gmmp_stats gmmp_stats;

/**
 * Creates empty statistics for K components in d dimensions.
 * @param[out] out      receives the statistics, owned by the caller.
 * @param n_components  K.
 * @param dim           d.
 * @param options       NULL for the defaults; reads #GMMP_OPT_SKIP and
 *                      #GMMP_OPT_PRECISION (each accumulate call's E-step
 *                      runs as the trainer's).
 * @return GMMP_OK; GMMP_EINVAL for a NULL output or K or d of 0;
 *         GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_stats_create(gmmp_stats **out, size_t n_components, size_t dim,
                               const gmmp_options *options);

/** Destroys statistics. Accepts NULL. */
GMMP_API void gmmp_stats_destroy(gmmp_stats *stats);

/** Empties the statistics (and forgets the model they were bound to). Accepts NULL. */
GMMP_API void gmmp_stats_reset(gmmp_stats *stats);

/**
 * Runs the E-step of `model` on n samples (X is n x d) and adds their
 * statistics.
 * @param stats  the statistics to add to.
 * @param model  the model that scores the samples.
 * @param X      n x d samples; only read.
 * @param n      number of samples (0 only binds). The first call after creation or reset binds the statistics
 * to the model's means (n may be 0 just to bind); later calls must use a
 * model with the same means.
 *
 * Samples whose responsibility for a component is at most the skip
 * threshold (#GMMP_OPT_SKIP, default 1e-12) are left out of that
 * component's moments, which saves most of the M-step's work when
 * responsibilities are nearly hard.
 *
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, or statistics bound to a
 *         different model; GMMP_EDIM if the model's K or d differ from the
 *         statistics'; GMMP_ENONFINITE if X holds NaN or infinity (nothing is
 *         added then); GMMP_ENOMEM.
 */
GMMP_API int gmmp_stats_accumulate(gmmp_stats *stats, const gmmp_model *model,
                                   const double *X, size_t n);


/**
 * Adds the statistics of `src` to `dst`.
 * @param dst  statistics to add to.
 * @param src  statistics to add; not changed. Both must have the same K and d
 * and, unless one is empty, be bound to the same model.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers or different bindings;
 *         GMMP_EDIM for different sizes.
 */
GMMP_API int gmmp_stats_merge(gmmp_stats *dst, const gmmp_stats *src);

/** Number of samples accumulated (0 if stats is NULL). */
GMMP_API double gmmp_stats_count(const gmmp_stats *stats);

/** Sum of log p(x_i) over the samples accumulated (0 if stats is NULL). */
GMMP_API double gmmp_stats_loglik(const gmmp_stats *stats);

/**
 * The M-step: the model that maximises the expected log-likelihood given
 * the statistics, as scikit-learn computes it: N_k = sum r_ik + 10 eps,
 * weights N_k / sum N_k, means and covariances from the moments, reg_covar
 * added to each covariance's diagonal.
 *
 * A component with (numerically) no samples, N_k < 1e-3, cannot be
 * estimated. Instead of a silent dead component, the M-step re-seeds it by
 * splitting the heaviest component in two along its principal axis
 * (means mu +- sqrt(lambda)/2 u, covariance shrunk along u, weight halved),
 * and counts it in *n_split.
 *
 * @param stats      the statistics.
 * @param reg_covar  non-negative, added to every covariance's diagonal.
 * @param[out] out   receives the new model.
 * @param[out] n_split  NULL, or receives the number of components re-seeded.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, empty statistics or a bad
 *         reg_covar; GMMP_ENOTSPD if a covariance is not positive definite
 *         even with reg_covar (the message names the component and suggests
 *         a larger reg_covar); GMMP_ENOMEM.
 */
GMMP_API int gmmp_stats_m_step(const gmmp_stats *stats, double reg_covar, gmmp_model **out,
                               size_t *n_split);

/**
 * Adapts a prior to data (MAP adaptation: Reynolds, Quatieri and Dunn
 * 2000; for patch priors Luo, Chan and Nguyen, IEEE TIP 2016): one EM
 * step whose M-step is pulled towards the prior. With N_k the
 * responsibility mass of component k in the statistics and
 * alpha_k = N_k / (N_k + relevance), the new weight is proportional to
 * alpha_k N_k / N + (1 - alpha_k) w_k, the new mean and second moment are
 * alpha_k times the data's plus (1 - alpha_k) times the prior's, and
 * reg_covar is added to each covariance's diagonal. Relevance 0 is the
 * plain M-step (except that unvisited components keep the prior's
 * parameters instead of being re-seeded); a large relevance keeps the
 * prior. The adapted model keeps the prior's patch description.
 * (since 1.1)
 *
 * @param stats      statistics accumulated under `prior`
 *                   (gmmp_stats_accumulate() with it).
 * @param prior      the model to adapt; not changed.
 * @param relevance  finite, non-negative: samples' worth of the prior.
 * @param reg_covar  finite, non-negative, added to every covariance's diagonal.
 * @param[out] out   receives the adapted model.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, a bad relevance or
 *         reg_covar, empty statistics or statistics bound to another
 *         model; GMMP_EDIM if K or d differ; GMMP_ENOTSPD if a covariance
 *         is not positive definite (the message suggests a larger
 *         reg_covar or relevance); GMMP_ENOMEM.
 */
GMMP_API int gmmp_stats_adapt(const gmmp_stats *stats, const gmmp_model *prior, double relevance,
                              double reg_covar, gmmp_model **out);

/**
 * Number of doubles in the packed form of statistics for K components in
 * d dimensions: 2 + K*(1 + d + d*(d+1)/2).
 */
GMMP_API size_t gmmp_stats_packed_size(size_t n_components, size_t dim);

/**
 * Writes the statistics' sums into buf (gmmp_stats_packed_size() doubles).
 * @param stats  the statistics.
 * @param buf    output buffer, owned by the caller.
 * The packed form is additive: the element-wise sum of two packed
 * statistics bound to the same model is the packing of their merge, so
 * processes can combine them with a sum reduction (MPI_Allreduce).
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers.
 */
GMMP_API int gmmp_stats_pack(const gmmp_stats *stats, double *buf);

/**
 * Replaces the statistics' sums by a packed buffer (from gmmp_stats_pack(),
 * possibly summed over processes), keeping their binding
 * (so bind first, by accumulating under the model, possibly with n = 0).
 * @param stats  the statistics to overwrite.
 * @param buf    gmmp_stats_packed_size() doubles.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers or unbound statistics;
 *         GMMP_ENONFINITE if the buffer holds NaN or infinity.
 */
GMMP_API int gmmp_stats_unpack(gmmp_stats *stats, const double *buf);

/** Trainer. Opaque. */
typedef struct gmmp_trainer gmmp_trainer;

/** What gmmp_trainer_fit() reports. */
typedef struct gmmp_fit_info {
    int n_iter;         /**< EM iterations of the returned run */
    int converged;      /**< 1 if the change fell below tol */
    int stopped;        /**< 1 if the progress callback (#gmmp_options_set_progress) stopped the fit */
    int best_init;      /**< which restart gave the returned model */
    double mean_loglik; /**< scikit-learn's lower_bound_: mean log-likelihood before the last M-step */
    size_t n_split;     /**< components re-seeded by splitting (see gmmp_stats_m_step()) */
    double seconds;     /**< wall time of the fit */
    double flops;       /**< floating-point operations of the fit's matrix products (all
                             restarts and the initialisation included), for benchmarks */
    double reserved[8]; /**< room for later fields; zeroed */
} gmmp_fit_info;

/**
 * Creates a trainer for K components.
 * @param[out] out      receives the trainer, owned by the caller.
 * @param n_components  K.
 * @param options       NULL for the defaults; the trainer copies what it
 *                      reads: #GMMP_OPT_MAX_ITER, #GMMP_OPT_N_INIT,
 *                      #GMMP_OPT_INIT, #GMMP_OPT_SEED,
 *                      #GMMP_OPT_KMEANS_MAX_ITER, #GMMP_OPT_TOL,
 *                      #GMMP_OPT_REG_COVAR, #GMMP_OPT_SKIP,
 *                      #GMMP_OPT_THREADS, #GMMP_OPT_BLAS_SERIAL,
 *                      #GMMP_OPT_PRECISION, and the
 *                      progress callback (gmmp_options_set_progress()):
 *                      during k-means (#GMMP_PHASE_KMEANS) and after each
 *                      EM iteration (#GMMP_PHASE_EM).
 * @return GMMP_OK; GMMP_EINVAL for a NULL output or K = 0; GMMP_ENOMEM.
 */
GMMP_API int gmmp_trainer_create(gmmp_trainer **out, size_t n_components,
                                 const gmmp_options *options);

/** Destroys a trainer. Accepts NULL. */
GMMP_API void gmmp_trainer_destroy(gmmp_trainer *trainer);

/**
 * Starts from a copy of `model` instead of #GMMP_OPT_INIT's method
 * (GMMP_INIT_MODEL). With n_init > 1 every restart starts from it.
 * @param trainer  the trainer.
 * @param model    the initial model; copied, so it may be destroyed afterwards.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers; GMMP_EDIM if the model has
 *         a different K; GMMP_ENOMEM.
 */
GMMP_API int gmmp_trainer_set_init_model(gmmp_trainer *trainer, const gmmp_model *model);

/**
 * Fits a model to n samples of dimension d (X is n x d, row-major).
 *
 * @param trainer  the trainer (its options, initial model and callback).
 *                 A trainer made with GMMP_INIT_MODEL but given no model
 *                 fails with GMMP_EINVAL.
 * @param X        n x d samples; only read, not copied.
 * @param n        number of samples, >= K.
 * @param dim      d.
 * Memory: O(n*K + K*d*d) besides X, plus a workspace of a few thousand
 * rows per thread; no n x d copy of the data is made.
 *
 * @param[out] out   receives the fitted model.
 * @param[out] info  NULL, or receives iterations, convergence and the final
 *                   mean log-likelihood.
 * @return GMMP_OK (also when the callback stopped the fit or max_iter was
 *         reached without convergence: see info); GMMP_EINVAL for NULL
 *         pointers or d = 0; GMMP_EDIM if n < K, or the initial model's d
 *         differs; GMMP_ENONFINITE if X holds NaN or infinity; GMMP_ENOTSPD
 *         if a covariance cannot be made positive definite (message names
 *         the component); GMMP_ENOMEM.
 */
GMMP_API int gmmp_trainer_fit(gmmp_trainer *trainer, const double *X, size_t n, size_t dim,
                              gmmp_model **out, gmmp_fit_info *info);

/**
 * How the trainer's last fit computed its E-steps (#GMMP_OPT_PRECISION):
 * one pass per component per EM iteration, over all restarts. With
 * double precision every pass is double. With single precision a
 * component's pass runs in double when float is not accurate enough for
 * it: its covariance's correlations are too ill-conditioned (whitening
 * condition number above 1e5), a variance lies outside [2^-80, 2^80], or
 * the data exceed 2^40 in magnitude (then every pass is double).
 * docs/math.md gives the analysis.
 * @param trainer             the trainer, after gmmp_trainer_fit().
 * @param[out] single_passes  receives the passes run in single precision; may be NULL.
 * @param[out] double_passes  receives the passes run in double precision; may be NULL.
 * @return GMMP_OK; GMMP_EINVAL for a NULL trainer. Both are 0 before any fit
 *         and after a fit refused for its arguments; after a fit that failed
 *         part-way they count the passes it ran.
 */
GMMP_API int gmmp_trainer_precision(const gmmp_trainer *trainer, size_t *single_passes,
                                    size_t *double_passes);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_TRAIN_H */
