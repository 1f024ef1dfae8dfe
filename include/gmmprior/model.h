/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file model.h
 * @brief The Gaussian mixture model: parameters, scoring, sampling, files.
 *
 * A model is a mixture of K full-covariance Gaussians in d dimensions,
 *
 *     p(x) = sum_k weights[k] N(x; means[k], covariances[k]),
 *
 * stored as `weights` (K), `means` (K x d, row-major) and `covariances`
 * (K x d x d, row-major, symmetric positive definite). The model keeps the
 * Cholesky factor of every covariance, computed once when it is created.
 *
 * **Patches.** A model of image patches also says what its d values are:
 * the patch height and width, the number of channels (d = patch_h *
 * patch_w * channels, values ordered as patches.h describes) and whether
 * each patch's per-channel mean was removed before training. Set it with
 * gmmp_model_set_patch() (the tools do), read it with gmmp_model_patch(),
 * and gmmp_extractor_create_for_model() makes a matching extractor. The
 * model file stores it, with a short description of what the model was
 * trained on.
 *
 * **Threading.** A model's parameters never change after creation (its
 * internal caches are filled under a lock): any number of threads may
 * score, sample from or build posterior plans on one model at once. Its
 * description (gmmp_model_set_patch(), gmmp_model_set_description()) is
 * set before the model is shared, not while other threads use it.
 */
#ifndef GMMPRIOR_MODEL_H
#define GMMPRIOR_MODEL_H

#include "common.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A Gaussian mixture model. Opaque and immutable. */
typedef struct gmmp_model gmmp_model;

/**
 * Creates a model from the caller's parameters, which are copied.
 *
 * Validation: K >= 1 and d >= 1; all values finite; weights non-negative
 * and summing to 1 within 1e-8; every covariance symmetric (each pair of
 * entries equal within 1e-10 of the larger diagonal entry: the model
 * stores the symmetric part) and positive definite.
 *
 * @param[out] out      receives the model, owned by the caller; free it with
 *                      gmmp_model_destroy().
 * @param n_components  K, the number of components, >= 1.
 * @param dim           d, the dimension, >= 1.
 * @param weights       K mixture weights.
 * @param means         K x d means.
 * @param covariances   K x d x d covariances.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, K or d of 0, or weights
 *         that are negative or do not sum to 1; GMMP_ENONFINITE for NaN or
 *         infinity; GMMP_ENOTSPD for a covariance that is not symmetric or
 *         not positive definite (the message names the component);
 *         GMMP_EOVERFLOW if K*d*d overflows; GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_create(gmmp_model **out, size_t n_components, size_t dim,
                               const double *weights, const double *means,
                               const double *covariances);

/** Destroys a model. Accepts NULL. */
GMMP_API void gmmp_model_destroy(gmmp_model *model);

/** Number of components K (0 if model is NULL). */
GMMP_API size_t gmmp_model_components(const gmmp_model *model);

/** Dimension d (0 if model is NULL). */
GMMP_API size_t gmmp_model_dim(const gmmp_model *model);

/**
 * Describes the model as a prior for image patches.
 * @param model        the model.
 * @param patch_h      patch height, >= 1.
 * @param patch_w      patch width, >= 1.
 * @param channels     values per pixel (1 grey, 3 colour), >= 1;
 *                     patch_h * patch_w * channels must equal d.
 * @param remove_mean  1 if the model was trained on patches whose
 *                     per-channel means were removed (patches.h), else 0.
 * @return GMMP_OK; GMMP_EINVAL for a NULL model, a zero size or
 *         remove_mean not 0 or 1; GMMP_EDIM if the sizes do not give d.
 */
GMMP_API int gmmp_model_set_patch(gmmp_model *model, size_t patch_h, size_t patch_w,
                                  size_t channels, int remove_mean);

/**
 * Reads the patch description. Any output may be NULL.
 * @param model             the model.
 * @param[out] patch_h      patch height.
 * @param[out] patch_w      patch width.
 * @param[out] channels     values per pixel.
 * @param[out] remove_mean  1 if patch means are removed.
 * @return GMMP_OK; GMMP_EINVAL for a NULL model; GMMP_EDIM if the model
 *         has no patch description (made from arrays, or a version 1
 *         file, and never given one): outputs untouched then.
 */
GMMP_API int gmmp_model_patch(const gmmp_model *model, size_t *patch_h, size_t *patch_w,
                              size_t *channels, int *remove_mean);

/** Longest description, in bytes, that a model keeps. */
#define GMMP_MODEL_DESCRIPTION_MAX 1024

/**
 * Sets the model's free-text description: what it was trained on, with
 * which command. Stored in the model file.
 * @param model  the model.
 * @param text   a NUL-terminated string (UTF-8 by convention) of at most
 *               #GMMP_MODEL_DESCRIPTION_MAX bytes, or NULL for none.
 * @return GMMP_OK; GMMP_EINVAL for a NULL model or a text too long;
 *         GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_set_description(gmmp_model *model, const char *text);

/** The model's description ("" if none, or model is NULL). Valid until
 * the description is changed or the model destroyed. */
GMMP_API const char *gmmp_model_description(const gmmp_model *model);

/**
 * Makes the model carry its covariances' `rank` largest eigenpairs in its
 * file (format version 3, docs/model-format.md). A model loaded from such
 * a file has them without decomposing anything: denoising plans with flat
 * tails of rank at most `rank` (#GMMP_OPT_RANK; fast EPLL's is 16) skip
 * their K eigendecompositions (EPLL's K = 200 prior: about 50 ms of one
 * core). They are computed now, by K full decompositions; the file grows
 * by 8 + 8 K rank (d + 1) bytes. A loaded file's eigenpairs are checked
 * against its covariances, in O(K (d^2 + rank^2 d)). Not to be called while other threads use the
 * model. `gmmp-train --spectra` sets them (16 by default).
 * @param model  the model.
 * @param rank   0 (none: the file is as before) to d.
 * @return GMMP_OK; GMMP_EINVAL for a NULL model or a decomposition that
 *         does not converge; GMMP_EDIM for rank > d; GMMP_ENOMEM.
 * @since 1.1
 */
GMMP_API int gmmp_model_set_spectra(gmmp_model *model, size_t rank);

/** The number of eigenpairs per component the model's file carries
 * (gmmp_model_set_spectra(); 0 if none, or model is NULL). @since 1.1 */
GMMP_API size_t gmmp_model_spectra(const gmmp_model *model);

/**
 * Copies the parameters out. Any output may be NULL to skip it.
 * @param model        the model.
 * @param weights      K values.
 * @param means        K x d values.
 * @param covariances  K x d x d values.
 * @return GMMP_OK; GMMP_EINVAL if model is NULL.
 */
GMMP_API int gmmp_model_get(const gmmp_model *model, double *weights, double *means,
                            double *covariances);

/**
 * Copies out the lower Cholesky factors L_k (covariance_k = L_k L_k^T),
 * K x d x d with zeros above the diagonal.
 * @param model    the model.
 * @param factors  output, K x d x d doubles.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments.
 */
GMMP_API int gmmp_model_cholesky(const gmmp_model *model, double *factors);

/**
 * Scores n samples (X is n x d). Either output may be NULL.
 * @param model   the model.
 * @param X       n x d samples; only read.
 * @param n       number of samples (0 is allowed).
 * @param logpdf  n values: log p(x_i).
 * @param resp    n x K responsibilities p(k | x_i), each row summing to 1.
 * @return GMMP_OK; GMMP_EINVAL for NULL model or X (when n > 0);
 *         GMMP_ENONFINITE if X holds NaN or infinity; GMMP_ENOMEM.
 * Runs with a bounded workspace (a few thousand rows at a time).
 */
GMMP_API int gmmp_model_score_samples(const gmmp_model *model, const double *X, size_t n,
                                      double *logpdf, double *resp);

/**
 * Mean log-likelihood per sample, (1/n) sum_i log p(x_i), as
 * scikit-learn's `GaussianMixture.score`.
 * @param model             the model.
 * @param X                 n x d samples.
 * @param n                 number of samples, >= 1.
 * @param[out] mean_loglik  receives the mean.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers or n = 0; GMMP_ENONFINITE; GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_score(const gmmp_model *model, const double *X, size_t n,
                              double *mean_loglik);

/**
 * Number of free parameters, as scikit-learn counts them for full
 * covariances: K*d*(d+1)/2 + K*d + K - 1. Returns 0 if model is NULL.
 */
GMMP_API size_t gmmp_model_n_parameters(const gmmp_model *model);

/**
 * Bayesian information criterion on X, as scikit-learn's `bic`:
 * -2 * n * score + n_parameters * log(n).
 * @param model     the model.
 * @param X         n x d samples.
 * @param n         number of samples, >= 1.
 * @param[out] bic  receives the criterion.
 * @return as gmmp_model_score().
 */
GMMP_API int gmmp_model_bic(const gmmp_model *model, const double *X, size_t n, double *bic);

/**
 * Akaike information criterion on X, as scikit-learn's `aic`:
 * -2 * n * score + 2 * n_parameters.
 * @param model     the model.
 * @param X         n x d samples.
 * @param n         number of samples, >= 1.
 * @param[out] aic  receives the criterion.
 * @return as gmmp_model_score().
 */
GMMP_API int gmmp_model_aic(const gmmp_model *model, const double *X, size_t n, double *aic);

/**
 * Draws n samples. The same seed gives the same samples on every run.
 * @param model   the model.
 * @param n       number of samples (0 is allowed).
 * @param seed    seed of the library's own generator (xoshiro256**).
 * @param X       output, n x d.
 * @param labels  NULL, or n component indices (which component drew each sample).
 * @return GMMP_OK; GMMP_EINVAL for NULL model or X (when n > 0); GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_sample(const gmmp_model *model, size_t n, uint64_t seed, double *X,
                               size_t *labels);

/** @name Model files
 * A model is stored in a versioned binary format (docs/model-format.md):
 * an 8-byte magic, the format version, K and d, the patch description,
 * the parameters as little-endian IEEE-754 doubles, and a CRC-32 of
 * everything before it.
 * Loading checks every part and never returns a half-loaded model. */
/** @{ */

/** The newest file format version this library writes and reads: 3 for
 * a model that carries eigenpairs (gmmp_model_set_spectra()), 2 for any
 * other (readable by the libraries before 3). Version 1 files, which have
 * no patch description, are still read. */
#define GMMP_MODEL_FORMAT_VERSION 3

/** Size in bytes of a model's serialized form (0 if model is NULL). */
GMMP_API size_t gmmp_model_serialized_size(const gmmp_model *model);

/**
 * Writes the model's serialized form (the file format) into buf.
 * @param model  the model.
 * @param buf    output buffer, owned by the caller.
 * @param size   bytes available, at least gmmp_model_serialized_size().
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments; GMMP_EDIM if size is too small.
 */
GMMP_API int gmmp_model_serialize(const gmmp_model *model, void *buf, size_t size);

/**
 * Reads a model from its serialized form.
 * @param[out] out  receives the model, owned by the caller.
 * @param buf       the serialized bytes; only read.
 * @param size      their number: exactly gmmp_model_serialized_size() of the model.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments; GMMP_EFORMAT for a bad
 *         magic, a truncated or oversized buffer, nonzero reserved flags,
 *         impossible sizes or a checksum mismatch; GMMP_EVERSION for a
 *         format version this library does not read; the codes of
 *         gmmp_model_create() (GMMP_ENONFINITE, GMMP_ENOTSPD, ...) for
 *         intact data that is not a valid model; GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_deserialize(gmmp_model **out, const void *buf, size_t size);

/**
 * Saves the model to a file. The file is written under a temporary name
 * and renamed into place, so a failed save never leaves a partial file.
 * @param model  the model.
 * @param path   the file to write (and `path`.tmp while writing).
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments; GMMP_EIO if the file
 *         cannot be written (the message has the system's reason); GMMP_ENOMEM.
 */
GMMP_API int gmmp_model_save(const gmmp_model *model, const char *path);

/**
 * Loads a model from a file.
 * @param[out] out  receives the model, owned by the caller.
 * @param path      the file to read.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments; GMMP_EIO if the file
 *         cannot be read; otherwise as gmmp_model_deserialize().
 */
GMMP_API int gmmp_model_load(gmmp_model **out, const char *path);

/**
 * Loads a model from a file as gmmp_model_load() does, its checks shared
 * among #GMMP_OPT_THREADS threads (with #GMMP_OPT_BLAS_SERIAL, OpenBLAS
 * serial meanwhile; the other options are ignored): the
 * checksum, and each component's decoding, symmetry and positive
 * definiteness and stored eigenpairs. The model, and on failure the
 * error and its message, are those of gmmp_model_load(). Loading the
 * 8.3 MB K = 200 prior of fast EPLL takes about half the time on two
 * threads (docs/performance.md).
 * @param[out] out  receives the model, owned by the caller.
 * @param path      the file to read.
 * @param options   NULL for the defaults (one thread).
 * @return as gmmp_model_load().
 * @since 1.1
 */
GMMP_API int gmmp_model_load_with(gmmp_model **out, const char *path,
                                  const gmmp_options *options);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_MODEL_H */
