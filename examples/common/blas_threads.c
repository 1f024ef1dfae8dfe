/*
 * OpenBLAS single-threaded for the process (see blas_threads.h). Looked
 * up at run time, so that the tools link against any BLAS.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "blas_threads.h"

/* A function of OpenBLAS looked up by name, or NULL. */
static void (*blas_function(const char *name))(void)
{
    void *sym = dlsym(RTLD_DEFAULT, name);
    void (*fn)(void) = NULL;
    /* POSIX lets dlsym's result be used as a function pointer; ISO C
     * needs the copy. */
    if (sym)
        memcpy(&fn, &sym, sizeof sym);
    return fn;
}

void blas_threads_single(void)
{
    void (*set)(void) = blas_function("openblas_set_num_threads");
    if (!set)
        return;
    ((void (*)(int))set)(1);
    /* OpenBLAS started its idle threads when it loaded, and each spins on
     * sched_yield for about 2^28 cycles (0.1 s) before it sleeps, on the
     * cores the workers need: perf put 13% of a fast restoration's samples
     * there. Its own fork handler stops them with this function; with one
     * thread set, OpenBLAS never needs them again. */
    void (*shutdown)(void) = blas_function("blas_thread_shutdown_");
    if (shutdown)
        ((int (*)(void))shutdown)();
}
