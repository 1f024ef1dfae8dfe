/*
 * Every allocation of the library goes through here, so that a caller can
 * supply its own allocator (and tests can make allocations fail).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "internal.h"

/* Arrays of megabytes (a K = 200 prior's covariances, factors and
 * eigenbases, 6.5 MB each; a restoration's plans and statistics) are
 * written whole soon after they are allocated, and every 4 KiB page then
 * costs a fault: about a tenth of a fast restoration's time
 * (docs/performance.md). Where the system offers transparent huge pages
 * on request, the whole 2 MiB pages inside such an array ask for them:
 * one fault for 512. The advice concerns only this memory, and a system
 * without it simply ignores it. */
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void advise_huge_pages(void *ptr, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t start = ((uintptr_t)ptr + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)ptr + size) & ~(HUGE_PAGE - 1);
    if (ptr && end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)ptr;
    (void)size;
#endif
}

static void *default_alloc(size_t size, void *payload)
{
    (void)payload;
    void *ptr = malloc(size);
    if (size >= 2 * HUGE_PAGE)
        advise_huge_pages(ptr, size);
    return ptr;
}

static void default_release(void *ptr, void *payload)
{
    (void)payload;
    free(ptr);
}

static gmmp_allocator current = {default_alloc, default_release, NULL};

int gmmp_set_allocator(const gmmp_allocator *allocator)
{
    if (!allocator) {
        current = (gmmp_allocator){default_alloc, default_release, NULL};
        return GMMP_OK;
    }
    if (!allocator->alloc || !allocator->release)
        return gmmp__fail(GMMP_EINVAL, "allocator needs both alloc and release functions");
    current = *allocator;
    return GMMP_OK;
}

void *gmmp__alloc(size_t size)
{
    /* A zero-byte request still returns a distinct pointer, as callers
     * treat NULL as failure. */
    return current.alloc(size ? size : 1, current.payload);
}

void *gmmp__alloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (!gmmp__mul_ok(n, size, &bytes))
        return NULL;
    return gmmp__alloc(bytes);
}

void *gmmp__calloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (!gmmp__mul_ok(n, size, &bytes))
        return NULL;
    /* The C library's calloc knows when fresh pages are zero already: a
     * large array mostly left zero (an eigenbasis cache holding r of d
     * rows, 6.5 MB for EPLL's prior) is then never touched, where a memset
     * faulted in every page. A caller's allocator gets the memset. */
    if (current.alloc == default_alloc) {
        void *ptr = calloc(bytes ? bytes : 1, 1);
        if (bytes >= 2 * HUGE_PAGE)
            advise_huge_pages(ptr, bytes);
        return ptr;
    }
    void *p = gmmp__alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void gmmp__free(void *ptr)
{
    if (ptr)
        current.release(ptr, current.payload);
}
