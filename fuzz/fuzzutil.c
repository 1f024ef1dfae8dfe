/*
 * Helpers for the fuzz targets.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "fuzzutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;

int fuzz_as_file(const uint8_t *data, size_t size, char *path, size_t len)
{
    /* An in-memory file: no disk traffic at fuzzing speed. */
    fd = memfd_create("fuzz-input", 0);
    if (fd < 0)
        return -1;
    size_t put = 0;
    while (put < size) {
        ssize_t w = write(fd, data + put, size - put);
        if (w <= 0) {
            fuzz_close_file();
            return -1;
        }
        put += (size_t)w;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return 0;
}

void fuzz_close_file(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
}

void *fuzz_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

void fuzz_free(void *p)
{
    free(p);
}

int fuzz_memcmp(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n);
}

void fuzz_abort(const char *why)
{
    fprintf(stderr, "fuzz target invariant broken: %s\n", why);
    abort();
}
