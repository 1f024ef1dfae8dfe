/*
 * Error codes, their names, and the per-thread message of the last failure.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* One buffer per thread: messages never race and never allocate, so even
 * the out-of-memory path can report. */
static _Thread_local char last_message[512];

const char *gmmp_strerror(int code)
{
    switch (code) {
    case GMMP_OK: return "success";
    case GMMP_EINVAL: return "invalid argument";
    case GMMP_ENOMEM: return "out of memory";
    case GMMP_EDIM: return "sizes do not agree";
    case GMMP_EOVERFLOW: return "size overflow";
    case GMMP_ENONFINITE: return "NaN or infinity in input";
    case GMMP_ENOTSPD: return "matrix not symmetric positive definite";
    case GMMP_EIO: return "input/output error";
    case GMMP_EFORMAT: return "bad data format";
    case GMMP_EVERSION: return "unsupported format version";
    case GMMP_EINTERNAL: return "internal error";
    case GMMP_ECANCELED: return "canceled";
    default: return "unknown error";
    }
}

const char *gmmp_last_error(void)
{
    return last_message;
}

int gmmp__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

int gmmp__fail_nomem(void)
{
    static const char text[] = "out of memory";
    for (size_t i = 0; i < sizeof text; i++)
        last_message[i] = text[i];
    return GMMP_ENOMEM;
}
