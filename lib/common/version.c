/*
 * Runtime version queries.
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#define GMMP_STR2(x) #x
#define GMMP_STR(x) GMMP_STR2(x)

unsigned gmmp_version(void)
{
    return GMMP_VERSION_NUMBER;
}

const char *gmmp_version_string(void)
{
    return GMMP_STR(GMMP_VERSION_MAJOR) "." GMMP_STR(GMMP_VERSION_MINOR) "." GMMP_STR(
        GMMP_VERSION_PATCH);
}
