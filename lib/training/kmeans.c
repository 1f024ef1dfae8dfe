/*
 * k-means++ seeding and Lloyd's iterations, with BLAS-3 distance blocks.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "kmeans.h"

static double sq_dist(const double *a, const double *b, size_t d)
{
    double s = 0.0;
    for (size_t j = 0; j < d; j++)
        s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

/* First index whose cumulative sum exceeds target (binary search). */
static size_t search_cumsum(const double *cum, size_t n, double target)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] <= target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Greedy k-means++: each new center is the best, by the resulting
 * potential, of 2 + log(K) candidates drawn with probability proportional
 * to the squared distance to the nearest center so far. */
static void seed_plus_plus(const double *X, size_t n, size_t d, size_t K, gmmp__rng *rng,
                           double *centers, double *closest, double *cum, double *cand,
                           double *best)
{
    size_t trials = 2 + (size_t)log((double)K);
    const double *first = X + gmmp__rng_below(rng, n) * d;
    memcpy(centers, first, d * sizeof *first);
    for (size_t i = 0; i < n; i++)
        closest[i] = sq_dist(X + i * d, first, d);
    for (size_t c = 1; c < K; c++) {
        double run = 0.0;
        for (size_t i = 0; i < n; i++)
            cum[i] = run += closest[i];
        double best_pot = INFINITY;
        size_t best_index = 0;
        for (size_t t = 0; t < trials; t++) {
            /* All points on the centers (pot 0): any choice is as good. */
            size_t idx = run > 0.0 ? search_cumsum(cum, n, gmmp__rng_uniform(rng) * run)
                                   : gmmp__rng_below(rng, n);
            double p = 0.0;
            for (size_t i = 0; i < n; i++)
                p += cand[i] = fmin(closest[i], sq_dist(X + i * d, X + idx * d, d));
            if (p < best_pot) {
                best_pot = p;
                best_index = idx;
                memcpy(best, cand, n * sizeof *cand);
            }
        }
        memcpy(centers + c * d, X + best_index * d, d * sizeof *centers);
        memcpy(closest, best, n * sizeof *best);
    }
}

/* Assigns every sample to its nearest center, with distances from one
 * GEMM per block: |x|^2 - 2 x.c + |c|^2. Returns the number of changed
 * labels; dist receives each sample's squared distance to its center. */
static size_t assign(const double *X, size_t n, size_t d, size_t K, const double *centers,
                     const double *xnorm, double *cnorm, double *dots, size_t *labels,
                     double *dist)
{
    for (size_t k = 0; k < K; k++) {
        const double *c = centers + k * d;
        double s = 0.0;
        for (size_t j = 0; j < d; j++)
            s += c[j] * c[j];
        cnorm[k] = s;
    }
    size_t changed = 0;
    for (size_t start = 0; start < n; start += GMMP__BLOCK_ROWS) {
        size_t rows = gmmp__block_len(n, start, GMMP__BLOCK_ROWS);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)K, (int)d, 1.0,
                    X + start * d, (int)d, centers, (int)d, 0.0, dots, (int)K);
        for (size_t i = 0; i < rows; i++) {
            size_t best = 0;
            double best_d = INFINITY;
            for (size_t k = 0; k < K; k++) {
                double dk = xnorm[start + i] - 2.0 * dots[i * K + k] + cnorm[k];
                if (dk < best_d) {
                    best_d = dk;
                    best = k;
                }
            }
            changed += labels[start + i] != best;
            labels[start + i] = best;
            dist[start + i] = fmax(best_d, 0.0);
        }
    }
    return changed;
}

/* Recomputes centers as the means of their samples. A cluster left empty
 * takes the sample farthest from its center, as scikit-learn relocates. */
static double update_centers(const double *X, size_t n, size_t d, size_t K, double *centers,
                             size_t *labels, double *dist, double *sums, double *counts)
{
    memset(sums, 0, K * d * sizeof *sums);
    memset(counts, 0, K * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        double *s = sums + labels[i] * d;
        for (size_t j = 0; j < d; j++)
            s[j] += x[j];
        counts[labels[i]] += 1.0;
    }
    for (size_t k = 0; k < K; k++) {
        if (counts[k] > 0.0)
            continue;
        size_t far = 0;
        for (size_t i = 1; i < n; i++)
            if (dist[i] > dist[far])
                far = i;
        const double *x = X + far * d;
        double *from = sums + labels[far] * d;
        for (size_t j = 0; j < d; j++) {
            from[j] -= x[j];
            sums[k * d + j] = x[j];
        }
        counts[labels[far]] -= 1.0;
        counts[k] = 1.0;
        labels[far] = k;
        dist[far] = 0.0;
    }
    double shift = 0.0;
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < d; j++) {
            double c = counts[k] > 0.0 ? sums[k * d + j] / counts[k] : centers[k * d + j];
            shift += (c - centers[k * d + j]) * (c - centers[k * d + j]);
            centers[k * d + j] = c;
        }
    return shift;
}

int gmmp__kmeans(const double *X, size_t n, size_t d, size_t K, gmmp__rng *rng, int max_iter,
                 double *centers, size_t *labels, double *flops, gmmp__kmeans_report *report)
{
    double *buf = gmmp__alloc_array(4 * n + 2 * K + K * d + GMMP__BLOCK_ROWS * K,
                                    sizeof(double));
    if (!buf)
        return gmmp__fail_nomem();
    double *closest = buf, *cum = buf + n, *cand = buf + 2 * n, *best = buf + 3 * n;
    double *cnorm = buf + 4 * n, *counts = cnorm + K, *sums = counts + K;
    double *dots = sums + K * d;
    seed_plus_plus(X, n, d, K, rng, centers, closest, cum, cand, best);

    /* Stop when the centers move less than 1e-4 of the data's mean
     * variance (scikit-learn's tolerance), or no label changes. */
    double *xnorm = cum, *dist = cand, *mean = best;
    double var = 0.0;
    memset(mean, 0, d * sizeof *mean);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += X[i * d + j] / (double)n;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d; j++) {
            s += X[i * d + j] * X[i * d + j];
            var += (X[i * d + j] - mean[j]) * (X[i * d + j] - mean[j]);
        }
        xnorm[i] = s;
    }
    double tol = 1e-4 * var / ((double)n * (double)d);
    for (size_t i = 0; i < n; i++)
        labels[i] = K; /* no label yet: the first assignment changes all */
    /* Each assignment is one n x K x d product. */
    const double assign_flops = 2.0 * (double)n * (double)K * (double)d;
    for (int it = 0; it < max_iter; it++) {
        size_t changed = assign(X, n, d, K, centers, xnorm, cnorm, dots, labels, dist);
        *flops += assign_flops;
        if (changed == 0)
            break;
        double shift = update_centers(X, n, d, K, centers, labels, dist, sums, counts);
        gmmp_progress p = {.init = report->run,
                           .iteration = it + 1,
                           .mean_loglik = NAN,
                           .change = NAN,
                           .seconds = gmmp__now() - report->start,
                           .phase = GMMP_PHASE_KMEANS,
                           .done = it + 1,
                           .total = max_iter};
        if (gmmp__report(report->options, &p) != 0) {
            report->stopped = true;
            break;
        }
        if (shift <= tol)
            break;
    }
    /* Labels for the final centers (a no-op if nothing changed). */
    assign(X, n, d, K, centers, xnorm, cnorm, dots, labels, dist);
    *flops += assign_flops;
    gmmp__free(buf);
    return GMMP_OK;
}
