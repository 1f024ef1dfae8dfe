/*
 * Shared by the benchmark programs: timing, peak memory, and a description
 * of the machine and the BLAS they ran on, so every figure says where it
 * came from.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_BENCHUTIL_H
#define GMMP_BENCHUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "gmmprior.h"

/* Exits with the library's message when a call fails. */
#define CHECK(call)                                                                         \
    do {                                                                                    \
        int rc_ = (call);                                                                   \
        if (rc_) {                                                                          \
            fprintf(stderr, "%s: %s: %s\n", #call, gmmp_strerror(rc_), gmmp_last_error()); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

/* Monotonic wall time in seconds. */
double bench_now(void);

/* Peak resident memory in MiB since the last bench_peak_reset() (or since
 * the start), from the kernel's high-water mark VmHWM. */
double bench_peak_rss_mib(void);

/* Resets the high-water mark to the current resident size, so that the
 * next peak measures one phase (Linux: /proc/self/clear_refs). */
void bench_peak_reset(void);

/* Current resident memory in MiB. */
double bench_rss_mib(void);

/* Prints the CPU model, core count, BLAS library and (for OpenBLAS) its
 * configuration and the kernel it chose, and OPENBLAS_CORETYPE if set. */
void bench_print_machine(void);

/* Measures dgemm on an m x k by k x n product (best of a few runs) and
 * returns GFLOP/s: the machine's reference rate for the same shapes. */
double bench_dgemm_gflops(size_t m, size_t n, size_t k);

/* The same for sgemm (single precision). */
double bench_sgemm_gflops(size_t m, size_t n, size_t k);

/* Loads `count` digits from the shipped MNIST IDX file (train or test)
 * as 28x28 doubles; exits with a message on failure. */
double *bench_load_digits(const char *name, size_t count);

/* All patches of `count` 28x28 digits, digit after digit, as the
 * extractor orders them; *n receives their number. Exits on failure. */
double *bench_digit_patches(const double *digits, size_t count, gmmp_extractor *ex, size_t *n);

#endif
