/*
 * libFuzzer target: the PNG reader (libpng behind gmmpio_png_parse, grey
 * 8/16-bit, and gmmpio_png_parse_ex with colour), from memory and from a
 * file through the tools' sniffing reader.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzzutil.h"
#include "imageio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmpio_stack s;
    for (unsigned flags = 0; flags <= GMMPIO_READ_COLOUR; flags += GMMPIO_READ_COLOUR) {
        if (gmmpio_png_parse_ex(data, size, flags, &s, NULL, 0) != 0)
            continue;
        size_t ch = gmmpio_stack_channels(&s), n = s.rows * s.cols * ch;
        if (s.count != 1 || !s.pixels || s.rows == 0 || s.cols == 0 ||
            n > gmmpio_max_elements() || (ch != 1 && ch != 3) || (ch == 3 && !flags) ||
            (s.maxval != 0 && s.maxval != 65535))
            fuzz_abort("PNG parse succeeded without one bounded image");
        double top = s.maxval ? s.maxval : 255.0;
        for (size_t i = 0; i < n; i++)
            if (!(s.pixels[i] >= 0.0 && s.pixels[i] <= top))
                fuzz_abort("PNG pixel outside 0..maxval");
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
