/*
 * EPLL for a stack of images (see epll.h): the method itself is the
 * library's (lib/restore/epll.c).
 * SPDX-License-Identifier: MIT
 */
#include "epll.h"
#include "util.h"

int epll_restore(const gmmp_model *model, const epll_options *o, const double *y, size_t count,
                 size_t h, size_t w, double *x, char *err, size_t errlen)
{
    gmmp_options *opt = NULL;
    unsigned threads = o->threads ? o->threads : 1;
    if (gmmp_options_create(&opt) ||
        gmmp_options_set_int(opt, GMMP_OPT_EPLL_STEPS, (int64_t)o->steps) ||
        gmmp_options_set_int(opt, GMMP_OPT_ESTIMATOR,
                             o->mmse ? GMMP_ESTIMATOR_MMSE : GMMP_ESTIMATOR_MAP) ||
        gmmp_options_set_int(opt, GMMP_OPT_STEP, o->grid > 1 ? (int64_t)o->grid : 1) ||
        gmmp_options_set_int(opt, GMMP_OPT_SEED, (int64_t)(o->seed & INT64_MAX)) ||
        gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads) ||
        /* An application with threads of its own keeps OpenBLAS serial. */
        gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, threads > 1) ||
        gmmp_options_set_int(opt, GMMP_OPT_BATCH, 32768)) {
        util_fail(err, errlen, "%s", gmmp_last_error());
        gmmp_options_destroy(opt);
        return -1;
    }
    const size_t pixels = h * w;
    int status = 0;
    for (size_t i = 0; i < count && status == 0; i++)
        if (gmmp_epll_image(model, o->sigma, y + i * pixels, h, w, w,
                            o->observed ? o->observed + i * pixels : NULL, x + i * pixels, w,
                            opt)) {
            status = util_fail(err, errlen, "image %zu: %s", i, gmmp_last_error());
        }
    gmmp_options_destroy(opt);
    return status;
}
