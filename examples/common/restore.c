/*
 * The denoiser from the library's parts (see restore.h).
 * SPDX-License-Identifier: MIT
 */
#include "restore.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Patches per posterior call: large batches keep the products BLAS-3 and
 * let the plan's threads share the work. */
#define BATCH 16384

size_t restore_patch_side(const gmmp_model *model)
{
    size_t d = gmmp_model_dim(model), m = (size_t)llround(sqrt((double)d));
    return m * m == d ? m : 0;
}

/* One contiguous run of one image's patches inside the batch. */
typedef struct segment {
    size_t image, first, count;
} segment;

int restore_denoise(const gmmp_model *model, const restore_options *ro,
                    const gmmpio_stack *noisy, gmmpio_stack *map_out, gmmpio_stack *mmse_out,
                    char *err, size_t errlen)
{
    const double sigma = ro->sigma;
    const size_t m = restore_patch_side(model), d = gmmp_model_dim(model);
    const size_t H = noisy->rows, W = noisy->cols, N = noisy->count, pixels = H * W;
    if (m == 0)
        return util_fail(err, errlen, "model dimension %zu is not a square patch", d);
    if (!(sigma > 0.0))
        return util_fail(err, errlen, "sigma must be positive, not %g", sigma);
    gmmpio_stack out[2] = {{0}, {0}};
    gmmpio_stack *dest[2] = {map_out, mmse_out};
    for (int o = 0; o < 2; o++)
        if (dest[o] && gmmpio_stack_alloc(&out[o], N, H, W))
            return util_fail(err, errlen, "out of memory");

    gmmp_extractor *ex = NULL;
    gmmp_plan *plan = NULL;
    /* One reconstructor per output and image in flight. */
    gmmp_reconstructor **rc = calloc(2 * N, sizeof *rc);
    double *patches = malloc(BATCH * d * sizeof *patches);
    /* Patch means, removed before the prior and added back after. */
    double *means = ro->remove_mean ? malloc(BATCH * sizeof *means) : NULL;
    double *est[2] = {map_out ? malloc(BATCH * d * sizeof(double)) : NULL,
                      mmse_out ? malloc(BATCH * d * sizeof(double)) : NULL};
    segment *segs = malloc(BATCH * sizeof *segs);
    size_t per = 0;
    int result = -1;
    gmmp_plan_options opt;
    gmmp_plan_options_default(&opt);
    opt.threads = ro->threads ? ro->threads : 1;
    /* One noise level for the whole run: the Cholesky plan is the faster. */
    opt.method = GMMP_PLAN_CHOLESKY;
    double var = sigma * sigma;
    int rc_ = 0;
    if (!rc || !patches || !segs || (map_out && !est[0]) || (mmse_out && !est[1]) ||
        (ro->remove_mean && !means)) {
        util_fail(err, errlen, "out of memory");
        goto done;
    }
    if ((rc_ = gmmp_extractor_create(&ex, m, m, 1)) ||
        (rc_ = gmmp_extractor_count(ex, H, W, &per)) ||
        (rc_ = gmmp_plan_create(&plan, model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, &opt))) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    /* Stream the patches of all images through batches; an image's
     * reconstructor lives from its first patch to its last. */
    size_t image = 0, next = 0;
    while (image < N) {
        size_t filled = 0, nseg = 0;
        while (filled < BATCH && image < N) {
            size_t take = per - next < BATCH - filled ? per - next : BATCH - filled;
            if ((rc_ = gmmp_extractor_extract(ex, noisy->pixels + image * pixels, H, W, W, next,
                                              take, patches + filled * d,
                                              means ? means + filled : NULL))) {
                util_fail(err, errlen, "%s", gmmp_last_error());
                goto done;
            }
            segs[nseg++] = (segment){image, next, take};
            filled += take;
            next += take;
            if (next == per) {
                image++;
                next = 0;
            }
        }
        if ((rc_ = gmmp_plan_execute(plan, patches, filled, NULL, NULL, est[0], est[1]))) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            goto done;
        }
        size_t offset = 0;
        for (size_t s = 0; s < nseg; s++) {
            const segment *sg = &segs[s];
            int last = sg->first + sg->count == per;
            for (int o = 0; o < 2; o++) {
                if (!est[o])
                    continue;
                gmmp_reconstructor **r = &rc[o * N + sg->image];
                if ((!*r && (rc_ = gmmp_reconstructor_create(r, ex, H, W))) ||
                    (rc_ = gmmp_reconstructor_add(*r, sg->first, sg->count, est[o] + offset * d,
                                                  means ? means + offset : NULL, NULL)) ||
                    (last &&
                     (rc_ = gmmp_reconstructor_finish(*r, out[o].pixels + sg->image * pixels, W)))) {
                    util_fail(err, errlen, "%s", gmmp_last_error());
                    goto done;
                }
                if (last) {
                    gmmp_reconstructor_destroy(*r);
                    *r = NULL;
                }
            }
            offset += sg->count;
        }
    }
    result = 0;
    for (int o = 0; o < 2; o++)
        if (dest[o]) {
            *dest[o] = out[o];
            out[o] = (gmmpio_stack){0};
        }
done:
    for (size_t i = 0; rc && i < 2 * N; i++)
        gmmp_reconstructor_destroy(rc[i]);
    free(rc);
    free(patches);
    free(means);
    free(est[0]);
    free(est[1]);
    free(segs);
    gmmp_plan_destroy(plan);
    gmmp_extractor_destroy(ex);
    gmmpio_stack_free(&out[0]);
    gmmpio_stack_free(&out[1]);
    return result;
}

void restore_add_noise(gmmpio_stack *img, double sigma, uint64_t seed, double lo, double hi)
{
    size_t n = img->count * img->rows * img->cols;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 2) {
        /* Box-Muller pairs from splitmix64 words. */
        uint64_t z[2] = {util_next_random(&s), util_next_random(&s)};
        double u1 = ((double)(z[0] >> 11) + 0.5) * 0x1.0p-53;
        double u2 = (double)(z[1] >> 11) * 0x1.0p-53;
        double r = sigma * sqrt(-2.0 * log(u1));
        img->pixels[i] += r * cos(6.283185307179586 * u2);
        if (i + 1 < n)
            img->pixels[i + 1] += r * sin(6.283185307179586 * u2);
    }
    if (lo <= hi)
        for (size_t i = 0; i < n; i++)
            img->pixels[i] = img->pixels[i] < lo ? lo : img->pixels[i] > hi ? hi : img->pixels[i];
}

double restore_psnr(const double *estimate, const double *reference, size_t n, double peak)
{
    double se = 0.0;
    for (size_t i = 0; i < n; i++)
        se += (estimate[i] - reference[i]) * (estimate[i] - reference[i]);
    double mse = se / (double)n;
    return mse > 0.0 ? 10.0 * log10(peak * peak / mse) : INFINITY;
}

double restore_mean_psnr(const gmmpio_stack *estimate, const gmmpio_stack *reference,
                         double peak)
{
    size_t pixels = reference->rows * reference->cols;
    double sum = 0.0;
    for (size_t i = 0; i < reference->count; i++)
        sum += restore_psnr(estimate->pixels + i * pixels, reference->pixels + i * pixels,
                            pixels, peak);
    return sum / (double)reference->count;
}
