/*
 * Adapting a prior to the image being restored (EPLL's
 * GMMP_OPT_EPLL_ADAPT).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_ADAPT_IMAGE_H
#define GMMP_ADAPT_IMAGE_H

#include "plan.h"

/* How the patches' responsibilities are taken. */
typedef struct gmmp__adapt_source {
    size_t step;           /* the grid of patches (at most the patch size) */
    const gmmp_plan *plan; /* NULL: the prior's own E-step (exact, noise-free);
                              else hard assignments to the most responsible
                              component under this denoising plan of the prior
                              (a flat one with preselection is far cheaper) */
    gmmp__executor *exec;  /* the plan's workspaces, kept (NULL: its own) */
} gmmp__adapt_source;

/* The prior adapted (gmmp_stats_adapt with `relevance`) to the patches of
 * x (h x w x the prior's channels, row pitch `pitch`) on src's grid, with
 * responsibilities as src says, on the given threads; responsibilities at
 * most `skip` leave a component's moments (GMMP_OPT_SKIP). The prior must
 * have a patch description. */
int gmmp__adapt_to_image(const gmmp_model *prior, const double *x, size_t h, size_t w,
                         size_t pitch, gmmp__adapt_source src, double relevance, double skip,
                         gmmp__exec_threads threads, gmmp_model **out);

#endif /* GMMP_ADAPT_IMAGE_H */
