/*
 * The posterior plan's layout, shared by its creation and execution.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_PLAN_H
#define GMMP_PLAN_H

#include <stdbool.h>

#include "eigen.h"
#include "workers.h"
#include "model.h"
#include "gmmprior/posterior.h"

struct gmmp_plan {
    size_t K, d, p;
    unsigned threads;
    bool blas_serial;    /* GMMP_OPT_BLAS_SERIAL */
    double skip;
    /* The model, referenced: its parameters and patch description are
     * shared with every plan made from it, never copied. */
    gmmp_model *model;
    const double *log_weights; /* K, the model's */
    const double *means;       /* K x d, the model's */
    const double *covs;        /* K x d x d: Sigma_k, the model's (posterior covariances, masks) */
    bool identity_obs;   /* W = I and b = 0: observed patches estimate clean ones directly */
    double *log_norm;    /* K: -1/2 (p log 2pi + log det S_k) */
    double *b;           /* p offsets (zeros when none) */

    /* Denoising (W = I, Sigma_y = sigma2 I): the model's eigenbases. */
    bool eigen_path;
    gmmp__eigen *eig;    /* shared with the model, reference counted */
    double sigma2;
    double *inv_var;     /* K x d: 1 / (lambda + sigma2) */
    double *gain;        /* K x d: lambda / (lambda + sigma2), the Wiener gains */

    /* Single precision (GMMP_OPT_PRECISION): the components that pass
     * single.h's test whiten and map with float copies of their factors;
     * only the copies of their own path are allocated. */
    size_t n_single;     /* components in single precision (0: all double) */
    bool *single;        /* K, or NULL */
    const float *ut_f;   /* eigen path, K x d x d: U_k^T, the shared eigenbases' */
    float *s_chol_inv_f; /* general path, K x p x p: L_S^{-1} */
    float *gain_t_f;     /* general path, K x p x d: G_k */

    /* Flat-tail denoising (GMMP_OPT_RANK): the eigen path's bases cut to
     * the r leading eigenvectors, the rest of each spectrum flattened to
     * its mean (plan_flat.c). */
    bool flat;
    bool flat_avx2;      /* blocks run flat_block.c's AVX2 build (the processor has it) */
    size_t rank;         /* r */
    /* The noise-independent part (eigenvector columns, their projections
     * of the means, preselection's columns, float copies), shared with
     * the model's other flat plans: flat_layout.h. Its float copies may
     * be present and unused in a plan in double (n_single 0). */
    struct gmmp__flat_layout *layout;
    double flat_single_max; /* largest |y| a block may hold for its projections in float */
    double *flat_iv;     /* K x (r + 1): 1 / (lambda + sigma2), the tail's last */
    double *flat_gain;   /* K x (r + 1): lambda / (lambda + sigma2), the tail's last */

    /* Preselection (GMMP_OPT_CANDIDATES; plan_flat.c): the `candidates`
     * components most likely under a coarser flat tail of rank pre_rank
     * are the only ones whose rank-r log densities are computed. 0: off. */
    size_t candidates, pre_rank;
    float *pre_f;        /* the coarse scores' constants in float, for single precision
                            blocks: (2 r0 + 2) x K, pre_proj_mu (r0 rows), -pre_iv / 2
                            (r0 rows), the tail's iv_t, pre_base; NULL where float would
                            not hold them comfortably, and they are scored in double */
    double *pre_iv;      /* (r0 + 1) x K: 1 / (lambda + sigma2) less the coarser tail's,
                            then the tail's own */
    double *pre_base;    /* K: log weight + log normaliser of the coarser model
                            - ||mu_k||^2 / (2 (lambda_tail + sigma2)) */

    /* Any W and noise: whitened residuals z = L_S^{-1}(y - W mu_k - b). */
    double *obs_means;   /* K x p: W mu_k + b */
    double *s_chol_inv;  /* K x p x p: L_S^{-1}, lower, S_k = L_S L_S^T */
    double *gain_t;      /* K x p x d: G_k = L_S^{-1} W Sigma_k, so mu_{k|y} = mu_k + z^T G_k */

    /* Masked observations (W = I, scalar or diagonal noise): any subset of
     * each patch's pixels, with these noise variances. NULL otherwise. */
    double *noise_diag;  /* d */
};

/* Turns a denoising plan on the eigen path into a flat-tail plan of
 * rank r (1 <= r < d); `single`: its projections in float where safe;
 * `candidates` > 0: with preselection (GMMP_OPT_CANDIDATES), where it
 * saves work. */
int gmmp__plan_flat(gmmp_plan *plan, size_t rank, size_t candidates, bool single);
void gmmp__plan_flat_free(gmmp_plan *plan);

/* Checks a noise standard deviation: positive, finite, with a normal
 * square. Sets the message on failure. */
int gmmp__check_sigma(double sigma);

/* The workers' buffers of plan executions, kept from one execution to
 * the next: a sequence of executions on plans of one shape (a
 * whole-image pass's batches, EPLL's steps) allocates them once, and
 * pages them in once. Page faults on fresh workspaces had been a fifth
 * of a fast EPLL (docs/performance.md). Not for concurrent executions. */
typedef struct gmmp__executor gmmp__executor;
int gmmp__executor_create(gmmp__executor **out);
void gmmp__executor_destroy(gmmp__executor *ex);

/* gmmp_plan_execute for MAP and MMSE only, with the given threads and
 * without re-checking the observations (the caller has); in the
 * executor's workspaces, or (ex NULL) in workspaces of its own. */
int gmmp__plan_run(gmmp__executor *ex, const gmmp_plan *plan, const double *Y, size_t n,
                   double *map, double *mmse, gmmp__exec_threads threads);

/* Each row's most responsible component (MAP's), into labels (n), the
 * same way. */
int gmmp__plan_labels(gmmp__executor *ex, const gmmp_plan *plan, const double *Y, size_t n,
                      size_t *labels, gmmp__exec_threads threads);

/* Whether a worker keeps the whitened residuals of all K components of
 * its block (about 8 MB) for the posterior means, or whitens again the
 * rows each component's means need: when K is large (EPLL's 200), keeping
 * them all would leave blocks too short for efficient matrix products
 * (81 rows for K = 200, d = 64, where packing the factor dominated),
 * and re-whitening costs only the rows a component serves (one per
 * patch for MAP). Flat-tail plans always keep theirs. */
bool gmmp__plan_keeps_whitened(const gmmp_plan *plan);

/* Rows one worker handles at a time: as many as the budget of whitened
 * residuals allows, or 512 when they are not kept. */
size_t gmmp__plan_block_rows(const gmmp_plan *plan);

/* Coordinates a flat plan's execution keeps per row: K r of every
 * component, or with preselection K r0 coarse ones and r of each
 * candidate. */
size_t gmmp__plan_flat_row_values(const gmmp_plan *plan);

#endif /* GMMP_PLAN_H */
