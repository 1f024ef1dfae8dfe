/*
 * The execution of flat-tail plans (plan_flat.c builds them): a block of
 * rows through the coordinates, the log densities (with preselection,
 * the coarse scores and the candidates), and the posterior means.
 *
 * Built twice on x86-64 (lib/posterior/meson.build): for the baseline
 * target (gmmp__flat_block_base), and with AVX2 (gmmp__flat_block_avx2),
 * which the plan takes where the processor has it (gmmp__flat_block in
 * plan_flat.c). Both builds do the same arithmetic in the same order
 * (floating-point contraction off in both, and the eight-lane vectors
 * below are two four-lane ones on the baseline), so their results are the
 * same bit for bit (tests/test_internal_flat.c); AVX2 only does it in
 * fewer, wider instructions (docs/performance.md).
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "estep.h"
#include "flat_layout.h"
#include "internal.h"
#include "plan.h"
#include "plan_exec.h"
#include "single.h"

#ifdef GMMP_FLAT_AVX2
#define GMMP_FLAT_BLOCK gmmp__flat_block_avx2
#else
#define GMMP_FLAT_BLOCK gmmp__flat_block_base
#endif

/* Posterior mean of component k for observation y, with coordinates z. */
static void flat_mean(const gmmp_plan *pl, size_t k, const double *y, const double *z,
                      double *post)
{
    const size_t d = pl->d, r = pl->rank, tail = d - r;
    const double *mu = pl->means + k * d, *g = pl->flat_gain + k * (r + 1);
    const double *ut = pl->eig->ut + k * d * d + tail * d; /* the r kept eigenvectors */
    const double gt = g[r];
    for (size_t j = 0; j < d; j++)
        post[j] = mu[j] + gt * (y[j] - mu[j]);
    for (size_t a = 0; a < r; a++) {
        double c = (g[a] - gt) * z[a];
        const double *u = ut + a * d;
        for (size_t j = 0; j < d; j++)
            post[j] += c * u[j];
    }
}

/* The quadratic form of a flat tail of rank r from the coordinates z of
 * y - mu_k (already centred) and the squared norm e2 of y - mu_k; iv
 * holds the r inverse variances and the tail's. The sums run in four
 * lanes (a floating-point reduction does not vectorise by itself), one
 * explicit four-lane vector: left to the vectoriser, the AVX2 build
 * shuffled them into place at every step. */
#if defined(__GNUC__)
typedef double gmmp__v4d __attribute__((vector_size(4 * sizeof(double))));
#endif

static double flat_quadratic(const double *z, size_t r, const double *iv, double e2)
{
    double zz[4] = {0, 0, 0, 0}, qq[4] = {0, 0, 0, 0};
    size_t a = 0;
#if defined(__GNUC__)
    gmmp__v4d zsum = {0, 0, 0, 0}, qsum = zsum, x, v;
    for (; a + 4 <= r; a += 4) {
        memcpy(&x, z + a, sizeof x);
        memcpy(&v, iv + a, sizeof v);
        gmmp__v4d z2 = x * x;
        zsum += z2;
        qsum += z2 * v;
    }
    memcpy(zz, &zsum, sizeof zz);
    memcpy(qq, &qsum, sizeof qq);
#else
    for (; a + 4 <= r; a += 4)
        for (size_t l = 0; l < 4; l++) {
            double z2 = z[a + l] * z[a + l];
            zz[l] += z2;
            qq[l] += z2 * iv[a + l];
        }
#endif
    for (; a < r; a++) {
        double z2 = z[a] * z[a];
        zz[0] += z2;
        qq[0] += z2 * iv[a];
    }
    double sz = (zz[0] + zz[1]) + (zz[2] + zz[3]), q = (qq[0] + qq[1]) + (qq[2] + qq[3]);
    /* The tail's energy, never negative (rounding). */
    return q + (e2 > sz ? e2 - sz : 0.0) * iv[r];
}

/* Whether a block of n rows runs its projections in float: a
 * single-precision plan, and values small enough (flat_single). */
static bool block_in_float(const gmmp_plan *pl, const double *Y, size_t n)
{
    return pl->n_single && gmmp__max_abs(Y, n * pl->d) <= pl->flat_single_max;
}

/* Y times a d x cols matrix of eigenvectors (u, or with `single` its float
 * copy u_f times the rows of Y rounded into w->dev_f) into P (n x cols);
 * with `single` and P NULL, the product stays in w->z_f, in float. */
static void project(const gmmp_plan *pl, const double *Y, size_t n, const double *u,
                    const float *u_f, bool single, size_t cols, workspace *w, double *P)
{
    const size_t d = pl->d;
    if (single) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)cols, (int)d, 1.0f,
                    w->dev_f, (int)d, u_f, (int)cols, 0.0f, w->z_f, (int)cols);
        for (size_t i = 0; P && i < n * cols; i++)
            P[i] = (double)w->z_f[i];
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)cols, (int)d, 1.0, Y,
                    (int)d, u, (int)cols, 0.0, P, (int)cols);
    }
}

/* Preselection's coarse product into P (or with `single` and P NULL,
 * w->z_f): n rows of K r0 coarse coordinates, then K values y . mu_k.
 * Through the layout's basis where it has one: the rows are first taken
 * in the basis's m coordinates (into w->post or, in float, w->gat_f: B x
 * d each, m < d, neither in use yet), and the means' products are taken
 * whole; else in one product. */
static void project_coarse(const gmmp_plan *pl, const double *Y, size_t n, bool single,
                           size_t cols, workspace *w, double *P)
{
    const gmmp__flat_layout *lay = pl->layout;
    const size_t d = pl->d, m = lay->pre_dim, K = pl->K, Kr0 = K * pl->pre_rank;
    if (!m) {
        project(pl, Y, n, lay->pre_u, lay->pre_u_f, single, cols, w, P);
        return;
    }
    if (single) {
        /* Zeroed here, then added to (beta 1): OpenBLAS's own zeroing of
         * the product (beta 0) took 7% of a fast EPLL run. */
        memset(w->z_f, 0, n * cols * sizeof *w->z_f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)d, 1.0f,
                    w->dev_f, (int)d, lay->pre_basis_f, (int)m, 0.0f, w->gat_f, (int)m);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)Kr0, (int)m, 1.0f,
                    w->gat_f, (int)m, lay->pre_u_f, (int)Kr0, 1.0f, w->z_f, (int)cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)d, 1.0f,
                    w->dev_f, (int)d, lay->pre_means_f, (int)d, 1.0f, w->z_f + Kr0, (int)cols);
        for (size_t i = 0; P && i < n * cols; i++)
            P[i] = (double)w->z_f[i];
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)d, 1.0, Y,
                    (int)d, lay->pre_basis, (int)m, 0.0, w->post, (int)m);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)Kr0, (int)m, 1.0,
                    w->post, (int)m, lay->pre_u, (int)Kr0, 0.0, P, (int)cols);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)d, 1.0, Y,
                    (int)d, pl->means, (int)d, 0.0, P + Kr0, (int)cols);
    }
}

/* Every component's coordinates (row i of P at i K r, component k at k r)
 * and log density (lp, n x K, holding y . mu_k on entry). */
static void all_components(const gmmp_plan *pl, const double *Y, size_t n, bool single,
                           const double *yy, double *P, double *lp, workspace *w)
{
    const size_t K = pl->K, r = pl->rank, Kr = K * r;
    const gmmp__flat_layout *lay = pl->layout;
    project(pl, Y, n, lay->u_all, lay->u_all_f, single, Kr, w, P);
    for (size_t i = 0; i < n; i++) {
        double *row = P + i * Kr;
        /* Coordinates of y - mu_k: one subtraction over the row, which
         * vectorises. */
        for (size_t j = 0; j < Kr; j++)
            row[j] -= lay->proj_mu[j];
        for (size_t k = 0; k < K; k++) {
            double e2 = yy[i] - 2.0 * lp[i * K + k] + lay->mu_norm2[k];
            double q = flat_quadratic(row + k * r, r, pl->flat_iv + k * (r + 1), e2);
            lp[i * K + k] = pl->log_weights[k] + pl->log_norm[k] - 0.5 * q;
        }
    }
}

/* z = u^T y - proj for u (d x rest, row-major): the sums run across the
 * rest columns, four at a time in two two-lane vectors (the baseline
 * x86-64 registers; GCC and clang lower them to what the target has, and
 * compilers without vector extensions take the plain loop), each over
 * the even and the odd rows apart: a single chain of d dependent
 * additions per column had left the loop waiting on the adder's latency
 * (a third of a K = 200 fast plan's own time, perf). */
#if defined(__GNUC__)
typedef double gmmp__v2d __attribute__((vector_size(2 * sizeof(double))));
#endif

static void coordinates(const double *y, const double *u, size_t d, size_t rest,
                        const double *proj, double *z)
{
    size_t a = 0;
#if defined(__GNUC__)
    for (; a + 4 <= rest; a += 4) {
        gmmp__v2d lo0 = {0, 0}, hi0 = {0, 0}, lo1 = {0, 0}, hi1 = {0, 0}, c0, c1;
        size_t j = 0;
        for (; j + 2 <= d; j += 2) {
            memcpy(&c0, u + j * rest + a, sizeof c0);
            memcpy(&c1, u + j * rest + a + 2, sizeof c1);
            lo0 += y[j] * c0;
            hi0 += y[j] * c1;
            memcpy(&c0, u + (j + 1) * rest + a, sizeof c0);
            memcpy(&c1, u + (j + 1) * rest + a + 2, sizeof c1);
            lo1 += y[j + 1] * c0;
            hi1 += y[j + 1] * c1;
        }
        if (j < d) {
            memcpy(&c0, u + j * rest + a, sizeof c0);
            memcpy(&c1, u + j * rest + a + 2, sizeof c1);
            lo0 += y[j] * c0;
            hi0 += y[j] * c1;
        }
        gmmp__v2d sum_lo = lo0 + lo1, sum_hi = hi0 + hi1;
        double out[4];
        memcpy(out, &sum_lo, sizeof sum_lo);
        memcpy(out + 2, &sum_hi, sizeof sum_hi);
        for (size_t l = 0; l < 4; l++)
            z[a + l] = out[l] - proj[a + l];
    }
#endif
    for (; a < rest; a++) {
        double acc = 0.0;
        for (size_t j = 0; j < d; j++)
            acc += y[j] * u[j * rest + a];
        z[a] = acc - proj[a];
    }
}

/* coordinates() in float, from the row rounded to float, with the
 * eigenvectors as rows (ut: rest x d): four dot products at a time, each
 * in eight lanes over the row (one 256-bit vector where the target has
 * them, two 128-bit ones on baseline x86-64), summed across the lanes in a
 * fixed order. */
#if defined(__GNUC__)
typedef float gmmp__v8f __attribute__((vector_size(8 * sizeof(float))));

/* By address: a 256-bit vector passed by value would change the calling
 * convention between the two builds (-Wpsabi). */
static float lanes_sum(const gmmp__v8f *v)
{
    float t[8];
    memcpy(t, v, sizeof t);
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}
#endif

static void coordinates_f(const float *y, const float *ut, size_t d, size_t rest,
                          const double *proj, double *z)
{
    size_t a = 0;
#if defined(__GNUC__)
    const size_t d8 = d - d % 8;
    for (; a + 4 <= rest; a += 4) {
        const float *u = ut + a * d;
        gmmp__v8f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, yv, c;
        for (size_t j = 0; j < d8; j += 8) {
            memcpy(&yv, y + j, sizeof yv);
            memcpy(&c, u + j, sizeof c);
            s0 += yv * c;
            memcpy(&c, u + d + j, sizeof c);
            s1 += yv * c;
            memcpy(&c, u + 2 * d + j, sizeof c);
            s2 += yv * c;
            memcpy(&c, u + 3 * d + j, sizeof c);
            s3 += yv * c;
        }
        float out[4] = {lanes_sum(&s0), lanes_sum(&s1), lanes_sum(&s2), lanes_sum(&s3)};
        for (size_t j = d8; j < d; j++)
            for (size_t l = 0; l < 4; l++)
                out[l] += y[j] * u[l * d + j];
        for (size_t l = 0; l < 4; l++)
            z[a + l] = (double)out[l] - proj[a + l];
    }
#endif
    for (; a < rest; a++) {
        float acc = 0.0f;
        for (size_t j = 0; j < d; j++)
            acc += y[j] * ut[a * d + j];
        z[a] = (double)acc - proj[a];
    }
}

/* The smallest of the largest scores of 8 groups of components (k mod
 * 8), or -inf for K < 8: a lower bound on the 8th largest score. Each
 * group's maximum runs in a lane of two four-lane vectors, selected by
 * comparison masks (no branches, and exact: the same in every build). */
static double groups_bound(const double *score, size_t K)
{
    if (K < 8)
        return -INFINITY;
    double lanes[8];
    size_t k = 8;
    memcpy(lanes, score, sizeof lanes);
#if defined(__GNUC__)
    typedef long long gmmp__v4l __attribute__((vector_size(4 * sizeof(long long))));
    gmmp__v4d lo, hi, x;
    memcpy(&lo, lanes, sizeof lo);
    memcpy(&hi, lanes + 4, sizeof hi);
    for (; k + 8 <= K; k += 8) {
        memcpy(&x, score + k, sizeof x);
        gmmp__v4l more = x > lo;
        lo = (gmmp__v4d)(((gmmp__v4l)x & more) | ((gmmp__v4l)lo & ~more));
        memcpy(&x, score + k + 4, sizeof x);
        more = x > hi;
        hi = (gmmp__v4d)(((gmmp__v4l)x & more) | ((gmmp__v4l)hi & ~more));
    }
    memcpy(lanes, &lo, sizeof lo);
    memcpy(lanes + 4, &hi, sizeof hi);
#endif
    for (; k < K; k++)
        lanes[k % 8] = score[k] > lanes[k % 8] ? score[k] : lanes[k % 8];
    double bound = lanes[0];
    for (size_t l = 1; l < 8; l++)
        bound = lanes[l] < bound ? lanes[l] : bound;
    return bound;
}

/* Inserts (value, k) into the M best so far (best[0] the largest), if
 * it belongs there; `count` of them are filled. */
static void keep_best(double value, size_t k, double *best, size_t *which, size_t *count,
                      size_t M)
{
    size_t at = *count < M ? (*count)++ : M;
    if (at == M) {
        if (!(value > best[M - 1]))
            return;
        at = M - 1;
    }
    for (; at > 0 && value > best[at - 1]; at--) {
        best[at] = best[at - 1];
        which[at] = which[at - 1];
    }
    best[at] = value;
    which[at] = k;
}

/* The coarse log densities of one row (row0: its K r0 coarse values,
 * then y . mu_k) into score (K), half_yy = ||y||^2 / 2. */
static void coarse_scores(const gmmp_plan *pl, const double *row0, double half_yy, double *score)
{
    const size_t K = pl->K, r0 = pl->pre_rank;
    const double *tail_iv = pl->pre_iv + r0 * K, *ymu = row0 + K * r0;
    for (size_t k = 0; k < K; k++)
        score[k] = pl->pre_base[k] + tail_iv[k] * (ymu[k] - half_yy);
    for (size_t a = 0; a < r0; a++) {
        const double *p = row0 + a * K, *pm = pl->layout->pre_proj_mu + a * K;
        const double *iv = pl->pre_iv + a * K;
        for (size_t k = 0; k < K; k++) {
            double z = p[k] - pm[k];
            score[k] -= 0.5 * iv[k] * z * z;
        }
    }
}

/* The same in float (pl->pre_f's constants) into score_f, then widened
 * into score for the selection. */
static void coarse_scores_f(const gmmp_plan *pl, const float *row0, float half_yy, float *score_f,
                            double *score)
{
    const size_t K = pl->K, r0 = pl->pre_rank;
    const float *pm = pl->pre_f, *half_iv = pm + r0 * K, *tail_iv = half_iv + r0 * K;
    const float *base = tail_iv + K, *ymu = row0 + K * r0;
    for (size_t k = 0; k < K; k++)
        score_f[k] = base[k] + tail_iv[k] * (ymu[k] - half_yy);
    for (size_t a = 0; a < r0; a++) {
        const float *p = row0 + a * K, *pma = pm + a * K, *hiv = half_iv + a * K;
        for (size_t k = 0; k < K; k++) {
            float z = p[k] - pma[k];
            score_f[k] += hiv[k] * z * z;
        }
    }
    for (size_t k = 0; k < K; k++)
        score[k] = (double)score_f[k];
}

/* Preselection: coarse log densities of every component from the r0
 * leading coordinates and y . mu_k (one product; or, where the layout has
 * a basis, the coordinates through it, approximate, and the candidates
 * compute all r of theirs themselves), the M best kept in
 * w->cand (row i at i M), their r coordinates in C (row i, candidate s at
 * (i M + s) r) and their exact log densities in lp (n x K); every other
 * component's log density is -inf. With `single` the rows are in
 * w->dev_f, rounded to float.
 *
 * The coarse log density of e = y - mu_k with coordinates z is
 *     base_k - sum_a z_a^2 (iv_a - iv_t) / 2 - ||e||^2 iv_t / 2,
 * ||e||^2 = ||y||^2 - 2 y.mu_k + ||mu_k||^2, which flat_quadratic gives
 * without its guard against a tail energy rounded below zero: a ranking
 * needs no such care, and without it every term runs over the
 * components in independent lanes. For the same reason the ranking's
 * y . mu_k may come from the float product; the candidates' exact
 * densities take theirs in double (its float error, u d max|y| max|mu|
 * at worst, would not stay small beside sigma^2 for priors whose means
 * reach 100, as EPLL's do). */
static void candidates_only(const gmmp_plan *pl, const double *Y, size_t n, bool single,
                            const double *yy, double *P0, double *C, double *lp, workspace *w)
{
    const size_t K = pl->K, d = pl->d, r = pl->rank, r0 = pl->pre_rank, M = pl->candidates;
    const gmmp__flat_layout *lay = pl->layout;
    const size_t Kr0 = K * r0, cols = Kr0 + K, exact = lay->pre_exact;
    /* In float the coarse values stay in w->z_f, scored there in float
     * (eight lanes where the target has them): a ranking needs no more,
     * and converting all K (r0 + 1) a row to double had cost more than
     * scoring them. */
    const bool float_scores = single && pl->pre_f; /* else scored in double, from P0 */
    project_coarse(pl, Y, n, single, cols, w, float_scores ? NULL : P0);
    double *score = w->cand_lp, *best = w->cand_lp + K; /* K; M */
    for (size_t i = 0; i < n; i++) {
        size_t *cand = w->cand + i * M, filled = 0;
        if (float_scores)
            coarse_scores_f(pl, w->z_f + i * cols, (float)(0.5 * yy[i]), w->cand_lp_f, score);
        else
            coarse_scores(pl, P0 + i * cols, 0.5 * yy[i], score);
        /* Only components scoring at least a lower bound on the M-th
         * best score can be among the M best: the better of two such
         * bounds, the worst of the previous row's candidates' scores
         * (neighbouring patches often share candidates) and, for M <= 8,
         * the worst of the best scores of 8 groups of components (k mod
         * 8: 8 distinct components score at least that), found in 8
         * lanes without branches. The insertions, whose branches
         * mispredict, are then fewer: for EPLL's K = 200 prior and M = 8,
         * 17 components a row pass instead of 58, and 13 are inserted
         * instead of 19.5. The selection is the same as over all K (for
         * scores that are not NaN, which finite inputs of a sane size
         * never give). */
        size_t *pass = w->cand_count, passed = 0; /* K of its K + 1, free until below */
        double bound = M <= 8 ? groups_bound(score, K) : -INFINITY;
        if (i > 0) {
            const size_t *previous = cand - M;
            double worst = INFINITY;
            for (size_t s = 0; s < M; s++)
                worst = fmin(worst, score[previous[s]]);
            bound = fmax(bound, worst);
        }
        for (size_t k = 0; k < K; k++) {
            pass[passed] = k;
            passed += !(score[k] < bound); /* branch-free */
        }
        for (size_t q = 0; q < passed; q++) {
            const size_t k = pass[q];
            if (filled < M || score[k] > best[M - 1])
                keep_best(score[k], k, best, cand, &filled, M);
        }
        /* The candidates' coarse coordinates, the last r0 of their r,
         * where the coarse product computed them whole. */
        for (size_t s = 0; !lay->pre_dim && s < M; s++)
            for (size_t a = 0; a < r0; a++) {
                const size_t at = a * K + cand[s];
                double value = single ? (double)w->z_f[i * cols + at] : P0[i * cols + at];
                C[(i * M + s) * r + exact + a] = value - lay->pre_proj_mu[at];
            }
    }
    /* The candidates' other coordinates (pre_exact), component by component: the
     * K blocks of eigenvectors exceed the cache, and each is then read
     * once a block of rows instead of once a candidate. */
    size_t *count = w->cand_count, *order = w->cand_order; /* K + 1; n M */
    memset(count, 0, (K + 1) * sizeof *count);
    for (size_t p = 0; p < n * M; p++)
        count[w->cand[p] + 1]++;
    for (size_t k = 0; k < K; k++)
        count[k + 1] += count[k];
    for (size_t p = 0; p < n * M; p++)
        order[count[w->cand[p]]++] = p; /* count[k] ends at the start of k + 1 */
    for (size_t q = 0; q < n * M; q++) {
        const size_t p = order[q], i = p / M, k = w->cand[p];
        double *z = C + p * r;
        if (single) /* half the bytes */
            coordinates_f(w->dev_f + i * d, lay->pre_rest_f + k * exact * d, d, exact,
                          lay->proj_mu + k * r, z);
        else
            coordinates(Y + i * d, lay->pre_rest + k * d * exact, d, exact, lay->proj_mu + k * r,
                        z);
    }
    for (size_t i = 0; i < n; i++) {
        double *lpi = lp + i * K;
        const size_t *cand = w->cand + i * M;
        for (size_t s = 0; s < M; s++) {
            const size_t k = cand[s];
            double ymu = cblas_ddot((int)d, Y + i * d, 1, pl->means + k * d, 1);
            double e2 = yy[i] - 2.0 * ymu + lay->mu_norm2[k];
            best[s] = pl->log_weights[k] + pl->log_norm[k] -
                      0.5 * flat_quadratic(C + (i * M + s) * r, r, pl->flat_iv + k * (r + 1),
                                           e2);
        }
        for (size_t k = 0; k < K; k++)
            lpi[k] = -INFINITY;
        for (size_t s = 0; s < M; s++)
            lpi[cand[s]] = best[s];
    }
}

void GMMP_FLAT_BLOCK(const gmmp_plan *pl, const request *rq, size_t first, size_t n, workspace *w)
{
    const size_t K = pl->K, d = pl->d, r = pl->rank, Kr = K * r, M = pl->candidates;
    const double *Y = rq->Y + first * d;
    if (rq->only_component < K) {
        /* Just that component's posterior means: its coordinates alone. */
        const size_t k = rq->only_component;
        const double *ut = pl->eig->ut + k * d * d + (d - r) * d; /* the r kept, as rows */
        double *z = w->post;                                        /* r <= d scratch */
        for (size_t i = 0; i < n; i++) {
            const double *y = Y + i * d;
            for (size_t a = 0; a < r; a++) {
                double acc = 0.0;
                for (size_t j = 0; j < d; j++)
                    acc += ut[a * d + j] * y[j];
                z[a] = acc - pl->layout->proj_mu[k * r + a];
            }
            flat_mean(pl, k, y, z, rq->means + (first + i) * d);
        }
        return;
    }
    /* n x K r coordinates; with preselection n x K (r0 + 1) coarse ones
     * and y . mu_k, then the candidates' n x M r
     * (gmmp__plan_flat_row_values). */
    double *P = w->z;
    double *C = w->z + n * K * (M ? pl->pre_rank + 1 : r);
    double *lp = w->lp;        /* n x K: first y . mu_k (without preselection), then log
                                  densities */
    double *yy = w->gat;       /* n: ||y||^2 */
    const bool single = block_in_float(pl, Y, n);
    if (single)
        gmmp__residual_single(Y, n, d, NULL, w->dev_f);
    /* y . mu_k in double: in float its error, u d max|y| max|mu| at worst,
     * would not stay small beside sigma^2 for priors whose means reach
     * 100 (EPLL's), and it enters every log density through ||e||^2.
     * Preselection computes its own (candidates_only). */
    if (!M)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)d, 1.0, Y,
                    (int)d, pl->means, (int)d, 0.0, lp, (int)K);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d; j++)
            s += Y[i * d + j] * Y[i * d + j];
        yy[i] = s;
    }
    if (M)
        candidates_only(pl, Y, n, single, yy, P, C, lp, w);
    else
        all_components(pl, Y, n, single, yy, P, lp, w);
    /* The coordinates of component k (in slot `slot`) for row i. */
#define COORDS(i, k, slot) (M ? C + ((i) * M + (slot)) * r : P + (i) * Kr + (k) * r)
    /* MAP alone needs the most responsible component, the largest log
     * density: no normalisation and no exponentials (K per patch, the
     * larger cost of a fast plan). */
    bool map_only = (rq->map || rq->labels) && !rq->mmse && !rq->resp && !rq->log_evidence;
    if (!map_only) {
        gmmp__log_normalize(lp, n, K, w->lpdf);
        if (rq->log_evidence)
            memcpy(rq->log_evidence + first, w->lpdf, n * sizeof(double));
        for (size_t i = 0; i < n * K; i++)
            lp[i] = exp(lp[i]);
        if (rq->resp)
            memcpy(rq->resp + first * K, lp, n * K * sizeof(double));
    }
    if (!rq->map && !rq->mmse && !rq->labels)
        return;
    double *post = w->post; /* d */
    const size_t slots = M ? M : K;
    for (size_t i = 0; i < n; i++) {
        const double *y = Y + i * d, *resp = lp + i * K;
        /* Components by slot: the candidates, or all. */
        const size_t *cand = M ? w->cand + i * M : NULL;
        size_t top = 0;
        for (size_t s = 1; s < slots; s++)
            if (resp[cand ? cand[s] : s] > resp[cand ? cand[top] : top])
                top = s;
        if (rq->labels)
            rq->labels[first + i] = cand ? cand[top] : top;
        if (!rq->map && !rq->mmse)
            continue;
        double *mmse = rq->mmse ? rq->mmse + (first + i) * d : NULL;
        if (mmse)
            memset(mmse, 0, d * sizeof *mmse);
        for (size_t s = 0; s < slots; s++) {
            const size_t k = cand ? cand[s] : s;
            bool for_map = rq->map && s == top, for_mmse = mmse && resp[k] > pl->skip;
            if (!for_map && !for_mmse)
                continue;
            flat_mean(pl, k, y, COORDS(i, k, s), post);
            if (for_map)
                memcpy(rq->map + (first + i) * d, post, d * sizeof *post);
            if (for_mmse)
                for (size_t j = 0; j < d; j++)
                    mmse[j] += resp[k] * post[j];
        }
    }
#undef COORDS
}
