/*
 * Scoring samples under a model: log-likelihoods, responsibilities,
 * mean log-likelihood, BIC and AIC (scikit-learn's definitions).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "estep.h"
#include "internal.h"

/* Scores in blocks; logpdf and resp may be NULL; sum receives the total
 * log-likelihood if not NULL. */
static int score_blocks(const gmmp_model *m, const double *X, size_t n, double *logpdf,
                        double *resp, double *sum)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    int rc = gmmp__check_samples(X, n, m->d);
    if (rc || (rc = gmmp__model_prepare_scoring(m)))
        return rc;
    const size_t K = m->K, d = m->d;
    size_t block = n < GMMP__BLOCK_ROWS ? n : GMMP__BLOCK_ROWS;
    double *work = gmmp__alloc_array(block * d, sizeof(double));
    double *lp = gmmp__alloc_array(block * K, sizeof(double));
    double *lpdf = gmmp__alloc_array(block, sizeof(double));
    if (!work || !lp || !lpdf) {
        gmmp__free(work);
        gmmp__free(lp);
        gmmp__free(lpdf);
        return gmmp__fail_nomem();
    }
    double total = 0.0;
    for (size_t start = 0; start < n; start += block) {
        size_t rows = gmmp__block_len(n, start, block);
        gmmp__log_prob(m, NULL, X + start * d, rows, lp, work, NULL);
        gmmp__log_normalize(lp, rows, K, lpdf);
        for (size_t i = 0; i < rows; i++)
            total += lpdf[i];
        if (logpdf)
            memcpy(logpdf + start, lpdf, rows * sizeof *lpdf);
        if (resp)
            for (size_t i = 0; i < rows * K; i++)
                resp[start * K + i] = exp(lp[i]);
    }
    gmmp__free(work);
    gmmp__free(lp);
    gmmp__free(lpdf);
    if (sum)
        *sum = total;
    return GMMP_OK;
}

int gmmp_model_score_samples(const gmmp_model *m, const double *X, size_t n, double *logpdf,
                             double *resp)
{
    return score_blocks(m, X, n, logpdf, resp, NULL);
}

int gmmp_model_score(const gmmp_model *m, const double *X, size_t n, double *mean_loglik)
{
    if (!mean_loglik || n == 0)
        return gmmp__fail(GMMP_EINVAL, "%s", n == 0 ? "no samples to score" : "output is NULL");
    double sum = 0.0;
    int rc = score_blocks(m, X, n, NULL, NULL, &sum);
    if (rc == GMMP_OK)
        *mean_loglik = sum / (double)n;
    return rc;
}

int gmmp_model_bic(const gmmp_model *m, const double *X, size_t n, double *bic)
{
    double score;
    int rc = gmmp_model_score(m, X, n, bic ? &score : NULL);
    if (rc == GMMP_OK)
        *bic = -2.0 * score * (double)n + (double)gmmp_model_n_parameters(m) * log((double)n);
    return rc;
}

int gmmp_model_aic(const gmmp_model *m, const double *X, size_t n, double *aic)
{
    double score;
    int rc = gmmp_model_score(m, X, n, aic ? &score : NULL);
    if (rc == GMMP_OK)
        *aic = -2.0 * score * (double)n + 2.0 * (double)gmmp_model_n_parameters(m);
    return rc;
}
