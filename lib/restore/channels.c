/*
 * A multi-channel image restored with a one-channel prior, channel by
 * channel in an orthonormal basis (see gmmp_epll_channels() in
 * restore.h): the basis, the way there and back, and the progress of the
 * channels' EPLL runs relayed as one.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "gmmprior/restore.h"

#include "geometry.h"
#include "internal.h"
#include "linalg.h"
#include "options_internal.h"
#include "pass.h"
#include "plan.h"

static bool seen(const unsigned char *observed, size_t w, size_t r, size_t c)
{
    return !observed || observed[r * w + c];
}

/* The covariance (lower triangle, C x C, unnormalised) of the observed
 * pixels' deviations from their tile's mean, over th x tw tiles (the
 * model's patch) tiling the image from its corner; partial tiles at the
 * right and bottom edges count as tiles. */
static void detail_covariance(const double *y, size_t h, size_t w, size_t C, size_t pitch,
                              const unsigned char *observed, size_t th, size_t tw, double *cov)
{
    double mean[GMMP__MAX_CHANNELS], dev[GMMP__MAX_CHANNELS];
    memset(cov, 0, C * C * sizeof *cov);
    for (size_t r0 = 0; r0 < h; r0 += th)
        for (size_t c0 = 0; c0 < w; c0 += tw) {
            const size_t r1 = r0 + th < h ? r0 + th : h, c1 = c0 + tw < w ? c0 + tw : w;
            size_t n = 0;
            memset(mean, 0, C * sizeof *mean);
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++)
                    if (seen(observed, w, r, c)) {
                        n++;
                        for (size_t j = 0; j < C; j++)
                            mean[j] += y[r * pitch + c * C + j];
                    }
            if (n < 2)
                continue;
            for (size_t j = 0; j < C; j++)
                mean[j] /= (double)n;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++) {
                    if (!seen(observed, w, r, c))
                        continue;
                    for (size_t j = 0; j < C; j++)
                        dev[j] = y[r * pitch + c * C + j] - mean[j];
                    for (size_t i = 0; i < C; i++)
                        for (size_t j = 0; j <= i; j++)
                            cov[i * C + j] += dev[i] * dev[j];
                }
        }
}

/* Row c of `basis` (C x C) is the c-th vector of the PCA basis: the
 * eigenvector of the c-th largest eigenvalue, signed so that its
 * coefficients sum to a positive value (ties: its first non-zero one
 * positive), so that the basis is the same whatever the eigensolver's
 * signs. */
static int pca_basis(const double *y, size_t h, size_t w, size_t C, size_t pitch,
                     const unsigned char *observed, size_t th, size_t tw, double *basis)
{
    double *cov = gmmp__alloc_array(2 * C * C + C, sizeof(double));
    if (!cov)
        return gmmp__fail_nomem();
    double *vt = cov + C * C, *lambda = vt + C * C;
    detail_covariance(y, h, w, C, pitch, observed, th, tw, cov);
    gmmp__symmetrize_lower(cov, C);
    int rc = gmmp__eigh(cov, C, lambda, vt, "the image's colour covariance");
    for (size_t c = 0; rc == GMMP_OK && c < C; c++) {
        const double *v = vt + (C - 1 - c) * C; /* eigenvalues ascend */
        double sum = 0.0, first = 0.0;
        for (size_t j = 0; j < C; j++) {
            sum += v[j];
            first = first == 0.0 ? v[j] : first;
        }
        const double sign = fabs(sum) > 1e-9 ? (sum > 0 ? 1.0 : -1.0) : (first < 0 ? -1.0 : 1.0);
        for (size_t j = 0; j < C; j++)
            basis[c * C + j] = sign * v[j];
    }
    gmmp__free(cov);
    return rc;
}

static void opponent_basis(double *basis)
{
    const double a = 1.0 / sqrt(3.0), b = 1.0 / sqrt(2.0), c = 1.0 / sqrt(6.0);
    const double rows[9] = {a, a, a, b, 0.0, -b, c, -2.0 * c, c};
    memcpy(basis, rows, sizeof rows);
}

static void identity_basis(double *basis, size_t C)
{
    for (size_t i = 0; i < C; i++)
        for (size_t j = 0; j < C; j++)
            basis[i * C + j] = i == j ? 1.0 : 0.0;
}

/* Plane c (h x w, contiguous) = sum_j basis[c][j] y_j at every observed
 * pixel; 0 at missing ones, whose values are never read. */
static void to_basis(const double *y, size_t h, size_t w, size_t C, size_t pitch,
                     const unsigned char *observed, const double *basis, double *planes)
{
    const size_t hw = h * w;
    for (size_t r = 0; r < h; r++)
        for (size_t x = 0; x < w; x++) {
            const double *px = y + r * pitch + x * C;
            const bool on = seen(observed, w, r, x);
            for (size_t c = 0; c < C; c++) {
                double v = 0.0;
                for (size_t j = 0; on && j < C; j++)
                    v += basis[c * C + j] * px[j];
                planes[c * hw + r * w + x] = v;
            }
        }
}

/* out_j = sum_c basis[c][j] plane_c: the basis is orthonormal, so its
 * transpose takes the planes back. */
static void from_basis(const double *planes, size_t h, size_t w, size_t C,
                       const double *basis, double *out, size_t out_pitch)
{
    const size_t hw = h * w;
    for (size_t r = 0; r < h; r++)
        for (size_t x = 0; x < w; x++)
            for (size_t j = 0; j < C; j++) {
                double v = 0.0;
                for (size_t c = 0; c < C; c++)
                    v += basis[c * C + j] * planes[c * hw + r * w + x];
                out[r * out_pitch + x * C + j] = v;
            }
}

/* The caller's progress callback sees the channels' runs as one: patches
 * done over all channels, seconds since the call began. */
typedef struct relay {
    const gmmp__option_values *caller;
    size_t channel, channels;
    double start;
} relay;

static int relay_progress(const gmmp_progress *p, void *payload)
{
    const relay *r = payload;
    gmmp_progress q = *p;
    q.done = (double)r->channel * p->total + p->done;
    q.total = (double)r->channels * p->total;
    q.seconds = gmmp__now() - r->start;
    return gmmp__report(r->caller, &q);
}

static int check_arguments(const gmmp_model *model, double sigma, const double *y, size_t h,
                           size_t w, size_t C, size_t pitch, const unsigned char *observed,
                           const double *out, size_t out_pitch, int64_t basis, size_t *th,
                           size_t *tw)
{
    if (!model || !y || !out)
        return gmmp__fail(GMMP_EINVAL, "model, image or output is NULL");
    if (C == 0 || C > GMMP__MAX_CHANNELS)
        return gmmp__fail(GMMP_EINVAL, "%zu channels: gmmp_epll_channels takes 1 to %d", C,
                          GMMP__MAX_CHANNELS);
    if (basis == GMMP_BASIS_OPPONENT && C != 3)
        return gmmp__fail(GMMP_EINVAL, "the opponent basis is for 3 channels (RGB), not %zu",
                          C);
    size_t mc;
    int rc = gmmp_model_patch(model, th, tw, &mc, NULL);
    if (rc)
        return rc;
    if (mc != 1)
        return gmmp__fail(GMMP_EDIM, "the model is a prior for %zu-channel patches: "
                                     "gmmp_epll_channels needs a one-channel (grey) prior; "
                                     "gmmp_epll_image takes the model as it is",
                          mc);
    if ((rc = gmmp__check_sigma(sigma)) || (rc = gmmp__check_image(y, h, w, C, pitch)) ||
        (rc = gmmp__check_image(out, h, w, C, out_pitch)))
        return rc;
    return gmmp__check_finite_image(y, h, w, C, pitch, observed);
}

int gmmp_epll_channels(const gmmp_model *model, double sigma, const double *y, size_t h,
                       size_t w, size_t channels, size_t pitch, const unsigned char *observed,
                       double *out, size_t out_pitch, const gmmp_options *options)
{
    const size_t C = channels;
    gmmp__option_values v;
    gmmp__options_read(options, &v);
    const int64_t which = gmmp__opt_int(&v, GMMP_OPT_CHANNEL_BASIS);
    size_t th, tw, hw;
    int rc = check_arguments(model, sigma, y, h, w, C, pitch, observed, out, out_pitch, which,
                             &th, &tw);
    if (rc)
        return rc;
    if (!gmmp__mul_ok(h, w, &hw))
        return gmmp__fail(GMMP_EOVERFLOW, "a %zux%zu image is too large", h, w);
    double *basis = gmmp__alloc_array(C * C, sizeof(double));
    double *planes = gmmp__alloc_array(hw, C * sizeof(double));
    gmmp_options *each = NULL;
    relay rl = {&v, 0, C, gmmp__now()};
    gmmp__option_values mine = v;
    mine.progress = v.progress ? relay_progress : NULL;
    mine.payload = &rl;
    if (!basis || !planes) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    if (which == GMMP_BASIS_PCA)
        rc = pca_basis(y, h, w, C, pitch, observed, th, tw, basis);
    else if (which == GMMP_BASIS_OPPONENT)
        opponent_basis(basis);
    else
        identity_basis(basis, C);
    if (rc)
        goto done;
    to_basis(y, h, w, C, pitch, observed, basis, planes);
    const uint64_t seed = (uint64_t)gmmp__opt_int(&v, GMMP_OPT_SEED);
    for (size_t c = 0; c < C && rc == GMMP_OK; c++) {
        /* Each channel its own jittered grids: the same grids in every
         * channel would line up their seams in the output's colours. */
        gmmp__opt_set_int(&mine, GMMP_OPT_SEED, (int64_t)(seed + c));
        rl.channel = c;
        if ((rc = gmmp__options_from_values(&mine, &each)) == GMMP_OK)
            rc = gmmp_epll_image(model, sigma, planes + c * hw, h, w, w, observed,
                                 planes + c * hw, w, each);
        gmmp_options_destroy(each);
        each = NULL;
    }
    if (rc == GMMP_OK)
        from_basis(planes, h, w, C, basis, out, out_pitch);
done:
    gmmp__free(basis);
    gmmp__free(planes);
    return rc;
}
