/*
 * A program's choice, not the library's: transparent huge pages for the
 * library's large arrays. A K = 200 prior's covariances, factors and
 * eigenbases (6.5 MB each), its adapted copy, the statistics and the
 * plans are written whole soon after they are allocated, and a fast
 * restoration faulted in about 15,000 4 KiB pages, with TLB shootdowns
 * between its threads (docs/performance.md). gmmp-restore installs this
 * allocator (gmmp_set_allocator): malloc and free, and for every array
 * of 4 MiB or more, madvise(MADV_HUGEPAGE) on the whole 2 MiB pages
 * inside it. The advice outlives the array on the C library's heap, so
 * only a program that owns its process should make it; the library
 * itself never does.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_HUGE_PAGES_H
#define GMMP_HUGE_PAGES_H

/* Makes the library allocate through the allocator above. Where the
 * system has no such advice, the allocator is plain malloc and free. */
void huge_pages_for_large_arrays(void);

#endif /* GMMP_HUGE_PAGES_H */
