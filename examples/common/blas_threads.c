/*
 * OpenBLAS single-threaded for the process (see blas_threads.h). Looked
 * up at run time, so that the tools link against any BLAS.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "blas_threads.h"

void blas_threads_single(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (!sym)
        return;
    void (*set_threads)(int);
    /* POSIX lets dlsym's result be used as a function pointer; ISO C
     * needs the copy. */
    memcpy(&set_threads, &sym, sizeof sym);
    set_threads(1);
}
