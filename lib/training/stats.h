/*
 * Sufficient statistics' layout and the internal entry points the trainer
 * uses (no per-call validation: it validates the data once).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_STATS_H
#define GMMP_STATS_H

#include <stdbool.h>

#include "gmmprior/train.h"
#include "estep.h"
#include "model.h"

/* Sums over samples: what EM needs from the data. */
typedef struct gmmp__moments {
    double count;  /* samples */
    double loglik; /* sum of log p(x_i) */
    double *nk;    /* K: sum_i r_ik */
    double *s1;    /* K x d: sum_i r_ik (x_i - shift_k) */
    double *s2;    /* K x d x d: sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T, lower triangle */
} gmmp__moments;

struct gmmp_stats {
    size_t K, d;
    bool bound;           /* shift holds the means of the model scored under */
    double *shift;        /* K x d */
    double skip;          /* responsibilities <= skip leave a component's moments */
    gmmp__moments total;  /* everything accumulated */
    gmmp__moments block;  /* the latest block's contribution */
    double flops;         /* multiply-adds x 2 done by BLAS-3 calls, for benchmarks */
    bool single;          /* GMMP_OPT_PRECISION single: float workspace below */

    /* Workspace for one block of rows. */
    double *work;   /* block x d */
    double *lp;     /* block x K */
    double *lpdf;   /* block */
    float *work_f;  /* block x d, single precision only */
};

/* Accumulation always goes a block of GMMP__BLOCK_ROWS rows at a time:
 * the block's sums are formed on their own, then added to the total in
 * block order. The total is therefore the same sum in the same order
 * whichever thread formed each block, so the trainer's result does not
 * depend on its number of threads. */

/* Creates statistics; without a total they serve only as a worker's
 * workspace and block sums (gmmp__stats_block), which saves K*d*d doubles
 * per extra thread; without block sums, only gmmp__stats_add_labelled
 * may add to them. `single` adds the float workspace of single-precision
 * blocks. */
int gmmp__stats_new(gmmp_stats **out, size_t K, size_t d, bool with_total, bool with_block,
                    bool single);

/* Binds unbound statistics to `means` (K x d), or checks they match. */
int gmmp__stats_bind(gmmp_stats *st, const double *means);

/* The E-step of `m` on one block (n <= GMMP__BLOCK_ROWS finite samples)
 * into st->block. With a view (statistics created single), the
 * components it marks whiten in single precision; NULL is double
 * throughout. The moments are double either way. */
void gmmp__stats_block(gmmp_stats *st, const gmmp_model *m, const gmmp__single_view *view,
                       const double *X, size_t n);

/* One block's sums from given responsibilities (n x K) into st->block,
 * for initialisations that assign samples without a model. */
void gmmp__stats_block_resp(gmmp_stats *st, const double *X, size_t n, const double *resp);

/* Hard assignments: each of the n rows of X (finite) to the component
 * labels[i], into st->total directly (rows in order, so the sums do not
 * depend on anything but the data, not on the number of threads either:
 * they share the components). On failure (out of memory) the total is
 * incomplete. */
int gmmp__stats_add_labelled(gmmp_stats *st, const double *X, size_t n, const size_t *labels,
                             gmmp__exec_threads threads);

/* gmmp_stats_adapt with its components shared among `threads`: the same
 * model whatever their number. */
int gmmp__stats_adapt_on(const gmmp_stats *st, const gmmp_model *prior, double relevance,
                         double reg_covar, gmmp__exec_threads threads, gmmp_model **out);

/* dst->total += src->block. */
void gmmp__stats_commit(gmmp_stats *dst, const gmmp_stats *src);

/* E-step of `m` on n finite samples, block by block, into st->total. */
void gmmp__stats_accumulate(gmmp_stats *st, const gmmp_model *m, const gmmp__single_view *view,
                            const double *X, size_t n);

/* The same on T threads: stats[0] receives the total, stats[1..T-1]
 * (created without one) are the other threads' workspaces; all bound to
 * m's means. The total does not depend on T. With blas_serial, OpenBLAS
 * runs single-threaded meanwhile (workers.h). */
void gmmp__stats_accumulate_parallel(gmmp_stats *const *stats, size_t T, const gmmp_model *m,
                                     const gmmp__single_view *view, const double *X, size_t n,
                                     bool blas_serial);

/* M-step into an allocated model of the same K and d. `hint` completes the
 * message when a covariance is not positive definite. */
int gmmp__m_step_into(const gmmp_stats *st, double reg_covar, gmmp_model *m, size_t *n_split,
                      const char *hint);

#endif /* GMMP_STATS_H */
