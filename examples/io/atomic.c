/*
 * The tools' and examples' atomic writes and safe opens: the library's own
 * code (lib/common/atomic_file.c), compiled again under the gmmpio_ names so that
 * there is one implementation and no clash with the library's (hidden)
 * symbols in static builds.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "imageio.h"

#define gmmp__atomic_write gmmpio_atomic_write
#define gmmp__atomic_check gmmpio_atomic_check
#define gmmp__open_input gmmpio_open_input
#define gmmp__reason gmmpio_reason
#include "atomic_file.c"
