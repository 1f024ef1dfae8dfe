/*
 * Helpers for the fuzz targets: inputs as files (an in-memory file on
 * Linux), and failure reporting.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_FUZZUTIL_H
#define GMMP_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Makes the input readable as a file; path receives its name. */
int fuzz_as_file(const uint8_t *data, size_t size, char *path, size_t len);
void fuzz_close_file(void);

void *fuzz_alloc(size_t n);
void fuzz_free(void *p);
int fuzz_memcmp(const void *a, const void *b, size_t n);
_Noreturn void fuzz_abort(const char *why);

#endif
