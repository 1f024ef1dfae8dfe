/*
 * A program's choice, not the library's: OpenBLAS single-threaded for the
 * whole process. The tools that run the library's own worker threads
 * (--threads) make it: OpenBLAS's threads would otherwise be woken for
 * every 64x64 factorisation of a model load or noise estimate, cost more
 * than they save at that size, and then spin on a core the workers need
 * (docs/performance.md). The library itself never changes OpenBLAS's
 * threads unless asked (GMMP_OPT_BLAS_SERIAL).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_BLAS_THREADS_H
#define GMMP_BLAS_THREADS_H

/* Sets OpenBLAS to one thread when the process runs OpenBLAS; with
 * another BLAS, does nothing. */
void blas_threads_single(void);

#endif /* GMMP_BLAS_THREADS_H */
