/*
 * libFuzzer target: the PGM reader, from memory and from a file.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzzutil.h"
#include "imageio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmpio_stack s;
    if (gmmpio_pgm_parse(data, size, &s, NULL, 0) == 0) {
        if (s.count != 1 || !s.pixels)
            fuzz_abort("PGM parse succeeded without one image");
        gmmpio_stack_free(&s);
    }
    char path[64];
    if (fuzz_as_file(data, size, path, sizeof path) == 0) {
        char err[256];
        if (gmmpio_pgm_read(path, &s, err, sizeof err) == 0)
            gmmpio_stack_free(&s);
        fuzz_close_file();
    }
    return 0;
}
