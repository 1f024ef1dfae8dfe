/*
 * EPLL from the parts (see epll.h).
 *
 * For each beta of the schedule:
 *   1. every (or a jittered subset of the) overlapping patch of the
 *      current image x is estimated by the prior's posterior under noise
 *      of variance 1/beta (patch means removed first if the prior wants);
 *   2. the estimates are averaged into x_hat (the reconstructor);
 *   3. x = (lambda A^T y + beta C x_hat) / (lambda A^T A + beta C), pixel
 *      by pixel, with C the number of patches that cover the pixel, A the
 *      identity (denoising) or the mask, and lambda = C / sigma^2: the
 *      paper's d / sigma^2 where all d patches covering a pixel are used,
 *      scaled with the coverage of a jittered grid or a border, so that
 *      C cancels: x = (A^T y + beta sigma^2 x_hat) / (A^T A + beta sigma^2).
 * SPDX-License-Identifier: MIT
 */
#include "epll.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double epll_default_schedule[5] = {1, 4, 8, 16, 32};

/* Patches per posterior call. */
#define BATCH 32768

typedef struct pass_buffers {
    double *patches, *means, *est;
    unsigned char *mask;
} pass_buffers;

/* Patches of image `img` from `first`, `take` of them, into the batch at
 * row `at`: from x, or with a mask from y with their own missing pixels
 * (and a mean, if the prior wants none, over the observed pixels only). */
static int fill(const epll_options *o, gmmp_extractor *ex, size_t d, size_t m, const double *src,
                const unsigned char *mask, size_t h, size_t w, size_t first, size_t take,
                size_t at, pass_buffers *b)
{
    double *patches = b->patches + at * d, *means = b->means + at;
    if (gmmp_extractor_extract(ex, src, h, w, w, first, take, patches,
                               o->remove_mean && !mask ? means : NULL))
        return -1;
    if (!mask) {
        if (!o->remove_mean)
            memset(means, 0, take * sizeof *means);
        return 0;
    }
    for (size_t i = 0; i < take; i++) {
        size_t r0, c0, seen = 0;
        double sum = 0.0;
        gmmp_extractor_position(ex, h, w, first + i, &r0, &c0);
        for (size_t r = 0; r < m; r++)
            for (size_t c = 0; c < m; c++) {
                unsigned char on = mask[(r0 + r) * w + c0 + c] != 0;
                b->mask[(at + i) * d + r * m + c] = on;
                if (on)
                    sum += patches[i * d + r * m + c], seen++;
            }
        means[i] = o->remove_mean && seen ? sum / (double)seen : 0.0;
        for (size_t j = 0; j < d; j++)
            patches[i * d + j] -= means[i];
    }
    return 0;
}

typedef struct segment {
    size_t image, first, take;
} segment;

/* One patch step over every image: estimates of the patches of `src`
 * (x, or y with masks) averaged into avg (count images). */
static int patch_pass(const gmmp_model *model, const epll_options *o, const gmmp_plan *plan,
                      gmmp_extractor *ex, const double *src, const unsigned char *mask,
                      size_t count, size_t h, size_t w, double *avg, pass_buffers *b,
                      double *flops, char *err, size_t errlen)
{
    const size_t d = gmmp_model_dim(model), K = gmmp_model_components(model), pixels = h * w;
    const size_t m = (size_t)llround(sqrt((double)d));
    size_t per;
    segment *segs = malloc(BATCH * sizeof *segs);
    gmmp_reconstructor **rc = calloc(count, sizeof *rc);
    int status = -1;
    if (!segs || !rc || gmmp_extractor_count(ex, h, w, &per)) {
        util_fail(err, errlen, "%s", rc ? gmmp_last_error() : "out of memory");
        goto done;
    }
    size_t image = 0, next = 0;
    while (image < count) {
        size_t filled = 0, nseg = 0;
        while (filled < BATCH && image < count) {
            size_t take = per - next < BATCH - filled ? per - next : BATCH - filled;
            if (fill(o, ex, d, m, src + image * pixels, mask ? mask + image * pixels : NULL, h, w,
                     next, take, filled, b)) {
                util_fail(err, errlen, "%s", gmmp_last_error());
                goto done;
            }
            segs[nseg++] = (segment){image, next, take};
            filled += take;
            next += take;
            if (next == per)
                image++, next = 0;
        }
        int bad = mask ? gmmp_plan_execute_masked(plan, b->patches, b->mask, filled, NULL, NULL,
                                                  o->mmse ? NULL : b->est,
                                                  o->mmse ? b->est : NULL)
                       : gmmp_plan_execute(plan, b->patches, filled, NULL, NULL,
                                           o->mmse ? NULL : b->est, o->mmse ? b->est : NULL);
        if (bad) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            goto done;
        }
        for (size_t s = 0, at = 0; s < nseg; at += segs[s].take, s++) {
            gmmp_reconstructor **r = &rc[segs[s].image];
            if ((!*r && gmmp_reconstructor_create(r, ex, h, w)) ||
                gmmp_reconstructor_add(*r, segs[s].first, segs[s].take, b->est + at * d,
                                       b->means + at, NULL) ||
                (segs[s].first + segs[s].take == per &&
                 gmmp_reconstructor_finish(*r, avg + segs[s].image * pixels, w))) {
                util_fail(err, errlen, "%s", gmmp_last_error());
                goto done;
            }
            if (segs[s].first + segs[s].take == per) {
                gmmp_reconstructor_destroy(*r);
                *r = NULL;
            }
        }
        if (flops) /* whitening (triangular) for all K, one mean product each */
            *flops += (double)filled * ((double)K + 2.0) * (double)d * (double)d;
    }
    status = 0;
done:
    for (size_t i = 0; rc && i < count; i++)
        gmmp_reconstructor_destroy(rc[i]);
    free(rc);
    free(segs);
    return status;
}

int epll_restore(const gmmp_model *model, const epll_options *o, const double *y, size_t count,
                 size_t h, size_t w, double *x, double *flops, char *err, size_t errlen)
{
    const size_t d = gmmp_model_dim(model), m = (size_t)llround(sqrt((double)d));
    const size_t pixels = h * w;
    if (m * m != d)
        return util_fail(err, errlen, "model dimension %zu is not a square patch", d);
    if (!(o->sigma > 0.0) || o->steps == 0)
        return util_fail(err, errlen, "sigma must be positive and the schedule non-empty");
    pass_buffers b = {malloc(BATCH * d * sizeof(double)), malloc(BATCH * sizeof(double)),
                      malloc(BATCH * d * sizeof(double)),
                      o->observed ? malloc(BATCH * d) : NULL};
    double *avg = malloc(count * pixels * sizeof *avg);
    int status = -1;
    if (!b.patches || !b.means || !b.est || (o->observed && !b.mask) || !avg) {
        util_fail(err, errlen, "out of memory");
        goto done;
    }
    /* lambda / C, the data weight per covering patch (see the top). */
    const double lambda = 1.0 / (o->sigma * o->sigma);
    uint64_t rng = o->seed;
    gmmp_plan_options po;
    gmmp_plan_options_default(&po);
    po.threads = o->threads ? o->threads : 1;
    /* One noise level per pass over many patches: Cholesky plans. */
    po.method = GMMP_PLAN_CHOLESKY;
    memcpy(x, y, count * pixels * sizeof *x);
    /* Step 0, with a mask only: the first estimate from the observed
     * pixels alone, every patch by its masked posterior. */
    for (size_t s = o->observed ? 0 : 1; s <= o->steps; s++) {
        int masked_start = s == 0;
        double beta = o->schedule[masked_start ? 0 : s - 1] / (o->sigma * o->sigma);
        double var = masked_start ? o->sigma * o->sigma : 1.0 / beta;
        size_t step = o->grid > 1 && !masked_start ? o->grid : 1;
        size_t ro = step > 1 ? (size_t)(util_next_random(&rng) % step) : 0;
        size_t co = step > 1 ? (size_t)(util_next_random(&rng) % step) : 0;
        gmmp_extractor *ex = NULL;
        gmmp_plan *plan = NULL;
        if (gmmp_extractor_create_grid(&ex, m, m, step, ro, co) ||
            gmmp_plan_create(&plan, model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, &po)) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            gmmp_extractor_destroy(ex);
            goto done;
        }
        int bad = patch_pass(model, o, plan, ex, masked_start ? y : x,
                             masked_start ? o->observed : NULL, count, h, w, avg, &b, flops, err,
                             errlen);
        gmmp_plan_destroy(plan);
        gmmp_extractor_destroy(ex);
        if (bad)
            goto done;
        for (size_t i = 0; i < count * pixels; i++) {
            if (masked_start) { /* observed pixels kept, the rest estimated */
                x[i] = o->observed[i] ? y[i] : avg[i];
                continue;
            }
            double a = o->observed ? (o->observed[i] != 0) : 1.0;
            x[i] = (lambda * a * y[i] + beta * avg[i]) / (lambda * a + beta);
        }
    }
    status = 0;
done:
    free(b.patches);
    free(b.means);
    free(b.est);
    free(b.mask);
    free(avg);
    return status;
}
