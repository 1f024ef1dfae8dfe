/*
 * Streamed EM (see stream_em.h).
 * SPDX-License-Identifier: MIT
 */
#include "stream_em.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "imageio.h"
#include "util.h"

int stream_patches(const stream_source *src, int (*fn)(void *payload, const double *X, size_t n),
                   void *payload, char *err, size_t errlen)
{
    const size_t m = src->patch, d = m * m, chunk = src->chunk;
    const unsigned shares = src->shares ? src->shares : 1;
    gmmp_extractor *ex = NULL;
    size_t bytes;
    if (chunk == 0 || __builtin_mul_overflow(chunk, d, &bytes) ||
        __builtin_mul_overflow(bytes, sizeof(double), &bytes))
        return util_fail(err, errlen, "a chunk of %zu patches of %zu pixels is too large for "
                                      "this machine's address space",
                         chunk, d);
    double *X = malloc(bytes), *img = NULL;
    double *means = src->remove_mean ? malloc(chunk * sizeof *means) : NULL;
    int rc = -1;
    size_t filled = 0, global = 0;
    if (!X || (src->remove_mean && !means)) {
        util_fail(err, errlen, "out of memory for a chunk of %zu patches of %zu pixels (%zu bytes)",
                  chunk, d, bytes);
        goto done;
    }
    if (gmmp_extractor_create(&ex, m, m, 1, src->step)) {
        util_fail(err, errlen, "cannot set up patch extraction: %s", gmmp_last_error());
        goto done;
    }
    for (size_t f = 0; f < src->n_paths; f++) {
        gmmpio_reader *r;
        if (gmmpio_reader_open(&r, src->paths[f], err, errlen))
            goto done;
        size_t count, rows, cols, per;
        gmmpio_reader_info(r, &count, &rows, &cols);
        double *grown = realloc(img, rows * cols * sizeof *img);
        if (!grown) {
            util_fail(err, errlen, "%s: out of memory for an image of %zu x %zu", src->paths[f],
                      rows, cols);
            gmmpio_reader_close(r);
            goto done;
        }
        img = grown;
        if (gmmp_extractor_count(ex, rows, cols, &per)) {
            util_fail(err, errlen, "%s: %s", src->paths[f], gmmp_last_error());
            gmmpio_reader_close(r);
            goto done;
        }
        for (size_t i = 0; i < count; i++, global++) {
            /* Every process decodes every image, keeps its share. */
            gmmpio_stack one = {1, rows, cols, img, 0, 1};
            if (gmmpio_reader_next(r, img, 1, err, errlen) != 1 ||
                gmmpio_check_values(&one, CLI_VALUE_LIMIT, src->paths[f], err, errlen)) {
                gmmpio_reader_close(r);
                goto done;
            }
            if (global % shares != src->share)
                continue;
            for (size_t j = 0; j < per;) {
                size_t take = per - j < chunk - filled ? per - j : chunk - filled;
                gmmp_extractor_extract(ex, img, rows, cols, cols, j, take, X + filled * d,
                                       means ? means + filled : NULL);
                filled += take;
                j += take;
                if (filled == chunk) {
                    if (fn(payload, X, filled)) {
                        gmmpio_reader_close(r);
                        util_fail(err, errlen, "%s", gmmp_last_error());
                        goto done;
                    }
                    filled = 0;
                }
            }
        }
        gmmpio_reader_close(r);
    }
    if (filled > 0 && fn(payload, X, filled)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    rc = 0;
done:
    gmmp_extractor_destroy(ex);
    free(X);
    free(img);
    free(means);
    return rc;
}

typedef struct reservoir {
    double *X;
    size_t want, seen, d;
    uint64_t state;
} reservoir;

static int keep_some(void *payload, const double *X, size_t n)
{
    reservoir *res = payload;
    for (size_t i = 0; i < n; i++, res->seen++) {
        /* Algorithm R: patch number `seen` replaces a kept one with
         * probability want / (seen + 1). */
        size_t slot = res->seen < res->want ? res->seen
                                            : (size_t)(util_next_random(&res->state) % (res->seen + 1));
        if (slot < res->want)
            memcpy(res->X + slot * res->d, X + i * res->d, res->d * sizeof(double));
    }
    return 0;
}

int stream_sample(const stream_source *src, size_t n, uint64_t seed, double **X, size_t *got,
                  char *err, size_t errlen)
{
    size_t bytes;
    if (n == 0 || __builtin_mul_overflow(n, src->patch * src->patch, &bytes) ||
        __builtin_mul_overflow(bytes, sizeof(double), &bytes))
        return util_fail(err, errlen, "a sample of %zu patches of %zu pixels is too large for "
                                      "this machine's address space",
                         n, src->patch * src->patch);
    reservoir res = {malloc(bytes), n, 0, src->patch * src->patch, seed};
    if (!res.X)
        return util_fail(err, errlen, "out of memory for a sample of %zu patches (%zu bytes)", n,
                         bytes);
    if (stream_patches(src, keep_some, &res, err, errlen)) {
        free(res.X);
        return -1;
    }
    *X = res.X;
    *got = res.seen < n ? res.seen : n;
    return 0;
}

void stream_fit_defaults(stream_fit_options *o)
{
    *o = (stream_fit_options){100, 1e-3, 1e-6, 1e-12, 0, NULL, NULL, GMMP_PRECISION_DOUBLE};
}

typedef struct pass {
    gmmp_stats *stats;
    const gmmp_model *model;
} pass;

static int accumulate(void *payload, const double *X, size_t n)
{
    pass *p = payload;
    return gmmp_stats_accumulate(p->stats, p->model, X, n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int stream_fit(const stream_source *src, const gmmp_model *init, const stream_fit_options *opt,
               gmmp_model **out, gmmp_fit_info *info, char *err, size_t errlen)
{
    const size_t K = gmmp_model_components(init), d = gmmp_model_dim(init);
    if (d != src->patch * src->patch)
        return util_fail(err, errlen, "initial model has dimension %zu, patches %zu", d,
                    src->patch * src->patch);
    size_t packed = gmmp_stats_packed_size(K, d);
    double *buf = opt->reduce ? malloc(packed * sizeof *buf) : NULL;
    gmmp_stats *stats = NULL;
    gmmp_model *model = NULL;
    size_t wsize = gmmp_model_serialized_size(init);
    unsigned char *bytes = malloc(wsize);
    gmmp_options *so = NULL;
    int rc = -1;
    /* A private copy of the initial model, replaced after every M-step. */
    if ((opt->reduce && !buf) || !bytes || gmmp_model_serialize(init, bytes, wsize) ||
        gmmp_model_deserialize(&model, bytes, wsize) || gmmp_options_create(&so) ||
        gmmp_options_set_real(so, GMMP_OPT_SKIP, opt->skip) ||
        gmmp_options_set_int(so, GMMP_OPT_PRECISION, opt->precision) ||
        gmmp_stats_create(&stats, K, d, so)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    gmmp_fit_info fi;
    memset(&fi, 0, sizeof fi);
    double start = now(), lower_bound = -INFINITY;
    for (int it = 1; it <= opt->max_iter; it++) {
        gmmp_stats_reset(stats);
        pass p = {stats, model};
        if (gmmp_stats_accumulate(stats, model, NULL, 0) ||
            stream_patches(src, accumulate, &p, err, errlen))
            goto done;
        if (opt->reduce) {
            gmmp_stats_pack(stats, buf);
            if (opt->reduce(buf, packed, opt->reduce_payload) || gmmp_stats_unpack(stats, buf)) {
                util_fail(err, errlen, "combining statistics failed: %s", gmmp_last_error());
                goto done;
            }
        }
        if (gmmp_stats_count(stats) < (double)K) {
            util_fail(err, errlen, "%.0f patches cannot train %zu components", gmmp_stats_count(stats),
                 K);
            goto done;
        }
        double previous = lower_bound;
        lower_bound = gmmp_stats_loglik(stats) / gmmp_stats_count(stats);
        gmmp_model *next;
        size_t splits = 0;
        if (gmmp_stats_m_step(stats, opt->reg_covar, &next, &splits)) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            goto done;
        }
        gmmp_model_destroy(model);
        model = next;
        double change = lower_bound - previous;
        fi.n_iter = it;
        fi.mean_loglik = lower_bound;
        fi.n_split += splits;
        if (opt->verbose)
            fprintf(stderr,
                    "iteration %4d  mean log-likelihood %14.6f  change %11.4e  %8.2f s\n", it,
                    lower_bound, change, now() - start);
        if (fabs(change) < opt->tol) {
            fi.converged = 1;
            break;
        }
    }
    fi.seconds = now() - start;
    if (info)
        *info = fi;
    *out = model;
    model = NULL;
    rc = 0;
done:
    gmmp_model_destroy(model);
    gmmp_stats_destroy(stats);
    gmmp_options_destroy(so);
    free(buf);
    free(bytes);
    return rc;
}
