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

int gmmp__check_grid(const char *what, size_t step, size_t ph, size_t pw)
{
    if (step > ph || step > pw)
        return gmmp__fail(GMMP_EDIM,
                          "%s %zu exceeds the model's %zux%zu patch: some pixels would get no "
                          "estimate",
                          what, step, ph, pw);
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
    if ((rc = gmmp__check_grid("step", step, ph, pw)) ||
        (rc = gmmp__check_image(src, h, w, C, pitch)) ||
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

/* Batch buffers kept with the shape they were allocated for. */
typedef struct slot {
    batch bt;
    size_t rows, d, C; /* rows 0: none */
    bool masked;
    gmmp__executor *exec; /* a pipelined pass's thread: its own plan workspaces */
} slot;

/* The slot's buffers, for at least B rows of this shape. */
static int slot_fit(slot *sl, size_t B, size_t d, size_t C, bool masked)
{
    if (sl->rows >= B && sl->d == d && sl->C == C && sl->masked == masked)
        return GMMP_OK;
    batch_free(&sl->bt);
    sl->rows = 0;
    int rc = batch_alloc(&sl->bt, B, d, C, masked);
    if (rc == GMMP_OK)
        sl->rows = B, sl->d = d, sl->C = C, sl->masked = masked;
    return rc;
}

struct gmmp__pass_scratch {
    slot masked;          /* a masked pass's batch (its plans bring their own workspaces) */
    gmmp__executor *exec; /* for plan executions between passes */
    slot *slots;          /* n_slots, a pipelined pass's threads' */
    size_t n_slots;
};

int gmmp__pass_scratch_create(gmmp__pass_scratch **out)
{
    gmmp__pass_scratch *s = gmmp__alloc_array(1, sizeof *s);
    *out = NULL;
    if (!s)
        return gmmp__fail_nomem();
    *s = (gmmp__pass_scratch){.n_slots = 0};
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
    for (size_t t = 0; t < s->n_slots; t++) {
        batch_free(&s->slots[t].bt);
        gmmp__executor_destroy(s->slots[t].exec);
    }
    gmmp__free(s->slots);
    batch_free(&s->masked.bt);
    gmmp__executor_destroy(s->exec);
    gmmp__free(s);
}

/* T slots with buffers for pieces of B rows of this shape. */
static int scratch_slots(gmmp__pass_scratch *s, size_t T, size_t B, size_t d, size_t C)
{
    if (s->n_slots < T) {
        slot *more = gmmp__alloc_array(T, sizeof *more);
        if (!more)
            return gmmp__fail_nomem();
        if (s->n_slots)
            memcpy(more, s->slots, s->n_slots * sizeof *more);
        for (size_t t = s->n_slots; t < T; t++)
            more[t] = (slot){.rows = 0};
        gmmp__free(s->slots);
        s->slots = more;
        for (; s->n_slots < T; s->n_slots++) {
            int rc = gmmp__executor_create(&s->slots[s->n_slots].exec);
            if (rc)
                return rc;
        }
    }
    for (size_t t = 0; t < T; t++) {
        int rc = slot_fit(&s->slots[t], B, d, C, false);
        if (rc)
            return rc;
    }
    return GMMP_OK;
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

/* Reports `done` patches of this pass to the progress callback;
 * GMMP_ECANCELED if it asks to stop. */
static int report_progress(const gmmp__pass *ps, size_t done)
{
    gmmp_progress p = {.mean_loglik = NAN,
                       .change = NAN,
                       .seconds = gmmp__now() - ps->start,
                       .phase = GMMP_PHASE_IMAGE,
                       .done = ps->done_before + (double)done,
                       .total = ps->total};
    if (gmmp__report(ps->options, &p) != 0)
        return gmmp__fail(GMMP_ECANCELED, "the progress callback stopped the restoration");
    return GMMP_OK;
}

/* Pieces of a pipelined pass: small, so that the threads finish together
 * (a fast EPLL step has about 10,000 patches), and fixed, so that the
 * plan sees the same blocks whatever the number of threads. */
#define PIECE_ROWS 256

/* A pass whose threads each extract a piece of patches, restore it and
 * add it to the reconstructor in piece order (so that the sums do not
 * depend on the number of threads): extraction and the sums, which had
 * run in the calling thread between parallel batches (a fifth of a fast
 * EPLL step), overlap the others' work. Each thread has two buffers: a
 * finished piece waits in one for its turn to be added (by whichever
 * thread's piece completes the order, gmmp__queue_offer) while the thread
 * restores its next piece in the other. */
typedef struct pipeline {
    const gmmp__pass *ps;
    const gmmp_extractor *ex;
    gmmp_reconstructor *rec;
    size_t n, piece, reported;
    gmmp__queue queue;
} pipeline;

/* A restored piece, waiting in its buffer to be added. */
typedef struct piece_out {
    pipeline *pl;
    const batch *bt;
    size_t first, count;
} piece_out;

typedef struct pipe_worker {
    pipeline *pl;
    slot *sl[2];
    bool caller;       /* the thread that made the call: the one that reports progress */
    piece_out out[2];  /* what each buffer holds */
    size_t pending[2]; /* the piece each buffer holds */
    bool held[2];      /* whether it has held a piece (to be added before it is reused) */
} pipe_worker;

static int add_piece(void *arg)
{
    const piece_out *o = arg;
    const gmmp__pass *ps = o->pl->ps;
    return gmmp_reconstructor_add(o->pl->rec, o->first, o->count, o->bt->estimates,
                                  ps->remove_mean ? o->bt->means : NULL, NULL);
}

/* Progress, from the calling thread: after its pieces at most once a
 * batch, and at the end of the pass. */
static int report(pipeline *pl, size_t done)
{
    if (done < pl->n && done - pl->reported < pl->ps->batch)
        return GMMP_OK;
    pl->reported = done;
    return report_progress(pl->ps, done);
}

static void *pipe_run(void *arg)
{
    pipe_worker *pw = arg;
    pipeline *pl = pw->pl;
    const gmmp__pass *ps = pl->ps;
    size_t b, u = 0;
    while (gmmp__queue_claim(&pl->queue, &b)) {
        /* The buffer used two pieces ago, free once that piece is added. */
        if (pw->held[u] && !gmmp__queue_wait_committed(&pl->queue, pw->pending[u]))
            break; /* another thread failed: nothing more to add or report */
        batch *bt = &pw->sl[u]->bt;
        double *map = ps->map ? bt->estimates : NULL, *mmse = ps->map ? NULL : bt->estimates;
        const size_t first = b * pl->piece, count = gmmp__block_len(pl->n, first, pl->piece);
        int rc = gmmp_extractor_extract(pl->ex, ps->src, ps->h, ps->w, ps->pitch, first, count,
                                        bt->patches, ps->remove_mean ? bt->means : NULL);
        if (rc == GMMP_OK)
            rc = gmmp__plan_run(pw->sl[0]->exec, ps->plan, bt->patches, count, map, mmse,
                                (gmmp__exec_threads){1, false});
        if (rc == GMMP_OK) {
            pw->out[u] = (piece_out){.pl = pl, .bt = bt, .first = first, .count = count};
            pw->pending[u] = b;
            pw->held[u] = true;
            if (!gmmp__queue_offer(&pl->queue, b, &pw->out[u]))
                break;
            u = 1 - u;
        }
        if (rc == GMMP_OK && pw->caller)
            rc = report(pl, first + count);
        if (rc) {
            gmmp__queue_fail(&pl->queue, rc);
            break;
        }
    }
    return NULL;
}

static int run_pipelined(const gmmp__pass *ps, const gmmp_extractor *ex,
                         gmmp_reconstructor *rec, size_t n, gmmp__pass_scratch *scratch)
{
    const size_t piece = ps->batch < PIECE_ROWS ? ps->batch : PIECE_ROWS;
    const size_t pieces = (n + piece - 1) / piece;
    size_t T = ps->threads.count > 1 ? ps->threads.count : 1;
    T = T < pieces ? T : pieces;
    T = T < 256 ? T : 256;
    int rc = scratch_slots(scratch, 2 * T, gmmp__block_len(n, 0, piece), ps->plan->d, ps->C);
    void **offers = rc == GMMP_OK ? gmmp__calloc_array(pieces, sizeof *offers) : NULL;
    if (rc == GMMP_OK && !offers)
        rc = gmmp__fail_nomem();
    if (rc)
        return rc;
    pipeline pl = {.ps = ps, .ex = ex, .rec = rec, .n = n, .piece = piece};
    pipe_worker workers[256];
    for (size_t t = 0; t < T; t++)
        workers[t] = (pipe_worker){.pl = &pl,
                                   .sl = {&scratch->slots[2 * t], &scratch->slots[2 * t + 1]},
                                   .caller = t == 0};
    gmmp__queue_init(&pl.queue, pieces);
    gmmp__queue_set_offers(&pl.queue, offers, add_piece);
    gmmp__run_workers(pipe_run, workers, sizeof workers[0], T, ps->threads.blas_serial);
    rc = gmmp__queue_status(&pl.queue);
    if (rc == GMMP_OK && pl.queue.committed != pieces) /* every piece was offered */
        rc = gmmp__fail(GMMP_EINTERNAL, "a pass added %zu of its %zu pieces",
                        pl.queue.committed, pieces);
    gmmp__queue_destroy(&pl.queue);
    gmmp__free(offers);
    if (rc == GMMP_OK && pl.reported < n) /* the last piece was another thread's */
        rc = report(&pl, n);
    return rc;
}

/* A pass through the masked posterior, batch by batch: its plans run on
 * their own threads. */
static int run_masked(const gmmp__pass *ps, const gmmp_extractor *ex, gmmp_reconstructor *rec,
                      size_t n, gmmp__pass_scratch *scratch)
{
    int rc = slot_fit(&scratch->masked, gmmp__block_len(n, 0, ps->batch), ps->plan->d, ps->C,
                      true);
    batch bt = rc == GMMP_OK ? scratch->masked.bt : (batch){0};
    double *map = ps->map ? bt.estimates : NULL, *mmse = ps->map ? NULL : bt.estimates;
    for (size_t first = 0; first < n && rc == GMMP_OK; first += ps->batch) {
        size_t count = gmmp__block_len(n, first, ps->batch);
        rc = gmmp_extractor_extract(ex, ps->src, ps->h, ps->w, ps->pitch, first, count,
                                    bt.patches, NULL);
        if (rc)
            break;
        mask_patches(ps, ex, first, count, &bt);
        rc = gmmp_plan_execute_masked(ps->plan, bt.patches, bt.mask, count, NULL, NULL, map,
                                      mmse);
        if (rc)
            break;
        rc = gmmp_reconstructor_add(rec, first, count, bt.estimates, bt.means, NULL);
        if (rc == GMMP_OK)
            rc = report_progress(ps, first + count);
    }
    return rc;
}

int gmmp__run_pass(const gmmp__pass *ps, double *out, size_t out_pitch, size_t *patches)
{
    gmmp_extractor *ex = NULL;
    gmmp_reconstructor *rec = NULL;
    gmmp__pass_scratch *own = NULL, *scratch = ps->scratch;
    int rc = gmmp_extractor_create_grid(&ex, ps->ph, ps->pw, ps->C, ps->step, ps->row_offset,
                                        ps->col_offset);
    if (rc == GMMP_OK)
        rc = gmmp_reconstructor_create(&rec, ex, ps->h, ps->w);
    if (rc == GMMP_OK && !scratch && (rc = gmmp__pass_scratch_create(&own)) == GMMP_OK)
        scratch = own;
    const size_t n = rc == GMMP_OK ? gmmp_reconstructor_count(rec) : 0;
    if (rc == GMMP_OK && n > 0)
        rc = ps->observed ? run_masked(ps, ex, rec, n, scratch)
                          : run_pipelined(ps, ex, rec, n, scratch);
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
