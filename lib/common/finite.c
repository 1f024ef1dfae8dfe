/*
 * Scans for NaN and infinity, which every public entry point rejects.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "internal.h"

size_t gmmp__first_nonfinite(const double *x, size_t n)
{
    /* Accumulating x*0 turns any NaN or infinity into NaN, so the common
     * all-finite case is one branch-free pass; only then look for where. */
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * 0.0;
    if (acc == 0.0)
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

bool gmmp__all_finite(const double *x, size_t n)
{
    return gmmp__first_nonfinite(x, n) == n;
}

int gmmp__check_samples(const double *X, size_t n, size_t d)
{
    if (n > 0 && !X)
        return gmmp__fail(GMMP_EINVAL, "samples are NULL");
    size_t nd;
    if (!gmmp__mul_ok(n, d, &nd) || nd > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "%zu samples of dimension %zu overflow", n, d);
    size_t bad = gmmp__first_nonfinite(X, nd);
    if (bad < nd)
        return gmmp__fail(GMMP_ENONFINITE, "sample %zu, coordinate %zu is %g", bad / d,
                          bad % d, X[bad]);
    return GMMP_OK;
}

bool gmmp__all_zero(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0)
            return false;
    return true;
}
