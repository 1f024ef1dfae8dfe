/*
 * Worker threads, the work queue they share, and, when the caller asks,
 * OpenBLAS switched to one thread around them (see workers.h). OpenBLAS's
 * functions are looked up at run time so that the library links against
 * any BLAS.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
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

int gmmp__blas_serial_begin(bool want)
{
    if (!want)
        return 0;
    pthread_once(&looked_up, look_up);
    if (!set_threads)
        return 0;
    /* Nested or concurrent sections: the first saves, the last restores. */
    pthread_mutex_lock(&lock);
    /* Already serial: no call at all. OpenBLAS's pthread server restarts
     * a stopped thread pool in every openblas_set_num_threads (its lazy
     * re-initialisation after fork), even to set one thread. */
    if (users++ == 0 && (saved = get_threads()) != 1)
        set_threads(1);
    pthread_mutex_unlock(&lock);
    return 1;
}

void gmmp__blas_serial_end(int previous)
{
    if (!previous || !set_threads)
        return;
    pthread_mutex_lock(&lock);
    if (--users == 0 && saved != 1)
        set_threads(saved);
    pthread_mutex_unlock(&lock);
}

void gmmp__run_workers(void *(*fn)(void *), void *args, size_t stride, size_t T,
                       bool blas_serial)
{
    char *base = args;
    pthread_t tids[256];
    size_t started = 1;
    int blas = gmmp__blas_serial_begin(T > 1 && blas_serial);
    for (size_t t = 1; t < T && t < 256 && pthread_create(&tids[t], NULL, fn, base + t * stride) == 0;
         t++)
        started = t + 1;
    fn(base);
    for (size_t t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
    gmmp__blas_serial_end(blas);
}

void gmmp__queue_init(gmmp__queue *q, size_t count)
{
    *q = (gmmp__queue){.count = count};
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->turn, NULL);
}

void gmmp__queue_destroy(gmmp__queue *q)
{
    pthread_cond_destroy(&q->turn);
    pthread_mutex_destroy(&q->lock);
}

bool gmmp__queue_claim(gmmp__queue *q, size_t *piece)
{
    pthread_mutex_lock(&q->lock);
    bool got = !q->failed && q->next < q->count;
    if (got)
        *piece = q->next++;
    pthread_mutex_unlock(&q->lock);
    return got;
}

void gmmp__queue_fail(gmmp__queue *q, int code)
{
    pthread_mutex_lock(&q->lock);
    if (!q->failed) {
        q->failed = code;
        snprintf(q->message, sizeof q->message, "%s", gmmp_last_error());
    }
    /* Workers waiting for their turn must not wait for a piece that a
     * failed worker will never commit. */
    pthread_cond_broadcast(&q->turn);
    pthread_mutex_unlock(&q->lock);
}

bool gmmp__queue_commit(gmmp__queue *q, size_t piece, void (*commit)(void *), void *payload)
{
    pthread_mutex_lock(&q->lock);
    while (q->committed != piece && !q->failed)
        pthread_cond_wait(&q->turn, &q->lock);
    bool done = !q->failed;
    if (done) {
        commit(payload);
        q->committed++;
    }
    pthread_cond_broadcast(&q->turn);
    pthread_mutex_unlock(&q->lock);
    return done;
}

int gmmp__run_queue(gmmp__queue *q, size_t count, void *(*fn)(void *), void *job,
                    gmmp__exec_threads threads)
{
    size_t T = threads.count > 1 ? threads.count : 1;
    T = T < count ? T : (count > 0 ? count : 1);
    T = T < 256 ? T : 256;
    void *args[256];
    for (size_t t = 0; t < T; t++)
        args[t] = job;
    gmmp__queue_init(q, count);
    gmmp__run_workers(fn, args, sizeof args[0], T, threads.blas_serial);
    int rc = gmmp__queue_status(q);
    gmmp__queue_destroy(q);
    return rc;
}

void gmmp__queue_set_offers(gmmp__queue *q, void **offers, int (*commit)(void *payload))
{
    q->offers = offers;
    q->commit = commit;
}

bool gmmp__queue_offer(gmmp__queue *q, size_t piece, void *payload)
{
    pthread_mutex_lock(&q->lock);
    q->offers[piece] = payload;
    while (!q->failed && q->committed < q->count && q->offers[q->committed]) {
        int rc = q->commit(q->offers[q->committed]);
        if (rc) {
            q->failed = rc;
            snprintf(q->message, sizeof q->message, "%s", gmmp_last_error());
            break;
        }
        q->committed++;
    }
    bool ok = !q->failed;
    pthread_cond_broadcast(&q->turn);
    pthread_mutex_unlock(&q->lock);
    return ok;
}

bool gmmp__queue_wait_committed(gmmp__queue *q, size_t piece)
{
    pthread_mutex_lock(&q->lock);
    while (q->committed <= piece && !q->failed)
        pthread_cond_wait(&q->turn, &q->lock);
    bool ok = !q->failed;
    pthread_mutex_unlock(&q->lock);
    return ok;
}

int gmmp__queue_status(const gmmp__queue *q)
{
    if (!q->failed)
        return GMMP_OK;
    if (q->failed == GMMP_ENOMEM)
        return gmmp__fail_nomem();
    return gmmp__fail(q->failed, "%s", q->message);
}
