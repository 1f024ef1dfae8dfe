/*
 * One pass over an image's patches: extract a batch, apply a plan, add
 * the estimates to a reconstructor; at the end, the averaged image. The
 * whole-image calls and EPLL are made of such passes.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_PASS_H
#define GMMP_PASS_H

#include <stdbool.h>

#include "options_internal.h"
#include "plan.h"

/* What a pass reads and where it writes. */
typedef struct gmmp__pass {
    const gmmp_plan *plan;
    size_t ph, pw, C;   /* the model's patch */
    bool remove_mean;   /* the model's */
    const double *src;  /* h x w x C, row pitch `pitch` */
    size_t h, w, pitch;
    /* NULL, or h x w flags (row pitch w): pixels observed in all channels.
     * Patches then go through the masked posterior, their means (when
     * removed) taken over observed pixels only. */
    const unsigned char *observed;
    size_t step, row_offset, col_offset; /* the patch grid */
    bool map;                            /* MAP-component estimates, else MMSE */
    size_t batch;
    gmmp__exec_threads threads;
    /* Buffers kept across the passes of one call (EPLL's steps); NULL:
     * the pass makes its own. */
    struct gmmp__pass_scratch *scratch;
    /* Progress: reports done_before + patches of this pass, of total. */
    const gmmp__option_values *options;
    double start, done_before, total;
} gmmp__pass;

/* Checks a grid step (`what` names it in the message) against the
 * model's ph x pw patch: a coarser grid would leave pixels without an
 * estimate (GMMP_EDIM). */
int gmmp__check_grid(const char *what, size_t step, size_t ph, size_t pw);

/* What every whole-image call checks and sets up the same way: the
 * model's patch (it must have one), the grid step against the patch, the
 * input and output images (the input finite where observed), and the
 * pass's fields from the options (estimator, batch, threads, progress)
 * and the image. The plan, grid offsets and progress total are the
 * caller's. `opt` must outlive the pass. */
int gmmp__pass_init(gmmp__pass *pass, const gmmp_model *model, const gmmp__option_values *opt,
                    const double *src, size_t h, size_t w, size_t pitch,
                    const unsigned char *observed, const double *out, size_t out_pitch);

/* What passes allocate (the batch buffers, the plan executions'
 * workspaces), kept from one pass to the next: freshly allocated large
 * buffers come from mmap, and paging them in again on every pass had been
 * a tenth of a fast EPLL (docs/performance.md). For passes of one shape
 * (patch, batch, mask or not), one at a time. */
typedef struct gmmp__pass_scratch gmmp__pass_scratch;
int gmmp__pass_scratch_create(gmmp__pass_scratch **out);
/* The plan executions' workspaces of a scratch (NULL for NULL), which
 * other executions of plans of the passes' shape may use between passes. */
gmmp__executor *gmmp__pass_scratch_executor(gmmp__pass_scratch *scratch);
void gmmp__pass_scratch_destroy(gmmp__pass_scratch *scratch);

/* Runs the pass and writes the average of the estimates into out (h x w
 * x C, row pitch out_pitch), which is written only on success and may be
 * src. *patches receives the number of patches of the pass. */
int gmmp__run_pass(const gmmp__pass *pass, double *out, size_t out_pitch, size_t *patches);

/* The number of patches of the pass's grid, as a double for progress. */
int gmmp__count_patches(const gmmp__pass *pass, double *count);

/* Most channels a multi-channel call takes (colour bases and group
 * refinement): 64, beyond any colour space, far within their buffers. */
#define GMMP__MAX_CHANNELS 64

/* Rejects NaN or infinity in an image, naming the pixel; with a mask,
 * only observed pixels must be finite. */
int gmmp__check_finite_image(const double *image, size_t h, size_t w, size_t C, size_t pitch,
                             const unsigned char *observed);

#endif /* GMMP_PASS_H */
