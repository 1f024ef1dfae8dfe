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
} epll;

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
    ps.step = step;
    ps.row_offset = step > 1 ? (size_t)gmmp__rng_below(&e->rng, step) : 0;
    ps.col_offset = step > 1 ? (size_t)gmmp__rng_below(&e->rng, step) : 0;
    size_t n = 0;
    rc = gmmp__run_pass(&ps, avg, ps.w * ps.C, &n);
    e->pass.done_before += (double)n;
    gmmp_plan_destroy(plan);
    return rc;
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
    gmmp__rng_seed(&e.rng, (uint64_t)gmmp__opt_int(&opt, GMMP_OPT_SEED));
    /* Progress counts the patches of every pass: all of them for the
     * masked start, about 1/step^2 of them for each step. */
    double all;
    e.pass.step = 1;
    if ((rc = gmmp__count_patches(&e.pass, &all)))
        return rc;
    e.pass.total = (observed ? all : 0.0) + (double)steps * all / (double)(step * step);

    const size_t row = w * C, values = h * row;
    double *x = gmmp__alloc_array(values, sizeof(double));
    double *avg = gmmp__alloc_array(values, sizeof(double));
    /* One set of buffers, and OpenBLAS single-threaded, for all the
     * steps' passes (workers.h, pass.h say why). */
    int blas = gmmp__blas_serial_begin(e.pass.threads.count > 1 && e.pass.threads.blas_serial);
    if ((rc = gmmp__pass_scratch_create(&e.pass.scratch)))
        goto done;
    if (!x || !avg) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    for (size_t r = 0; r < h; r++)
        memcpy(x + r * row, y + r * pitch, row * sizeof *x);
    if (observed) {
        /* The first estimate, from each patch's observed pixels alone. */
        if ((rc = step_pass(&e, e.sigma2, y, pitch, observed, 1, avg)))
            goto done;
        for (size_t i = 0; i < values; i++)
            x[i] = observed[i / C] ? x[i] : avg[i];
    }
    for (size_t s = 0; s < steps; s++) {
        double bs2 = schedule(s); /* beta sigma^2 */
        if ((rc = step_pass(&e, e.sigma2 / bs2, x, row, NULL, step, avg)))
            goto done;
        for (size_t r = 0; r < h; r++)
            for (size_t i = 0; i < row; i++) {
                /* Missing pixels: x = x^ (their value in y is never read). */
                bool seen = !observed || observed[r * w + i / C];
                x[r * row + i] = seen ? (y[r * pitch + i] + bs2 * avg[r * row + i]) / (1.0 + bs2)
                                      : avg[r * row + i];
            }
    }
    for (size_t r = 0; r < h; r++)
        memcpy(out + r * out_pitch, x + r * row, row * sizeof *x);
done:
    gmmp__pass_scratch_destroy(e.pass.scratch);
    gmmp__blas_serial_end(blas);
    gmmp__free(x);
    gmmp__free(avg);
    return rc;
}
