/*
 * One pass over an image's patches (see pass.h).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "gmmprior/patches.h"

#include "geometry.h"
#include "internal.h"
#include "pass.h"

int gmmp__check_finite_image(const double *image, size_t h, size_t w, size_t C, size_t pitch,
                             const unsigned char *observed)
{
    for (size_t r = 0; r < h; r++)
        for (size_t i = 0; i < w * C; i++) {
            double v = image[r * pitch + i];
            if (!isfinite(v) && (!observed || observed[r * w + i / C]))
                return gmmp__fail(GMMP_ENONFINITE, "pixel (%zu, %zu), channel %zu is %g", r,
                                  i / C, i % C, v);
        }
    return GMMP_OK;
}

int gmmp__pass_init(gmmp__pass *ps, const gmmp_model *model, const gmmp__option_values *opt,
                    const double *src, size_t h, size_t w, size_t pitch,
                    const unsigned char *observed, const double *out, size_t out_pitch)
{
    size_t ph, pw, C;
    int remove_mean;
    int rc = gmmp_model_patch(model, &ph, &pw, &C, &remove_mean);
    if (rc)
        return rc;
    const size_t step = (size_t)gmmp__opt_int(opt, GMMP_OPT_STEP);
    if (step > ph || step > pw)
        return gmmp__fail(GMMP_EDIM,
                          "step %zu exceeds the model's %zux%zu patch: some pixels would get "
                          "no estimate",
                          step, ph, pw);
    if ((rc = gmmp__check_image(src, h, w, C, pitch)) ||
        (rc = gmmp__check_image(out, h, w, C, out_pitch)) ||
        (rc = gmmp__check_finite_image(src, h, w, C, pitch, observed)))
        return rc;
    *ps = (gmmp__pass){.ph = ph,
                       .pw = pw,
                       .C = C,
                       .remove_mean = remove_mean,
                       .src = src,
                       .h = h,
                       .w = w,
                       .pitch = pitch,
                       .observed = observed,
                       .step = step,
                       .map = gmmp__opt_int(opt, GMMP_OPT_ESTIMATOR) == GMMP_ESTIMATOR_MAP,
                       .batch = (size_t)gmmp__opt_int(opt, GMMP_OPT_BATCH),
                       .threads = {(unsigned)gmmp__opt_int(opt, GMMP_OPT_THREADS),
                                   gmmp__opt_int(opt, GMMP_OPT_BLAS_SERIAL) != 0},
                       .options = opt,
                       .start = gmmp__now()};
    return GMMP_OK;
}

/* The buffers of one batch. */
typedef struct batch {
    double *patches;   /* B x d */
    double *means;     /* B x C */
    double *estimates; /* B x d */
    unsigned char *mask; /* B x d, with a mask of observed pixels */
} batch;

static void batch_free(batch *b)
{
    gmmp__free(b->patches);
    gmmp__free(b->means);
    gmmp__free(b->estimates);
    gmmp__free(b->mask);
    *b = (batch){0};
}

static int batch_alloc(batch *b, size_t B, size_t d, size_t C, bool masked)
{
    b->patches = gmmp__alloc_array(B, d * sizeof(double));
    b->estimates = gmmp__alloc_array(B, d * sizeof(double));
    b->means = gmmp__alloc_array(B, C * sizeof(double));
    if (masked)
        b->mask = gmmp__alloc_array(B, d);
    if (!b->patches || !b->estimates || !b->means || (masked && !b->mask)) {
        batch_free(b);
        return gmmp__fail_nomem();
    }
    return GMMP_OK;
}

struct gmmp__pass_scratch {
    batch bt;
    size_t rows, d, C; /* the shape bt was allocated for; rows 0: none */
    bool masked;
    gmmp__executor *exec;
};

int gmmp__pass_scratch_create(gmmp__pass_scratch **out)
{
    gmmp__pass_scratch *s = gmmp__alloc_array(1, sizeof *s);
    *out = NULL;
    if (!s)
        return gmmp__fail_nomem();
    *s = (gmmp__pass_scratch){.rows = 0};
    int rc = gmmp__executor_create(&s->exec);
    if (rc) {
        gmmp__free(s);
        return rc;
    }
    *out = s;
    return GMMP_OK;
}

gmmp__executor *gmmp__pass_scratch_executor(gmmp__pass_scratch *s)
{
    return s ? s->exec : NULL;
}

void gmmp__pass_scratch_destroy(gmmp__pass_scratch *s)
{
    if (!s)
        return;
    batch_free(&s->bt);
    gmmp__executor_destroy(s->exec);
    gmmp__free(s);
}

/* The scratch's batch buffers, for at least B rows of this shape. */
static int scratch_batch(gmmp__pass_scratch *s, size_t B, size_t d, size_t C, bool masked)
{
    if (s->rows >= B && s->d == d && s->C == C && s->masked == masked)
        return GMMP_OK;
    batch_free(&s->bt);
    s->rows = 0;
    int rc = batch_alloc(&s->bt, B, d, C, masked);
    if (rc == GMMP_OK)
        *s = (gmmp__pass_scratch){s->bt, B, d, C, masked, s->exec};
    return rc;
}

/* With a mask: each patch's value mask (its pixels' flags repeated over
 * the channels), and its per-channel means over observed pixels removed
 * if the model wants (0 for a patch with none observed). */
static void mask_patches(const gmmp__pass *ps, const gmmp_extractor *ex, size_t first,
                         size_t count, batch *b)
{
    const size_t C = ps->C, d = ps->ph * ps->pw * C;
    for (size_t i = 0; i < count; i++) {
        size_t r0, c0;
        gmmp_extractor_position(ex, ps->h, ps->w, first + i, &r0, &c0);
        unsigned char *m = b->mask + i * d;
        double *x = b->patches + i * d, *mean = b->means + i * C;
        size_t seen = 0;
        memset(mean, 0, C * sizeof *mean);
        for (size_t r = 0; r < ps->ph; r++)
            for (size_t c = 0; c < ps->pw; c++) {
                unsigned char on = ps->observed[(r0 + r) * ps->w + c0 + c] != 0;
                size_t at = (r * ps->pw + c) * C;
                memset(m + at, on, C);
                seen += on;
                for (size_t ch = 0; on && ch < C; ch++)
                    mean[ch] += x[at + ch];
            }
        for (size_t ch = 0; ch < C; ch++)
            mean[ch] = ps->remove_mean && seen ? mean[ch] / (double)seen : 0.0;
        for (size_t j = 0; j < d; j++)
            x[j] = m[j] ? x[j] - mean[j % C] : 0.0; /* missing values are never read */
    }
}

int gmmp__run_pass(const gmmp__pass *ps, double *out, size_t out_pitch, size_t *patches)
{
    gmmp_extractor *ex = NULL;
    gmmp_reconstructor *rec = NULL;
    gmmp__pass_scratch *own = NULL, *scratch = ps->scratch;
    const size_t d = ps->plan->d;
    const bool masked = ps->observed != NULL;
    int rc = gmmp_extractor_create_grid(&ex, ps->ph, ps->pw, ps->C, ps->step, ps->row_offset,
                                        ps->col_offset);
    if (rc == GMMP_OK)
        rc = gmmp_reconstructor_create(&rec, ex, ps->h, ps->w);
    if (rc == GMMP_OK && !scratch && (rc = gmmp__pass_scratch_create(&own)) == GMMP_OK)
        scratch = own;
    const size_t n = rc == GMMP_OK ? gmmp_reconstructor_count(rec) : 0;
    if (rc == GMMP_OK)
        rc = scratch_batch(scratch, gmmp__block_len(n, 0, ps->batch), d, ps->C, masked);
    batch bt = rc == GMMP_OK ? scratch->bt : (batch){0};
    double *map = ps->map ? bt.estimates : NULL, *mmse = ps->map ? NULL : bt.estimates;
    for (size_t first = 0; first < n && rc == GMMP_OK; first += ps->batch) {
        size_t count = gmmp__block_len(n, first, ps->batch);
        rc = gmmp_extractor_extract(ex, ps->src, ps->h, ps->w, ps->pitch, first, count,
                                    bt.patches, ps->remove_mean && !masked ? bt.means : NULL);
        if (rc)
            break;
        if (masked) {
            mask_patches(ps, ex, first, count, &bt);
            rc = gmmp_plan_execute_masked(ps->plan, bt.patches, bt.mask, count, NULL, NULL, map,
                                          mmse);
        } else {
            rc = gmmp__plan_run(scratch->exec, ps->plan, bt.patches, count, map, mmse, ps->threads);
        }
        if (rc)
            break;
        rc = gmmp_reconstructor_add(rec, first, count, bt.estimates,
                                    ps->remove_mean || masked ? bt.means : NULL, NULL);
        gmmp_progress p = {.mean_loglik = NAN,
                           .change = NAN,
                           .seconds = gmmp__now() - ps->start,
                           .phase = GMMP_PHASE_IMAGE,
                           .done = ps->done_before + (double)(first + count),
                           .total = ps->total};
        if (rc == GMMP_OK && gmmp__report(ps->options, &p) != 0)
            rc = gmmp__fail(GMMP_ECANCELED, "the progress callback stopped the restoration");
    }
    /* Written only now, when nothing can fail any more: `out` may be the
     * source, and stays untouched on failure. */
    if (rc == GMMP_OK)
        rc = gmmp_reconstructor_finish(rec, out, out_pitch);
    if (rc == GMMP_OK && patches)
        *patches = n;
    gmmp__pass_scratch_destroy(own);
    gmmp_reconstructor_destroy(rec);
    gmmp_extractor_destroy(ex);
    return rc;
}

int gmmp__count_patches(const gmmp__pass *ps, double *count)
{
    gmmp_extractor *ex = NULL;
    size_t n = 0;
    int rc = gmmp_extractor_create_grid(&ex, ps->ph, ps->pw, ps->C, ps->step, ps->row_offset,
                                        ps->col_offset);
    if (rc == GMMP_OK)
        rc = gmmp_extractor_count(ex, ps->h, ps->w, &n);
    gmmp_extractor_destroy(ex);
    *count = (double)n;
    return rc;
}
