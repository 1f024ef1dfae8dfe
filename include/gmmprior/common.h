/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file common.h
 * @brief Versions, error codes, error messages and the allocator hook.
 *
 * Conventions shared by every part of the library:
 * - Every exported name starts with `gmmp_` (macros with `GMMP_`).
 * - Handles are opaque; each `*_create` has a `*_destroy` that accepts NULL.
 * - Functions that can fail return `int`: 0 (#GMMP_OK) on success, a
 *   negative `GMMP_E*` code on failure. After a failure, gmmp_last_error()
 *   returns a message for the calling thread that says what was wrong.
 * - On failure, output arguments are left untouched unless the function's
 *   documentation says otherwise, and handles passed in stay usable.
 * - Matrices are row-major arrays of `double`; an n x d matrix stores row i
 *   at offset i*d. Images carry a row pitch (elements between row starts),
 *   so a sub-rectangle of a larger buffer can be passed without copying.
 */
#ifndef GMMPRIOR_COMMON_H
#define GMMPRIOR_COMMON_H

#include <stddef.h>
#include <stdint.h>

/** @name Version of the headers
 * The library's soname is `libgmmprior.so.<GMMP_VERSION_MAJOR>`. Minor
 * versions only add functions; see docs/abi.md. */
/** @{ */
#define GMMP_VERSION_MAJOR 1 /**< incremented when the ABI breaks (never, we hope) */
#define GMMP_VERSION_MINOR 1 /**< incremented when functions are added */
#define GMMP_VERSION_PATCH 0 /**< incremented for fixes that change no interface */
/** The version as one number, major*10000 + minor*100 + patch. */
#define GMMP_VERSION_NUMBER \
    (GMMP_VERSION_MAJOR * 10000 + GMMP_VERSION_MINOR * 100 + GMMP_VERSION_PATCH)
/** @} */

/** Marks a declaration as part of the exported interface. */
#if defined(GMMP_BUILDING_LIBRARY) && defined(__GNUC__)
#define GMMP_API __attribute__((visibility("default")))
#else
#define GMMP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes. Success is 0, every failure is negative. */
enum gmmp_status {
    GMMP_OK = 0,            /**< success */
    GMMP_EINVAL = -1,       /**< invalid argument: NULL pointer, zero size, bad option value */
    GMMP_ENOMEM = -2,       /**< memory allocation failed */
    GMMP_EDIM = -3,         /**< sizes do not agree (patch larger than image, K > N, mismatched dimensions) */
    GMMP_EOVERFLOW = -4,    /**< a size computation would overflow */
    GMMP_ENONFINITE = -5,   /**< NaN or infinity in the input */
    GMMP_ENOTSPD = -6,      /**< a matrix is not symmetric positive definite */
    GMMP_EIO = -7,          /**< a file could not be opened, read or written */
    GMMP_EFORMAT = -8,      /**< data is not in the expected format: bad magic, truncated, corrupt */
    GMMP_EVERSION = -9,     /**< file format version not supported by this library */
    GMMP_EINTERNAL = -10,   /**< a LAPACK routine reported an unexpected failure (a bug: please report) */
    GMMP_ECANCELED = -11    /**< the progress callback asked to stop */
};

/**
 * Returns a short, static description of a return code, such as
 * "invalid argument". Never returns NULL; unknown codes get "unknown error".
 * Thread-safe.
 */
GMMP_API const char *gmmp_strerror(int code);

/**
 * Returns the message describing the last failure in the calling thread,
 * such as "patch 16x16 does not fit a 10x28 image". The text stays valid
 * until the next failing call in the same thread. Successful calls do not
 * clear it. Returns "" if nothing has failed in this thread. Thread-safe:
 * every thread has its own message.
 */
GMMP_API const char *gmmp_last_error(void);

/**
 * Returns the version of the loaded library as GMMP_VERSION_NUMBER, so a
 * program can check the library it runs with against the headers it was
 * compiled with. Thread-safe.
 */
GMMP_API unsigned gmmp_version(void);

/** Returns the loaded library's version as a string, e.g. "1.0.0". Thread-safe. */
GMMP_API const char *gmmp_version_string(void);

/**
 * Memory functions the library uses for everything it allocates itself
 * (BLAS and LAPACK allocate on their own). `alloc` returns NULL on failure;
 * memory it returns must be aligned for `double`.
 */
typedef struct gmmp_allocator {
    void *(*alloc)(size_t size, void *payload); /**< allocate size bytes, or return NULL */
    void (*release)(void *ptr, void *payload);  /**< free memory from alloc (never called with NULL) */
    void *payload;                              /**< passed to both functions */
} gmmp_allocator;

/**
 * Replaces the allocator (NULL restores malloc/free). The structure is
 * copied. Call it only while no handle exists (before the first, or after
 * destroying them all): memory must be released by the allocator that
 * allocated it. Not thread-safe: no other library call may run meanwhile.
 * @return GMMP_OK, or GMMP_EINVAL if one of the two functions is NULL.
 */
GMMP_API int gmmp_set_allocator(const gmmp_allocator *allocator);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_COMMON_H */
