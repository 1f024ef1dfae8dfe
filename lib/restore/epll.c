/*
 * EPLL (Zoran and Weiss, ICCV 2011) by half-quadratic splitting, with
 * fast EPLL's jittered patch grids (Parameswaran et al., 2018) and
 * inpainting; see gmmp_epll_image() in restore.h for the method.
 *
 * The pixel update x = (a y + beta sigma^2 x^) / (a + beta sigma^2) is
 * the minimiser of lambda/2 a (x - y)^2 + beta/2 sum over the C patches
 * covering the pixel of (x - z_patch)^2 with lambda = C / sigma^2: the
 * paper's d / sigma^2 when all d patches that cover a pixel are used,
 * scaled with the coverage of a jittered grid or a border, so that C
 * cancels.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "gmmprior/restore.h"

#include "adapt_image.h"
#include "eigen.h"
#include "geometry.h"
#include "internal.h"
#include "model.h"
#include "options_internal.h"
#include "pass.h"
#include "rng.h"
#include "workers.h"

/* beta sigma^2 at step s (0-based): 1, 4, 8, 16, 32, then doubling. */
static double schedule(size_t s)
{
    return s == 0 ? 1.0 : ldexp(1.0, (int)s + 1);
}

/* Grid step of the restorations that only serve an adaptation
 * (GMMP_OPT_EPLL_ADAPT), at most the patch size. On Kodak crops (not test
 * images) at sigma 25, adapting to a restoration on grids of step 4
 * gave the same PSNR as adapting to one on all patches, to 0.01 dB. */
#define PREFILTER_STEP 4

/* The statistics of an adaptation come from the patches of a grid of this
 * step (at most the patch size): a quarter of them for 8x8 patches, tens
 * of thousands in a photograph, enough for a prior's components; on Kodak
 * crops at sigma 25 all patches gave the same PSNR to 0.01 dB. */
#define STATS_STEP 2

/* An adaptation within the steps (GMMP_OPT_EPLL_ADAPT_AFTER) takes its
 * patches on a grid of 3 (as good as 2 on held-out Kodak crops, for half
 * the patches; 4 lost 0.05 dB) and assigns each to its most responsible
 * component under a plan of the steps' kind at this fraction of sigma^2:
 * nearly the noise-free assignment of the patch average (sigma^2 / 64
 * and 1e-2 gave the same PSNR), at a variance a single-precision flat
 * plan still runs in float. */
#define MID_STATS_STEP 3
#define MID_STATS_VARIANCE (1.0 / 64.0)

/* A denoising plan at variance `var`: with Cholesky factors whatever the
 * caller's method (one noise level serves every patch of a pass, where
 * triangular whitening is twice as fast as the full eigenbasis), unless
 * flat tails are asked for, which need the eigenbases and are faster
 * still. The masked first pass is always exact. */
static int make_plan(const gmmp_model *model, double var, const gmmp__option_values *v,
                     bool masked, gmmp_plan **plan)
{
    gmmp__option_values mine = *v;
    int64_t rank = gmmp__opt_int(v, GMMP_OPT_RANK);
    if (masked || rank == 0 || (size_t)rank >= gmmp_model_dim(model)) {
        gmmp__opt_set_int(&mine, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY);
        gmmp__opt_set_int(&mine, GMMP_OPT_RANK, 0);
    } else {
        gmmp__opt_set_int(&mine, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_DEFAULT);
    }
    gmmp_options *o;
    int rc = gmmp__options_from_values(&mine, &o);
    if (rc)
        return rc;
    rc = gmmp_plan_create(plan, model, gmmp_model_dim(model), NULL, GMMP_NOISE_SCALAR, &var,
                          NULL, o);
    gmmp_options_destroy(o);
    return rc;
}

/* Everything the steps share. */
typedef struct epll {
    const gmmp_model *model;
    gmmp__pass pass; /* grid, batch, threads, progress; src and plan per step */
    double sigma2;
    gmmp__rng rng;
    size_t adapt_after;   /* GMMP_OPT_EPLL_ADAPT_AFTER: 0, or the step it follows */
    size_t last_grid;     /* GMMP_OPT_EPLL_LAST_GRID, or 0 */
    double relevance;     /* GMMP_OPT_ADAPT_RELEVANCE */
    gmmp_model *adapted;  /* the prior adapted within the steps, or NULL (owned) */
} epll;

/* The adaptation within the steps: the prior adapted to the patches of
 * `avg` (the step's patch average, the image's best estimate so far),
 * their responsibilities from a plan of the steps' kind; the remaining
 * steps use it. */
static int adapt_within(epll *e, const double *avg, size_t pitch)
{
    gmmp_plan *plan;
    int rc = make_plan(e->model, e->sigma2 * MID_STATS_VARIANCE, e->pass.options, false, &plan);
    if (rc)
        return rc;
    gmmp_model *next;
    rc = gmmp__adapt_to_image(e->model, avg, e->pass.h, e->pass.w, pitch,
                              (gmmp__adapt_source){MID_STATS_STEP, plan,
                                                   gmmp__pass_scratch_executor(e->pass.scratch)},
                              e->relevance,
                              gmmp__opt_real(e->pass.options, GMMP_OPT_SKIP), e->pass.threads,
                              &next);
    gmmp_plan_destroy(plan);
    if (rc)
        return rc;
    /* The remaining steps' flat plans need only the adapted covariances'
     * leading eigenvectors: two subspace iterations from the prior's
     * (eigen.h) instead of full decompositions, a third of this
     * adaptation's cost with EPLL's K = 200 prior, for the same PSNR on
     * held-out images (docs/performance.md). */
    gmmp__eigen_hint(next, e->model);
    gmmp_model_destroy(e->adapted);
    e->model = e->adapted = next;
    return GMMP_OK;
}

/* A pass's grid of `step`, at offsets drawn from rng (none for step 1):
 * the passes and the progress count (count_passes) draw them alike. */
static void draw_grid(gmmp__rng *rng, size_t step, gmmp__pass *ps)
{
    ps->step = step;
    ps->row_offset = step > 1 ? (size_t)gmmp__rng_below(rng, step) : 0;
    ps->col_offset = step > 1 ? (size_t)gmmp__rng_below(rng, step) : 0;
}

/* The grid step of half-quadratic step s of `steps` on grids of `step`:
 * the last step of the final restoration may take its own
 * (GMMP_OPT_EPLL_LAST_GRID). The passes and the progress count ask alike. */
static size_t step_grid(const epll *e, size_t s, size_t steps, size_t step, bool final)
{
    return final && s + 1 == steps && e->last_grid ? e->last_grid : step;
}

/* One pass at variance var over src (with a mask or not) into avg. */
static int step_pass(epll *e, double var, const double *src, size_t pitch,
                     const unsigned char *observed, size_t step, double *avg)
{
    gmmp_plan *plan;
    int rc = make_plan(e->model, var, e->pass.options, observed != NULL, &plan);
    if (rc)
        return rc;
    gmmp__pass ps = e->pass;
    ps.plan = plan;
    ps.src = src;
    ps.pitch = pitch;
    ps.observed = observed;
    draw_grid(&e->rng, step, &ps);
    size_t n = 0;
    rc = gmmp__run_pass(&ps, avg, ps.w * ps.C, &n);
    e->pass.done_before += (double)n;
    gmmp_plan_destroy(plan);
    return rc;
}

/* Progress counts the patches of every pass of every round (the
 * adaptations between rounds are not counted), exactly: the grids'
 * offsets are drawn from a copy of the generator in the order the passes
 * will draw them. */
static int count_passes(const epll *e, size_t rounds, size_t steps, size_t step,
                        size_t prefilter_step, bool masked, double *total)
{
    gmmp__rng rng = e->rng;
    gmmp__pass ps = e->pass;
    double sum = 0.0, n;
    int rc;
    for (size_t round = 0; round <= rounds; round++) {
        if (masked) {
            draw_grid(&rng, 1, &ps);
            if ((rc = gmmp__count_patches(&ps, &n)))
                return rc;
            sum += n;
        }
        for (size_t s = 0; s < steps; s++) {
            bool final = round == rounds;
            draw_grid(&rng, step_grid(e, s, steps, final ? step : prefilter_step, final), &ps);
            if ((rc = gmmp__count_patches(&ps, &n)))
                return rc;
            sum += n;
        }
    }
    *total = sum;
    return GMMP_OK;
}

/* EPLL's steps with e->model, from y into x (both h x w x C; x has row
 * pitch w C); avg is scratch of x's size. `final`: the restoration whose
 * result is returned, the one that adapts within its steps. */
static int restore_steps(epll *e, const double *y, size_t pitch, const unsigned char *observed,
                         size_t steps, size_t step, bool final, double *x, double *avg)
{
    const size_t h = e->pass.h, C = e->pass.C, row = e->pass.w * C, values = h * row;
    int rc;
    for (size_t r = 0; r < h; r++)
        memcpy(x + r * row, y + r * pitch, row * sizeof *x);
    if (observed) {
        /* The first estimate, from each patch's observed pixels alone. */
        if ((rc = step_pass(e, e->sigma2, y, pitch, observed, 1, avg)))
            return rc;
        for (size_t i = 0; i < values; i++)
            x[i] = observed[i / C] ? x[i] : avg[i];
    }
    for (size_t s = 0; s < steps; s++) {
        double bs2 = schedule(s); /* beta sigma^2 */
        if ((rc = step_pass(e, e->sigma2 / bs2, x, row, NULL, step_grid(e, s, steps, step, final),
                            avg)))
            return rc;
        for (size_t r = 0; r < h; r++)
            for (size_t i = 0; i < row; i++) {
                /* Missing pixels: x = x^ (their value in y is never read). */
                bool seen = !observed || observed[r * e->pass.w + i / C];
                x[r * row + i] = seen ? (y[r * pitch + i] + bs2 * avg[r * row + i]) / (1.0 + bs2)
                                      : avg[r * row + i];
            }
        if (final && s + 1 == e->adapt_after && s + 1 < steps &&
            (rc = adapt_within(e, avg, row)))
            return rc;
    }
    return GMMP_OK;
}

int gmmp_epll_image(const gmmp_model *model, double sigma, const double *y, size_t h, size_t w,
                    size_t pitch, const unsigned char *observed, double *out, size_t out_pitch,
                    const gmmp_options *options)
{
    if (!model || !y || !out)
        return gmmp__fail(GMMP_EINVAL, "model, image or output is NULL");
    int rc = gmmp__check_sigma(sigma);
    if (rc)
        return rc;
    gmmp__option_values opt;
    gmmp__options_read(options, &opt);
    epll e = {.model = model, .sigma2 = sigma * sigma};
    if ((rc = gmmp__pass_init(&e.pass, model, &opt, y, h, w, pitch, observed, out, out_pitch)))
        return rc;
    const size_t step = e.pass.step, C = e.pass.C;
    const size_t steps = (size_t)gmmp__opt_int(&opt, GMMP_OPT_EPLL_STEPS);
    const size_t rounds = (size_t)gmmp__opt_int(&opt, GMMP_OPT_EPLL_ADAPT);
    const double relevance = gmmp__opt_real(&opt, GMMP_OPT_ADAPT_RELEVANCE);
    e.relevance = relevance;
    e.adapt_after = (size_t)gmmp__opt_int(&opt, GMMP_OPT_EPLL_ADAPT_AFTER);
    e.last_grid = (size_t)gmmp__opt_int(&opt, GMMP_OPT_EPLL_LAST_GRID);
    if ((rc = gmmp__check_grid("last step's grid", e.last_grid, e.pass.ph, e.pass.pw)))
        return rc;
    const size_t prefilter_step = gmmp__step_within_patch(
        step > PREFILTER_STEP ? step : PREFILTER_STEP, e.pass.ph, e.pass.pw);
    gmmp__rng_seed(&e.rng, (uint64_t)gmmp__opt_int(&opt, GMMP_OPT_SEED));
    if ((rc = count_passes(&e, rounds, steps, step, prefilter_step, observed != NULL,
                           &e.pass.total)))
        return rc;

    const size_t row = w * C, values = h * row;
    double *x = gmmp__alloc_array(values, sizeof(double));
    double *avg = gmmp__alloc_array(values, sizeof(double));
    gmmp_model *adapted = NULL;
    /* One set of buffers, and OpenBLAS single-threaded, for all the
     * steps' passes (workers.h, pass.h say why). */
    int blas = gmmp__blas_serial_begin(e.pass.threads.count > 1 && e.pass.threads.blas_serial);
    if ((rc = gmmp__pass_scratch_create(&e.pass.scratch)))
        goto done;
    if (!x || !avg) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    for (size_t round = 0;; round++) {
        /* A restoration that only serves the next adaptation runs on a
         * jittered grid (at least PREFILTER_STEP): adapting to it measured
         * as well as adapting to a full one, for a fraction of the time. */
        size_t st = round < rounds ? prefilter_step : step;
        if ((rc = restore_steps(&e, y, pitch, observed, steps, st, round == rounds, x, avg)) ||
            round == rounds)
            break;
        gmmp_model *next;
        if ((rc = gmmp__adapt_to_image(e.model, x, h, w, row,
                                       (gmmp__adapt_source){STATS_STEP, NULL, NULL}, relevance,
                                       gmmp__opt_real(&opt, GMMP_OPT_SKIP), e.pass.threads,
                                       &next)))
            break;
        gmmp_model_destroy(adapted);
        e.model = adapted = next;
    }
    if (!rc)
        for (size_t r = 0; r < h; r++)
            memcpy(out + r * out_pitch, x + r * row, row * sizeof *x);
done:
    gmmp_model_destroy(adapted);
    gmmp_model_destroy(e.adapted);
    gmmp__pass_scratch_destroy(e.pass.scratch);
    gmmp__blas_serial_end(blas);
    gmmp__free(x);
    gmmp__free(avg);
    return rc;
}
