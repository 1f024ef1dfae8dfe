/*
 * Huge pages for the library's large arrays (huge_pages.h).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE /* madvise */
#include "huge_pages.h"

#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "gmmprior.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)

static void *alloc_advised(size_t size, void *payload)
{
    (void)payload;
    void *ptr = malloc(size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (ptr && size >= 2 * HUGE_PAGE) {
        uintptr_t start = ((uintptr_t)ptr + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t end = ((uintptr_t)ptr + size) & ~(HUGE_PAGE - 1);
        /* Advice: a kernel without transparent huge pages refuses it,
         * and the array is as good as without. */
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
#endif
    return ptr;
}

static void release(void *ptr, void *payload)
{
    (void)payload;
    free(ptr);
}

void huge_pages_for_large_arrays(void)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    static const gmmp_allocator advised = {alloc_advised, release, NULL};
    (void)gmmp_set_allocator(&advised);
#endif
}
