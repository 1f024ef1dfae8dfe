/*
 * libFuzzer target: the model-file loader, from memory and from a file.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzzutil.h"
#include "gmmprior.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmp_model *m = NULL;
    if (gmmp_model_deserialize(&m, data, size) == GMMP_OK) {
        /* A loaded model must be usable and round-trip exactly. */
        size_t n = gmmp_model_serialized_size(m);
        uint8_t *again = fuzz_alloc(n);
        if (gmmp_model_serialize(m, again, n) != GMMP_OK || n != size ||
            fuzz_memcmp(again, data, n) != 0)
            fuzz_abort("model does not round-trip");
        fuzz_free(again);
        gmmp_model_destroy(m);
        m = NULL;
    }
    char path[64];
    if (fuzz_as_file(data, size, path, sizeof path) == 0) {
        if (gmmp_model_load(&m, path) == GMMP_OK)
            gmmp_model_destroy(m);
        fuzz_close_file();
    }
    return 0;
}
