/*
 * The E-step over many samples on several threads, for the trainer and
 * for adapting a prior to an image's patches.
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "stats.h"
#include "workers.h"

/* The work list: blocks are claimed in order by whichever thread is free,
 * and their sums added to the total strictly in block order, so the total
 * does not depend on how many threads there are. */
typedef struct e_pass {
    gmmp_stats *total;
    const gmmp_model *model;
    const gmmp__single_view *view;
    const double *X;
    size_t n;
    gmmp__queue queue;
} e_pass;

typedef struct e_worker {
    e_pass *pass;
    gmmp_stats *stats; /* this thread's workspace and block sums */
} e_worker;

static void commit_block(void *arg)
{
    e_worker *w = arg;
    gmmp__stats_commit(w->pass->total, w->stats);
}

static void *e_worker_run(void *arg)
{
    e_worker *w = arg;
    e_pass *p = w->pass;
    const size_t d = p->total->d;
    size_t b;
    while (gmmp__queue_claim(&p->queue, &b)) {
        size_t start = b * GMMP__BLOCK_ROWS;
        size_t rows = gmmp__block_len(p->n, start, GMMP__BLOCK_ROWS);
        gmmp__stats_block(w->stats, p->model, p->view, p->X + start * d, rows);
        gmmp__queue_commit(&p->queue, b, commit_block, w);
    }
    return NULL;
}

void gmmp__stats_accumulate_parallel(gmmp_stats *const *stats, size_t T, const gmmp_model *m,
                                     const gmmp__single_view *view, const double *X, size_t n,
                                     bool blas_serial)
{
    if (T <= 1) {
        gmmp__stats_accumulate(stats[0], m, view, X, n);
        return;
    }
    e_pass pass = {.total = stats[0], .model = m, .view = view, .X = X, .n = n};
    gmmp__queue_init(&pass.queue, (n + GMMP__BLOCK_ROWS - 1) / GMMP__BLOCK_ROWS);
    e_worker workers[256];
    for (size_t t = 0; t < T && t < 256; t++)
        workers[t] = (e_worker){&pass, stats[t]};
    gmmp__run_workers(e_worker_run, workers, sizeof workers[0], T < 256 ? T : 256, blas_serial);
    gmmp__queue_destroy(&pass.queue);
}
