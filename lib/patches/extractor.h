/*
 * The extractor's layout, shared with the reconstructor.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXTRACTOR_H
#define GMMP_EXTRACTOR_H

#include "geometry.h"

struct gmmp_extractor {
    gmmp__geometry geom;
};

/* Checks that patches first .. first+count-1 exist among `total`. */
int gmmp__check_range(size_t first, size_t count, size_t total);

#endif /* GMMP_EXTRACTOR_H */
