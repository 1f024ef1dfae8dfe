/*
 * Adapting a prior to the image being restored (EPLL's
 * GMMP_OPT_EPLL_ADAPT).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_ADAPT_IMAGE_H
#define GMMP_ADAPT_IMAGE_H

#include "plan.h"

/* The prior adapted (gmmp_stats_adapt with `relevance`) to the
 * patches of x on a grid of step 2 (h x w x the prior's channels, row pitch
 * `pitch`), whose responsibilities come from the prior, on the given
 * threads; responsibilities at most `skip` leave a component's moments
 * (GMMP_OPT_SKIP). The prior must have a patch description. */
int gmmp__adapt_to_image(const gmmp_model *prior, const double *x, size_t h, size_t w,
                         size_t pitch, double relevance, double skip,
                         gmmp__exec_threads threads, gmmp_model **out);

#endif /* GMMP_ADAPT_IMAGE_H */
