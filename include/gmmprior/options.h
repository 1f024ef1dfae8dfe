/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file options.h
 * @brief Options of every configurable call, in one style.
 *
 * Every call that can be tuned (trainer, statistics, posterior plans,
 * whole-image restoration) takes a `const gmmp_options *`, or NULL for
 * the defaults. An options handle holds values keyed by #gmmp_option;
 * each key is set with the typed setter of its kind, which checks the
 * value's range at once (the message names the option and the range).
 * A call reads the keys it documents and ignores the others, so one
 * handle can configure a whole pipeline. A call copies what it reads:
 * the handle may be changed or destroyed afterwards.
 *
 * Why keys and not a structure: a new option is a new key, which changes
 * no type's layout, so programs built against an older header keep
 * working and the ABI check sees only additions (docs/abi.md).
 */
#ifndef GMMPRIOR_OPTIONS_H
#define GMMPRIOR_OPTIONS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of option values. Opaque. */
typedef struct gmmp_options gmmp_options;

/** The options. Each says its type, range, default and which calls read it. */
typedef enum gmmp_option {
    /** int in [1, 256], default 1: threads one call may use (trainer fits,
     * plan executions, whole-image calls). The library starts no thread
     * unless asked. With OpenBLAS, see #GMMP_OPT_BLAS_SERIAL. */
    GMMP_OPT_THREADS = 1,
    /** int 0 or 1, default 0: while a call runs more than one thread of its
     * own, switch OpenBLAS to one thread and switch it back afterwards.
     * OpenBLAS's thread count is process-wide, so this changes global
     * state: it is off unless the application asks (docs/threading.md).
     * Two thread pools on the same cores slow each other down. */
    GMMP_OPT_BLAS_SERIAL = 2,
    /** real in [0, 1e-3], default 1e-12: responsibilities at or below this
     * are skipped: in the M-step's moments (trainer, statistics) and in
     * the MMSE sum (plans). 0 is exact. */
    GMMP_OPT_SKIP = 3,
    /** int, a #gmmp_precision, default GMMP_PRECISION_DOUBLE: the precision
     * of the heavy matrix products (trainer, statistics, plans, whole-image
     * calls). Single precision runs the whitening and the posterior-mean
     * products in float, up to twice as fast, and keeps in double
     * what needs it; components where float is not accurate enough fall
     * back to double on their own (gmmp_trainer_precision(),
     * gmmp_plan_single_components(); docs/math.md). Inputs and outputs
     * stay double either way. */
    GMMP_OPT_PRECISION = 4,

    /** int in [1, 1e9], default 100: EM iterations at most (trainer). */
    GMMP_OPT_MAX_ITER = 10,
    /** int in [1, 1e6], default 1: restarts, keeping the best lower bound (trainer). */
    GMMP_OPT_N_INIT = 11,
    /** int, a #gmmp_init_method, default GMMP_INIT_KMEANS (trainer). */
    GMMP_OPT_INIT = 12,
    /** int, any int64 value, default 0: seed of the initialisation (trainer). */
    GMMP_OPT_SEED = 13,
    /** int in [1, 1e9], default 300: k-means iterations at most (trainer). */
    GMMP_OPT_KMEANS_MAX_ITER = 14,
    /** real >= 0, default 1e-3: stop when the mean log-likelihood changes
     * less than this (trainer). */
    GMMP_OPT_TOL = 15,
    /** real >= 0, default 1e-6: added to every covariance's diagonal
     * (trainer). */
    GMMP_OPT_REG_COVAR = 16,

    /** int, a #gmmp_plan_method, default GMMP_PLAN_DEFAULT (plans). */
    GMMP_OPT_PLAN_METHOD = 20,

    /** int in [0, 32000], default 0 (exact): denoising plans (W the
     * identity, scalar noise, no offset, #GMMP_PLAN_DEFAULT) keep each
     * covariance's `rank` largest eigenpairs and flatten the rest of its
     * spectrum to their mean, as fast EPLL does (Parameswaran et al.,
     * 2018): gmmp_plan_execute() then costs about rank/d of the exact
     * whitening. A rank of 0 or >= d is exact. Masked execution and
     * gmmp_plan_posterior_cov() stay exact. */
    GMMP_OPT_RANK = 21,
    /** int in [0, 1e6], default 0 (every component): flat-tail plans
     * (#GMMP_OPT_RANK) rank the components of each observation by a
     * coarser flat tail of rank max(1, rank/3) (rank/4 before 1.1), from
     * one product of about a third of the width (its coordinates through
     * the prior's leading directions where those hold them), and compute
     * the exact log densities of only the `candidates` most likely; the
     * others get responsibility 0 (so responsibilities, log-evidence and
     * MMSE sum over the candidates).
     * Worth it when K is large: EPLL's K = 200 prior with 8 candidates
     * costs about what K = 50 does without, and measured within 0.02 dB
     * of every component (docs/performance.md). Ignored where it would not
     * save work (candidates >= K, or nearly so) and by exact plans (since 1.1). */
    GMMP_OPT_CANDIDATES = 22,

    /** int in [1, 4096], default 1: distance between patch positions in
     * whole-image calls (1: all overlapping patches). At most the patch
     * size, so every pixel gets an estimate. */
    GMMP_OPT_STEP = 30,
    /** int, a #gmmp_estimator, default GMMP_ESTIMATOR_MMSE (whole-image calls). */
    GMMP_OPT_ESTIMATOR = 31,
    /** int in [1, 1048576], default 4096: patches per batch in whole-image
     * calls, which bounds their memory, and how often they report progress
     * (at most once a batch). Without a mask, each thread works on pieces
     * of at most 256 patches (never more than a batch). */
    GMMP_OPT_BATCH = 32,
    /** int in [1, 64], default 5: half-quadratic steps of gmmp_epll_image(),
     * with beta = 1, 4, 8, 16, 32, 64, ... times 1/sigma^2 (Zoran and
     * Weiss's schedule, doubling past its end). */
    GMMP_OPT_EPLL_STEPS = 33,
    /** int, a #gmmp_channel_basis, default GMMP_BASIS_PCA: the orthonormal
     * basis in which gmmp_epll_channels() restores each channel with a
     * one-channel prior (since 1.1). */
    GMMP_OPT_CHANNEL_BASIS = 34,
    /** int in [0, 8], default 0: rounds of gmmp_epll_image() that adapt
     * the prior to the image (since 1.1). Each round adapts the prior of
     * the previous restoration to that restoration's patches
     * (gmmp_stats_adapt(), relevance #GMMP_OPT_ADAPT_RELEVANCE) and
     * restores the input again, from the start, with the adapted prior:
     * Luo, Chan and Nguyen's EM adaptation (IEEE TIP 2016). */
    GMMP_OPT_EPLL_ADAPT = 35,
    /** real in [0, 1e12], default 16: the prior's worth in samples when
     * EPLL adapts it (#GMMP_OPT_EPLL_ADAPT, #GMMP_OPT_EPLL_ADAPT_AFTER;
     * gmmp_stats_adapt()) (since 1.1). */
    GMMP_OPT_ADAPT_RELEVANCE = 36,
    /** int in [0, 64], default 0 (never): gmmp_epll_image() adapts the
     * prior once within its steps, after half-quadratic step `s` (1-based;
     * ignored unless s < #GMMP_OPT_EPLL_STEPS): to the patches of that
     * step's patch average, on a grid of step 3, each assigned to its most
     * responsible component under a plan of the steps' own kind at
     * sigma^2 / 64 (flat and preselecting plans make this cheap); the
     * remaining steps use the adapted prior. With #GMMP_OPT_EPLL_ADAPT
     * rounds, only the final restoration adapts within its steps. A
     * fraction of the cost of a round of #GMMP_OPT_EPLL_ADAPT, which
     * restores the image again from the start, for part of its gain
     * (docs/performance.md) (since 1.1). */
    GMMP_OPT_EPLL_ADAPT_AFTER = 37,
    /** int in [0, 4096], default 0 (#GMMP_OPT_STEP's): distance between
     * patch positions in the last half-quadratic step of
     * gmmp_epll_image() (of its final restoration, with
     * #GMMP_OPT_EPLL_ADAPT rounds), at most the patch size (else
     * gmmp_epll_image() fails with #GMMP_EDIM, as for #GMMP_OPT_STEP). The last step
     * mostly confirms the previous one's estimate: on a grid of 6 after
     * steps on grids of 4 it measured the same PSNR for less than half of
     * that step's patches (docs/performance.md) (since 1.1). */
    GMMP_OPT_EPLL_LAST_GRID = 38,
    /** int in [0, 32], default 0: side of the square patches of
     * gmmp_group_refine_image()'s groups; 0: by the noise, 5 below
     * sigma 40 and 7 from there, at most the image's smaller side
     * (since 1.1). */
    GMMP_OPT_GROUP_PATCH = 40,
    /** int in [0, 4096], default 0: patches in each of gmmp_group_refine_image()'s
     * groups, the reference's most similar; 0: by the noise, 60 below
     * sigma 20, 90 below 40, 150 from there (since 1.1). */
    GMMP_OPT_GROUP_SIZE = 41,
    /** int in [1, 256], default 16: gmmp_group_refine_image() looks for a group's
     * patches within this many pixels of its reference, in each
     * direction (since 1.1). */
    GMMP_OPT_GROUP_SEARCH = 42,
    /** int in [1, 64], default 3: gmmp_group_refine_image()'s reference patches
     * lie on a grid of this step (and the last row and column) (since 1.1). */
    GMMP_OPT_GROUP_STEP = 43,
    /** real in [-1, 1], default -1: the weight of the groups' estimate in
     * gmmp_group_refine_image()'s output, the pilot's being 1 minus it;
     * negative: by the noise, 0.75 - sigma / 100 and at least 0.25
     * (since 1.1). */
    GMMP_OPT_GROUP_WEIGHT = 44
} gmmp_option;

/** How the trainer starts (#GMMP_OPT_INIT), as scikit-learn's `init_params`. */
typedef enum gmmp_init_method {
    /** k-means (Lloyd, k-means++ seeding), then hard responsibilities. */
    GMMP_INIT_KMEANS = 0,
    /** K distinct samples drawn at random as the means, every component
     * with the data's covariance and equal weights. */
    GMMP_INIT_RANDOM = 1,
    /** The model given with gmmp_trainer_set_init_model(). */
    GMMP_INIT_MODEL = 2
} gmmp_init_method;

/** How a plan factors the marginal covariances S_k (#GMMP_OPT_PLAN_METHOD). */
typedef enum gmmp_plan_method {
    /** The eigenbases of the model's covariances when W is the identity
     * and the noise a scalar (planning a new sigma then costs O(K d), no
     * factorisation); Cholesky factors of S_k otherwise. */
    GMMP_PLAN_DEFAULT = 0,
    /** Cholesky factors of S_k always. Planning costs about K d^3 flops
     * (10 ms for K = 11, d = 256), but whitening is a triangular product,
     * half the flops of the eigenbasis's full one: faster as soon as one
     * plan serves more than a few hundred patches. */
    GMMP_PLAN_CHOLESKY = 1
} gmmp_plan_method;

/** Precision of the heavy products (#GMMP_OPT_PRECISION). */
typedef enum gmmp_precision {
    GMMP_PRECISION_DOUBLE = 0, /**< everything in double */
    GMMP_PRECISION_SINGLE = 1  /**< the heavy products in float where that is safe */
} gmmp_precision;

/** Which estimate whole-image calls put back (#GMMP_OPT_ESTIMATOR). */
typedef enum gmmp_estimator {
    GMMP_ESTIMATOR_MMSE = 0, /**< the posterior mean, sum_k p(k|y) mu_{k|y} */
    GMMP_ESTIMATOR_MAP = 1   /**< mu_{k|y} of the most responsible component */
} gmmp_estimator;

/** The colour bases of gmmp_epll_channels() (#GMMP_OPT_CHANNEL_BASIS).
 * All are orthonormal, so white noise of standard deviation sigma in
 * every channel stays white, of the same sigma, in the basis. */
typedef enum gmmp_channel_basis {
    /** The eigenvectors of the image's own colour covariance, taken over
     * the pixels' deviations from the mean of their patch-sized tile
     * (the detail a zero-mean patch prior models), strongest first, each
     * signed so that its coefficients sum to a positive value (the first
     * is then a luminance). Noise adds sigma^2 I to that covariance and
     * leaves its eigenvectors alone. */
    GMMP_BASIS_PCA = 0,
    /** Three channels only: the fixed opponent basis (1, 1, 1)/sqrt 3,
     * (1, 0, -1)/sqrt 2, (1, -2, 1)/sqrt 6, as colour BM3D uses. */
    GMMP_BASIS_OPPONENT = 1,
    /** Each channel as it is (no decorrelation). */
    GMMP_BASIS_IDENTITY = 2
} gmmp_channel_basis;

/** What a long call is doing when it reports progress. */
typedef enum gmmp_phase {
    GMMP_PHASE_EM = 0,     /**< an EM iteration ended (trainer) */
    GMMP_PHASE_KMEANS = 1, /**< a k-means iteration of the initialisation ended (trainer) */
    GMMP_PHASE_IMAGE = 2   /**< a batch of patches of a whole-image call is done */
} gmmp_phase;

/** What the progress callback receives. The library only ever passes a
 * pointer to it, so fields may be appended in later versions. */
typedef struct gmmp_progress {
    int init;           /**< EM, k-means: which restart (0 .. n_init-1) */
    int iteration;      /**< EM, k-means: 1-based iteration */
    double mean_loglik; /**< EM: mean log-likelihood per sample before this iteration's
                             M-step; NaN otherwise */
    double change;      /**< EM: its change since the previous iteration (inf at the
                             first); NaN otherwise */
    double seconds;     /**< wall time since the call started */
    int phase;          /**< a #gmmp_phase */
    double done;        /**< work done: iterations, or patches of the image */
    double total;       /**< work at most: the iteration limit, or the image's patches */
} gmmp_progress;

/** Progress callback: return 0 to go on, non-zero to stop: the trainer
 * then returns the model as it is after this iteration (gmmp_fit_info::
 * stopped), a whole-image call fails with #GMMP_ECANCELED and writes
 * nothing. Called from the thread that made the call. */
typedef int (*gmmp_progress_fn)(const gmmp_progress *progress, void *payload);

/**
 * Creates an options handle with every option at its default.
 * @param[out] out  receives the handle; free it with gmmp_options_destroy().
 * @return GMMP_OK; GMMP_EINVAL for a NULL out; GMMP_ENOMEM.
 */
GMMP_API int gmmp_options_create(gmmp_options **out);

/** Destroys an options handle. Accepts NULL. */
GMMP_API void gmmp_options_destroy(gmmp_options *options);

/**
 * Sets an integer option.
 * @param options  the handle.
 * @param key      an integer option.
 * @param value    its value.
 * @return GMMP_OK; GMMP_EINVAL for a NULL handle, an unknown key, a real
 *         key, or a value out of range (the message names the option and
 *         its range). Nothing changes on failure.
 */
GMMP_API int gmmp_options_set_int(gmmp_options *options, gmmp_option key, int64_t value);

/**
 * Sets a real option.
 * @param options  the handle.
 * @param key      a real option.
 * @param value    its value, finite.
 * @return GMMP_OK; GMMP_EINVAL for a NULL handle, an unknown key, an
 *         integer key, or a value out of range or not finite.
 */
GMMP_API int gmmp_options_set_real(gmmp_options *options, gmmp_option key, double value);

/**
 * Reads an integer option (its default when it was never set; NULL
 * options give the defaults).
 * @param options     the handle, or NULL.
 * @param key         an integer option.
 * @param[out] value  receives the value.
 * @return GMMP_OK; GMMP_EINVAL for a NULL value, an unknown or real key.
 */
GMMP_API int gmmp_options_get_int(const gmmp_options *options, gmmp_option key,
                                  int64_t *value);

/**
 * Reads a real option (its default when it was never set).
 * @param options     the handle, or NULL.
 * @param key         a real option.
 * @param[out] value  receives the value.
 * @return GMMP_OK; GMMP_EINVAL for a NULL value, an unknown or integer key.
 */
GMMP_API int gmmp_options_get_real(const gmmp_options *options, gmmp_option key,
                                   double *value);

/**
 * Sets (or with NULL clears) the progress callback of the calls that take
 * these options: the trainer (k-means and EM iterations) and the
 * whole-image calls (after each batch of patches). A callback is not a
 * value, so it has its own setter; it is copied like the values.
 * @param options  the handle.
 * @param fn       the callback, or NULL for none (the default).
 * @param payload  passed to it.
 * @return GMMP_OK; GMMP_EINVAL for a NULL handle.
 */
GMMP_API int gmmp_options_set_progress(gmmp_options *options, gmmp_progress_fn fn,
                                       void *payload);

/**
 * Tells an option's accepted range, so that a program can validate or
 * show it without hard-coding it.
 * @param key          the option.
 * @param[out] lo      NULL, or receives the least accepted value.
 * @param[out] hi      NULL, or receives the greatest (may be infinity).
 * @param[out] is_int  NULL, or receives 1 for an integer option, 0 for a real one.
 * @return GMMP_OK; GMMP_EINVAL for an unknown key.
 */
GMMP_API int gmmp_option_bounds(gmmp_option key, double *lo, double *hi, int *is_int);

/** Returns the option's name as the messages spell it ("threads",
 * "reg_covar"), or NULL for an unknown key. */
GMMP_API const char *gmmp_option_name(gmmp_option key);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_OPTIONS_H */
