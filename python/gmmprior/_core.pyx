# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
# SPDX-License-Identifier: MIT
"""The binding to libgmmprior's C interface (include/gmmprior/*.h).

Conventions, the same in every function here:

- Arrays the library only reads are passed in place when they are
  C-contiguous float64 (np.ascontiguousarray(a, np.float64) returns them
  unchanged); anything else (float32, int, Fortran order, a strided view)
  is converted once, into a temporary. Images may also be row-strided
  views (a crop of a larger array): the library takes a row pitch, so
  those are read in place too.
- Every library call runs with the GIL released.
- A negative GMMP_E* code becomes an exception carrying the library's
  message (gmmp_last_error() of the calling thread): see Error.
"""
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libc.math cimport NAN
from cpython.exc cimport PyErr_CheckSignals

import os
import time
from collections import namedtuple

import numpy as np

cdef extern from "gmmprior.h" nogil:
    enum:
        GMMP_VERSION_NUMBER
        GMMP_MODEL_DESCRIPTION_MAX
    enum:
        GMMP_OK
        GMMP_EINVAL
        GMMP_ENOMEM
        GMMP_EDIM
        GMMP_EOVERFLOW
        GMMP_ENONFINITE
        GMMP_ENOTSPD
        GMMP_EIO
        GMMP_EFORMAT
        GMMP_EVERSION
        GMMP_EINTERNAL
        GMMP_ECANCELED
    const char *gmmp_strerror(int code)
    const char *gmmp_last_error()
    unsigned gmmp_version()
    const char *gmmp_version_string()

    # options.h
    ctypedef struct gmmp_options:
        pass
    ctypedef int gmmp_option
    ctypedef struct gmmp_progress:
        int init
        int iteration
        double mean_loglik
        double change
        double seconds
        int phase
        double done
        double total
    ctypedef int (*gmmp_progress_fn)(const gmmp_progress *progress, void *payload)
    int gmmp_options_create(gmmp_options **out)
    void gmmp_options_destroy(gmmp_options *options)
    int gmmp_options_set_int(gmmp_options *options, gmmp_option key, int64_t value)
    int gmmp_options_set_real(gmmp_options *options, gmmp_option key, double value)
    int gmmp_options_get_int(const gmmp_options *options, gmmp_option key, int64_t *value)
    int gmmp_options_get_real(const gmmp_options *options, gmmp_option key, double *value)
    int gmmp_options_set_progress(gmmp_options *options, gmmp_progress_fn fn, void *payload)
    int gmmp_option_bounds(gmmp_option key, double *lo, double *hi, int *is_int)
    const char *gmmp_option_name(gmmp_option key)

    # model.h
    ctypedef struct gmmp_model:
        pass
    int gmmp_model_create(gmmp_model **out, size_t n_components, size_t dim,
                          const double *weights, const double *means, const double *covariances)
    void gmmp_model_destroy(gmmp_model *model)
    size_t gmmp_model_components(const gmmp_model *model)
    size_t gmmp_model_dim(const gmmp_model *model)
    int gmmp_model_set_patch(gmmp_model *model, size_t patch_h, size_t patch_w,
                             size_t channels, int remove_mean)
    int gmmp_model_patch(const gmmp_model *model, size_t *patch_h, size_t *patch_w,
                         size_t *channels, int *remove_mean)
    int gmmp_model_set_description(gmmp_model *model, const char *text)
    const char *gmmp_model_description(const gmmp_model *model)
    int gmmp_model_set_spectra(gmmp_model *model, size_t rank)
    size_t gmmp_model_spectra(const gmmp_model *model)
    int gmmp_model_get(const gmmp_model *model, double *weights, double *means,
                       double *covariances)
    int gmmp_model_cholesky(const gmmp_model *model, double *factors)
    int gmmp_model_score_samples(const gmmp_model *model, const double *X, size_t n,
                                 double *logpdf, double *resp)
    int gmmp_model_score(const gmmp_model *model, const double *X, size_t n, double *mean_loglik)
    size_t gmmp_model_n_parameters(const gmmp_model *model)
    int gmmp_model_bic(const gmmp_model *model, const double *X, size_t n, double *bic)
    int gmmp_model_aic(const gmmp_model *model, const double *X, size_t n, double *aic)
    int gmmp_model_sample(const gmmp_model *model, size_t n, uint64_t seed, double *X,
                          size_t *labels)
    size_t gmmp_model_serialized_size(const gmmp_model *model)
    int gmmp_model_serialize(const gmmp_model *model, void *buf, size_t size)
    int gmmp_model_deserialize(gmmp_model **out, const void *buf, size_t size)
    int gmmp_model_save(const gmmp_model *model, const char *path)
    int gmmp_model_load(gmmp_model **out, const char *path)

    # patches.h
    ctypedef struct gmmp_extractor:
        pass
    ctypedef struct gmmp_reconstructor:
        pass
    int gmmp_extractor_create_grid(gmmp_extractor **out, size_t patch_h, size_t patch_w,
                                   size_t channels, size_t step, size_t row_offset,
                                   size_t col_offset)
    void gmmp_extractor_destroy(gmmp_extractor *ex)
    size_t gmmp_extractor_dim(const gmmp_extractor *ex)
    int gmmp_extractor_count(const gmmp_extractor *ex, size_t h, size_t w, size_t *n_patches)
    int gmmp_extractor_position(const gmmp_extractor *ex, size_t h, size_t w, size_t index,
                                size_t *row, size_t *col)
    int gmmp_extractor_extract(const gmmp_extractor *ex, const double *image, size_t h,
                               size_t w, size_t pitch, size_t first, size_t count,
                               double *patches, double *means)
    int gmmp_extractor_sample(const gmmp_extractor *ex, const double *image, size_t h,
                              size_t w, size_t pitch, size_t count, uint64_t seed,
                              double *patches, double *means, size_t *n_out)
    int gmmp_reconstructor_create(gmmp_reconstructor **out, const gmmp_extractor *ex,
                                  size_t h, size_t w)
    void gmmp_reconstructor_destroy(gmmp_reconstructor *rc)
    size_t gmmp_reconstructor_count(const gmmp_reconstructor *rc)
    int gmmp_reconstructor_add(gmmp_reconstructor *rc, size_t first, size_t count,
                               const double *patches, const double *means,
                               const double *weights)
    int gmmp_reconstructor_finish(const gmmp_reconstructor *rc, double *image, size_t pitch)
    void gmmp_reconstructor_reset(gmmp_reconstructor *rc)

    # train.h
    ctypedef struct gmmp_trainer:
        pass
    ctypedef struct gmmp_fit_info:
        int n_iter
        int converged
        int stopped
        int best_init
        double mean_loglik
        size_t n_split
        double seconds
        double flops
    int gmmp_trainer_create(gmmp_trainer **out, size_t n_components, const gmmp_options *options)
    void gmmp_trainer_destroy(gmmp_trainer *trainer)
    int gmmp_trainer_set_init_model(gmmp_trainer *trainer, const gmmp_model *model)
    int gmmp_trainer_fit(gmmp_trainer *trainer, const double *X, size_t n, size_t dim,
                         gmmp_model **out, gmmp_fit_info *info)

    # posterior.h
    ctypedef struct gmmp_plan:
        pass
    ctypedef int gmmp_noise_kind
    int gmmp_plan_create(gmmp_plan **out, const gmmp_model *model, size_t p, const double *W,
                         gmmp_noise_kind kind, const double *noise, const double *b,
                         const gmmp_options *options)
    int gmmp_plan_create_denoise(gmmp_plan **out, const gmmp_model *model, double sigma,
                                 const gmmp_options *options)
    void gmmp_plan_destroy(gmmp_plan *plan)
    size_t gmmp_plan_components(const gmmp_plan *plan)
    size_t gmmp_plan_dim(const gmmp_plan *plan)
    size_t gmmp_plan_obs_dim(const gmmp_plan *plan)
    int gmmp_plan_posterior_cov(const gmmp_plan *plan, size_t k, double *cov)
    int gmmp_plan_execute(const gmmp_plan *plan, const double *Y, size_t n, double *resp,
                          double *log_evidence, double *map, double *mmse)
    int gmmp_plan_component_means(const gmmp_plan *plan, size_t k, const double *Y, size_t n,
                                  double *means)
    int gmmp_plan_execute_masked(const gmmp_plan *plan, const double *Y,
                                 const unsigned char *observed, size_t n, double *resp,
                                 double *log_evidence, double *map, double *mmse)

    # restore.h, noise.h
    int gmmp_denoise_image(const gmmp_model *model, double sigma, const double *noisy,
                           size_t h, size_t w, size_t pitch, double *out, size_t out_pitch,
                           const gmmp_options *options)
    int gmmp_restore_image(const gmmp_plan *plan, const double *observed, size_t h, size_t w,
                           size_t pitch, double *out, size_t out_pitch,
                           const gmmp_options *options)
    int gmmp_epll_image(const gmmp_model *model, double sigma, const double *y, size_t h,
                        size_t w, size_t pitch, const unsigned char *observed, double *out,
                        size_t out_pitch, const gmmp_options *options)
    int gmmp_epll_channels(const gmmp_model *model, double sigma, const double *y, size_t h,
                           size_t w, size_t channels, size_t pitch,
                           const unsigned char *observed, double *out, size_t out_pitch,
                           const gmmp_options *options)
    int gmmp_group_refine_image(double sigma, const double *noisy, const double *pilot,
                                size_t h, size_t w, size_t channels, size_t pitch,
                                double *out, size_t out_pitch, const gmmp_options *options)
    int gmmp_estimate_noise(const double *image, size_t h, size_t w, size_t channels,
                            size_t pitch, double *sigma)


__version__ = gmmp_version_string().decode()
"""The loaded library's version, e.g. "1.0.0"."""
HEADER_VERSION = GMMP_VERSION_NUMBER
"""GMMP_VERSION_NUMBER of the headers the extension was compiled with."""


# ---------------------------------------------------------------- errors

class Error(Exception):
    """A failure reported by libgmmprior.

    ``code`` is the negative GMMP_E* code, ``name`` its name ("GMMP_EDIM"),
    ``str(e)`` the library's message for the failing call
    (gmmp_last_error()). Every Error is also an instance of the builtin
    exception that fits: ValueError for bad arguments and bad data
    (EINVAL, EDIM, ENONFINITE, ENOTSPD, EOVERFLOW, EFORMAT, EVERSION),
    MemoryError (ENOMEM), OSError (EIO), RuntimeError (EINTERNAL,
    ECANCELED)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code
        self.name = _CODE_NAMES.get(code, "GMMP_E?")


class ArgumentError(Error, ValueError):
    """Bad argument or bad data: EINVAL, EDIM, ENONFINITE, ENOTSPD,
    EOVERFLOW, EFORMAT, EVERSION."""


class OutOfMemoryError(Error, MemoryError):
    """GMMP_ENOMEM."""


class FileError(Error, OSError):
    """GMMP_EIO: a file could not be opened, read or written."""


class InternalError(Error, RuntimeError):
    """GMMP_EINTERNAL: a LAPACK routine failed unexpectedly (a library bug)."""


class CanceledError(Error, RuntimeError):
    """GMMP_ECANCELED: a progress callback asked a whole-image call to stop
    (by returning a true value). When the callback raised an exception, or
    Ctrl-C interrupted the call, that exception is raised instead."""


_CODE_NAMES = {
    GMMP_EINVAL: "GMMP_EINVAL", GMMP_ENOMEM: "GMMP_ENOMEM", GMMP_EDIM: "GMMP_EDIM",
    GMMP_EOVERFLOW: "GMMP_EOVERFLOW", GMMP_ENONFINITE: "GMMP_ENONFINITE",
    GMMP_ENOTSPD: "GMMP_ENOTSPD", GMMP_EIO: "GMMP_EIO", GMMP_EFORMAT: "GMMP_EFORMAT",
    GMMP_EVERSION: "GMMP_EVERSION", GMMP_EINTERNAL: "GMMP_EINTERNAL",
    GMMP_ECANCELED: "GMMP_ECANCELED",
}
_CODE_CLASSES = {
    GMMP_ENOMEM: OutOfMemoryError, GMMP_EIO: FileError, GMMP_EINTERNAL: InternalError,
    GMMP_ECANCELED: CanceledError,
}


def error_for(int code, message=None):
    """The exception for a GMMP_E* code, with the calling thread's last
    message (or ``message``)."""
    if message is None:
        message = gmmp_last_error().decode("utf-8", "replace")
    if not message:
        message = gmmp_strerror(code).decode()
    return _CODE_CLASSES.get(code, ArgumentError)(message, code)


cdef inline int check(int rc) except -1:
    if rc < 0:
        raise error_for(rc)
    return 0


# --------------------------------------------------------------- options

OPTION_KEYS = {}
"""Option names (as the library's messages spell them) -> gmmp_option keys."""
for _key in range(1, 128):  # every key this library knows, by its own names
    if gmmp_option_name(_key) != NULL:
        OPTION_KEYS[gmmp_option_name(_key).decode()] = _key

Progress = namedtuple("Progress", "init iteration mean_loglik change seconds phase done total")
Progress.__doc__ = """What a progress callback receives (gmmp_progress): phase is
"em", "kmeans" or "image"; return a true value to stop."""
_PHASES = {0: "em", 1: "kmeans", 2: "image"}


cdef class _Callback:
    """Payload of the C progress callback: the Python callable, and the
    exception it (or a signal such as Ctrl-C) raised, re-raised after the
    library call returns."""
    cdef object fn
    cdef object error

    def __init__(self, fn):
        self.fn = fn
        self.error = None

    def reraise(self):
        if self.error is not None:
            err, self.error = self.error, None
            raise err


cdef int _progress_trampoline(const gmmp_progress *p, void *payload) noexcept with gil:
    cdef _Callback cb = <_Callback>payload
    try:
        PyErr_CheckSignals()  # raises KeyboardInterrupt on Ctrl-C
        if cb.fn is not None:
            stop = cb.fn(Progress(p.init, p.iteration, p.mean_loglik, p.change, p.seconds,
                                  _PHASES.get(p.phase, p.phase), p.done, p.total))
            return 1 if stop else 0
        return 0
    except BaseException as e:
        cb.error = e
        return 1


cdef class Options:
    """A gmmp_options handle: ``Options(threads=2, skip=0.0, ...)``, names
    as in OPTION_KEYS. ``progress`` is a callable taking a Progress."""
    cdef gmmp_options *ptr
    cdef readonly _Callback callback

    def __cinit__(self):
        check(gmmp_options_create(&self.ptr))
        self.callback = _Callback(None)
        # Always installed: besides the caller's function it lets Ctrl-C
        # stop long calls (once per EM iteration or batch of patches).
        check(gmmp_options_set_progress(self.ptr, _progress_trampoline, <void *>self.callback))

    def __init__(self, progress=None, **values):
        self.callback.fn = progress
        for name, value in values.items():
            if value is not None:
                self.set(name, value)

    def __dealloc__(self):
        gmmp_options_destroy(self.ptr)

    @staticmethod
    def _key(name):
        key = OPTION_KEYS.get(name)
        if key is None:
            raise ArgumentError("unknown option %r (known: %s)"
                                % (name, ", ".join(sorted(OPTION_KEYS))), GMMP_EINVAL)
        return key

    def set(self, name, value):
        cdef int is_int = 0
        key = Options._key(name)
        check(gmmp_option_bounds(key, NULL, NULL, &is_int))
        if is_int:
            if isinstance(value, float) and value != int(value):
                raise ArgumentError("option %s takes an integer, not %r" % (name, value),
                                    GMMP_EINVAL)
            check(gmmp_options_set_int(self.ptr, key, int(value)))
        else:
            check(gmmp_options_set_real(self.ptr, key, float(value)))

    def get(self, name):
        cdef int is_int = 0
        cdef int64_t i = 0
        cdef double r = 0
        key = Options._key(name)
        check(gmmp_option_bounds(key, NULL, NULL, &is_int))
        if is_int:
            check(gmmp_options_get_int(self.ptr, key, &i))
            return i
        check(gmmp_options_get_real(self.ptr, key, &r))
        return r

    @staticmethod
    def bounds(name):
        """(lo, hi, is_int) of an option."""
        cdef double lo = 0, hi = 0
        cdef int is_int = 0
        check(gmmp_option_bounds(Options._key(name), &lo, &hi, &is_int))
        return lo, hi, bool(is_int)


# ---------------------------------------------------------------- arrays

cdef inline double *_ptr(a):
    return <double *><uintptr_t>a.__array_interface__["data"][0]


def _rows(X, size_t d=0, name="X"):
    """X as a C-contiguous float64 n x d matrix: the array itself when it
    already is one, else one converted copy."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ArgumentError("%s must be a 2-D array (n x d), got shape %s" % (name, X.shape),
                            GMMP_EDIM)
    if d and <size_t>X.shape[1] != d:
        raise ArgumentError("%s has %d columns, expected %d" % (name, X.shape[1], d), GMMP_EDIM)
    return X


def _image(image, size_t channels, name="image"):
    """(array, h, w, pitch) for an h x w (C = 1) or h x w x C image. A
    float64 array whose pixels are contiguous within rows (a C-contiguous
    array or a crop of one) is used in place with its row pitch; anything
    else is converted once."""
    a = np.asarray(image)
    if a.ndim == 2 and channels == 1:
        a3 = a
    elif a.ndim == 3 and <size_t>a.shape[2] == channels:
        a3 = a
    else:
        raise ArgumentError("%s must be h x w%s, got shape %s"
                            % (name, "" if channels == 1 else " x %d" % channels, a.shape),
                            GMMP_EDIM)
    h, w = a.shape[0], a.shape[1]
    ok = (a.dtype == np.float64 and a.dtype.isnative and h > 0 and w > 0
          and a.strides[1] == 8 * channels and (a.ndim == 2 or a.strides[2] == 8)
          and a.strides[0] > 0 and a.strides[0] % 8 == 0
          and a.strides[0] >= 8 * w * channels)
    if not ok:
        a = np.ascontiguousarray(a, dtype=np.float64)
        pitch = w * channels
    else:
        pitch = a.strides[0] // 8
    return a, h, w, pitch


def _pair(value, name):
    """(a, b) from a sequence of two non-negative integers; bounds checks
    are off in this module, so the length is checked here."""
    try:
        n = len(value)
    except TypeError:
        n = -1
    if n < 2:
        raise ArgumentError("%s must hold at least 2 values (rows, columns), not %r"
                            % (name, value), GMMP_EDIM)
    return value[0], value[1]


def _mask(observed, shape, name="observed"):
    """A C-contiguous uint8 copy of a truth mask: nonzero is observed
    (a cast to uint8 would turn 256 or 0.5 into 0)."""
    mask = np.ascontiguousarray(np.asarray(observed) != 0, dtype=np.uint8)
    if mask.shape != shape:
        raise ArgumentError("%s has shape %s, expected %s" % (name, mask.shape, shape),
                            GMMP_EDIM)
    return mask


def _new_image(h, w, channels):
    return np.empty((h, w) if channels == 1 else (h, w, channels))


# ---------------------------------------------------------------- models

cdef class Model:
    """A Gaussian mixture (gmmp_model): immutable parameters, optional
    patch description and free-text description.

    ``Model(weights, means, covariances)`` copies the arrays (K, K x d,
    K x d x d). ``Model.load(path)``, ``Model.from_bytes(data)`` read the
    file format (docs/model-format.md); ``save`` and ``to_bytes`` write it.
    Models pickle through that format."""
    cdef gmmp_model *ptr

    def __cinit__(self):
        self.ptr = NULL

    def __dealloc__(self):
        gmmp_model_destroy(self.ptr)

    def __init__(self, weights, means, covariances):
        means = _rows(means, name="means")
        cdef size_t K = means.shape[0], d = means.shape[1]
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        covariances = np.ascontiguousarray(covariances, dtype=np.float64)
        if weights.shape != (K,):
            raise ArgumentError("weights has shape %s, expected (%d,)" % (weights.shape, K),
                                GMMP_EDIM)
        if covariances.shape != (K, d, d):
            raise ArgumentError("covariances has shape %s, expected (%d, %d, %d)"
                                % (covariances.shape, K, d, d), GMMP_EDIM)
        cdef const double *pw = _ptr(weights)
        cdef const double *pm = _ptr(means)
        cdef const double *pc = _ptr(covariances)
        cdef gmmp_model *m = NULL
        cdef int rc
        with nogil:
            rc = gmmp_model_create(&m, K, d, pw, pm, pc)
        check(rc)
        gmmp_model_destroy(self.ptr)
        self.ptr = m

    @staticmethod
    cdef Model _wrap(gmmp_model *m):
        cdef Model self = Model.__new__(Model)
        self.ptr = m
        return self

    @classmethod
    def load(cls, path):
        """Reads a model file (format version 1, 2 or 3)."""
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef gmmp_model *m = NULL
        cdef int rc
        with nogil:
            rc = gmmp_model_load(&m, cp)
        check(rc)
        return Model._wrap(m)

    def save(self, path):
        """Writes the model file (format version 2, or 3 with `spectra`),
        atomically."""
        cdef bytes p = os.fsencode(path)
        cdef const char *cp = p
        cdef int rc
        with nogil:
            rc = gmmp_model_save(self.ptr, cp)
        check(rc)

    @classmethod
    def from_bytes(cls, data):
        """Reads a model from its serialized form (bytes-like)."""
        cdef const unsigned char[::1] buf = memoryview(data).cast("B")
        cdef gmmp_model *m = NULL
        cdef int rc
        cdef size_t n = buf.shape[0]
        cdef const void *p = &buf[0] if n > 0 else NULL
        with nogil:
            rc = gmmp_model_deserialize(&m, p, n)
        check(rc)
        return Model._wrap(m)

    def to_bytes(self):
        """The model file's bytes."""
        cdef size_t n = gmmp_model_serialized_size(self.ptr)
        buf = bytearray(n)
        cdef unsigned char[::1] v = buf
        check(gmmp_model_serialize(self.ptr, &v[0], n))
        return bytes(buf)

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(),))

    @property
    def n_components(self):
        """K."""
        return gmmp_model_components(self.ptr)

    @property
    def dim(self):
        """d."""
        return gmmp_model_dim(self.ptr)

    def parameters(self):
        """(weights, means, covariances): copies, K, K x d, K x d x d."""
        K, d = self.n_components, self.dim
        w, m, c = np.empty(K), np.empty((K, d)), np.empty((K, d, d))
        check(gmmp_model_get(self.ptr, _ptr(w), _ptr(m), _ptr(c)))
        return w, m, c

    @property
    def weights(self):
        return self.parameters()[0]

    @property
    def means(self):
        return self.parameters()[1]

    @property
    def covariances(self):
        return self.parameters()[2]

    @property
    def cholesky(self):
        """Lower Cholesky factors L_k of the covariances, K x d x d."""
        K, d = self.n_components, self.dim
        L = np.empty((K, d, d))
        check(gmmp_model_cholesky(self.ptr, _ptr(L)))
        return L

    @property
    def patch(self):
        """(patch_h, patch_w, channels, remove_mean), or None when the model
        has no patch description (made from arrays, a version 1 file)."""
        cdef size_t h = 0, w = 0, c = 0
        cdef int rm = 0
        rc = gmmp_model_patch(self.ptr, &h, &w, &c, &rm)
        if rc == GMMP_EDIM:
            return None
        check(rc)
        return (h, w, c, bool(rm))

    def set_patch(self, size_t patch_h, patch_w=None, size_t channels=1, remove_mean=False):
        """Describes the model as a prior for patch_h x patch_w patches of
        `channels` values per pixel (h*w*C = d), trained with or without
        per-channel patch means removed. Set it before sharing the model
        between threads. Returns the model."""
        cdef size_t pw = patch_h if patch_w is None else patch_w
        check(gmmp_model_set_patch(self.ptr, patch_h, pw, channels, 1 if remove_mean else 0))
        return self

    @property
    def description(self):
        """Free text stored in the model file (str; "" if none)."""
        return gmmp_model_description(self.ptr).decode("utf-8", "replace")

    @description.setter
    def description(self, text):
        if text is None:
            check(gmmp_model_set_description(self.ptr, NULL))
        else:
            b = str(text).encode("utf-8")
            check(gmmp_model_set_description(self.ptr, b))

    @property
    def spectra(self):
        """How many leading eigenpairs per covariance the model file carries
        (int; 0: none). Setting it computes them (K eigendecompositions):
        a model loaded from such a file restores with flat tails
        (`rank` up to it, `fast=True`) without decomposing anything."""
        return gmmp_model_spectra(self.ptr)

    @spectra.setter
    def spectra(self, rank):
        # With the GIL held: another thread's save() reads what this frees.
        if rank < 0:
            raise ArgumentError("spectra is %d: eigenpairs per component, 0 to d" % rank,
                                GMMP_EINVAL)
        check(gmmp_model_set_spectra(self.ptr, rank))

    @property
    def n_parameters(self):
        return gmmp_model_n_parameters(self.ptr)

    def score_samples(self, X, resp=False):
        """log p(x_i) for the rows of X; with resp=True, (logpdf, resp)
        where resp is n x K p(k|x_i)."""
        X = _rows(X, self.dim)
        cdef size_t n = X.shape[0], d = X.shape[1]
        logpdf = np.empty(n)
        R = np.empty((n, self.n_components)) if resp else None
        cdef const double *px = _ptr(X)
        cdef double *pl = _ptr(logpdf)
        cdef double *pr = _ptr(R) if resp else NULL
        cdef int rc
        with nogil:
            rc = gmmp_model_score_samples(self.ptr, px, n, pl, pr)
        check(rc)
        return (logpdf, R) if resp else logpdf

    def predict_proba(self, X):
        """Responsibilities p(k|x_i), n x K."""
        X = _rows(X, self.dim)
        cdef size_t n = X.shape[0]
        R = np.empty((n, self.n_components))
        cdef const double *px = _ptr(X)
        cdef double *pr = _ptr(R)
        cdef int rc
        with nogil:
            rc = gmmp_model_score_samples(self.ptr, px, n, NULL, pr)
        check(rc)
        return R

    def _criterion(self, X, int which):
        X = _rows(X, self.dim)
        cdef size_t n = X.shape[0]
        cdef const double *px = _ptr(X)
        cdef double v = 0
        cdef int rc
        with nogil:
            if which == 0:
                rc = gmmp_model_score(self.ptr, px, n, &v)
            elif which == 1:
                rc = gmmp_model_bic(self.ptr, px, n, &v)
            else:
                rc = gmmp_model_aic(self.ptr, px, n, &v)
        check(rc)
        return v

    def score(self, X):
        """Mean log-likelihood per sample."""
        return self._criterion(X, 0)

    def bic(self, X):
        return self._criterion(X, 1)

    def aic(self, X):
        return self._criterion(X, 2)

    def sample(self, size_t n, uint64_t seed=0):
        """(X, labels): n samples from the library's own generator
        (xoshiro256**, reproducible for a seed), and their components."""
        X = np.empty((n, self.dim))
        labels = np.empty(n, dtype=np.uintp)
        cdef double *px = _ptr(X)
        cdef size_t *pl = <size_t *><uintptr_t>labels.__array_interface__["data"][0]
        cdef int rc
        with nogil:
            rc = gmmp_model_sample(self.ptr, n, seed, px, pl)
        check(rc)
        return X, labels.astype(np.intp)

    def __repr__(self):
        p = self.patch
        return "<gmmprior.Model K=%d d=%d%s>" % (
            self.n_components, self.dim,
            "" if p is None else " patch=%dx%dx%d%s" % (p[0], p[1], p[2],
                                                        " mean-removed" if p[3] else ""))


FitInfo = namedtuple("FitInfo", "n_iter converged stopped best_init mean_loglik n_split "
                                "seconds flops")


def fit(X, size_t n_components, Model init_model=None, progress=None, **options):
    """Fits a mixture by EM (gmmp_trainer_fit) and returns (Model, FitInfo).

    ``options`` are trainer options by name (max_iter, n_init, init, seed,
    kmeans_max_iter, tol, reg_covar, skip, threads, blas_serial); with
    ``init_model`` every restart starts from that model. ``progress`` is
    called after each k-means and EM iteration with a Progress; a true
    return value stops the fit (FitInfo.stopped), an exception raised in
    it (or Ctrl-C) stops the fit and is re-raised."""
    X = _rows(X)
    cdef Options opts = Options(progress=progress, **options)
    if init_model is not None and "init" not in options:
        opts.set("init", 2)
    cdef gmmp_trainer *tr = NULL
    check(gmmp_trainer_create(&tr, n_components, opts.ptr))
    cdef gmmp_model *out = NULL
    cdef gmmp_fit_info info
    cdef size_t n = X.shape[0], d = X.shape[1]
    cdef const double *px = _ptr(X)
    cdef int rc
    try:
        if init_model is not None:
            check(gmmp_trainer_set_init_model(tr, init_model.ptr))
        with nogil:
            rc = gmmp_trainer_fit(tr, px, n, d, &out, &info)
        if rc < 0:
            err = error_for(rc)
            opts.callback.reraise()
            raise err
    finally:
        gmmp_trainer_destroy(tr)
    model = Model._wrap(out)
    opts.callback.reraise()
    return model, FitInfo(info.n_iter, bool(info.converged), bool(info.stopped),
                          info.best_init, info.mean_loglik, info.n_split, info.seconds,
                          info.flops)


# --------------------------------------------------------------- patches

cdef class Extractor:
    """Patch geometry (gmmp_extractor): patch_h x patch_w patches of
    `channels` values per pixel, every `step` pixels, the regular grid
    starting at `offset` (row, column), plus the positions flush with the
    bottom and right borders. Images are h x w (C = 1) or h x w x C arrays;
    patches are rows of an n x d matrix (d = patch_h*patch_w*C, pixels in
    row-major order, each pixel's C values together)."""
    cdef gmmp_extractor *ptr
    cdef readonly size_t patch_h, patch_w, channels, step
    cdef readonly tuple offset

    def __cinit__(self):
        self.ptr = NULL

    def __dealloc__(self):
        gmmp_extractor_destroy(self.ptr)

    def __init__(self, size_t patch_h, patch_w=None, size_t channels=1, size_t step=1,
                 offset=(0, 0)):
        cdef size_t pw = patch_h if patch_w is None else patch_w
        ro_, co_ = _pair(offset, "offset")
        cdef size_t ro = ro_, co = co_
        check(gmmp_extractor_create_grid(&self.ptr, patch_h, pw, channels, step, ro, co))
        self.patch_h, self.patch_w, self.channels, self.step = patch_h, pw, channels, step
        self.offset = (ro, co)

    @classmethod
    def for_model(cls, Model model, size_t step=1):
        """The extractor of the patches a model describes (Model.patch)."""
        p = model.patch
        if p is None:
            raise ArgumentError("the model has no patch description: set it with "
                                "Model.set_patch(h, w, channels, remove_mean)", GMMP_EDIM)
        return cls(p[0], p[1], p[2], step)

    @property
    def dim(self):
        return gmmp_extractor_dim(self.ptr)

    def __reduce__(self):
        return (Extractor, (self.patch_h, self.patch_w, self.channels, self.step, self.offset))

    def count(self, shape):
        """Number of patches of an image of this shape (or of this image)."""
        if hasattr(shape, "shape"):
            shape = shape.shape
        cdef size_t n = 0
        h_, w_ = _pair(shape, "shape")
        cdef size_t ch = h_, cw = w_
        check(gmmp_extractor_count(self.ptr, ch, cw, &n))
        return n

    def positions(self, shape):
        """Top-left corners of all patches, n x 2 (row, column)."""
        if hasattr(shape, "shape"):
            shape = shape.shape
        h_, w_ = _pair(shape, "shape")
        cdef size_t h = h_, w = w_, n = self.count(shape), i, r = 0, c = 0
        out = np.empty((n, 2), dtype=np.intp)
        cdef Py_ssize_t[:, ::1] v = out
        for i in range(n):
            check(gmmp_extractor_position(self.ptr, h, w, i, &r, &c))
            v[i, 0] = r
            v[i, 1] = c
        return out

    def extract(self, image, size_t first=0, count=None, remove_mean=False):
        """Patches first .. first+count-1 (all by default), count x d; with
        remove_mean=True returns (patches, means) where means is count x C
        and each patch's channel means were subtracted."""
        a, h, w, pitch = _image(image, self.channels)
        cdef size_t total = self.count((h, w))
        cdef size_t cnt = (total - first if first <= total else 0) if count is None else count
        P = np.empty((cnt, self.dim))
        M = np.empty((cnt, self.channels)) if remove_mean else None
        cdef const double *pa = _ptr(a)
        cdef double *pp = _ptr(P)
        cdef double *pm = _ptr(M) if remove_mean else NULL
        cdef size_t ch = h, cw = w, cpitch = pitch
        cdef int rc
        with nogil:
            rc = gmmp_extractor_extract(self.ptr, pa, ch, cw, cpitch, first, cnt, pp, pm)
        check(rc)
        return (P, M) if remove_mean else P

    def sample(self, image, size_t count, uint64_t seed=0, remove_mean=False):
        """min(count, n) patches drawn at random without replacement, in
        increasing patch order (reproducible for a seed); with
        remove_mean=True, (patches, means)."""
        a, h, w, pitch = _image(image, self.channels)
        cdef size_t total = self.count((h, w))
        cdef size_t cnt = min(count, total), got = 0
        P = np.empty((cnt, self.dim))
        M = np.empty((cnt, self.channels)) if remove_mean else None
        cdef const double *pa = _ptr(a)
        cdef double *pp = _ptr(P)
        cdef double *pm = _ptr(M) if remove_mean else NULL
        cdef size_t ch = h, cw = w, cpitch = pitch
        cdef int rc
        with nogil:
            rc = gmmp_extractor_sample(self.ptr, pa, ch, cw, cpitch, count, seed, pp, pm, &got)
        check(rc)
        return (P, M) if remove_mean else P

    def __repr__(self):
        return "<gmmprior.Extractor %dx%dx%d step=%d offset=%s>" % (
            self.patch_h, self.patch_w, self.channels, self.step, self.offset)


cdef class Reconstructor:
    """Averages overlapping patch estimates into an h x w (x C) image
    (gmmp_reconstructor), with the geometry of an Extractor. Not safe to
    use from two threads at once (add() modifies it)."""
    cdef gmmp_reconstructor *ptr
    cdef readonly size_t h, w, channels, dim

    def __cinit__(self):
        self.ptr = NULL

    def __dealloc__(self):
        gmmp_reconstructor_destroy(self.ptr)

    def __init__(self, Extractor extractor, shape):
        h_, w_ = _pair(shape, "shape")
        cdef size_t h = h_, w = w_
        check(gmmp_reconstructor_create(&self.ptr, extractor.ptr, h, w))
        self.h, self.w = h, w
        self.channels, self.dim = extractor.channels, extractor.dim

    @property
    def count(self):
        """Number of patches of the image."""
        return gmmp_reconstructor_count(self.ptr)

    def add(self, patches, size_t first=0, means=None, weights=None):
        """Adds the estimates of patches first .. first+len(patches)-1
        (count x d), with their channel means added back (count x C) and
        weights (count, positive) if given."""
        P = _rows(patches, self.dim, "patches")
        cdef size_t cnt = P.shape[0]
        if means is not None:
            means = np.ascontiguousarray(means, dtype=np.float64).reshape(cnt, self.channels)
        if weights is not None:
            weights = np.ascontiguousarray(weights, dtype=np.float64).reshape(cnt)
        cdef const double *pp = _ptr(P)
        cdef const double *pm = _ptr(means) if means is not None else NULL
        cdef const double *pw = _ptr(weights) if weights is not None else NULL
        cdef int rc
        with nogil:
            rc = gmmp_reconstructor_add(self.ptr, first, cnt, pp, pm, pw)
        check(rc)

    def finish(self):
        """The assembled image: h x w, or h x w x C."""
        out = _new_image(self.h, self.w, self.channels)
        cdef double *po = _ptr(out)
        cdef size_t pitch = self.w * self.channels
        cdef int rc
        with nogil:
            rc = gmmp_reconstructor_finish(self.ptr, po, pitch)
        check(rc)
        return out

    def reset(self):
        """Clears the sums, for the next image of the same size."""
        gmmp_reconstructor_reset(self.ptr)


# ----------------------------------------------------------------- plans

Posterior = namedtuple("Posterior", "resp log_evidence map mmse")
Posterior.__doc__ = """What Plan.execute returns: responsibilities (n x K),
log-evidence log p(y_i) (n), MAP-component and MMSE estimates (n x d);
outputs not asked for are None."""

_PLAN_METHODS = {"default": 0, "cholesky": 1}


def _plan_options(method, threads, skip, rank=None):
    if method not in _PLAN_METHODS:
        raise ArgumentError("method must be 'default' or 'cholesky', not %r" % (method,),
                            GMMP_EINVAL)
    return Options(plan_method=_PLAN_METHODS[method], threads=threads, skip=skip, rank=rank)


cdef class Plan:
    """A posterior plan (gmmp_plan) for y = W z + b + n, n ~ N(0, Sigma_y),
    under the prior `model`: every factorisation is done once, then
    execute() applies it to batches of observations. Immutable: any number
    of threads may execute one plan at once.

    ``Plan(model, noise, W=None, b=None)``: noise is a scalar variance
    (Sigma_y = noise I), p variances (diagonal) or a p x p covariance; W is
    p x d (None: the identity, p = d); b has p offsets.
    ``Plan.create_denoise(model, sigma)``: W = I, Sigma_y = sigma^2 I."""
    cdef gmmp_plan *ptr
    cdef readonly Model model

    def __cinit__(self):
        self.ptr = NULL

    def __dealloc__(self):
        gmmp_plan_destroy(self.ptr)

    def __init__(self, Model model, noise, W=None, b=None, method="default", threads=1,
                 skip=None):
        cdef size_t d = model.dim, p = d
        if W is not None:
            W = _rows(W, d, "W")
            p = W.shape[0]
        # np.ascontiguousarray makes a scalar 1-d: tell the kinds apart first.
        noise = np.asarray(noise, dtype=np.float64)
        if noise.ndim == 0:
            kind = 0
        elif noise.shape == (p,):
            kind = 1
        elif noise.shape == (p, p):
            kind = 2
        else:
            raise ArgumentError("noise must be a variance, %d variances or a %dx%d covariance,"
                                " got shape %s" % (p, p, p, noise.shape), GMMP_EDIM)
        noise = np.ascontiguousarray(noise)
        if b is not None:
            b = np.ascontiguousarray(b, dtype=np.float64)
            if b.shape != (p,):
                raise ArgumentError("b has shape %s, expected (%d,)" % (b.shape, p), GMMP_EDIM)
        cdef Options opts = _plan_options(method, threads, skip)
        cdef const double *pW = _ptr(W) if W is not None else NULL
        cdef const double *pn = _ptr(noise)
        cdef const double *pb = _ptr(b) if b is not None else NULL
        cdef int ck = kind
        cdef int rc
        with nogil:
            rc = gmmp_plan_create(&self.ptr, model.ptr, p, pW, ck, pn, pb, opts.ptr)
        check(rc)
        self.model = model

    @classmethod
    def create_denoise(cls, Model model, double sigma, method="default", threads=1,
                       skip=None, rank=None):
        """The denoising plan: W the identity, Sigma_y = sigma^2 I. With
        ``rank`` (GMMP_OPT_RANK), each covariance keeps its `rank` largest
        eigenpairs and the rest of its spectrum is flattened, as fast EPLL
        does: execute() then costs about rank/d of the exact plan."""
        cdef Options opts = _plan_options(method, threads, skip, rank)
        cdef Plan self = Plan.__new__(Plan)
        cdef int rc
        with nogil:
            rc = gmmp_plan_create_denoise(&self.ptr, model.ptr, sigma, opts.ptr)
        check(rc)
        self.model = model
        return self

    @property
    def n_components(self):
        return gmmp_plan_components(self.ptr)

    @property
    def dim(self):
        """d, values of a clean patch."""
        return gmmp_plan_dim(self.ptr)

    @property
    def obs_dim(self):
        """p, values of an observation."""
        return gmmp_plan_obs_dim(self.ptr)

    def posterior_cov(self, size_t k):
        """Sigma_{k|y}, d x d (independent of y)."""
        cdef size_t d = self.dim
        C = np.empty((d, d))
        cdef double *pc = _ptr(C)
        cdef int rc
        with nogil:
            rc = gmmp_plan_posterior_cov(self.ptr, k, pc)
        check(rc)
        return C

    def execute(self, Y, resp=True, log_evidence=True, map=True, mmse=True):
        """Applies the plan to the rows of Y (n x p). Returns a Posterior
        (resp, log_evidence, map, mmse); pass False to skip an output."""
        Y = _rows(Y, self.obs_dim, "Y")
        cdef size_t n = Y.shape[0], K = self.n_components, d = self.dim
        if not (resp or log_evidence or map or mmse):
            raise ArgumentError("execute: ask for at least one output", GMMP_EINVAL)
        R = np.empty((n, K)) if resp else None
        L = np.empty(n) if log_evidence else None
        A = np.empty((n, d)) if map else None
        M = np.empty((n, d)) if mmse else None
        cdef const double *py = _ptr(Y)
        cdef double *pr = _ptr(R) if resp else NULL
        cdef double *pl = _ptr(L) if log_evidence else NULL
        cdef double *pa = _ptr(A) if map else NULL
        cdef double *pm = _ptr(M) if mmse else NULL
        cdef int rc
        with nogil:
            rc = gmmp_plan_execute(self.ptr, py, n, pr, pl, pa, pm)
        check(rc)
        return Posterior(R, L, A, M)

    def execute_masked(self, Y, observed, resp=True, log_evidence=True, map=True, mmse=True):
        """As execute() for patches with missing pixels: ``observed`` (n x d,
        true where observed) selects each patch's observed values; the
        others are not read (they may be NaN). Needs a plan with W = None
        and scalar or diagonal noise."""
        Y = _rows(Y, self.dim, "Y")
        cdef size_t n = Y.shape[0], K = self.n_components, d = self.dim
        mask = _mask(observed, (n, d))
        if not (resp or log_evidence or map or mmse):
            raise ArgumentError("execute_masked: ask for at least one output", GMMP_EINVAL)
        R = np.empty((n, K)) if resp else None
        L = np.empty(n) if log_evidence else None
        A = np.empty((n, d)) if map else None
        M = np.empty((n, d)) if mmse else None
        cdef const double *py = _ptr(Y)
        cdef const unsigned char *pk = <const unsigned char *><uintptr_t>(
            mask.__array_interface__["data"][0])
        cdef double *pr = _ptr(R) if resp else NULL
        cdef double *pl = _ptr(L) if log_evidence else NULL
        cdef double *pa = _ptr(A) if map else NULL
        cdef double *pm = _ptr(M) if mmse else NULL
        cdef int rc
        with nogil:
            rc = gmmp_plan_execute_masked(self.ptr, py, pk, n, pr, pl, pa, pm)
        check(rc)
        return Posterior(R, L, A, M)

    def component_means(self, size_t k, Y):
        """mu_{k|y_i} of component k for the rows of Y, n x d."""
        Y = _rows(Y, self.obs_dim, "Y")
        cdef size_t n = Y.shape[0]
        out = np.empty((n, self.dim))
        cdef const double *py = _ptr(Y)
        cdef double *po = _ptr(out)
        cdef int rc
        with nogil:
            rc = gmmp_plan_component_means(self.ptr, k, py, n, po)
        check(rc)
        return out


# ----------------------------------------------------------- whole images

_ESTIMATORS = {"mmse": 0, "map": 1}


def _image_options(step, estimator, batch, threads, progress, blas_serial=False):
    if estimator not in _ESTIMATORS:
        raise ArgumentError("estimator must be 'mmse' or 'map', not %r" % (estimator,),
                            GMMP_EINVAL)
    return Options(progress=progress, step=step, estimator=_ESTIMATORS[estimator],
                   batch=batch, threads=threads, blas_serial=bool(blas_serial))


def denoise_image(Model model, image, double sigma, step=1, estimator="mmse", batch=4096,
                  threads=1, progress=None, blas_serial=False):
    """Denoises an image with white Gaussian noise of standard deviation
    sigma (pixel units) by one pass of patch estimates averaged where
    patches overlap (gmmp_denoise_image). The model needs a patch
    description; the image is h x w (C = 1) or h x w x C. ``progress`` is
    called after each batch; returning a true value cancels
    (CanceledError). With ``threads`` > 1, ``blas_serial`` keeps OpenBLAS
    single-threaded while the library's threads run (GMMP_OPT_BLAS_SERIAL,
    process-wide during the call): two pools on two cores are several
    times slower than one."""
    p = model.patch
    if p is None:
        raise ArgumentError("the model has no patch description: set it with "
                            "Model.set_patch(h, w, channels, remove_mean)", GMMP_EDIM)
    a, h, w, pitch = _image(image, p[2])
    out = _new_image(h, w, p[2])
    cdef Options opts = _image_options(step, estimator, batch, threads, progress, blas_serial)
    cdef const double *pa = _ptr(a)
    cdef double *po = _ptr(out)
    cdef size_t ch = h, cw = w, cpitch = pitch, opitch = w * p[2]
    cdef int rc
    with nogil:
        rc = gmmp_denoise_image(model.ptr, sigma, pa, ch, cw, cpitch, po, opitch, opts.ptr)
    if rc < 0:
        err = error_for(rc)
        opts.callback.reraise()
        raise err
    return out


def restore_image(Plan plan, image, step=1, estimator="mmse", batch=4096, threads=1,
                  progress=None, blas_serial=False):
    """Restores an image observed through the plan's observation model,
    patch by patch (gmmp_restore_image); otherwise as denoise_image()."""
    p = plan.model.patch
    if p is None:
        raise ArgumentError("the plan's model has no patch description", GMMP_EDIM)
    a, h, w, pitch = _image(image, p[2])
    out = _new_image(h, w, p[2])
    cdef Options opts = _image_options(step, estimator, batch, threads, progress, blas_serial)
    cdef const double *pa = _ptr(a)
    cdef double *po = _ptr(out)
    cdef size_t ch = h, cw = w, cpitch = pitch, opitch = w * p[2]
    cdef int rc
    with nogil:
        rc = gmmp_restore_image(plan.ptr, pa, ch, cw, cpitch, po, opitch, opts.ptr)
    if rc < 0:
        err = error_for(rc)
        opts.callback.reraise()
        raise err
    return out


_COLOUR_BASES = {"pca": 0, "opponent": 1, "identity": 2}


def epll_image(Model model, image, double sigma, observed=None, steps=5, step=1, seed=0,
               estimator="mmse", batch=4096, threads=1, progress=None, colour_basis="pca",
               adapt=0, adapt_after=0, blas_serial=False, last_grid=0):
    """Restores an image by EPLL (Zoran and Weiss 2011; gmmp_epll_image):
    `steps` half-quadratic steps (GMMP_OPT_EPLL_STEPS); with step > 1, fast
    EPLL's jittered patch grids (seeded by `seed`). ``observed`` (h x w,
    true where a pixel is observed) makes it inpaint: missing pixels are
    never read. sigma is the noise on observed pixels (pixel units; a small
    value such as 1 for noiseless inpainting of 0..255 images).

    A grey (one-channel) model also restores an h x w x C image, channel
    by channel in an orthonormal colour basis (gmmp_epll_channels):
    ``colour_basis`` "pca" (the image's own principal colour axes, the
    default), "opponent" (C = 3) or "identity". A C-channel model takes
    h x w x C images as they are, and ignores colour_basis.

    ``adapt`` rounds (GMMP_OPT_EPLL_ADAPT) adapt the prior to the image
    before the final restoration (EM adaptation, Luo, Chan and Nguyen
    2016): each restores the image on a jittered grid and adapts the prior
    to that restoration's patches (gmmp_stats_adapt, relevance 16).
    ``adapt_after`` = s (GMMP_OPT_EPLL_ADAPT_AFTER) adapts it once within
    the steps instead, after step s, to that step's estimate, and goes on
    with it: no second restoration. ``last_grid`` (GMMP_OPT_EPLL_LAST_GRID,
    0: `step`) is the grid of the last step, at most the patch size:
    gmmp-restore --fast takes 6 after steps on grids of 4. ``blas_serial``
    as for denoise_image()."""
    p = model.patch
    if p is None:
        raise ArgumentError("the model has no patch description: set it with "
                            "Model.set_patch(h, w, channels, remove_mean)", GMMP_EDIM)
    if colour_basis not in _COLOUR_BASES:
        raise ArgumentError("colour_basis must be one of %s, not %r"
                            % (", ".join(_COLOUR_BASES), colour_basis), GMMP_EINVAL)
    arr = np.asarray(image)
    cdef size_t C = p[2]
    cdef bint by_channel = p[2] == 1 and arr.ndim == 3 and arr.shape[2] > 1
    if by_channel:
        C = arr.shape[2]
    a, h, w, pitch = _image(arr, C)
    out = _new_image(h, w, C)
    mask = None
    if observed is not None:
        mask = _mask(observed, (h, w))
    cdef Options opts = _image_options(step, estimator, batch, threads, progress, blas_serial)
    opts.set("epll_steps", steps)
    opts.set("seed", seed)
    opts.set("channel_basis", _COLOUR_BASES[colour_basis])
    opts.set("epll_adapt", adapt)
    opts.set("epll_adapt_after", adapt_after)
    opts.set("epll_last_grid", last_grid)
    cdef const double *pa = _ptr(a)
    cdef const unsigned char *pk = NULL
    if mask is not None:
        pk = <const unsigned char *><uintptr_t>mask.__array_interface__["data"][0]
    cdef double *po = _ptr(out)
    cdef size_t ch = h, cw = w, cpitch = pitch, opitch = w * C
    cdef int rc
    with nogil:
        if by_channel:
            rc = gmmp_epll_channels(model.ptr, sigma, pa, ch, cw, C, cpitch, pk, po, opitch,
                                    opts.ptr)
        else:
            rc = gmmp_epll_image(model.ptr, sigma, pa, ch, cw, cpitch, pk, po, opitch,
                                 opts.ptr)
    if rc < 0:
        err = error_for(rc)
        opts.callback.reraise()
        raise err
    return out


def group_refine_image(noisy, pilot, double sigma, weight=-1, patch=0, group=0, search=16,
                       step=3, threads=1, progress=None, blas_serial=False):
    """Refines ``pilot``, a restoration of ``noisy`` (for instance
    epll_image()'s), by groups of similar patches: NL-Bayes' second step
    (gmmp_group_refine_image). Each group of the ``group`` patches of the
    pilot most like a reference patch (every ``step`` pixels, searched
    within ``search`` pixels) is taken as Gaussian, with the covariance of
    its pilot patches and the mean of its noisy ones, and its noisy
    patches are replaced by their posterior means, averaged where they
    overlap. Returns ``weight`` times that average plus 1 - weight times
    the pilot. ``patch`` and ``group`` 0 and a negative ``weight`` choose
    by sigma (see GMMP_OPT_GROUP_PATCH, _SIZE, _WEIGHT). Images are h x w
    or h x w x C, both the same shape. ``blas_serial`` as for
    denoise_image(): with threads > 1 and OpenBLAS's own threads, a
    500 x 500 refinement measured 55 s against 9 with it."""
    arr = np.asarray(noisy)
    C = arr.shape[2] if arr.ndim == 3 else 1
    if np.shape(pilot) != arr.shape:
        raise ArgumentError("the pilot's shape %s differs from the noisy image's %s"
                            % (np.shape(pilot), arr.shape), GMMP_EDIM)
    a, h, w, pitch = _image(arr, C)
    b, _, _, bpitch = _image(pilot, C)
    if bpitch != pitch:
        b = np.ascontiguousarray(b)
        a = np.ascontiguousarray(a)
        pitch = w * C
    out = _new_image(h, w, C)
    cdef Options opts = Options(progress=progress, threads=threads, group_weight=weight,
                                group_patch=patch, group_size=group, group_search=search,
                                group_step=step, blas_serial=bool(blas_serial))
    cdef const double *pa = _ptr(a)
    cdef const double *pb = _ptr(b)
    cdef double *po = _ptr(out)
    cdef size_t ch = h, cw = w, cc = C, cpitch = pitch, opitch = w * C
    cdef int rc
    with nogil:
        rc = gmmp_group_refine_image(sigma, pa, pb, ch, cw, cc, cpitch, po, opitch, opts.ptr)
    if rc < 0:
        err = error_for(rc)
        opts.callback.reraise()
        raise err
    return out


def estimate_noise(image):
    """The standard deviation of white Gaussian noise in an h x w or
    h x w x C image, from the image alone (weak-texture patches, Liu, Tanaka
    and Okutomi 2013; see noise.h)."""
    arr = np.asarray(image)
    channels = arr.shape[2] if arr.ndim == 3 else 1
    a, h, w, pitch = _image(arr, channels)
    cdef const double *pa = _ptr(a)
    cdef size_t ch = h, cw = w, cc = channels, cpitch = pitch
    cdef double sigma = NAN
    cdef int rc
    with nogil:
        rc = gmmp_estimate_noise(pa, ch, cw, cc, cpitch, &sigma)
    check(rc)
    return sigma
