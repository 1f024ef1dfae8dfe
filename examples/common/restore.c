/*
 * The denoiser on the library's whole-image call (see restore.h).
 * SPDX-License-Identifier: MIT
 */
#include "restore.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

gmmp_options *restore_threads_options(unsigned threads)
{
    gmmp_options *o = NULL;
    if (gmmp_options_create(&o) ||
        gmmp_options_set_int(o, GMMP_OPT_THREADS, threads ? threads : 1) ||
        gmmp_options_set_int(o, GMMP_OPT_BLAS_SERIAL, threads > 1)) {
        gmmp_options_destroy(o);
        return NULL;
    }
    return o;
}

/* "8x8 patches of 1 channel, means removed": what a model is a prior for. */
static void describe(char *buf, size_t len, size_t ph, size_t pw, size_t ch, int rm)
{
    snprintf(buf, len, "%zux%zu patches of %zu channel%s, means %s", ph, pw, ch,
             ch == 1 ? "" : "s", rm ? "removed" : "kept");
}

int restore_model_patch(gmmp_model *model, size_t patch, int remove_mean, size_t rows,
                        size_t cols, size_t channels, const char *what, char *err,
                        size_t errlen)
{
    size_t ph, pw, ch, d = gmmp_model_dim(model);
    int rm;
    char has[128];
    if (gmmp_model_patch(model, &ph, &pw, &ch, &rm) == GMMP_OK) {
        describe(has, sizeof has, ph, pw, ch, rm);
        if (patch && (patch != ph || patch != pw))
            return util_fail(err, errlen, "--patch %zu does not match the model: it is a prior "
                             "for %s (leave --patch out to use the model's)", patch, has);
        if (remove_mean >= 0 && remove_mean != rm)
            return util_fail(err, errlen, "--remove-mean does not match the model: it is a "
                             "prior for %s (leave --remove-mean out to use the model's)", has);
    } else {
        /* A version 1 file: the command line says what the patches are. */
        if (!patch)
            return util_fail(err, errlen, "the model does not say which patches it is for "
                             "(a version 1 file, %zu values per patch): give --patch, and "
                             "--remove-mean if it was trained with it", d);
        if (patch * patch != d)
            return util_fail(err, errlen, "--patch %zu does not match the model: %zux%zu "
                             "patches have %zu values, the model %zu", patch, patch, patch,
                             patch * patch, d);
        ph = pw = patch;
        ch = 1;
        rm = remove_mean > 0;
        if (gmmp_model_set_patch(model, ph, pw, ch, rm))
            return util_fail(err, errlen, "%s", gmmp_last_error());
        describe(has, sizeof has, ph, pw, ch, rm);
    }
    if (ch != channels)
        return util_fail(err, errlen, "the model is a prior for %s, but %s %s %zu channel%s",
                         has, what, channels == 1 ? "has" : "have", channels,
                         channels == 1 ? "" : "s");
    if (ph > rows || pw > cols)
        return util_fail(err, errlen, "the model's patches do not fit: it is a prior for %s, "
                         "larger than the %zux%zu images of %s", has, rows, cols, what);
    return 0;
}

void restore_progress_start(restore_progress *p, const char *label, size_t count)
{
    *p = (restore_progress){.label = label, .count = count, .span = 1, .last = -1};
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

int restore_progress_report(const gmmp_progress *p, void *payload)
{
    restore_progress *s = payload;
    if (p->phase != GMMP_PHASE_IMAGE || !(p->total > 0))
        return 0;
    double frac = ((double)s->image +
                   (double)s->span * (p->done < p->total ? p->done / p->total : 1.0)) /
                  (double)s->count;
    int pct = (int)(100.0 * frac);
    if (pct != s->last && since(&s->start) >= 1.0) {
        fprintf(stderr, "\r%s: %3d%%", s->label, pct);
        fflush(stderr);
        s->last = pct;
    }
    return 0;
}

void restore_progress_end(restore_progress *p)
{
    if (p->last >= 0)
        fprintf(stderr, p->last == 100 ? "\n" : "\r%s: 100%%\n", p->label);
}

int restore_denoise(const gmmp_model *model, const restore_options *ro,
                    const gmmpio_stack *noisy, gmmpio_stack *map_out, gmmpio_stack *mmse_out,
                    char *err, size_t errlen)
{
    const size_t H = noisy->rows, W = noisy->cols, N = noisy->count, pixels = H * W;
    if (!(ro->sigma > 0.0))
        return util_fail(err, errlen, "sigma must be positive, not %g", ro->sigma);
    gmmpio_stack out[2] = {{0}, {0}};
    gmmpio_stack *dest[2] = {map_out, mmse_out};
    const int estimator[2] = {GMMP_ESTIMATOR_MAP, GMMP_ESTIMATOR_MMSE};
    gmmp_plan *plan = NULL;
    gmmp_options *opt = restore_threads_options(ro->threads);
    int result = -1;
    if (!opt || gmmp_options_set_int(opt, GMMP_OPT_PRECISION, ro->precision)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    /* One noise level for every image: one plan, and the Cholesky plan is
     * the faster when it serves many patches. Batches no larger than an
     * image's patches: small images (digits) then need small buffers. */
    gmmp_extractor *ex = NULL;
    size_t per = 0;
    int bad = gmmp_extractor_create_for_model(&ex, model, 1) ||
              gmmp_extractor_count(ex, H, W, &per);
    gmmp_extractor_destroy(ex);
    if (bad || gmmp_options_set_int(opt, GMMP_OPT_BATCH, per < 4096 ? (int64_t)per : 4096) ||
        gmmp_options_set_int(opt, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY) ||
        gmmp_plan_create_denoise(&plan, model, ro->sigma, opt)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    restore_progress pr;
    restore_progress_start(&pr, "denoising", N * (size_t)((map_out != NULL) + (mmse_out != NULL)));
    if (isatty(STDERR_FILENO) && gmmp_options_set_progress(opt, restore_progress_report, &pr)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        goto done;
    }
    for (int o = 0; o < 2; o++) {
        if (!dest[o])
            continue;
        if (gmmpio_stack_alloc(&out[o], N, H, W)) {
            util_fail(err, errlen, "out of memory");
            goto done;
        }
        if (gmmp_options_set_int(opt, GMMP_OPT_ESTIMATOR, estimator[o])) {
            util_fail(err, errlen, "%s", gmmp_last_error());
            goto done;
        }
        for (size_t i = 0; i < N; i++, pr.image++)
            if (gmmp_restore_image(plan, noisy->pixels + i * pixels, H, W, W,
                                   out[o].pixels + i * pixels, W, opt)) {
                if (N > 1)
                    util_fail(err, errlen, "image %zu: %s", i + 1, gmmp_last_error());
                else
                    util_fail(err, errlen, "%s", gmmp_last_error());
                goto done;
            }
    }
    result = 0;
    restore_progress_end(&pr);
    for (int o = 0; o < 2; o++)
        if (dest[o]) {
            *dest[o] = out[o];
            out[o] = (gmmpio_stack){0};
        }
done:
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(opt);
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
