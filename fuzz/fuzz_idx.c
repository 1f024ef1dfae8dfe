/*
 * libFuzzer target: the IDX reader, from memory and from a file (which
 * also goes through zlib for gzip data).
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzzutil.h"
#include "imageio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmpio_stack s;
    if (gmmpio_idx_parse(data, size, &s, NULL, 0) == 0) {
        if (!s.pixels || s.count == 0 || s.rows == 0 || s.cols == 0)
            fuzz_abort("IDX parse succeeded with an empty stack");
        gmmpio_stack_free(&s);
    }
    char path[64];
    if (fuzz_as_file(data, size, path, sizeof path) == 0) {
        char err[256];
        if (gmmpio_idx_read(path, &s, err, sizeof err) == 0)
            gmmpio_stack_free(&s);
        fuzz_close_file();
    }
    return 0;
}
