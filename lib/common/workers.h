/*
 * OpenBLAS's own thread pool and the library's worker threads must not
 * both spread over the cores: with two pools on two cores, one EM
 * iteration of the reference workload took 1.24 s against 0.66 s with
 * OpenBLAS single-threaded under two workers. These helpers make OpenBLAS
 * single-threaded while the library's workers run, and restore it after.
 * OpenBLAS's thread count is process-wide; with any other BLAS they do
 * nothing.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_BLAS_THREADS_H
#define GMMP_BLAS_THREADS_H

#include <stddef.h>

/* Sets OpenBLAS to one thread; returns a token for the restore: non-zero
 * if something was changed, 0 if the BLAS is not OpenBLAS. */
int gmmp__blas_threads_single(void);

/* Restores OpenBLAS's thread count once the last section has ended. */
void gmmp__blas_threads_restore(int previous);

/* Runs fn(args + t * stride) for t = 0 .. T-1, the first in the calling
 * thread and the others in new threads, with OpenBLAS single-threaded
 * while more than one runs. The workers share out the work themselves: if
 * a thread cannot be started, those that run still do all of it. */
void gmmp__run_workers(void *(*fn)(void *), void *args, size_t stride, size_t T);

#endif /* GMMP_BLAS_THREADS_H */
