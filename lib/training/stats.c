/*
 * Streaming sufficient statistics for EM: accumulate, merge, pack.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "options_internal.h"
#include "single.h"
#include "stats.h"
#include "workers.h"

/* Zeroed. By calloc: the K d^2 second moments (6.5 MB for EPLL's K =
 * 200 prior) are then paged in by whichever thread first adds to them,
 * not all at once in the calling thread. */
static int moments_alloc(gmmp__moments *m, size_t K, size_t d)
{
    *m = (gmmp__moments){0};
    m->nk = gmmp__calloc_array(K, sizeof(double));
    m->s1 = gmmp__calloc_array(K * d, sizeof(double));
    m->s2 = gmmp__calloc_array(K * d * d, sizeof(double));
    return m->nk && m->s1 && m->s2 ? GMMP_OK : GMMP_ENOMEM;
}

static void moments_free(gmmp__moments *m)
{
    gmmp__free(m->nk);
    gmmp__free(m->s1);
    gmmp__free(m->s2);
}

static void moments_zero(gmmp__moments *m, size_t K, size_t d)
{
    m->count = m->loglik = 0.0;
    memset(m->nk, 0, K * sizeof(double));
    memset(m->s1, 0, K * d * sizeof(double));
    memset(m->s2, 0, K * d * d * sizeof(double));
}

/* dst += src, second moments on the lower triangle only. */
static void moments_add(gmmp__moments *dst, const gmmp__moments *src, size_t K, size_t d)
{
    dst->count += src->count;
    dst->loglik += src->loglik;
    for (size_t i = 0; i < K; i++)
        dst->nk[i] += src->nk[i];
    for (size_t i = 0; i < K * d; i++)
        dst->s1[i] += src->s1[i];
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < d; i++) {
            double *a = dst->s2 + k * d * d + i * d;
            const double *b = src->s2 + k * d * d + i * d;
            for (size_t j = 0; j <= i; j++)
                a[j] += b[j];
        }
}

int gmmp__stats_new(gmmp_stats **out, size_t K, size_t d, bool with_total, bool with_block,
                    bool single)
{
    int rc = gmmp__check_model_size(K, d);
    if (rc)
        return rc;
    gmmp_stats *st = gmmp__alloc(sizeof *st);
    if (!st)
        return gmmp__fail_nomem();
    *st = (gmmp_stats){.K = K, .d = d, .single = single};
    const size_t block = GMMP__BLOCK_ROWS;
    if (single) {
        st->work_f = gmmp__alloc_array(block, d * sizeof(float));
        if (!st->work_f) {
            gmmp_stats_destroy(st);
            return gmmp__fail_nomem();
        }
    }
    st->shift = gmmp__alloc_array(K * d, sizeof(double));
    st->work = gmmp__alloc_array(block, d * sizeof(double));
    st->lp = gmmp__alloc_array(block, K * sizeof(double));
    st->lpdf = gmmp__alloc_array(block, sizeof(double));
    if (!st->shift || !st->work || !st->lp || !st->lpdf ||
        (with_total && moments_alloc(&st->total, K, d)) ||
        (with_block && moments_alloc(&st->block, K, d))) {
        gmmp_stats_destroy(st);
        return gmmp__fail_nomem();
    }
    *out = st; /* reset: unbound, moments zero */
    return GMMP_OK;
}

int gmmp_stats_create(gmmp_stats **out, size_t K, size_t d, const gmmp_options *options)
{
    if (!out)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer is NULL");
    gmmp__option_values v;
    gmmp__options_read(options, &v);
    bool single = gmmp__opt_int(&v, GMMP_OPT_PRECISION) == GMMP_PRECISION_SINGLE;
    int rc = gmmp__stats_new(out, K, d, true, true, single);
    if (rc == GMMP_OK)
        (*out)->skip = gmmp__opt_real(&v, GMMP_OPT_SKIP);
    return rc;
}

void gmmp_stats_destroy(gmmp_stats *st)
{
    if (!st)
        return;
    gmmp__free(st->shift);
    moments_free(&st->total);
    moments_free(&st->block);
    gmmp__free(st->work);
    gmmp__free(st->lp);
    gmmp__free(st->lpdf);
    gmmp__free(st->work_f);
    gmmp__free(st);
}

void gmmp_stats_reset(gmmp_stats *st)
{
    if (!st)
        return;
    st->bound = false;
    if (st->total.nk)
        moments_zero(&st->total, st->K, st->d);
}

int gmmp__stats_bind(gmmp_stats *st, const double *means)
{
    size_t n = st->K * st->d;
    if (!st->bound) {
        memcpy(st->shift, means, n * sizeof *means);
        st->bound = true;
        return GMMP_OK;
    }
    if (memcmp(st->shift, means, n * sizeof *means) != 0)
        return gmmp__fail(GMMP_EINVAL, "statistics were accumulated under a model with other "
                                       "means: reset them before scoring under a new model");
    return GMMP_OK;
}

/* Rows of the block that component k weighs (r > skip), centred on the
 * shift and scaled by sqrt(r) into g: their Gram matrix is the weighted
 * second moment. Returns how many; s1 and *nk receive the first moment
 * and the weight of all rows. */
static size_t gather_rows(const gmmp_stats *st, size_t k, const double *X, size_t n,
                          const double *resp, double *s1, double *nk, double *g)
{
    const size_t K = st->K, d = st->d;
    const double *c = st->shift + k * d;
    size_t rows = 0;
    *nk = 0.0;
    memset(s1, 0, d * sizeof *s1);
    for (size_t i = 0; i < n; i++) {
        double r = resp[i * K + k];
        *nk += r;
        if (!(r > st->skip))
            continue;
        double sr = sqrt(r);
        const double *x = X + i * d;
        for (size_t j = 0; j < d; j++) {
            double y = x[j] - c[j];
            s1[j] += r * y;
            g[rows * d + j] = sr * y;
        }
        rows++;
    }
    return rows;
}

void gmmp__stats_block_resp(gmmp_stats *st, const double *X, size_t n, const double *resp)
{
    const size_t K = st->K, d = st->d;
    gmmp__moments *b = &st->block;
    for (size_t k = 0; k < K; k++) {
        double *s2 = b->s2 + k * d * d;
        size_t rows = gather_rows(st, k, X, n, resp, b->s1 + k * d, &b->nk[k], st->work);
        if (rows == 0) {
            memset(s2, 0, d * d * sizeof *s2);
            continue;
        }
        /* One symmetric rank-k update per component, lower triangle, in
         * double whatever the precision: a float sum over a block errs by
         * about d sqrt(rows) u = 7e-4 (d = 256) of the variances, more
         * than the smallest eigenvalues of an image patch's correlation
         * matrix can lose (docs/math.md, "Single precision"). */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)rows, 1.0, st->work,
                    (int)d, 0.0, s2, (int)d);
        st->flops += (double)rows * (double)d * (double)(d + 1);
    }
    b->count = (double)n;
    b->loglik = 0.0;
}

void gmmp__stats_block(gmmp_stats *st, const gmmp_model *m, const gmmp__single_view *view,
                       const double *X, size_t n)
{
    const size_t K = st->K;
    gmmp__log_prob(m, view, X, n, st->lp, st->work, st->work_f);
    st->flops += (double)n * (double)K * (double)st->d * (double)st->d;
    gmmp__log_normalize(st->lp, n, K, st->lpdf);
    double loglik = 0.0;
    for (size_t i = 0; i < n; i++)
        loglik += st->lpdf[i];
    for (size_t i = 0; i < n * K; i++)
        st->lp[i] = exp(st->lp[i]);
    gmmp__stats_block_resp(st, X, n, st->lp);
    st->block.loglik = loglik;
}

/* One thread's share of gmmp__stats_add_labelled: in each block of rows,
 * the components whose rows start in its share of the block's rows (the
 * rows sorted by component), so that the threads write disjoint
 * components, each component's sums in the order one thread would form
 * them. */
typedef struct labelled_share {
    gmmp_stats *st;
    const double *X;
    const size_t *labels;
    size_t n, t, T;
    double *work; /* GMMP__BLOCK_ROWS x d, or NULL: could not be allocated */
    double flops;
} labelled_share;

static void *add_labelled_share(void *arg)
{
    labelled_share *sh = arg;
    gmmp_stats *st = sh->st;
    const size_t K = st->K, d = st->d, B = GMMP__BLOCK_ROWS, n = sh->n;
    size_t *count = gmmp__alloc_array(K + 1, sizeof(size_t));
    size_t *order = gmmp__alloc_array(n < B ? n : B, sizeof(size_t));
    if (!count || !order || !sh->work) {
        gmmp__free(count);
        gmmp__free(order);
        sh->work = NULL; /* tells the caller */
        return NULL;
    }
    for (size_t first = 0; first < n; first += B) {
        const size_t rows = gmmp__block_len(n, first, B);
        /* The block's rows by component (a counting sort), so that each
         * component's are one product. */
        memset(count, 0, (K + 1) * sizeof *count);
        for (size_t i = 0; i < rows; i++)
            count[sh->labels[first + i] + 1]++;
        for (size_t k = 0; k < K; k++)
            count[k + 1] += count[k];
        for (size_t i = 0; i < rows; i++)
            order[count[sh->labels[first + i]]++] = first + i; /* count[k]: end of k */
        for (size_t k = 0, start = 0; k < K; start = count[k++]) {
            const size_t m = count[k] - start;
            if (m == 0 || start * sh->T / rows != sh->t)
                continue;
            const double *c = st->shift + k * d;
            double *s1 = st->total.s1 + k * d;
            for (size_t r = 0; r < m; r++) {
                const double *x = sh->X + order[start + r] * d;
                for (size_t j = 0; j < d; j++) {
                    double y = x[j] - c[j];
                    s1[j] += y;
                    sh->work[r * d + j] = y;
                }
            }
            st->total.nk[k] += (double)m;
            cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)m, 1.0, sh->work,
                        (int)d, 1.0, st->total.s2 + k * d * d, (int)d);
            sh->flops += (double)m * (double)d * (double)(d + 1);
        }
    }
    gmmp__free(count);
    gmmp__free(order);
    return NULL;
}

int gmmp__stats_add_labelled(gmmp_stats *st, const double *X, size_t n, const size_t *labels,
                             gmmp__exec_threads threads)
{
    const size_t B = GMMP__BLOCK_ROWS;
    /* Threads only where each gets rows enough to pay for its start. */
    size_t T = threads.count > 1 ? threads.count : 1;
    T = T < n / 256 ? T : (n / 256 > 0 ? n / 256 : 1);
    T = T < 256 ? T : 256;
    labelled_share shares[256];
    for (size_t t = 0; t < T; t++)
        shares[t] = (labelled_share){
            .st = st, .X = X, .labels = labels, .n = n, .t = t, .T = T,
            .work = t == 0 ? st->work : gmmp__alloc_array(n < B ? n : B, st->d * sizeof(double))};
    gmmp__run_workers(add_labelled_share, shares, sizeof shares[0], T, threads.blas_serial);
    bool done = true;
    for (size_t t = 0; t < T; t++) {
        done &= shares[t].work != NULL;
        st->flops += shares[t].flops;
        if (t > 0)
            gmmp__free(shares[t].work);
    }
    /* A share that could not run left some components' sums out: the
     * total is no longer what the rows give. */
    if (!done)
        return gmmp__fail_nomem();
    st->total.count += (double)n;
    return GMMP_OK;
}

void gmmp__stats_commit(gmmp_stats *dst, const gmmp_stats *src)
{
    moments_add(&dst->total, &src->block, dst->K, dst->d);
}

void gmmp__stats_accumulate(gmmp_stats *st, const gmmp_model *m, const gmmp__single_view *view,
                            const double *X, size_t n)
{
    for (size_t start = 0; start < n; start += GMMP__BLOCK_ROWS) {
        size_t rows = gmmp__block_len(n, start, GMMP__BLOCK_ROWS);
        gmmp__stats_block(st, m, view, X + start * st->d, rows);
        gmmp__stats_commit(st, st);
    }
}

static int check_sizes(const gmmp_stats *st, size_t K, size_t d, const char *what)
{
    if (st->K != K || st->d != d)
        return gmmp__fail(GMMP_EDIM, "statistics for K=%zu, d=%zu do not fit %s with K=%zu, d=%zu",
                          st->K, st->d, what, K, d);
    return GMMP_OK;
}

int gmmp_stats_accumulate(gmmp_stats *st, const gmmp_model *m, const double *X, size_t n)
{
    if (!st || !m)
        return gmmp__fail(GMMP_EINVAL, "statistics or model is NULL");
    int rc;
    if ((rc = check_sizes(st, m->K, m->d, "a model")) ||
        (rc = gmmp__check_samples(X, n, m->d)) || (rc = gmmp__stats_bind(st, m->means)) ||
        (rc = gmmp__model_prepare_scoring(m)))
        return rc;
    if (!st->single) {
        gmmp__stats_accumulate(st, m, NULL, X, n);
        return GMMP_OK;
    }
    /* A view per call: its K d^2 conversions are small beside the call's
     * n K d^2 products for any useful n. */
    gmmp__single_view view;
    if ((rc = gmmp__single_view_alloc(&view, m->K, m->d)))
        return rc;
    gmmp__single_view_fill(&view, m, gmmp__max_abs(X, n * m->d) <= GMMP__SINGLE_MAX_ABS);
    gmmp__stats_accumulate(st, m, &view, X, n);
    gmmp__single_view_free(&view);
    return GMMP_OK;
}

int gmmp_stats_merge(gmmp_stats *dst, const gmmp_stats *src)
{
    if (!dst || !src)
        return gmmp__fail(GMMP_EINVAL, "statistics are NULL");
    int rc = check_sizes(dst, src->K, src->d, "statistics");
    if (rc)
        return rc;
    if (!src->bound)
        return GMMP_OK;
    if ((rc = gmmp__stats_bind(dst, src->shift)))
        return rc;
    moments_add(&dst->total, &src->total, dst->K, dst->d);
    return GMMP_OK;
}

double gmmp_stats_count(const gmmp_stats *st)
{
    return st ? st->total.count : 0.0;
}

double gmmp_stats_loglik(const gmmp_stats *st)
{
    return st ? st->total.loglik : 0.0;
}

size_t gmmp_stats_packed_size(size_t K, size_t d)
{
    return 2 + K * (1 + d + d * (d + 1) / 2);
}

/* The packed form keeps only the lower triangle of each second moment:
 * that is all SYRK maintains, and it nearly halves what processes exchange. */

int gmmp_stats_pack(const gmmp_stats *st, double *buf)
{
    if (!st || !buf)
        return gmmp__fail(GMMP_EINVAL, "statistics or buffer is NULL");
    const size_t K = st->K, d = st->d;
    const gmmp__moments *t = &st->total;
    *buf++ = t->count;
    *buf++ = t->loglik;
    memcpy(buf, t->nk, K * sizeof *buf);
    buf += K;
    memcpy(buf, t->s1, K * d * sizeof *buf);
    buf += K * d;
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < d; i++) {
            memcpy(buf, t->s2 + k * d * d + i * d, (i + 1) * sizeof *buf);
            buf += i + 1;
        }
    return GMMP_OK;
}

int gmmp_stats_unpack(gmmp_stats *st, const double *buf)
{
    if (!st || !buf)
        return gmmp__fail(GMMP_EINVAL, "statistics or buffer is NULL");
    if (!st->bound)
        return gmmp__fail(GMMP_EINVAL, "statistics are not bound to a model: accumulate "
                                       "(possibly 0 samples) under it first");
    const size_t K = st->K, d = st->d;
    size_t total = gmmp_stats_packed_size(K, d);
    size_t bad = gmmp__first_nonfinite(buf, total);
    if (bad < total)
        return gmmp__fail(GMMP_ENONFINITE, "packed statistics hold %g at position %zu",
                          buf[bad], bad);
    gmmp__moments *t = &st->total;
    t->count = *buf++;
    t->loglik = *buf++;
    memcpy(t->nk, buf, K * sizeof *buf);
    buf += K;
    memcpy(t->s1, buf, K * d * sizeof *buf);
    buf += K * d;
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < d; i++) {
            memcpy(t->s2 + k * d * d + i * d, buf, (i + 1) * sizeof *buf);
            buf += i + 1;
        }
    return GMMP_OK;
}
