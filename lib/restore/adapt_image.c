/*
 * A prior adapted to one image: the E-step of the prior over the patches
 * of a first restoration, then MAP adaptation (gmmp_stats_adapt). Luo,
 * Chan and Nguyen (IEEE TIP 2016) adapt a generic patch prior this way
 * to the image being denoised, from a pre-filtered estimate, because the
 * noisy patches themselves would teach the prior the noise.
 * SPDX-License-Identifier: MIT
 */
#include "gmmprior/patches.h"
#include "gmmprior/train.h"

#include "adapt_image.h"
#include "geometry.h"
#include "internal.h"
#include "model.h"
#include "stats.h"

/* Patches extracted at once: bounds the memory (8 MB of 8x8 patches) while
 * leaving the threads many blocks to share. */
#define ADAPT_CHUNK 16384
/* With a plan's labels, whose plan shares each chunk among the threads
 * itself: a block of rows for each thread, rounded up to blocks of the
 * moments (GMMP__BLOCK_ROWS, so the sums are those of any multiple of
 * it), whose buffers stay in the cache and are not faulted in afresh:
 * fast EPLL's adaptation extracted its 16,854 patches of a 481 x 321 image
 * in 11 ms with 16,384 at once, 2 ms with 2,048. */
static size_t labelled_chunk(const gmmp_plan *plan, gmmp__exec_threads threads)
{
    size_t T = threads.count > 1 ? threads.count : 1;
    size_t want = T * gmmp__plan_block_rows(plan), B = GMMP__BLOCK_ROWS;
    want = (want + B - 1) / B * B;
    return want < ADAPT_CHUNK ? want : ADAPT_CHUNK;
}

/* The chunk's moments from the most responsible components under
 * src.plan (labels: count scratch). */
static int accumulate_from_plan(gmmp_stats *st, gmmp__adapt_source src, const double *X,
                                size_t count, size_t *labels, gmmp__exec_threads threads)
{
    int rc = gmmp__plan_labels(src.exec, src.plan, X, count, labels, threads);
    return rc ? rc : gmmp__stats_add_labelled(st, X, count, labels, threads);
}

int gmmp__adapt_to_image(const gmmp_model *prior, const double *x, size_t h, size_t w,
                         size_t pitch, gmmp__adapt_source src, double relevance, double skip,
                         gmmp__exec_threads threads, gmmp_model **out)
{
    const size_t K = prior->K, d = prior->d;
    size_t T = threads.count > 0 && !src.plan ? threads.count : 1;
    gmmp_extractor *ex = NULL;
    gmmp_stats *stats[256] = {0};
    T = T < 256 ? T : 256;
    double *patches = NULL, *means = NULL;
    size_t *labels = NULL;
    size_t n = 0;
    const size_t step = gmmp__step_within_patch(src.step, prior->patch_h, prior->patch_w);
    int rc = gmmp_extractor_create_for_model(&ex, prior, step);
    if (!rc)
        rc = gmmp_extractor_count(ex, h, w, &n);
    /* Labels add to the total alone (gmmp__stats_add_labelled): no block
     * sums, whose 6.5 MB for EPLL's prior a caller's allocator would have
     * had zeroed in this thread, serially (2 to 3 ms of fast EPLL). */
    for (size_t t = 0; !rc && t < T; t++)
        if ((rc = gmmp__stats_new(&stats[t], K, d, t == 0, !src.plan, false)) == GMMP_OK)
            stats[t]->skip = skip; /* as the trainer's: most of the M-step's work saved */
    for (size_t t = 0; !rc && t < T; t++)
        rc = gmmp__stats_bind(stats[t], prior->means);
    if (!rc && !src.plan) /* scored by the model itself, not by a plan's labels */
        rc = gmmp__model_prepare_scoring(prior);
    if (rc)
        goto done;
    const size_t most = src.plan ? labelled_chunk(src.plan, threads) : ADAPT_CHUNK;
    size_t chunk = n < most ? n : most;
    patches = gmmp__alloc_array(chunk * d, sizeof(double));
    means = gmmp__alloc_array(chunk * prior->channels, sizeof(double));
    if (src.plan)
        labels = gmmp__alloc_array(chunk, sizeof(size_t));
    if (!patches || !means || (src.plan && !labels)) {
        rc = gmmp__fail_nomem();
        goto done;
    }
    for (size_t first = 0; first < n; first += chunk) {
        size_t count = gmmp__block_len(n, first, chunk);
        if ((rc = gmmp_extractor_extract(ex, x, h, w, pitch, first, count, patches,
                                         prior->remove_mean ? means : NULL)))
            goto done;
        if (src.plan) {
            if ((rc = accumulate_from_plan(stats[0], src, patches, count, labels, threads)))
                goto done;
        } else {
            gmmp__stats_accumulate_parallel(stats, T, prior, NULL, patches, count,
                                            threads.blas_serial);
        }
    }
    /* The prior's own regularisation (scikit-learn's default reg_covar):
     * mean-removed patches leave the DC direction empty. */
    rc = gmmp__stats_adapt_on(stats[0], prior, relevance, 1e-6, threads, out);
done:
    for (size_t t = 0; t < T; t++)
        gmmp_stats_destroy(stats[t]);
    gmmp__free(patches);
    gmmp__free(means);
    gmmp__free(labels);
    gmmp_extractor_destroy(ex);
    return rc;
}
