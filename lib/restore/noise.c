/*
 * Noise level from the image alone (see noise.h). Weak-texture patches are
 * selected by their gradient energy, and the noise variance is the
 * smallest eigenvalue of their covariance (Liu, Tanaka and Okutomi,
 * "Single-image noise level estimation for blind denoising", IEEE TIP
 * 2013), corrected for the downward bias of a smallest sample eigenvalue;
 * the iteration starts from the eigenvalue tail of all patches (Chen, Zhu
 * and Heng, "An efficient statistical method for image noise level
 * estimation", ICCV 2015), which texture can only raise.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "gmmprior/noise.h"

#include "geometry.h"
#include "internal.h"
#include "linalg.h"

/* The patch side (Chen et al.'s; Liu et al.'s 7 measured about the same). */
#define SIDE 8
/* At most about this many patches (one texture value each is kept)... */
#define MAX_PATCHES 1000000.0
/* ... and about this many multiply-adds (patches x d^2) in one pass of the
 * covariance, so that an RGB image (d = 192) takes a coarser grid and
 * about the time of a grey one of the same size... */
#define MAX_WORK 4294967296.0
/* ... but at least this many patches per dimension when the image has
 * them: fewer do not make a covariance worth its eigenvalues. */
#define MIN_PATCHES_PER_DIM 32.0
/* With at least four times this much work (patches x d^2: 20,000 grey
 * 8x8 patches, 2,200 RGB ones), and a quarter of the patches still enough
 * for the estimate to stand on its own (MIN_SELECTED_PER_DIM per
 * dimension: with many channels a small image has fewer patches than
 * dimensions), the starting estimate takes every second grid row and
 * column only. */
#define START_WORK (20000.0 * 64.0 * 64.0)
/* Patches per block of the covariance's products. */
#define BLOCK 1024
/* The standard normal quantile of 0.999: a patch of noise alone passes the
 * weak-texture test with that probability, so the selection removes
 * texture and leaves the noise as it is (0.1% lower on pure noise, as
 * measured). Liu et al.'s code keeps 1 - 1e-6, which lets more texture in:
 * on photographs outside the test set (train400 201..240, Kodak24)
 * it read 0.5 to 0.8% higher on average at sigma = 15, and +12% instead of
 * +9% on the most textured image. */
#define Z_KEEP 3.090232306167813
/* Fewest selected patches per dimension for the smallest eigenvalue to be
 * used; with fewer, the estimate before that selection stands. */
#define MIN_SELECTED_PER_DIM 16.0
/* Selection and estimate alternate until sigma^2 moves by less than this
 * fraction, at most MAX_ROUNDS times (2 or 3 on the photographs traced). */
#define TOLERANCE 1e-3
#define MAX_ROUNDS 10

/* The patches with top-left corners on a regular grid of the image, read
 * centred and scaled: (pixel - ref[channel]) * scale. */
typedef struct noise_grid {
    const double *image;
    size_t h, w, channels, pitch;
    size_t step, rows, cols, n, d;
    const double *ref;
    double scale;
} noise_grid;

/* The sum of the patches and of their outer products (lower triangle). */
typedef struct moments {
    double *sum, *outer;
    size_t n;
} moments;

static inline double pixel(const noise_grid *g, size_t r, size_t c, size_t ch)
{
    return (g->image[r * g->pitch + c * g->channels + ch] - g->ref[ch]) * g->scale;
}

/* Each channel's midpoint into ref, and the exponent e of the power of two
 * 2^-e that brings every pixel's distance from its midpoint below 1: the
 * moments are then free of overflow and underflow whatever the image's
 * scale, and of the cancellation a large offset causes. The exponent is
 * kept >= -1022 so that 2^-e is finite. Returns false for a constant
 * image. lo holds `channels` doubles of scratch. */
static bool centre_and_scale(const double *image, size_t h, size_t w, size_t channels,
                             size_t pitch, double *ref, double *lo, int *exponent)
{
    for (size_t ch = 0; ch < channels; ch++)
        lo[ch] = ref[ch] = image[ch];
    for (size_t r = 0; r < h; r++)
        for (size_t c = 0; c < w; c++)
            for (size_t ch = 0; ch < channels; ch++) {
                double v = image[r * pitch + c * channels + ch];
                lo[ch] = fmin(lo[ch], v);
                ref[ch] = fmax(ref[ch], v); /* the highest value, for now */
            }
    double half = 0.0;
    for (size_t ch = 0; ch < channels; ch++) {
        /* Halves first: hi - lo itself may overflow. */
        half = fmax(half, 0.5 * ref[ch] - 0.5 * lo[ch]);
        ref[ch] = 0.5 * ref[ch] + 0.5 * lo[ch];
    }
    if (half == 0.0)
        return false;
    int e;
    frexp(half, &e);
    *exponent = e < -1022 ? -1022 : e;
    return true;
}

/* Liu et al.'s texture measure of every grid patch: the sum over the patch
 * and its channels of the squared central differences (x[k+1] - x[k-1]) / 2
 * along rows and down columns, both neighbours inside the patch. For
 * white noise of variance s^2 alone it is close to s^2 times a gamma
 * variable (weak_texture_quantile). Each grid row first sums its SIDE
 * image rows per column (across: horizontal differences, down: vertical),
 * then each patch sums its columns: no running sums, so no cancellation
 * between a strong edge and a flat patch beside it. */
static void texture_energy(const noise_grid *g, double *across, double *down, double *energy)
{
    for (size_t i = 0; i < g->rows; i++) {
        size_t y = i * g->step;
        for (size_t c = 0; c < g->w; c++) {
            if (g->step > SIDE && c % g->step >= SIDE)
                continue; /* in no patch of this grid */
            double a = 0.0, b = 0.0;
            for (size_t ch = 0; ch < g->channels; ch++) {
                if (c >= 1 && c + 1 < g->w)
                    for (size_t r = y; r < y + SIDE; r++) {
                        double t = 0.5 * (pixel(g, r, c + 1, ch) - pixel(g, r, c - 1, ch));
                        a += t * t;
                    }
                for (size_t r = y + 1; r + 1 < y + SIDE; r++) {
                    double t = 0.5 * (pixel(g, r + 1, c, ch) - pixel(g, r - 1, c, ch));
                    b += t * t;
                }
            }
            across[c] = a;
            down[c] = b;
        }
        for (size_t j = 0; j < g->cols; j++) {
            size_t x = j * g->step;
            double e = 0.0;
            for (size_t c = x + 1; c + 1 < x + SIDE; c++)
                e += across[c];
            for (size_t c = x; c < x + SIDE; c++)
                e += down[c];
            energy[i * g->cols + j] = e;
        }
    }
}

/* The weak-texture threshold over the noise variance (Liu et al.): the
 * texture measure of a pure-noise patch is s^2 x^T D x with D = Dh^T Dh +
 * Dv^T Dv, which they approximate by a gamma variable of shape rank(D) / 2
 * and mean s^2 tr(D). Per channel, tr(D) = SIDE (SIDE - 2) (that many
 * differences, each with squared weights 1/4 + 1/4) and rank(D) =
 * SIDE^2 - 4 (D vanishes on the patterns that repeat every second row and
 * every second column). The quantile at 1 - 1e-6 comes from the
 * Wilson-Hilferty approximation of the chi-square distribution with k =
 * rank(D) degrees of freedom, within 0.1% of the exact one here. */
static double weak_texture_quantile(size_t channels)
{
    double k = (double)channels * (SIDE * SIDE - 4);
    double trace = (double)channels * SIDE * (SIDE - 2);
    double a = 2.0 / (9.0 * k), root = 1.0 - a + Z_KEEP * sqrt(a);
    return trace * root * root * root; /* (trace / k) * k * root^3 */
}

/* The grid patch `index`, centred and scaled, SIDE x SIDE x channels:
 * each patch row is contiguous in the image, read in one pass (which
 * vectorises for grey images; this copy had been 40% of the estimate). */
static void gather(const noise_grid *g, size_t index, double *out)
{
    const size_t C = g->channels, y = (index / g->cols) * g->step;
    const size_t x = (index % g->cols) * g->step, n = SIDE * C;
    for (size_t r = 0; r < SIDE; r++, out += n) {
        const double *src = g->image + (y + r) * g->pitch + x * C;
        if (C == 1) {
            const double ref = g->ref[0], scale = g->scale;
            for (size_t i = 0; i < n; i++)
                out[i] = (src[i] - ref) * scale;
        } else {
            for (size_t c = 0; c < SIDE; c++)
                for (size_t ch = 0; ch < C; ch++)
                    out[c * C + ch] = (src[c * C + ch] - g->ref[ch]) * g->scale;
        }
    }
}

static bool in_range(double v, double lo, double hi)
{
    return v >= lo && v < hi;
}

static size_t count_in(const double *energy, size_t n, double lo, double hi)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += in_range(energy[i], lo, hi);
    return k;
}

/* Adds (sign 1) or removes (sign -1) the moments of the grid patches whose
 * texture measure lies in [lo, hi). */
static void accumulate(const noise_grid *g, const double *energy, double lo, double hi,
                       double sign, size_t sub, moments *m, double *block)
{
    const size_t d = g->d;
    size_t rows = 0;
    for (size_t i = 0; i <= g->n; i++) {
        /* sub > 1: only the grid's every sub-th row and column. */
        bool on = sub == 1 || ((i / g->cols) % sub == 0 && (i % g->cols) % sub == 0);
        if (i < g->n && on && in_range(energy[i], lo, hi))
            gather(g, i, block + rows++ * d);
        if (rows == BLOCK || (i == g->n && rows > 0)) {
            for (size_t k = 0; k < rows; k++)
                for (size_t j = 0; j < d; j++)
                    m->sum[j] += sign * block[k * d + j];
            cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)rows, sign, block,
                        (int)d, 1.0, m->outer, (int)d);
            m->n = sign > 0 ? m->n + rows : m->n - rows;
            rows = 0;
        }
    }
}

/* Ascending eigenvalues of the covariance (outer - n mean mean^T) / n;
 * cov is d x d scratch. */
static int eigenvalues(const moments *m, size_t d, double *cov, double *lambda)
{
    double n = (double)m->n;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++)
            cov[i * d + j] = (m->outer[i * d + j] - m->sum[i] * m->sum[j] / n) / n;
    return gmmp__eigvalsh(cov, d, lambda, "the patch covariance");
}

/* Chen et al.'s tail search on ascending eigenvalues: drop the largest
 * while as many exceed the mean of those left as fall below it. */
static double tail_variance(const double *lambda, size_t d)
{
    double mean = 0.0;
    for (size_t m = d; m >= 1; m--) {
        double s = 0.0;
        for (size_t j = 0; j < m; j++)
            s += lambda[j];
        mean = s / (double)m;
        size_t above = 0, below = 0;
        for (size_t j = 0; j < m; j++) {
            above += lambda[j] > mean;
            below += lambda[j] < mean;
        }
        if (above == below)
            break;
    }
    return fmax(mean, 0.0);
}

/* The noise variance from the smallest eigenvalue of n patches'
 * covariance. For white noise alone the eigenvalues of a sample
 * covariance spread over s^2 (1 +- sqrt(d/n))^2 (Marchenko and Pastur), so
 * the smallest one falls short of s^2 by the factor (1 - sqrt(d/n))^2:
 * 3% on a 512x512 grey image, 8% on 180x180 once half its patches are
 * selected, and it measured so on pure noise (overlapping patches
 * included). The factor is divided out. Requires n > d. */
static double smallest_variance(const double *lambda, size_t d, size_t n)
{
    double shortfall = 1.0 - sqrt((double)d / (double)n);
    return fmax(lambda[0], 0.0) / (shortfall * shortfall);
}

/* Patches on a grid of the given step. */
static size_t grid_count(size_t h, size_t w, size_t step)
{
    return ((h - SIDE) / step + 1) * ((w - SIDE) / step + 1);
}

/* The finest grid within the patch and work caps. */
static size_t grid_step(size_t h, size_t w, size_t d)
{
    double cap = fmax(MAX_WORK / ((double)d * (double)d), MIN_PATCHES_PER_DIM * (double)d);
    cap = fmin(cap, MAX_PATCHES);
    double all = (double)grid_count(h, w, 1);
    size_t step = all > cap ? (size_t)floor(sqrt(all / cap)) : 1;
    if (step < 1)
        step = 1;
    while ((double)grid_count(h, w, step) > cap)
        step++;
    return step;
}

/* Alternates Liu et al.'s weak-texture selection (measure below the
 * quantile times the current variance) and the variance from the selected
 * patches, starting from Chen et al.'s estimate over all the patches. The
 * moments follow the selection by adding or removing the patches that
 * change side, or are summed afresh when that is cheaper. Returns the
 * variance in the grid's scaled units. */
static int estimate_variance(const noise_grid *g, const double *energy, moments *m,
                             double *block, double *cov, double *lambda, double *variance)
{
    const size_t d = g->d;
    memset(m->sum, 0, d * sizeof *m->sum);
    memset(m->outer, 0, d * d * sizeof *m->outer);
    m->n = 0;
    /* The start needs only a rough level: a quarter of the patches where
     * they are many (the full pass had been half of the estimate). The
     * moments then hold that subset, so the first selection sums afresh. */
    const size_t sub = (double)g->n * (double)(d * d) >= 4 * START_WORK &&
                               (double)g->n >= 4 * MIN_SELECTED_PER_DIM * (double)d
                           ? 2
                           : 1;
    accumulate(g, energy, -INFINITY, INFINITY, 1.0, sub, m, block);
    int rc = eigenvalues(m, d, cov, lambda);
    if (rc)
        return rc;
    double s2 = tail_variance(lambda, d), threshold = INFINITY;
    bool fresh = sub > 1;
    const double quantile = weak_texture_quantile(g->channels);
    for (int round = 0; round < MAX_ROUNDS; round++) {
        double next = quantile * s2;
        size_t kept = count_in(energy, g->n, -INFINITY, next);
        if ((double)kept < MIN_SELECTED_PER_DIM * (double)d)
            break;
        double lo = fmin(next, threshold), hi = fmax(next, threshold);
        if (!fresh && count_in(energy, g->n, lo, hi) <= kept) {
            accumulate(g, energy, lo, hi, next > threshold ? 1.0 : -1.0, 1, m, block);
        } else {
            memset(m->sum, 0, d * sizeof *m->sum);
            memset(m->outer, 0, d * d * sizeof *m->outer);
            m->n = 0;
            accumulate(g, energy, -INFINITY, next, 1.0, 1, m, block);
            fresh = false;
        }
        threshold = next;
        if ((rc = eigenvalues(m, d, cov, lambda)))
            return rc;
        double previous = s2;
        s2 = smallest_variance(lambda, d, kept);
        if (fabs(s2 - previous) <= TOLERANCE * previous)
            break;
    }
    *variance = s2;
    return GMMP_OK;
}

int gmmp_estimate_noise(const double *image, size_t h, size_t w, size_t channels, size_t pitch,
                        double *sigma)
{
    if (!sigma)
        return gmmp__fail(GMMP_EINVAL, "output pointer is NULL");
    if (channels == 0)
        return gmmp__fail(GMMP_EINVAL, "number of channels must be at least 1");
    int rc = gmmp__check_image(image, h, w, channels, pitch);
    if (rc)
        return rc;
    if (h < SIDE || w < SIDE)
        return gmmp__fail(GMMP_EDIM, "a %zux%zu image is too small to estimate noise: it "
                                     "needs at least %dx%d pixels",
                          h, w, SIDE, SIDE);
    for (size_t r = 0; r < h; r++) {
        size_t bad = gmmp__first_nonfinite(image + r * pitch, w * channels);
        if (bad < w * channels)
            return gmmp__fail(GMMP_ENONFINITE, "pixel (%zu, %zu), channel %zu is %g", r,
                              bad / channels, bad % channels, image[r * pitch + bad]);
    }
    size_t d;
    if (!gmmp__mul_ok(SIDE * SIDE, channels, &d) || d > GMMP__MAX_ORDER)
        return gmmp__fail(GMMP_EOVERFLOW, "%zu channels are too many for noise estimation",
                          channels);
    noise_grid g = {image, h, w, channels, pitch, grid_step(h, w, d), 0, 0, 0, d, NULL, 0.0};
    g.rows = (h - SIDE) / g.step + 1;
    g.cols = (w - SIDE) / g.step + 1;
    g.n = g.rows * g.cols;
    /* One allocation: ref and scratch (2C), the texture measures (n), two
     * column sums (2w), the moments and the covariance (d + 2 d^2), the
     * eigenvalues (d) and a block of patches. */
    size_t total = 2 * channels + g.n + 2 * w + 2 * d + 2 * d * d + BLOCK * d;
    double *buf = gmmp__alloc_array(total, sizeof(double));
    if (!buf)
        return gmmp__fail_nomem();
    double *ref = buf, *energy = ref + 2 * channels, *across = energy + g.n, *down = across + w;
    moments m = {down + w, down + w + d, 0};
    double *cov = m.outer + d * d, *lambda = cov + d * d, *block = lambda + d;
    int exponent = 0;
    double variance = 0.0;
    if (centre_and_scale(image, h, w, channels, pitch, ref, ref + channels, &exponent)) {
        g.ref = ref;
        g.scale = ldexp(1.0, -exponent);
        texture_energy(&g, across, down, energy);
        rc = estimate_variance(&g, energy, &m, block, cov, lambda, &variance);
    }
    if (rc == GMMP_OK)
        *sigma = ldexp(sqrt(variance), exponent); /* a constant image: 0 */
    gmmp__free(buf);
    return rc;
}
