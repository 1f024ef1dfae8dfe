/*
 * What starting threads on every call costs: plan executions of small
 * and large batches with 1 and 2 threads, against the time one
 * pthread_create/pthread_join pair takes. The library starts its worker
 * threads per call (no pool owned by a handle); this says when that
 * matters.
 *
 *   bench_threads [repeats]
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdint.h>

#include "benchutil.h"

static void *nothing(void *arg)
{
    return arg;
}

/* Seconds per pthread_create + pthread_join of a thread that does nothing. */
static double thread_cost(int repeats)
{
    double t0 = bench_now();
    for (int i = 0; i < repeats; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) == 0)
            pthread_join(t, NULL);
    }
    return (bench_now() - t0) / repeats;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 2000;
    if (repeats < 1)
        repeats = 1;
    bench_print_machine();
    /* The denoising workload of EPLL: 8x8 patches, K = 50, a random SPD
     * prior (the cost does not depend on the values). */
    enum { K = 50, D = 64, NMAX = 16384 };
    double *w = malloc(K * sizeof *w), *mu = calloc(K * D, sizeof *mu);
    double *cov = calloc((size_t)K * D * D, sizeof *cov), *Y = malloc(NMAX * D * sizeof *Y);
    double *out = malloc(NMAX * D * sizeof *out);
    if (!w || !mu || !cov || !Y || !out)
        return 1;
    uint64_t s = 1;
    for (int k = 0; k < K; k++) {
        w[k] = 1.0 / K;
        for (int j = 0; j < D; j++)
            cov[(size_t)k * D * D + j * D + j] = 10.0 + k + j;
    }
    for (size_t i = 0; i < (size_t)NMAX * D; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        Y[i] = (double)(s >> 40) / (double)(1 << 24) * 100.0;
    }
    gmmp_model *m;
    CHECK(gmmp_model_create(&m, K, D, w, mu, cov));
    printf("pthread_create + join: %.1f us\n", 1e6 * thread_cost(repeats));
    printf("%8s %12s %12s %10s\n", "patches", "1 thread", "2 threads", "ratio");
    for (size_t n = 16; n <= NMAX; n *= 4) {
        double sec[2];
        for (int th = 1; th <= 2; th++) {
            gmmp_options *o;
            CHECK(gmmp_options_create(&o));
            CHECK(gmmp_options_set_int(o, GMMP_OPT_THREADS, th));
            CHECK(gmmp_options_set_int(o, GMMP_OPT_BLAS_SERIAL, th > 1));
            CHECK(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY));
            gmmp_plan *plan;
            CHECK(gmmp_plan_create_denoise(&plan, m, 20.0, o));
            int calls = (int)(repeats * 64 / n) + 1;
            double t0 = bench_now();
            for (int c = 0; c < calls; c++)
                CHECK(gmmp_plan_execute(plan, Y, n, NULL, NULL, out, NULL));
            sec[th - 1] = (bench_now() - t0) / calls;
            gmmp_plan_destroy(plan);
            gmmp_options_destroy(o);
        }
        printf("%8zu %10.1f us %10.1f us %10.2f\n", n, 1e6 * sec[0], 1e6 * sec[1],
               sec[0] / sec[1]);
    }
    gmmp_model_destroy(m);
    free(w), free(mu), free(cov), free(Y), free(out);
    return 0;
}
