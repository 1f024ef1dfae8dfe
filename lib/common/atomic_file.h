/*
 * Safe file access shared by the library (model files) and, compiled a
 * second time under other names (examples/io/atomic.c), by the tools and
 * examples: atomic replacement of an output file, and opening an input
 * that is refused unless it is a regular file. Not installed.
 *
 * Depends on the C library only (POSIX); messages go into a caller's
 * buffer, never through the library's error state or allocator.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_ATOMIC_FILE_H
#define GMMP_ATOMIC_FILE_H

#include <stddef.h>

/* Replaces the file at `path` by `size` bytes of `data`, atomically:
 * the bytes go to a new, uniquely named temporary file in the target's
 * directory (created with O_EXCL, never through a symlink; unnamed with
 * O_TMPFILE where the file system allows), which is fsync'ed and then
 * renamed over the target. Readers see the old file or the new one, never
 * a partial one; on any failure the old file is untouched and the
 * temporary is removed.
 *   - A symlink is written through: its target is replaced, the link kept.
 *   - An existing target keeps its permission bits (and, for root, owner).
 *   - A target that exists but is not a regular file (a device such as
 *     /dev/null, a FIFO, a directory, a socket) is refused.
 *   - Names up to NAME_MAX (255) bytes work: the temporary's name does not
 *     depend on the target's.
 * Returns 0, or -1 with a message naming the file and the reason in err. */
int gmmp__atomic_write(const char *path, const void *data, size_t size, char *err,
                       size_t errlen);

/* Checks now, before long work, that atomic_write(path) could succeed:
 * the target is absent or a regular file (through symlinks) and a
 * temporary can be created in its directory (it is removed at once). */
int gmmp__atomic_check(const char *path, char *err, size_t errlen);

/* Opens an input file for reading without blocking on a FIFO: refuses
 * anything but a regular file (FIFO, directory, device, socket) with a
 * message saying which. Returns the descriptor (blocking mode, close on
 * exec), or -1 with a message in err. If size is not NULL it receives the
 * file's size. */
int gmmp__open_input(const char *path, long long *size, char *err, size_t errlen);

/* The system's reason for errno value e, in buf (thread-safe, unlike
 * strerror); returns the text. */
const char *gmmp__reason(int e, char *buf, size_t len);

#endif
