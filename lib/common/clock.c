/*
 * Wall time for progress reports and fit information.
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "internal.h"

double gmmp__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
