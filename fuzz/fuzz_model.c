/*
 * libFuzzer target: the model-file loader, from memory and from a file.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzzutil.h"
#include "gmmprior.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gmmp_model *m = NULL;
    if (gmmp_model_deserialize(&m, data, size) == GMMP_OK) {
        /* A loaded model must be usable and round-trip exactly. A file of
         * version 1 (no patch description), or of version 3 without
         * eigenpairs, is written back as version 2, which must then
         * round-trip exactly itself. */
        size_t n = gmmp_model_serialized_size(m);
        uint8_t *again = fuzz_alloc(n);
        if (gmmp_model_serialize(m, again, n) != GMMP_OK)
            fuzz_abort("a loaded model does not serialize");
        uint32_t version = (uint32_t)data[8] | (uint32_t)data[9] << 8 |
                           (uint32_t)data[10] << 16 | (uint32_t)data[11] << 24;
        if (version == 2 || (version == 3 && (data[12] & 1))) {
            if (n != size || fuzz_memcmp(again, data, n) != 0)
                fuzz_abort("model does not round-trip");
        } else {
            gmmp_model *m2 = NULL;
            if (gmmp_model_deserialize(&m2, again, n) != GMMP_OK)
                fuzz_abort("an upgraded model does not load");
            size_t n2 = gmmp_model_serialized_size(m2);
            uint8_t *third = fuzz_alloc(n2);
            if (gmmp_model_serialize(m2, third, n2) != GMMP_OK || n2 != n ||
                fuzz_memcmp(third, again, n) != 0)
                fuzz_abort("an upgraded model does not round-trip");
            fuzz_free(third);
            gmmp_model_destroy(m2);
        }
        fuzz_free(again);
        gmmp_model_destroy(m);
        m = NULL;
    }
    char path[64];
    if (fuzz_as_file(data, size, path, sizeof path) == 0) {
        /* On two threads, the same model or the same failure and message. */
        int rc = gmmp_model_load(&m, path);
        char message[600];
        snprintf(message, sizeof message, "%s", gmmp_last_error());
        gmmp_options *two = NULL;
        gmmp_model *m2 = NULL;
        if (gmmp_options_create(&two) == GMMP_OK &&
            gmmp_options_set_int(two, GMMP_OPT_THREADS, 2) == GMMP_OK) {
            int rc2 = gmmp_model_load_with(&m2, path, two);
            if (rc2 != rc || (rc && strcmp(message, gmmp_last_error()) != 0))
                fuzz_abort("loading on two threads fails otherwise than on one");
            if (!rc) {
                size_t n = gmmp_model_serialized_size(m), n2 = gmmp_model_serialized_size(m2);
                uint8_t *a = fuzz_alloc(n), *b = fuzz_alloc(n2);
                if (n != n2 || gmmp_model_serialize(m, a, n) != GMMP_OK ||
                    gmmp_model_serialize(m2, b, n2) != GMMP_OK || fuzz_memcmp(a, b, n) != 0)
                    fuzz_abort("loading on two threads gives another model");
                fuzz_free(a);
                fuzz_free(b);
            }
        }
        gmmp_options_destroy(two);
        gmmp_model_destroy(m2);
        gmmp_model_destroy(m);
        fuzz_close_file();
    }
    return 0;
}
