/*
 * Model files: the format of docs/model-format.md, written and read byte
 * by byte so that it is the same on every host.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"

#include "eigen.h"
#include "internal.h"
#include "model.h"
#include "options_internal.h"
#include "workers.h"

static const unsigned char magic[8] = {0x89, 'G', 'M', 'P', '\r', '\n', 0x1A, '\n'};
/* Version 1: HEADER bytes, the parameters, TRAILER. Version 2 inserts
 * the patch description after the header: PATCH_SECTION bytes (patch
 * height, width, channels, flags, description length, reserved; u32
 * each), then the description padded with zeros to a multiple of 8.
 * Version 3 may add, with header flag SPECTRA, the leading eigenpairs
 * after the parameters: SPECTRA_HEAD bytes (their number r, reserved;
 * u32 each), then K x r eigenvalues and K x r x d eigenvector entries.
 * The library writes version 2 when a model has no eigenpairs to carry,
 * so that such files stay readable by the libraries before version 3. */
enum { HEADER = 32, TRAILER = 4, PATCH_SECTION = 24, SPECTRA_HEAD = 8 };
enum { PATCH_KNOWN = 1, PATCH_REMOVE_MEAN = 2 };
enum { SPECTRA = 1 };

static size_t pad8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* CRC-32 (IEEE 802.3, as zlib's crc32), eight bytes at a time from eight
 * tables built once ("slicing by 8", Kounavis and Berry, 2005): the
 * shipped K = 200 prior is 6.6 MB, whose byte-at-a-time check was a tenth
 * of a fast restoration (the table lookups of one byte wait for the
 * previous byte's; eight independent lookups per step do not). The bytes
 * are combined explicitly, so the result does not depend on the host's
 * byte order. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[0][b] = c;
    }
    /* Table t advances a byte through t more zero bytes. */
    for (int t = 1; t < 8; t++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t c = crc_table[t - 1][b];
            crc_table[t][b] = (c >> 8) ^ crc_table[0][c & 0xFFu];
        }
}

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    pthread_once(&crc_once, crc_table_init);
    uint32_t(*t)[256] = crc_table;
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^
              t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
    return ~crc;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_doubles(unsigned char *p, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        put_u64(p + 8 * i, bits);
    }
}

static void get_doubles(const unsigned char *p, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = get_u64(p + 8 * i);
        memcpy(&x[i], &bits, sizeof bits);
    }
}

/* Number of parameter doubles, or 0 if the sizes overflow. */
static size_t param_count(uint64_t K, uint64_t d)
{
    size_t kd, kdd, total;
    if (K == 0 || d == 0 || K > SIZE_MAX || d > SIZE_MAX || !gmmp__mul_ok(K, d, &kd) ||
        !gmmp__mul_ok(kd, d, &kdd) || kd > SIZE_MAX - kdd || K > SIZE_MAX - kd - kdd)
        return 0;
    total = K + kd + kdd;
    return total > (SIZE_MAX - HEADER - TRAILER) / 8 ? 0 : total;
}

/* GMMP_EVERSION for a version this library does not read, the file's
 * path (or NULL) named; GMMP_OK otherwise. */
static int check_version(uint32_t version, const char *path)
{
    if (version == 0 || version > GMMP_MODEL_FORMAT_VERSION)
        return gmmp__fail(GMMP_EVERSION, "%s%smodel format version %u; this library reads 1 to %d",
                          path ? path : "", path ? ": " : "", version,
                          GMMP_MODEL_FORMAT_VERSION);
    return GMMP_OK;
}

static size_t description_length(const gmmp_model *m)
{
    return m->description ? strlen(m->description) : 0;
}

/* Bytes of a model's eigenpair section (0 without one). */
static size_t spectra_size(const gmmp_model *m)
{
    return m->spectra_rank ? SPECTRA_HEAD + 8 * m->K * m->spectra_rank * (m->d + 1) : 0;
}

size_t gmmp_model_serialized_size(const gmmp_model *m)
{
    return m ? HEADER + PATCH_SECTION + pad8(description_length(m)) +
                   8 * param_count(m->K, m->d) + spectra_size(m) + TRAILER
             : 0;
}

int gmmp_model_serialize(const gmmp_model *m, void *buf, size_t size)
{
    if (!m || !buf)
        return gmmp__fail(GMMP_EINVAL, "model or buffer is NULL");
    size_t need = gmmp_model_serialized_size(m);
    if (size < need)
        return gmmp__fail(GMMP_EDIM, "buffer of %zu bytes is too small for %zu", size, need);
    unsigned char *p = buf;
    const size_t K = m->K, d = m->d;
    const size_t r = m->spectra_rank;
    memcpy(p, magic, sizeof magic);
    put_u32(p + 8, r ? 3 : 2);
    put_u32(p + 12, r ? SPECTRA : 0);
    put_u64(p + 16, K);
    put_u64(p + 24, d);
    unsigned char *q = p + HEADER;
    size_t len = description_length(m);
    uint32_t flags = (m->channels ? PATCH_KNOWN : 0) | (m->remove_mean ? PATCH_REMOVE_MEAN : 0);
    put_u32(q, (uint32_t)m->patch_h);
    put_u32(q + 4, (uint32_t)m->patch_w);
    put_u32(q + 8, (uint32_t)m->channels);
    put_u32(q + 12, flags);
    put_u32(q + 16, (uint32_t)len);
    put_u32(q + 20, 0);
    q += PATCH_SECTION;
    memset(q, 0, pad8(len));
    if (len)
        memcpy(q, m->description, len);
    q += pad8(len);
    put_doubles(q, m->weights, K);
    put_doubles(q + 8 * K, m->means, K * d);
    put_doubles(q + 8 * (K + K * d), m->covs, K * d * d);
    if (r) {
        q += 8 * (K + K * d + K * d * d);
        put_u32(q, (uint32_t)r);
        put_u32(q + 4, 0);
        put_doubles(q + SPECTRA_HEAD, m->spectra_lambda, K * r);
        put_doubles(q + SPECTRA_HEAD + 8 * K * r, m->spectra_ut, K * r * d);
    }
    put_u32(p + need - TRAILER, crc32_update(0, p, need - TRAILER));
    return GMMP_OK;
}

/* Where a model's parts are in its serialized form (parse_layout). */
typedef struct layout {
    uint32_t version, pflags, ph, pw, channels, len;
    size_t K, d, extra, base, r, need;
} layout;

static int parse_layout(const unsigned char *p, size_t size, layout *L)
{
    if (size < HEADER + TRAILER)
        return gmmp__fail(GMMP_EFORMAT, "model data truncated: %zu bytes, a header needs %d",
                          size, HEADER + TRAILER);
    if (memcmp(p, magic, sizeof magic) != 0)
        return gmmp__fail(GMMP_EFORMAT, "not a libgmmprior model (bad magic)");
    uint32_t version = get_u32(p + 8), flags = get_u32(p + 12);
    if (check_version(version, NULL))
        return GMMP_EVERSION;
    if (flags & ~(uint32_t)(version >= 3 ? SPECTRA : 0))
        return gmmp__fail(GMMP_EFORMAT, "model header has unknown flags 0x%x", flags);
    uint64_t K = get_u64(p + 16), d = get_u64(p + 24);
    size_t count = param_count(K, d);
    if (count == 0)
        return gmmp__fail(GMMP_EFORMAT, "model header has impossible sizes K=%llu, d=%llu",
                          (unsigned long long)K, (unsigned long long)d);
    /* Version 2's patch section. */
    size_t extra = 0;
    uint32_t ph = 0, pw = 0, channels = 0, pflags = 0, len = 0;
    if (version >= 2) {
        if (size < HEADER + PATCH_SECTION + TRAILER)
            return gmmp__fail(GMMP_EFORMAT, "model data truncated in its patch description");
        const unsigned char *q = p + HEADER;
        ph = get_u32(q);
        pw = get_u32(q + 4);
        channels = get_u32(q + 8);
        pflags = get_u32(q + 12);
        len = get_u32(q + 16);
        if (get_u32(q + 20) != 0 || (pflags & ~(uint32_t)(PATCH_KNOWN | PATCH_REMOVE_MEAN)))
            return gmmp__fail(GMMP_EFORMAT, "model patch description has unknown flags");
        if (len > GMMP_MODEL_DESCRIPTION_MAX)
            return gmmp__fail(GMMP_EFORMAT, "model description of %u bytes exceeds %d", len,
                              GMMP_MODEL_DESCRIPTION_MAX);
        extra = PATCH_SECTION + pad8(len);
    }
    if (count > (SIZE_MAX - HEADER - TRAILER - extra) / 8)
        return gmmp__fail(GMMP_EFORMAT, "model header has impossible sizes K=%llu, d=%llu",
                          (unsigned long long)K, (unsigned long long)d);
    /* Version 3's eigenpairs: r, read where the parameters end, sizes
     * the rest (at most K d (d + 1) doubles, fewer than the parameters). */
    size_t r = 0, spectra = 0, base = HEADER + extra + 8 * count;
    if (flags & SPECTRA) {
        /* base may be anything up to SIZE_MAX - TRAILER: compared by
         * subtraction, so that a header claiming the address space cannot
         * wrap the sum and send the read in front of the buffer. */
        if (base > size || size - base < SPECTRA_HEAD + TRAILER)
            return gmmp__fail(GMMP_EFORMAT, "model data truncated before its eigenpairs");
        r = get_u32(p + base);
        if (r == 0 || r > d || get_u32(p + base + 4) != 0)
            return gmmp__fail(GMMP_EFORMAT,
                              "model eigenpair section is invalid: %zu pairs per component for "
                              "d=%llu, reserved word %u",
                              r, (unsigned long long)d, get_u32(p + base + 4));
        if (count > (SIZE_MAX - base - SPECTRA_HEAD - TRAILER) / 16)
            return gmmp__fail(GMMP_EFORMAT, "model header has impossible sizes K=%llu, d=%llu",
                              (unsigned long long)K, (unsigned long long)d);
        spectra = SPECTRA_HEAD + 8 * (size_t)K * r * ((size_t)d + 1);
    }
    size_t need = base + spectra + TRAILER;
    if (size != need)
        return gmmp__fail(GMMP_EFORMAT, "model data is %zu bytes, K=%llu and d=%llu need %zu%s",
                          size, (unsigned long long)K, (unsigned long long)d, need,
                          size < need ? " (truncated)" : "");
    *L = (layout){.version = version, .pflags = pflags, .ph = ph, .pw = pw,
                  .channels = channels, .len = len, .K = K, .d = d, .extra = extra,
                  .base = base, .r = r, .need = need};
    return GMMP_OK;
}

/* The description's text (len bytes, then zeros to a multiple of 8). */
static const unsigned char *description_text(const unsigned char *p)
{
    return p + HEADER + PATCH_SECTION;
}

/* The patch description and the text of a decoded model. */
static int finish_fields(gmmp_model *m, const unsigned char *p, const layout *L)
{
    if ((L->pflags & PATCH_KNOWN) &&
        gmmp_model_set_patch(m, L->ph, L->pw, L->channels, (L->pflags & PATCH_REMOVE_MEAN) != 0) !=
            GMMP_OK)
        return GMMP_EFORMAT; /* the message says which sizes disagree */
    if (L->len) {
        char *copy = gmmp__alloc(L->len + 1);
        if (!copy)
            return gmmp__fail_nomem();
        memcpy(copy, description_text(p), L->len);
        copy[L->len] = 0;
        m->description = copy;
    }
    return GMMP_OK;
}

/* The checks before decoding: the checksum (unless `checked`, already),
 * the description, the patch fields. */
static int check_fields(const unsigned char *p, const layout *L, bool checked)
{
    uint32_t stored = get_u32(p + L->need - TRAILER);
    uint32_t actual = checked ? stored : crc32_update(0, p, L->need - TRAILER);
    if (stored != actual)
        return gmmp__fail(GMMP_EFORMAT, "model data is corrupt: checksum %08x, expected %08x",
                          actual, stored);
    const unsigned char *text = description_text(p);
    if (L->len && memchr(text, 0, L->len))
        return gmmp__fail(GMMP_EFORMAT, "model description holds a NUL byte");
    for (size_t i = L->len; L->version >= 2 && i < pad8(L->len); i++)
        if (text[i] != 0)
            return gmmp__fail(GMMP_EFORMAT, "model description padding is not zero");
    if (!(L->pflags & PATCH_KNOWN) &&
        (L->ph || L->pw || L->channels || (L->pflags & PATCH_REMOVE_MEAN)))
        return gmmp__fail(GMMP_EFORMAT, "model patch fields are set but marked unknown");
    return GMMP_OK;
}

/* Decoded in one thread, every check in the format's order. */
static int decode_serial(const unsigned char *p, const layout *L, gmmp_model **out)
{
    int rc = check_fields(p, L, false);
    if (rc)
        return rc;
    const size_t K = L->K, d = L->d, r = L->r;
    /* Decoded straight into the model (the parameters of EPLL's prior are
     * 6.6 MB: a copy more was a sixth of loading it). */
    gmmp_model *m = NULL;
    rc = gmmp__model_alloc(&m, K, d);
    if (rc == GMMP_OK) {
        const unsigned char *q = p + HEADER + L->extra;
        get_doubles(q, m->weights, K);
        get_doubles(q + 8 * K, m->means, K * d);
        get_doubles(q + 8 * (K + K * d), m->covs, K * d * d);
        rc = gmmp__model_finish(m);
    }
    if (rc == GMMP_OK && r) {
        const unsigned char *q = p + L->base + SPECTRA_HEAD;
        m->spectra_lambda = gmmp__alloc_array(K * r, sizeof(double));
        m->spectra_ut = gmmp__alloc_array(K * r, d * sizeof(double));
        if (!m->spectra_lambda || !m->spectra_ut) {
            rc = gmmp__fail_nomem();
        } else {
            get_doubles(q, m->spectra_lambda, K * r);
            get_doubles(q + 8 * K * r, m->spectra_ut, K * r * d);
            m->spectra_rank = r;
            rc = gmmp__eigen_adopt(m, r, m->spectra_lambda, m->spectra_ut);
        }
    }
    if (rc == GMMP_OK)
        rc = finish_fields(m, p, L);
    if (rc) {
        gmmp_model_destroy(m);
        if (rc != GMMP_ENOMEM) {
            char inner[400];
            snprintf(inner, sizeof inner, "%s", gmmp_last_error());
            gmmp__fail(rc, "model file holds an invalid model: %s", inner);
        }
        return rc;
    }
    *out = m;
    return GMMP_OK;
}

/* Decoding on several threads: the checksum in one piece, each
 * component's parameters, checks, factor and eigenpairs in one piece
 * each, claimed by whichever thread is free. Loading EPLL's K = 200 prior
 * (8.3 MB) had been a tenth of a fast restoration on one core. The
 * pieces' messages only say that something failed: on any failure the
 * caller decodes again in one thread, whose checks name the problem in
 * the format's order. */
typedef struct decode_job {
    const unsigned char *p;
    const layout *L;
    gmmp_model *m;
    struct gmmp__eigen *e; /* with stored eigenpairs */
    bool checksum_ok;
    gmmp__queue queue;
} decode_job;

static void *decode_worker(void *arg)
{
    decode_job *job = *(decode_job **)arg;
    const layout *L = job->L;
    const size_t K = L->K, d = L->d, r = L->r;
    gmmp_model *m = job->m;
    double *scratch = gmmp__alloc_array(d * d + (r ? gmmp__eigen_adopt_scratch(r, d) : 0),
                                        sizeof(double));
    if (!scratch) {
        gmmp__queue_fail(&job->queue, gmmp__fail_nomem());
        return NULL;
    }
    const unsigned char *q = job->p + HEADER + L->extra, *sq = job->p + L->base + SPECTRA_HEAD;
    size_t piece;
    while (gmmp__queue_claim(&job->queue, &piece)) {
        int rc = GMMP_OK;
        if (piece == 0) {
            job->checksum_ok = get_u32(job->p + L->need - TRAILER) ==
                               crc32_update(0, job->p, L->need - TRAILER);
        } else {
            const size_t k = piece - 1;
            get_doubles(q + 8 * (K + k * d), m->means + k * d, d);
            get_doubles(q + 8 * (K + K * d + k * d * d), m->covs + k * d * d, d * d);
            rc = gmmp__model_finish_component(m, k, scratch);
            if (rc == GMMP_OK && r) {
                double *lk = m->spectra_lambda + k * r, *uk = m->spectra_ut + k * r * d;
                get_doubles(sq + 8 * k * r, lk, r);
                get_doubles(sq + 8 * (K * r + k * r * d), uk, r * d);
                rc = gmmp__eigen_adopt_one(m, job->e, k, lk, uk, scratch + d * d);
            }
        }
        if (rc)
            gmmp__queue_fail(&job->queue, rc);
    }
    gmmp__free(scratch);
    return NULL;
}

/* GMMP_OK with the model, or a failure whose message the caller replaces
 * (decode_serial). */
static int decode_parallel(const unsigned char *p, const layout *L, gmmp__exec_threads threads,
                           gmmp_model **out)
{
    const size_t K = L->K, d = L->d, r = L->r;
    gmmp_model *m = NULL;
    decode_job job = {.p = p, .L = L};
    int rc = gmmp__model_alloc(&m, K, d);
    if (rc == GMMP_OK && r) {
        m->spectra_lambda = gmmp__alloc_array(K * r, sizeof(double));
        m->spectra_ut = gmmp__alloc_array(K * r, d * sizeof(double));
        rc = m->spectra_lambda && m->spectra_ut ? gmmp__eigen_adopt_begin(m, r, &job.e)
                                                : GMMP_ENOMEM;
    }
    if (rc == GMMP_OK) {
        /* The weights first: each component's check takes its log weight. */
        get_doubles(p + HEADER + L->extra, m->weights, K);
        job.m = m;
        rc = gmmp__run_queue(&job.queue, K + 1, decode_worker, &job, threads);
    }
    if (rc == GMMP_OK && !job.checksum_ok)
        rc = GMMP_EFORMAT;
    if (rc == GMMP_OK && !(rc = gmmp__model_finish_weights(m)) &&
        !(rc = check_fields(p, L, true)) && r) {
        m->spectra_rank = r;
        gmmp__eigen_adopt_end(m, job.e);
        job.e = NULL;
    }
    if (rc == GMMP_OK)
        rc = finish_fields(m, p, L);
    if (rc) {
        gmmp__eigen_release(job.e);
        gmmp_model_destroy(m);
        return rc;
    }
    *out = m;
    return GMMP_OK;
}

/* gmmp_model_deserialize on `threads`: the same model, or the same
 * failure and message. */
static int model_decode(gmmp_model **out, const void *buf, size_t size,
                        gmmp__exec_threads threads)
{
    if (!out || !buf)
        return gmmp__fail(GMMP_EINVAL, "output or buffer is NULL");
    const unsigned char *p = buf;
    layout L;
    int rc = parse_layout(p, size, &L);
    if (rc)
        return rc;
    if (threads.count > 1 && decode_parallel(p, &L, threads, out) == GMMP_OK)
        return GMMP_OK;
    return decode_serial(p, &L, out);
}

int gmmp_model_deserialize(gmmp_model **out, const void *buf, size_t size)
{
    return model_decode(out, buf, size, (gmmp__exec_threads){1, false});
}

int gmmp_model_save(const gmmp_model *m, const char *path)
{
    if (!m || !path)
        return gmmp__fail(GMMP_EINVAL, "model or path is NULL");
    size_t size = gmmp_model_serialized_size(m);
    unsigned char *buf = gmmp__alloc(size);
    if (!buf)
        return gmmp__fail_nomem();
    int rc = gmmp_model_serialize(m, buf, size);
    if (rc) {
        gmmp__free(buf);
        return rc;
    }
    /* A unique temporary beside the target, fsync'ed, then renamed: readers
     * see the old file or the new one (lib/atomic_file.h). */
    char err[600];
    if (gmmp__atomic_write(path, buf, size, err, sizeof err))
        rc = gmmp__fail(GMMP_EIO, "%s", err);
    gmmp__free(buf);
    return rc;
}

/* A part of a file read with pread, on one of the threads of read_whole. */
typedef struct read_part {
    int fd;
    unsigned char *to;
    size_t offset, size, got;
    int error; /* errno, 0 for none */
} read_part;

static void *read_part_run(void *arg)
{
    read_part *rp = arg;
    while (rp->got < rp->size) {
        ssize_t n = pread(rp->fd, rp->to + rp->got, rp->size - rp->got,
                          (off_t)(rp->offset + rp->got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rp->error = errno ? errno : EIO;
            break;
        }
        if (n == 0)
            break; /* the file ends early */
        rp->got += (size_t)n;
    }
    return NULL;
}

/* Reads the file's first `size` bytes into buf: the bytes read (fewer if
 * it ends early), *error an errno on failure. On several threads each
 * reads a part: the fresh buffer's pages, faulted in as the kernel copies
 * into them, were most of reading EPLL's 8.3 MB prior. */
static size_t read_whole(FILE *f, unsigned char *buf, size_t size, gmmp__exec_threads threads,
                         int *error)
{
    size_t T = threads.count > 1 ? threads.count : 1;
    T = T < size / (1u << 20) ? T : (size >> 20 > 0 ? size >> 20 : 1); /* 1 MB a part at least */
    T = T < 256 ? T : 256;
    if (T == 1) {
        rewind(f);
        errno = 0;
        size_t got = fread(buf, 1, size, f);
        *error = ferror(f) ? (errno ? errno : EIO) : 0;
        return got;
    }
    read_part parts[256];
    for (size_t t = 0; t < T; t++) {
        size_t from = size / T * t, to = t + 1 == T ? size : size / T * (t + 1);
        parts[t] = (read_part){.fd = fileno(f), .to = buf + from, .offset = from, .size = to - from};
    }
    gmmp__run_workers(read_part_run, parts, sizeof parts[0], T, false);
    /* What was read in one piece from the start, as one read would give. */
    size_t got = 0;
    *error = 0;
    for (size_t t = 0; t < T && !*error; t++) {
        *error = parts[t].error;
        got += parts[t].got;
        if (parts[t].got < parts[t].size)
            break;
    }
    return got;
}

int gmmp_model_load(gmmp_model **out, const char *path)
{
    return gmmp_model_load_with(out, path, NULL);
}

int gmmp_model_load_with(gmmp_model **out, const char *path, const gmmp_options *options)
{
    if (!out || !path)
        return gmmp__fail(GMMP_EINVAL, "output or path is NULL");
    /* One open, which neither blocks on a FIFO nor accepts anything but a
     * regular file (lib/atomic_file.h). */
    char err[600];
    long long file_size = 0;
    int fd = gmmp__open_input(path, &file_size, err, sizeof err);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return gmmp__fail(GMMP_EIO, "%s", fd >= 0 ? "out of memory" : err);
    }
    /* The size comes from the file system, not from the header, so a
     * corrupt header cannot make us allocate more than the file holds;
     * and a file whose header's sizes are impossible, or do not match the
     * file's size, is refused after reading the header alone. */
    unsigned char head[HEADER + PATCH_SECTION];
    size_t size = (size_t)file_size;
    if (size >= sizeof head && fread(head, 1, sizeof head, f) == sizeof head) {
        if (memcmp(head, magic, sizeof magic) != 0) {
            fclose(f);
            return gmmp__fail(GMMP_EFORMAT, "%s: not a libgmmprior model (bad magic)", path);
        }
        /* A newer format may lay out anything after the header: say so
         * before judging its size by this version's rules. */
        uint32_t version = get_u32(head + 8);
        if (check_version(version, path)) {
            fclose(f);
            return GMMP_EVERSION;
        }
        if (size > HEADER + TRAILER + 4096) {
            /* A small file's mistakes are reported by the full check below. */
            uint64_t K = get_u64(head + 16), d = get_u64(head + 24);
            size_t count = param_count(K, d);
            size_t extra = version >= 2 ? PATCH_SECTION + pad8(get_u32(head + HEADER + 16)) : 0;
            size_t need = count && count < (SIZE_MAX - HEADER - TRAILER - extra) / 16
                              ? HEADER + extra + 8 * count + TRAILER
                              : 0;
            /* With eigenpairs (version 3), their r is at the end: the
             * file may exceed the parameters by at most as much again
             * (r <= d), the full check says by how much exactly. */
            bool spectra = version >= 3 && (get_u32(head + 12) & SPECTRA);
            if (need == 0 || size < need || (!spectra && size != need) ||
                (spectra && size - need > SPECTRA_HEAD + 8 * count)) {
                fclose(f);
                if (need == 0)
                    return gmmp__fail(GMMP_EFORMAT, "%s: model header has impossible sizes "
                                                    "K=%llu, d=%llu",
                                      path, (unsigned long long)K, (unsigned long long)d);
                return gmmp__fail(GMMP_EFORMAT, "%s: model data is %zu bytes, K=%llu and d=%llu "
                                                "need %zu%s",
                                  path, size, (unsigned long long)K, (unsigned long long)d, need,
                                  size < need ? " (truncated)" : "");
            }
        }
    }
    unsigned char *buf = gmmp__alloc(size);
    if (!buf) {
        fclose(f);
        return gmmp__fail_nomem();
    }
    gmmp__option_values v;
    gmmp__options_read(options, &v);
    const gmmp__exec_threads threads = {(unsigned)gmmp__opt_int(&v, GMMP_OPT_THREADS),
                                        gmmp__opt_int(&v, GMMP_OPT_BLAS_SERIAL) != 0};
    int read_errno = 0;
    size_t got = read_whole(f, buf, size, threads, &read_errno);
    int read_error = read_errno != 0;
    fclose(f);
    int rc;
    if (read_error) {
        char why[128];
        rc = gmmp__fail(GMMP_EIO, "cannot read %s: %s", path,
                        read_errno ? gmmp__reason(read_errno, why, sizeof why) : "read error");
    } else {
        rc = model_decode(out, buf, got, threads);
        if (rc && rc != GMMP_ENOMEM) {
            char inner[400];
            snprintf(inner, sizeof inner, "%s", gmmp_last_error());
            gmmp__fail(rc, "%s: %s", path, inner);
        }
    }
    gmmp__free(buf);
    return rc;
}
