/*
 * Switching OpenBLAS to one thread around the library's own parallel
 * sections (see blas_threads.h). Looked up at run time so that the library
 * links against any BLAS.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "workers.h"

static int (*get_threads)(void);
static void (*set_threads)(int);
static pthread_once_t looked_up = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users;    /* sections currently running single-threaded */
static int saved;    /* OpenBLAS's count before the first of them */

static void look_up(void)
{
    /* POSIX lets dlsym's result be used as a function pointer; ISO C
     * needs the copy. */
    void *g = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    void *s = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (g && s) {
        memcpy(&get_threads, &g, sizeof g);
        memcpy(&set_threads, &s, sizeof s);
    }
}

int gmmp__blas_threads_single(void)
{
    pthread_once(&looked_up, look_up);
    if (!set_threads)
        return 0;
    /* Nested or concurrent sections: the first saves, the last restores. */
    pthread_mutex_lock(&lock);
    if (users++ == 0) {
        saved = get_threads();
        set_threads(1);
    }
    pthread_mutex_unlock(&lock);
    return 1;
}

void gmmp__blas_threads_restore(int previous)
{
    if (!previous || !set_threads)
        return;
    pthread_mutex_lock(&lock);
    if (--users == 0)
        set_threads(saved);
    pthread_mutex_unlock(&lock);
}

void gmmp__run_workers(void *(*fn)(void *), void *args, size_t stride, size_t T)
{
    char *base = args;
    pthread_t tids[256];
    size_t started = 1;
    int blas = T > 1 ? gmmp__blas_threads_single() : 0;
    for (size_t t = 1; t < T && t < 256 && pthread_create(&tids[t], NULL, fn, base + t * stride) == 0;
         t++)
        started = t + 1;
    fn(base);
    for (size_t t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
    gmmp__blas_threads_restore(blas);
}
