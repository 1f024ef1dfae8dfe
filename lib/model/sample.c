/*
 * Drawing samples from a model: pick components by weight, then transform
 * standard normals by each component's Cholesky factor, a block at a time.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "model.h"
#include "rng.h"

/* Component whose cumulative weight interval holds u in [0, 1). */
static size_t pick_component(const double *weights, size_t K, double u)
{
    double cum = 0.0;
    for (size_t k = 0; k + 1 < K; k++) {
        cum += weights[k];
        if (u < cum)
            return k;
    }
    /* Rounding may leave the total just below 1: the rest is the last
     * component with positive weight. */
    size_t last = K - 1;
    while (last > 0 && weights[last] == 0.0)
        last--;
    return last;
}

int gmmp_model_sample(const gmmp_model *m, size_t n, uint64_t seed, double *X, size_t *labels)
{
    if (!m || (n > 0 && !X))
        return gmmp__fail(GMMP_EINVAL, "model or output is NULL");
    const size_t K = m->K, d = m->d;
    size_t nd;
    if (!gmmp__mul_ok(n, d, &nd) || nd > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "%zu samples of dimension %zu overflow", n, d);
    size_t block = n < GMMP__BLOCK_ROWS ? n : GMMP__BLOCK_ROWS;
    size_t *comp = gmmp__alloc_array(block, sizeof(size_t));
    size_t *rows = gmmp__alloc_array(block, sizeof(size_t));
    double *z = gmmp__alloc_array(block * d, sizeof(double));
    double *chol = gmmp__alloc_array(K * d * d, sizeof(double));
    if (!comp || !rows || !z || !chol) {
        gmmp__free(comp);
        gmmp__free(rows);
        gmmp__free(z);
        gmmp__free(chol);
        return gmmp__fail_nomem();
    }
    for (size_t k = 0; k < K; k++)
        gmmp__model_chol(m, k, chol + k * d * d);
    gmmp__rng rng;
    gmmp__rng_seed(&rng, seed);
    for (size_t start = 0; start < n; start += block) {
        size_t count = gmmp__block_len(n, start, block);
        for (size_t i = 0; i < count; i++)
            comp[i] = pick_component(m->weights, K, gmmp__rng_uniform(&rng));
        for (size_t k = 0; k < K; k++) {
            size_t nk = 0;
            for (size_t i = 0; i < count; i++)
                if (comp[i] == k)
                    rows[nk++] = start + i;
            if (nk == 0)
                continue;
            gmmp__rng_normals(&rng, z, nk * d);
            /* Rows x^T = z^T L_k^T, so x ~ N(0, L_k L_k^T). */
            cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
                        (int)nk, (int)d, 1.0, chol + k * d * d, (int)d, z, (int)d);
            for (size_t i = 0; i < nk; i++) {
                double *dst = X + rows[i] * d;
                for (size_t j = 0; j < d; j++)
                    dst[j] = z[i * d + j] + m->means[k * d + j];
                if (labels)
                    labels[rows[i]] = k;
            }
        }
    }
    gmmp__free(comp);
    gmmp__free(rows);
    gmmp__free(z);
    gmmp__free(chol);
    return GMMP_OK;
}
