/*
 * Every allocation of the library goes through here, so that a caller can
 * supply its own allocator (and tests can make allocations fail).
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_alloc(size_t size, void *payload)
{
    (void)payload;
    return malloc(size);
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
    if (current.alloc == default_alloc)
        return calloc(bytes ? bytes : 1, 1);
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
