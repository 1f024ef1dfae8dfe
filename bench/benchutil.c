/*
 * Benchmark helpers.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "benchutil.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "imageio.h"

#ifndef GMMP_DATA_DIR
#error "GMMP_DATA_DIR must name the data/ directory"
#endif

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double status_mib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    double kib = -1.0;
    if (f) {
        char line[256];
        size_t len = strlen(key);
        while (fgets(line, sizeof line, f))
            if (strncmp(line, key, len) == 0) {
                kib = atof(line + len);
                break;
            }
        fclose(f);
    }
    if (kib < 0.0) { /* no procfs: the process's whole peak */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = (double)ru.ru_maxrss;
    }
    return kib / 1024.0;
}

double bench_peak_rss_mib(void)
{
    return status_mib("VmHWM:");
}

double bench_rss_mib(void)
{
    return status_mib("VmRSS:");
}

void bench_peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

void bench_print_machine(void)
{
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *v = strchr(line, ':');
                if (v) {
                    snprintf(model, sizeof model, "%s", v + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    printf("machine: %s, %ld cores\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    /* Which BLAS answered: OpenBLAS names itself, the reference does not. */
    /* POSIX guarantees dlsym's object pointer converts to a function
     * pointer; ISO C does not, hence the copy through memcpy. */
    char *(*config)(void) = NULL, *(*corename)(void) = NULL;
    int (*threads)(void) = NULL;
    void *sym;
    if ((sym = dlsym(RTLD_DEFAULT, "openblas_get_config")))
        memcpy(&config, &sym, sizeof sym);
    if ((sym = dlsym(RTLD_DEFAULT, "openblas_get_corename")))
        memcpy(&corename, &sym, sizeof sym);
    if ((sym = dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        memcpy(&threads, &sym, sizeof sym);
    if (config)
        printf("BLAS: OpenBLAS (%s), kernel %s, %d threads\n", config(),
               corename ? corename() : "?", threads ? threads() : -1);
    else
        printf("BLAS: reference (netlib) BLAS/LAPACK\n");
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("OPENBLAS_CORETYPE: %s\n", core ? core : "(unset: OpenBLAS's own detection)");
}

/* GFLOP/s of the best of five m x k by k x n products, in double or in
 * single precision. */
static double gemm_gflops(size_t m, size_t n, size_t k, int single)
{
    size_t es = single ? sizeof(float) : sizeof(double);
    void *a = malloc(m * k * es), *b = malloc(k * n * es), *c = malloc(m * n * es);
    for (size_t i = 0; i < m * k; i++) {
        double v = (double)(i % 17) * 0.1;
        if (single)
            ((float *)a)[i] = (float)v;
        else
            ((double *)a)[i] = v;
    }
    for (size_t i = 0; i < k * n; i++) {
        double v = (double)(i % 13) * 0.1;
        if (single)
            ((float *)b)[i] = (float)v;
        else
            ((double *)b)[i] = v;
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now();
        if (single)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                        a, (int)k, b, (int)n, 0.0f, c, (int)n);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a,
                        (int)k, b, (int)n, 0.0, c, (int)n);
        double t = bench_now() - t0;
        best = t < best ? t : best;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * (double)m * (double)n * (double)k / best * 1e-9;
}

double bench_dgemm_gflops(size_t m, size_t n, size_t k)
{
    return gemm_gflops(m, n, k, 0);
}

double bench_sgemm_gflops(size_t m, size_t n, size_t k)
{
    return gemm_gflops(m, n, k, 1);
}

double *bench_load_digits(const char *name, size_t count)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/mnist/%s-images-idx3-ubyte.gz", GMMP_DATA_DIR, name);
    gmmpio_stack s;
    if (gmmpio_idx_read(path, &s, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    if (s.count < count || s.rows != 28 || s.cols != 28) {
        fprintf(stderr, "%s: expected at least %zu 28x28 digits\n", path, count);
        exit(1);
    }
    return s.pixels; /* the first `count` digits are used */
}

double *bench_digit_patches(const double *digits, size_t count, gmmp_extractor *ex, size_t *n)
{
    size_t per, d = gmmp_extractor_dim(ex);
    CHECK(gmmp_extractor_count(ex, 28, 28, &per));
    double *X = malloc(count * per * d * sizeof *X);
    for (size_t i = 0; i < count; i++)
        CHECK(gmmp_extractor_extract(ex, digits + i * 784, 28, 28, 28, 0, per, X + i * per * d,
                                     NULL));
    *n = count * per;
    return X;
}
