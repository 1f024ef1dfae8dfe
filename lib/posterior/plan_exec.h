/*
 * What plan executions share between the exact paths (plan_exec.c) and
 * the flat-tail path (plan_flat.c): the request and a worker's buffers.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_PLAN_EXEC_H
#define GMMP_PLAN_EXEC_H

#include "plan.h"

/* What one call asks for. */
typedef struct request {
    const double *Y;
    size_t n;
    double *resp, *log_evidence, *map, *mmse;
    size_t only_component; /* < K: just that component's posterior means, into `means` */
    double *means;
    size_t *labels;        /* n: each row's most responsible component, or NULL */
} request;

/* One worker's buffers, for `rows` rows at a time. */
typedef struct workspace {
    size_t rows, width;       /* width: p, or d on the denoising path */
    size_t zcols;             /* values of z per row, for flat plans (else 0) */
    bool keep;                /* gmmp__plan_keeps_whitened: z holds all K components */
    double *dev;              /* rows x width residuals (denoising path) */
    double *z;                /* K (keep) or 1 x rows x width whitened residuals; for flat
                                 plans, rows x zcols coordinates */
    double *ygat;             /* rows x p observations gathered to whiten again (!keep) */
    double *lp;               /* rows x K */
    double *lpdf;             /* rows */
    size_t *top, *sel;        /* rows: most responsible component; selected rows */
    size_t *cand;             /* rows x candidates: a flat plan's preselected components */
    double *cand_lp;          /* K + candidates: one row's coarse scores, then the best's */
    float *cand_lp_f;         /* K: one row's coarse scores, in single precision blocks */
    size_t *cand_count;       /* K + 1: candidates per component, then offsets */
    size_t *cand_order;       /* rows x candidates: their slots in component order */
    double *gat;              /* rows x width gathered residuals */
    double *post;             /* rows x d posterior means */
    /* Single precision (plan->n_single > 0): the same, in float. */
    float *dev_f, *z_f, *gat_f, *post_f;
} workspace;

/* Buffers for blocks of B rows. */
int gmmp__workspace_alloc(workspace *w, const gmmp_plan *pl, size_t B);
void gmmp__workspace_free(workspace *w);

/* Rows first .. first+n-1 of a request on a flat-tail plan. */
void gmmp__flat_block(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                      workspace *w);
/* The same, built for the baseline target and with AVX2 (flat_block.c);
 * gmmp__flat_block calls the one the plan chose (plan->flat_avx2). */
void gmmp__flat_block_base(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                           workspace *w);
void gmmp__flat_block_avx2(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                           workspace *w);

#endif /* GMMP_PLAN_EXEC_H */
