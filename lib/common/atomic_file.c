/*
 * Atomic file replacement and safe input opening (see atomic_file.h).
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int af_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *gmmp__reason(int e, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, len);
#else
    if (strerror_r(e, buf, len) != 0)
        snprintf(buf, len, "error %d", e);
    return buf;
#endif
}

static const char *af_kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

typedef struct af_target {
    char path[PATH_MAX]; /* the file to replace (a symlink's target) */
    char dir[PATH_MAX];  /* its directory */
    int exists;
    struct stat st;
} af_target;

/* Where the bytes go: the path itself, or what a symlink points to. */
static int af_resolve(const char *path, af_target *t, char *err, size_t errlen)
{
    char why[128];
    if (!path || !*path)
        return af_fail(err, errlen, "empty output file name");
    if (strlen(path) >= PATH_MAX)
        return af_fail(err, errlen, "cannot write %.64s...: %s", path,
                       gmmp__reason(ENAMETOOLONG, why, sizeof why));
    struct stat lst;
    t->exists = 0;
    if (lstat(path, &lst) != 0) {
        int e = errno;
        if (e != ENOENT)
            return af_fail(err, errlen, "cannot write %s: %s", path, gmmp__reason(e, why, sizeof why));
        snprintf(t->path, sizeof t->path, "%s", path);
    } else if (S_ISLNK(lst.st_mode)) {
        /* /dev/stdout and the like: a descriptor, not a file to replace. */
        char link[64];
        ssize_t n = readlink(path, link, sizeof link - 1);
        link[n > 0 ? n : 0] = '\0';
        if (strncmp(link, "/proc/", 6) == 0 || strncmp(link, "/dev/fd/", 8) == 0)
            return af_fail(err, errlen, "cannot write %s: it is a link to an open descriptor "
                                        "(%s), not a file; name a file instead",
                           path, link);
        if (!realpath(path, t->path)) {
            int e = errno;
            return af_fail(err, errlen, "cannot write %s: a symbolic link whose target cannot be "
                                        "resolved (%s)",
                           path, gmmp__reason(e, why, sizeof why));
        }
        if (stat(t->path, &t->st) == 0)
            t->exists = 1;
    } else {
        snprintf(t->path, sizeof t->path, "%s", path);
        t->st = lst;
        t->exists = 1;
    }
    if (t->exists && !S_ISREG(t->st.st_mode))
        return af_fail(err, errlen, "cannot write %s: it is %s, not a regular file; refusing to "
                                    "replace it",
                       path, af_kind(t->st.st_mode));
    const char *slash = strrchr(t->path, '/');
    if (!slash)
        snprintf(t->dir, sizeof t->dir, ".");
    else if (slash == t->path)
        snprintf(t->dir, sizeof t->dir, "/");
    else
        snprintf(t->dir, sizeof t->dir, "%.*s", (int)(slash - t->path), t->path);
    if (!slash && t->path[0] == '\0')
        return af_fail(err, errlen, "empty output file name");
    if (slash && slash[1] == '\0')
        return af_fail(err, errlen, "cannot write %s: names a directory", path);
    return 0;
}

/* A fresh name ".gmmp-XXXXXXXXXXXX.tmp" in dir (not yet created). */
static void af_temp_name(const af_target *t, char *out, size_t len, unsigned attempt)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^
                 (uint64_t)(uintptr_t)&ts ^ (uint64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0xBF58476D1CE4E5B9ull ^
                 attempt;
    x ^= x >> 31;
    snprintf(out, len, "%s/.gmmp-%012llx.tmp", t->dir, (unsigned long long)(x & 0xFFFFFFFFFFFFull));
}

/* Creates a new named temporary with O_EXCL (never follows a symlink). */
static int af_create_named(const af_target *t, mode_t mode, char *tmp, size_t len)
{
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        af_temp_name(t, tmp, len, attempt);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static int af_write_all(int fd, const unsigned char *p, size_t size)
{
    while (size > 0) {
        size_t want = size > ((size_t)1 << 30) ? ((size_t)1 << 30) : size;
        ssize_t w = write(fd, p, want);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        size -= (size_t)w;
    }
    return 0;
}

static void af_sync_dir(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        (void)fsync(d);
        close(d);
    }
}

int gmmp__atomic_write(const char *path, const void *data, size_t size, char *err,
                       size_t errlen)
{
    af_target t;
    char why[128], tmp[PATH_MAX + 32] = "";
    if (af_resolve(path, &t, err, errlen))
        return -1;
    mode_t mode = t.exists ? (t.st.st_mode & 07777) : 0666; /* new files: 0666 & ~umask */
    int fd = -1, named = 0, e = 0, unnamed_ok = 1;
    const char *step;
retry:
    step = "create a temporary file in the directory of";
#ifdef O_TMPFILE
    /* Unnamed until complete: a crash (even SIGKILL) leaves nothing. */
    if (unnamed_ok)
        fd = open(t.dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
#endif
    if (fd < 0) {
        fd = af_create_named(&t, mode, tmp, sizeof tmp);
        named = fd >= 0;
    }
    if (fd < 0) {
        e = errno;
        goto fail;
    }
    step = "write";
    if (af_write_all(fd, data, size) != 0) {
        e = errno;
        goto fail;
    }
    if (t.exists) {
        /* Keep the old file's mode (and owner where allowed). */
        if (geteuid() == 0)
            (void)fchown(fd, t.st.st_uid, t.st.st_gid);
        (void)fchmod(fd, mode);
    }
    step = "flush";
    if (fsync(fd) != 0) {
        e = errno;
        goto fail;
    }
    if (!named) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        step = "name the temporary file in the directory of";
        for (unsigned attempt = 0; attempt < 100; attempt++) {
            af_temp_name(&t, tmp, sizeof tmp, attempt);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
                named = 1;
                break;
            }
            if (errno != EEXIST)
                break;
        }
        if (!named) {
            /* No /proc, say: start again with a named temporary. */
            close(fd);
            fd = -1;
            tmp[0] = '\0';
            unnamed_ok = 0;
            goto retry;
        }
    }
    step = "finish";
    if (close(fd) != 0) {
        fd = -1;
        e = errno;
        goto fail;
    }
    fd = -1;
    step = "rename the temporary file onto";
    if (rename(tmp, t.path) != 0) {
        e = errno;
        goto fail;
    }
    af_sync_dir(t.dir);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (named && tmp[0])
        unlink(tmp);
    return af_fail(err, errlen, "cannot %s %s: %s", step, path, gmmp__reason(e, why, sizeof why));
}

int gmmp__atomic_check(const char *path, char *err, size_t errlen)
{
    af_target t;
    char why[128], tmp[PATH_MAX + 32];
    if (af_resolve(path, &t, err, errlen))
        return -1;
    int fd = af_create_named(&t, 0600, tmp, sizeof tmp);
    if (fd < 0) {
        int e = errno;
        return af_fail(err, errlen, "cannot write %s: %s", path, gmmp__reason(e, why, sizeof why));
    }
    close(fd);
    unlink(tmp);
    return 0;
}

int gmmp__open_input(const char *path, long long *size, char *err, size_t errlen)
{
    char why[128];
    if (!path || !*path)
        return af_fail(err, errlen, "empty input file name");
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return af_fail(err, errlen, "cannot open %s: %s", path, gmmp__reason(e, why, sizeof why));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return af_fail(err, errlen, "cannot read %s: %s", path, gmmp__reason(e, why, sizeof why));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return af_fail(err, errlen, "cannot read %s: it is %s, not a regular file", path,
                       af_kind(st.st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return af_fail(err, errlen, "cannot read %s: %s", path, gmmp__reason(e, why, sizeof why));
    }
    if (size)
        *size = (long long)st.st_size;
    return fd;
}
