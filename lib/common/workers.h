/*
 * The library's worker threads. A call that runs on several threads
 * hands its work to gmmp__run_workers, which starts them, runs one share
 * in the calling thread and joins them.
 *
 * OpenBLAS's own thread pool and the library's workers should not both
 * spread over the cores: with two pools on two cores, one EM iteration of
 * the reference workload took 1.24 s against 0.66 s with OpenBLAS
 * single-threaded under two workers. But OpenBLAS's thread count is
 * process-wide, so the library changes it only when the caller asks
 * (GMMP_OPT_BLAS_SERIAL), never on its own.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_WORKERS_H
#define GMMP_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Threads of one call: how many, and whether OpenBLAS is kept serial
 * while they run (GMMP_OPT_THREADS, GMMP_OPT_BLAS_SERIAL). */
typedef struct gmmp__exec_threads {
    unsigned count;
    bool blas_serial;
} gmmp__exec_threads;

/* Runs fn(args + t * stride) for t = 0 .. T-1, the first in the calling
 * thread and the others in new threads. The workers share out the work
 * themselves: if a thread cannot be started, those that run still do all
 * of it. With blas_serial and T > 1, OpenBLAS runs single-threaded while
 * the workers run, and its thread count is restored after the last of
 * any concurrent such sections ends. */
void gmmp__run_workers(void *(*fn)(void *), void *args, size_t stride, size_t T,
                       bool blas_serial);

/* A section in which OpenBLAS runs single-threaded, when `want` and the
 * BLAS is OpenBLAS; sections nest with each other and with those of
 * gmmp__run_workers, and the count from before the first is restored
 * when the last ends. A call that runs workers many times (EPLL's
 * batches and steps) holds one around them all: OpenBLAS's threads,
 * woken by every change of the count, would otherwise spin on the second
 * core in between. Returns what gmmp__blas_serial_end takes. */
int gmmp__blas_serial_begin(bool want);
void gmmp__blas_serial_end(int token);

/* Work shared out in pieces numbered 0 .. count-1, claimed in order by
 * whichever worker is free. The first failure stops further claims and
 * keeps its message for the calling thread. Pieces whose results must be
 * added in order (so that a sum does not depend on the number of
 * threads) are committed with gmmp__queue_commit, which waits for the
 * earlier pieces' turns. */
typedef struct gmmp__queue {
    pthread_mutex_t lock;
    pthread_cond_t turn;
    size_t next;      /* next piece to claim */
    size_t committed; /* pieces committed in order so far */
    size_t count;
    int failed;       /* first failure's code, 0 while none */
    char message[256];
    void **offers;    /* gmmp__queue_offer's: count payloads, NULL until offered */
    int (*commit)(void *payload);
} gmmp__queue;

void gmmp__queue_init(gmmp__queue *q, size_t count);
void gmmp__queue_destroy(gmmp__queue *q);

/* Claims the next piece; false when none is left or a worker failed. */
bool gmmp__queue_claim(gmmp__queue *q, size_t *piece);

/* Records a failure (code and the calling thread's last message). */
void gmmp__queue_fail(gmmp__queue *q, int code);

/* Waits until every piece before `piece` is committed, runs
 * commit(payload) (no two at once), and marks `piece` committed. False,
 * without running commit, when a worker has failed. */
bool gmmp__queue_commit(gmmp__queue *q, size_t piece, void (*commit)(void *), void *payload);

/* A job whose threads all claim its `count` pieces from q (a member of
 * the job): initialises q, runs fn on min(threads, count, 256) threads,
 * each given the address of a pointer to job (gmmp__run_workers' args),
 * and returns gmmp__queue_status after destroying q. */
int gmmp__run_queue(gmmp__queue *q, size_t count, void *(*fn)(void *), void *job,
                    gmmp__exec_threads threads);

/* Ordered commits without waiting for a turn: a worker offers its
 * finished piece and goes on with the next, while the piece waits in its
 * buffer; whichever worker offers the first piece not yet committed
 * commits it and every later one already offered, in order. A worker that
 * had waited for its turn instead sat idle whenever the piece before its
 * own took longer (a tenth of a fast EPLL step's thread time). offers:
 * `count` pointers, all NULL; commit(payload) returns GMMP_OK or fails
 * the queue with its message. */
void gmmp__queue_set_offers(gmmp__queue *q, void **offers, int (*commit)(void *payload));

/* Offers `piece` (payload must stay valid until it is committed). False
 * when a worker has failed: nothing more will be committed. */
bool gmmp__queue_offer(gmmp__queue *q, size_t piece, void *payload);

/* Waits until `piece` is committed, so that its buffer may be used again;
 * false when a worker has failed instead. */
bool gmmp__queue_wait_committed(gmmp__queue *q, size_t piece);

/* GMMP_OK, or the first failure with its message set in this thread. */
int gmmp__queue_status(const gmmp__queue *q);

#endif /* GMMP_WORKERS_H */
