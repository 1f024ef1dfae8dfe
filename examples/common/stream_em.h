/*
 * EM over patches streamed from image files, with memory bounded by a
 * chunk size rather than by the data: each iteration is one pass over the
 * inputs through the library's sufficient statistics (accumulate, then
 * M-step). With a reduce hook (MPI_Allreduce in examples/mpi_train.c) the
 * statistics of several processes are summed before each M-step.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_STREAM_EM_H
#define GMMP_EXAMPLES_STREAM_EM_H

#include <stddef.h>
#include <stdint.h>

#include "gmmprior.h"

typedef struct stream_source {
    const char *const *paths; /* IDX or PGM files */
    size_t n_paths;
    size_t patch, step;       /* square patches of patch x patch pixels */
    int remove_mean;          /* remove each patch's mean */
    size_t chunk;             /* patches per chunk: the memory bound */
    unsigned share, shares;   /* take the images whose global index % shares == share */
} stream_source;

/* Calls fn(payload, X, n) on consecutive chunks of at most src->chunk
 * patches of this share of the inputs, in a fixed order. fn returns 0 to
 * go on. Returns 0, or -1 with a message in err. */
int stream_patches(const stream_source *src, int (*fn)(void *payload, const double *X, size_t n),
                   void *payload, char *err, size_t errlen);

/* Up to n patches drawn uniformly from this share of the stream
 * (reservoir sampling, seeded), in *X (allocated; free()). */
int stream_sample(const stream_source *src, size_t n, uint64_t seed, double **X, size_t *got,
                  char *err, size_t errlen);

/* Sums `count` doubles across processes in place; NULL for one process. */
typedef int (*stream_reduce_fn)(double *buf, size_t count, void *payload);

typedef struct stream_fit_options {
    int max_iter;
    double tol, reg_covar, skip; /* as the trainer's options */
    int verbose;                 /* a progress line per iteration on stderr */
    stream_reduce_fn reduce;
    void *reduce_payload;
    int precision;               /* a gmmp_precision, for the statistics' E-steps */
} stream_fit_options;

/* Sets the trainer's defaults (scikit-learn's, skip 1e-12). */
void stream_fit_defaults(stream_fit_options *o);

/* EM from `init` over the stream, scikit-learn's loop: the mean
 * log-likelihood is that of the E-step, convergence when it changes less
 * than tol. Fills info's n_iter, converged, mean_loglik, n_split, seconds. */
int stream_fit(const stream_source *src, const gmmp_model *init, const stream_fit_options *opt,
               gmmp_model **out, gmmp_fit_info *info, char *err, size_t errlen);

#endif
