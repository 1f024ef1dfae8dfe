/*
 * The noise estimate in a thread of its own (noise_ahead.h).
 * SPDX-License-Identifier: MIT
 */
#include "noise_ahead.h"

#include "gmmprior.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct noise_ahead {
    pthread_t thread;
    const double *y;
    size_t h, w, c, pitch;
    double sigma;
    int rc;
    /* The library's messages are per thread: this one's, kept for the
     * caller's. */
    char err[512];
};

static void *run(void *arg)
{
    noise_ahead *job = arg;
    job->rc = gmmp_estimate_noise(job->y, job->h, job->w, job->c, job->pitch, &job->sigma);
    if (job->rc)
        snprintf(job->err, sizeof job->err, "%s", gmmp_last_error());
    return NULL;
}

noise_ahead *noise_ahead_start(const double *y, size_t h, size_t w, size_t c, size_t pitch)
{
    noise_ahead *job = malloc(sizeof *job);
    if (!job)
        return NULL;
    *job = (noise_ahead){.y = y, .h = h, .w = w, .c = c, .pitch = pitch};
    if (pthread_create(&job->thread, NULL, run, job)) {
        free(job);
        return NULL;
    }
    return job;
}

int noise_ahead_finish(noise_ahead *job, double *sigma, char *err, size_t len)
{
    pthread_join(job->thread, NULL);
    int rc = job->rc;
    if (rc)
        snprintf(err, len, "%s", job->err);
    else
        *sigma = job->sigma;
    free(job);
    return rc;
}
