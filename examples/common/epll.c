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
#include "restore.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double epll_default_schedule[5] = {1, 4, 8, 16, 32};

/* Patches per posterior call in the passes streamed here. */
#define BATCH 4096

/* What a pass streamed here needs: the plan and patch positions of this
 * step, the model's patch, and batch buffers. */
typedef struct pass {
    const gmmp_plan *plan;
    const gmmp_extractor *ex;
    size_t ph, pw, d;
    int remove_mean, mmse;
    double *patches, *means, *est;
    unsigned char *mask;
} pass;

/* Patches first .. first+take-1 of one image into the batch: from x, or
 * with a mask from y with their own missing pixels (and a mean, if the
 * prior wants none, over the observed pixels only). */
static int fill(const pass *p, const double *src, const unsigned char *mask, size_t h, size_t w,
                size_t first, size_t take)
{
    const size_t d = p->d;
    if (gmmp_extractor_extract(p->ex, src, h, w, w, first, take, p->patches,
                               p->remove_mean && !mask ? p->means : NULL))
        return -1;
    if (!mask) {
        if (!p->remove_mean)
            memset(p->means, 0, take * sizeof *p->means);
        return 0;
    }
    for (size_t i = 0; i < take; i++) {
        size_t r0, c0, seen = 0;
        double sum = 0.0, *patch = p->patches + i * d;
        gmmp_extractor_position(p->ex, h, w, first + i, &r0, &c0);
        for (size_t r = 0; r < p->ph; r++)
            for (size_t c = 0; c < p->pw; c++) {
                unsigned char on = mask[(r0 + r) * w + c0 + c] != 0;
                p->mask[i * d + r * p->pw + c] = on;
                if (on)
                    sum += patch[r * p->pw + c], seen++;
            }
        p->means[i] = p->remove_mean && seen ? sum / (double)seen : 0.0;
        for (size_t j = 0; j < d; j++)
            patch[j] -= p->means[i];
    }
    return 0;
}

/* What the whole-image call cannot do: the patches of a jittered grid
 * (offsets), or with a mask every patch of y by the masked posterior.
 * One image's patch estimates averaged into avg; 0 or -1 (the library's
 * message in gmmp_last_error()). */
static int streamed_pass(const pass *p, const double *src, const unsigned char *mask, size_t h,
                         size_t w, double *avg)
{
    size_t per;
    gmmp_reconstructor *rc = NULL;
    double *map = p->mmse ? NULL : p->est, *mmse = p->mmse ? p->est : NULL;
    int status = -1;
    if (gmmp_extractor_count(p->ex, h, w, &per) || gmmp_reconstructor_create(&rc, p->ex, h, w))
        goto done;
    for (size_t first = 0; first < per; first += BATCH) {
        size_t take = per - first < BATCH ? per - first : BATCH;
        if (fill(p, src, mask, h, w, first, take) ||
            (mask ? gmmp_plan_execute_masked(p->plan, p->patches, p->mask, take, NULL, NULL, map,
                                             mmse)
                  : gmmp_plan_execute(p->plan, p->patches, take, NULL, NULL, map, mmse)) ||
            gmmp_reconstructor_add(rc, first, take, p->est, p->means, NULL))
            goto done;
    }
    status = gmmp_reconstructor_finish(rc, avg, w) ? -1 : 0;
done:
    gmmp_reconstructor_destroy(rc);
    return status;
}

int epll_restore(const gmmp_model *model, const epll_options *o, const double *y, size_t count,
                 size_t h, size_t w, double *x, double *flops, char *err, size_t errlen)
{
    const size_t d = gmmp_model_dim(model), K = gmmp_model_components(model);
    const size_t pixels = h * w;
    size_t ph, pw, ch;
    int remove_mean;
    if (gmmp_model_patch(model, &ph, &pw, &ch, &remove_mean) || ch != 1)
        return util_fail(err, errlen, "the model must describe its patches, of one channel");
    if (!(o->sigma > 0.0) || o->steps == 0)
        return util_fail(err, errlen, "sigma must be positive and the schedule non-empty");
    pass p = {NULL, NULL, ph, pw, d, remove_mean, o->mmse,
              malloc(BATCH * d * sizeof(double)), malloc(BATCH * sizeof(double)),
              malloc(BATCH * d * sizeof(double)), o->observed ? malloc(BATCH * d) : NULL};
    double *avg = malloc(pixels * sizeof *avg);
    gmmp_options *opt = restore_threads_options(o->threads);
    int status = -1;
    if (!p.patches || !p.means || !p.est || (o->observed && !p.mask) || !avg || !opt) {
        util_fail(err, errlen, "out of memory");
        goto done;
    }
    /* One noise level per pass over many patches: Cholesky plans. */
    if (gmmp_options_set_int(opt, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY) ||
        gmmp_options_set_int(opt, GMMP_OPT_ESTIMATOR,
                             o->mmse ? GMMP_ESTIMATOR_MMSE : GMMP_ESTIMATOR_MAP)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    /* lambda / C, the data weight per covering patch (see the top). */
    const double lambda = 1.0 / (o->sigma * o->sigma);
    uint64_t rng = o->seed;
    memcpy(x, y, count * pixels * sizeof *x);
    /* Step 0, with a mask only: the first estimate from the observed
     * pixels alone, every patch by its masked posterior. */
    for (size_t s = o->observed ? 0 : 1; s <= o->steps; s++) {
        int masked_start = s == 0;
        double beta = o->schedule[masked_start ? 0 : s - 1] / (o->sigma * o->sigma);
        double noise = masked_start ? o->sigma : 1.0 / sqrt(beta);
        size_t step = o->grid > 1 && !masked_start ? o->grid : 1;
        size_t ro = step > 1 ? (size_t)(util_next_random(&rng) % step) : 0;
        size_t co = step > 1 ? (size_t)(util_next_random(&rng) % step) : 0;
        gmmp_extractor *ex = NULL;
        gmmp_plan *plan = NULL;
        size_t per = 0;
        if (gmmp_extractor_create_grid(&ex, ph, pw, 1, step, ro, co) ||
            gmmp_extractor_count(ex, h, w, &per) ||
            gmmp_plan_create_denoise(&plan, model, noise, opt)) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            gmmp_extractor_destroy(ex);
            goto done;
        }
        p.plan = plan;
        p.ex = ex;
        int bad = 0;
        for (size_t i = 0; i < count && !bad; i++) {
            const double *src = (masked_start ? y : x) + i * pixels;
            double *xi = x + i * pixels;
            const double *yi = y + i * pixels;
            const unsigned char *obs = o->observed ? o->observed + i * pixels : NULL;
            /* Every patch of x: the library's whole-image call. */
            bad = masked_start || step > 1
                      ? streamed_pass(&p, src, masked_start ? obs : NULL, h, w, avg)
                      : gmmp_restore_image(plan, src, h, w, w, avg, w, opt);
            if (bad) {
                if (count > 1)
                    util_fail(err, errlen, "image %zu: %s", i + 1, gmmp_last_error());
                else
                    util_fail(err, errlen, "%s", gmmp_last_error());
                break;
            }
            for (size_t j = 0; j < pixels; j++) {
                if (masked_start) { /* observed pixels kept, the rest estimated */
                    xi[j] = obs[j] ? yi[j] : avg[j];
                    continue;
                }
                double a = obs ? (obs[j] != 0) : 1.0;
                xi[j] = (lambda * a * yi[j] + beta * avg[j]) / (lambda * a + beta);
            }
        }
        gmmp_plan_destroy(plan);
        gmmp_extractor_destroy(ex);
        if (bad)
            goto done;
        if (flops) /* whitening (triangular) for all K, one mean product each */
            *flops += (double)(count * per) * ((double)K + 2.0) * (double)d * (double)d;
    }
    status = 0;
done:
    free(p.patches);
    free(p.means);
    free(p.est);
    free(p.mask);
    free(avg);
    gmmp_options_destroy(opt);
    return status;
}
