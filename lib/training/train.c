/*
 * The EM trainer: options, initialisation, the iteration loop over the
 * streaming statistics, restarts, progress reports.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "kmeans.h"
#include "linalg.h"
#include "options_internal.h"
#include "rng.h"
#include "single.h"
#include "stats.h"

struct gmmp_trainer {
    size_t K;
    int64_t max_iter, n_init, init, seed, threads, kmeans_max_iter;
    bool blas_serial, single;
    double tol, reg_covar, skip;
    gmmp_model *init_model;
    size_t single_passes, double_passes; /* the last fit's, gmmp_trainer_precision() */
    gmmp__option_values options; /* for the progress callback */
};

int gmmp_trainer_create(gmmp_trainer **out, size_t K, const gmmp_options *options)
{
    if (!out)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer is NULL");
    if (K == 0 || K > GMMP__MAX_BLAS_DIM)
        return gmmp__fail(GMMP_EINVAL, "number of components %zu is out of range", K);
    gmmp_trainer *t = gmmp__alloc(sizeof *t);
    if (!t)
        return gmmp__fail_nomem();
    gmmp__option_values v;
    gmmp__options_read(options, &v);
    *t = (gmmp_trainer){.K = K,
                        .max_iter = gmmp__opt_int(&v, GMMP_OPT_MAX_ITER),
                        .n_init = gmmp__opt_int(&v, GMMP_OPT_N_INIT),
                        .init = gmmp__opt_int(&v, GMMP_OPT_INIT),
                        .seed = gmmp__opt_int(&v, GMMP_OPT_SEED),
                        .threads = gmmp__opt_int(&v, GMMP_OPT_THREADS),
                        .blas_serial = gmmp__opt_int(&v, GMMP_OPT_BLAS_SERIAL) != 0,
                        .single = gmmp__opt_int(&v, GMMP_OPT_PRECISION) ==
                                  GMMP_PRECISION_SINGLE,
                        .kmeans_max_iter = gmmp__opt_int(&v, GMMP_OPT_KMEANS_MAX_ITER),
                        .tol = gmmp__opt_real(&v, GMMP_OPT_TOL),
                        .reg_covar = gmmp__opt_real(&v, GMMP_OPT_REG_COVAR),
                        .skip = gmmp__opt_real(&v, GMMP_OPT_SKIP),
                        .options = v};
    *out = t;
    return GMMP_OK;
}

void gmmp_trainer_destroy(gmmp_trainer *t)
{
    if (!t)
        return;
    gmmp_model_destroy(t->init_model);
    gmmp__free(t);
}

int gmmp_trainer_set_init_model(gmmp_trainer *t, const gmmp_model *model)
{
    if (!t || !model)
        return gmmp__fail(GMMP_EINVAL, "trainer or model is NULL");
    if (model->K != t->K)
        return gmmp__fail(GMMP_EDIM, "initial model has %zu components, the trainer %zu",
                          model->K, t->K);
    gmmp_model *copy;
    int rc = gmmp_model_create(&copy, model->K, model->d, model->weights, model->means,
                               model->covs);
    if (rc)
        return rc;
    gmmp_model_destroy(t->init_model);
    t->init_model = copy;
    return GMMP_OK;
}

/* Everything one fit needs besides the trainer's options. */
typedef struct fit_state {
    const gmmp_trainer *t;
    const double *X;
    size_t n, d;
    gmmp_stats **stats; /* one per thread */
    gmmp__single_view *view; /* single precision: the current model's, else NULL */
    bool data_single_ok;     /* the data fit single precision's range */
    size_t single_passes, double_passes;
    double init_flops;  /* k-means's products, for gmmp_fit_info::flops */
    int run;            /* the restart being initialised */
    bool stopped;       /* the progress callback stopped the initialisation */
    size_t n_threads;
    double start;
} fit_state;

/* One E-step over all the data into fs->stats[0]'s total. */
static int e_step(fit_state *fs, const gmmp_model *m)
{
    const gmmp__single_view *view = NULL;
    int rc = gmmp__model_prepare_scoring(m);
    if (rc)
        return rc;
    if (fs->view) {
        gmmp__single_view_fill(fs->view, m, fs->data_single_ok);
        view = fs->view;
        fs->single_passes += view->n_single;
        fs->double_passes += m->K - view->n_single;
    } else {
        fs->double_passes += m->K;
    }
    gmmp_stats *total = fs->stats[0];
    gmmp_stats_reset(total);
    gmmp__stats_bind(total, m->means);
    for (size_t t = 1; t < fs->n_threads; t++) { /* workers: blocks only */
        gmmp_stats_reset(fs->stats[t]);
        gmmp__stats_bind(fs->stats[t], m->means);
    }
    gmmp__stats_accumulate_parallel(fs->stats, fs->n_threads, m, view, fs->X, fs->n,
                                    fs->t->blas_serial);
    return GMMP_OK;
}

/* Covariance of all the data (plus reg_covar) through a one-component
 * M-step, which shares the statistics code. */
static int data_moments(fit_state *fs, gmmp_model **out)
{
    const size_t n = fs->n, d = fs->d;
    gmmp_stats *st;
    int rc = gmmp__stats_new(&st, 1, d, true, true, false);
    if (rc)
        return rc;
    double *ones = gmmp__alloc_array(GMMP__BLOCK_ROWS, sizeof(double));
    gmmp_model *m = NULL;
    if (!ones) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    for (size_t i = 0; i < GMMP__BLOCK_ROWS; i++)
        ones[i] = 1.0;
    gmmp__stats_bind(st, fs->X); /* shift by the first sample */
    for (size_t start = 0; start < n; start += GMMP__BLOCK_ROWS) {
        size_t rows = gmmp__block_len(n, start, GMMP__BLOCK_ROWS);
        gmmp__stats_block_resp(st, fs->X + start * d, rows, ones);
        gmmp__stats_commit(st, st);
    }
    if ((rc = gmmp__model_alloc(&m, 1, d)) == GMMP_OK)
        rc = gmmp__m_step_into(st, fs->t->reg_covar, m, NULL,
                               "the data's covariance is singular: increase reg_covar");
    if (rc == GMMP_OK)
        *out = m;
    else
        gmmp_model_destroy(m);
done:
    gmmp__free(ones);
    gmmp_stats_destroy(st);
    return rc;
}

static int init_random(fit_state *fs, gmmp__rng *rng, gmmp_model *m)
{
    const size_t K = m->K, d = m->d;
    gmmp_model *all = NULL;
    int rc = data_moments(fs, &all);
    if (rc)
        return rc;
    size_t *picked = gmmp__alloc_array(K, sizeof(size_t));
    if (!picked) {
        gmmp_model_destroy(all);
        return gmmp__fail_nomem();
    }
    for (size_t k = 0; k < K; k++) {
        /* K distinct sample indices (K <= n, checked by the caller). */
        size_t idx;
        int fresh;
        do {
            idx = gmmp__rng_below(rng, fs->n);
            fresh = 1;
            for (size_t j = 0; j < k; j++)
                fresh &= picked[j] != idx;
        } while (!fresh);
        picked[k] = idx;
        memcpy(m->means + k * d, fs->X + idx * d, d * sizeof(double));
        memcpy(m->covs + k * d * d, all->covs, d * d * sizeof(double));
        m->weights[k] = 1.0 / (double)K;
    }
    gmmp__free(picked);
    gmmp_model_destroy(all);
    return gmmp__model_factor(m, "the data's covariance is singular: increase reg_covar",
                              (gmmp__exec_threads){1, false});
}

static int init_kmeans(fit_state *fs, gmmp__rng *rng, gmmp_model *m)
{
    const size_t K = m->K, d = m->d, n = fs->n;
    size_t *labels = gmmp__alloc_array(n, sizeof(size_t));
    double *centers = gmmp__alloc_array(K * d, sizeof(double));
    double *resp = gmmp__calloc_array(GMMP__BLOCK_ROWS * K, sizeof(double));
    int rc = GMMP_OK;
    if (!labels || !centers || !resp) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    gmmp__kmeans_report report = {&fs->t->options, fs->run, fs->start, false};
    if ((rc = gmmp__kmeans(fs->X, n, d, K, rng, (int)fs->t->kmeans_max_iter, centers, labels,
                           &fs->init_flops, &report)))
        goto done;
    /* One-hot responsibilities from the clusters, then an M-step. */
    gmmp_stats *st = fs->stats[0];
    gmmp_stats_reset(st);
    gmmp__stats_bind(st, centers);
    for (size_t start = 0; start < n; start += GMMP__BLOCK_ROWS) {
        size_t rows = gmmp__block_len(n, start, GMMP__BLOCK_ROWS);
        for (size_t i = 0; i < rows; i++)
            resp[i * K + labels[start + i]] = 1.0;
        gmmp__stats_block_resp(st, fs->X + start * d, rows, resp);
        gmmp__stats_commit(st, st);
        for (size_t i = 0; i < rows; i++)
            resp[i * K + labels[start + i]] = 0.0;
    }
    fs->stopped = report.stopped;
    rc = gmmp__m_step_into(st, fs->t->reg_covar, m, NULL,
                           "after k-means initialisation; increase reg_covar");
done:
    gmmp__free(labels);
    gmmp__free(centers);
    gmmp__free(resp);
    return rc;
}

static int initialise(fit_state *fs, int run, gmmp_model *m)
{
    const gmmp_trainer *t = fs->t;
    gmmp__rng rng;
    /* Restarts draw from one stream each, derived from the seed. */
    gmmp__rng_seed(&rng, (uint64_t)t->seed * 0x9E3779B97F4A7C15ull + (uint64_t)run);
    if (t->init_model) {
        memcpy(m->weights, t->init_model->weights, m->K * sizeof(double));
        memcpy(m->means, t->init_model->means, m->K * m->d * sizeof(double));
        memcpy(m->covs, t->init_model->covs, m->K * m->d * m->d * sizeof(double));
        return gmmp__model_factor(m, NULL, (gmmp__exec_threads){1, false});
    }
    return t->init == GMMP_INIT_KMEANS ? init_kmeans(fs, &rng, m) : init_random(fs, &rng, m);
}

/* One run of EM from an initialisation. On return *model holds the model
 * after the last M-step. */
static int em_run(fit_state *fs, int run, gmmp_model **model, gmmp_model **spare,
                  gmmp_fit_info *info)
{
    const gmmp_trainer *t = fs->t;
    fs->run = run;
    int rc = initialise(fs, run, *model);
    if (rc)
        return rc;
    char hint[160];
    snprintf(hint, sizeof hint, "increase reg_covar (now %g) or rescale the data",
             t->reg_covar);
    double lower_bound = -INFINITY;
    *info = (gmmp_fit_info){.best_init = run, .stopped = fs->stopped};
    for (int it = 1; it <= t->max_iter && !info->stopped; it++) {
        if ((rc = e_step(fs, *model)))
            return rc;
        gmmp_stats *st = fs->stats[0];
        double previous = lower_bound;
        lower_bound = st->total.loglik / st->total.count;
        size_t splits = 0;
        if ((rc = gmmp__m_step_into(st, t->reg_covar, *spare, &splits, hint)))
            return rc;
        gmmp_model *swap = *model;
        *model = *spare;
        *spare = swap;
        double change = lower_bound - previous;
        info->n_iter = it;
        info->mean_loglik = lower_bound;
        info->n_split += splits;
        gmmp_progress p = {.init = run,
                           .iteration = it,
                           .mean_loglik = lower_bound,
                           .change = change,
                           .seconds = gmmp__now() - fs->start,
                           .phase = GMMP_PHASE_EM,
                           .done = it,
                           .total = (double)t->max_iter};
        if (gmmp__report(&t->options, &p) != 0) {
            info->stopped = 1;
            break;
        }
        /* scikit-learn's test: |change| < tol, so tol = 0 never stops. */
        if (fabs(change) < t->tol) {
            info->converged = 1;
            break;
        }
    }
    return GMMP_OK;
}

int gmmp_trainer_fit(gmmp_trainer *t, const double *X, size_t n, size_t d, gmmp_model **out,
                     gmmp_fit_info *info)
{
    if (!t || !out)
        return gmmp__fail(GMMP_EINVAL, "trainer or output is NULL");
    t->single_passes = t->double_passes = 0; /* a failed fit reports none */
    if (d == 0)
        return gmmp__fail(GMMP_EINVAL, "sample dimension is 0");
    if (n < t->K)
        return gmmp__fail(GMMP_EDIM, "%zu components need at least %zu samples, got %zu", t->K,
                          t->K, n);
    if (t->init == GMMP_INIT_MODEL && !t->init_model)
        return gmmp__fail(GMMP_EINVAL,
                          "init = model, but no model was given: call gmmp_trainer_set_init_model()");
    if (t->init_model && t->init_model->d != d)
        return gmmp__fail(GMMP_EDIM, "initial model has dimension %zu, the samples %zu",
                          t->init_model->d, d);
    int rc = gmmp__check_samples(X, n, d);
    if (rc)
        return rc;

    fit_state fs = {.t = t, .X = X, .n = n, .d = d, .start = gmmp__now()};
    /* Threads beyond one per block would have nothing to do. */
    size_t blocks = (n + GMMP__BLOCK_ROWS - 1) / GMMP__BLOCK_ROWS;
    fs.n_threads = (size_t)t->threads < blocks ? (size_t)t->threads : blocks;
    gmmp_model *cur = NULL, *spare = NULL, *best = NULL;
    gmmp_stats *stats[256] = {0};
    fs.stats = stats;
    gmmp__single_view view = {0};
    if (t->single) {
        /* One scan of the data decides whether float can hold it. */
        fs.data_single_ok = gmmp__max_abs(X, n * d) <= GMMP__SINGLE_MAX_ABS;
        if ((rc = gmmp__single_view_alloc(&view, t->K, d)) == GMMP_OK)
            fs.view = &view;
    }
    for (size_t i = 0; i < fs.n_threads && rc == GMMP_OK; i++)
        if ((rc = gmmp__stats_new(&stats[i], t->K, d, i == 0, true, t->single)) == GMMP_OK)
            stats[i]->skip = t->skip;
    if (rc == GMMP_OK && (rc = gmmp__model_alloc(&cur, t->K, d)) == GMMP_OK)
        rc = gmmp__model_alloc(&spare, t->K, d);

    gmmp_fit_info best_info = {0}, run_info;
    for (int run = 0; rc == GMMP_OK && run < t->n_init; run++) {
        if ((rc = em_run(&fs, run, &cur, &spare, &run_info)))
            break;
        if (!best || run_info.mean_loglik > best_info.mean_loglik) {
            gmmp_model *swap = best;
            best = cur;
            best_info = run_info;
            cur = swap; /* NULL after the first run: allocated if another follows */
        }
        if (run_info.stopped)
            break;
        if (!cur && run + 1 < t->n_init && (rc = gmmp__model_alloc(&cur, t->K, d)))
            break;
    }
    double stats_flops[256];
    for (size_t i = 0; i < fs.n_threads; i++) {
        stats_flops[i] = stats[i] ? stats[i]->flops : 0.0;
        gmmp_stats_destroy(stats[i]);
    }
    gmmp_model_destroy(cur);
    gmmp_model_destroy(spare);
    gmmp__single_view_free(&view);
    t->single_passes = fs.single_passes;
    t->double_passes = fs.double_passes;
    if (rc) {
        gmmp_model_destroy(best);
        return rc;
    }
    best_info.seconds = gmmp__now() - fs.start;
    best_info.flops = fs.init_flops;
    for (size_t i = 0; i < fs.n_threads; i++)
        best_info.flops += stats_flops[i];
    if (info)
        *info = best_info;
    *out = best;
    return GMMP_OK;
}

int gmmp_trainer_precision(const gmmp_trainer *t, size_t *single_passes, size_t *double_passes)
{
    if (!t)
        return gmmp__fail(GMMP_EINVAL, "trainer is NULL");
    if (single_passes)
        *single_passes = t->single_passes;
    if (double_passes)
        *double_passes = t->double_passes;
    return GMMP_OK;
}
