/*
 * libFuzzer target: the PNG reader (libpng's simplified API behind
 * gmmpio_png_parse), from memory and from a file through the tools'
 * sniffing reader.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzzutil.h"
#include "imageio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmpio_stack s;
    if (gmmpio_png_parse(data, size, &s, NULL, 0) == 0) {
        if (s.count != 1 || !s.pixels || s.rows == 0 || s.cols == 0 ||
            s.rows * s.cols > gmmpio_max_elements())
            fuzz_abort("PNG parse succeeded without one bounded image");
        for (size_t i = 0; i < s.rows * s.cols; i++)
            if (!(s.pixels[i] >= 0.0 && s.pixels[i] <= 255.0))
                fuzz_abort("PNG pixel outside 0..255");
        gmmpio_stack_free(&s);
    }
    char path[64];
    if (fuzz_as_file(data, size, path, sizeof path) == 0) {
        char err[256];
        enum gmmpio_kind kind;
        if (gmmpio_read_images(path, &s, &kind, err, sizeof err) == 0)
            gmmpio_stack_free(&s);
        fuzz_close_file();
    }
    return 0;
}
