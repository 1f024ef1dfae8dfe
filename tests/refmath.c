/*
 * Slow reference computations for the tests.
 * SPDX-License-Identifier: MIT
 */
#include "refmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ref_inverse(const double *a, size_t n, double *inv)
{
    double *m = malloc(n * n * sizeof *m);
    memcpy(m, a, n * n * sizeof *m);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            inv[i * n + j] = i == j;
    double logdet = 0.0;
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(m[r * n + col]) > fabs(m[piv * n + col]))
                piv = r;
        if (piv != col)
            for (size_t j = 0; j < n; j++) {
                double t = m[col * n + j];
                m[col * n + j] = m[piv * n + j];
                m[piv * n + j] = t;
                t = inv[col * n + j];
                inv[col * n + j] = inv[piv * n + j];
                inv[piv * n + j] = t;
            }
        double p = m[col * n + col];
        logdet += log(fabs(p));
        for (size_t j = 0; j < n; j++) {
            m[col * n + j] /= p;
            inv[col * n + j] /= p;
        }
        for (size_t r = 0; r < n; r++) {
            if (r == col)
                continue;
            double f = m[r * n + col];
            if (f == 0.0)
                continue;
            for (size_t j = 0; j < n; j++) {
                m[r * n + j] -= f * m[col * n + j];
                inv[r * n + j] -= f * inv[col * n + j];
            }
        }
    }
    free(m);
    return logdet;
}

void ref_matmul(const double *a, const double *b, size_t n, size_t k, size_t m, double *c)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double s = 0.0;
            for (size_t t = 0; t < k; t++)
                s += a[i * k + t] * b[t * m + j];
            c[i * m + j] = s;
        }
}

void ref_transpose(const double *a, size_t n, size_t m, double *b)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            b[j * n + i] = a[i * m + j];
}

double ref_log_gauss(const double *x, const double *mu, const double *cov, size_t d)
{
    double *inv = malloc(d * d * sizeof *inv);
    double logdet = ref_inverse(cov, d, inv);
    double q = 0.0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            q += (x[i] - mu[i]) * inv[i * d + j] * (x[j] - mu[j]);
    free(inv);
    return -0.5 * ((double)d * 1.8378770664093454836 + logdet + q);
}

double ref_mixture(const double *x, size_t K, size_t d, const double *w, const double *mu,
                   const double *cov, double *resp)
{
    double top = -INFINITY;
    for (size_t k = 0; k < K; k++) {
        resp[k] = log(w[k]) + ref_log_gauss(x, mu + k * d, cov + k * d * d, d);
        top = fmax(top, resp[k]);
    }
    double s = 0.0;
    for (size_t k = 0; k < K; k++)
        s += exp(resp[k] - top);
    double lse = top + log(s);
    for (size_t k = 0; k < K; k++)
        resp[k] = exp(resp[k] - lse);
    return lse;
}

/* Cyclic Jacobi: rotate away the largest remaining off-diagonal entries
 * sweep after sweep until they are negligible, accumulating the rotations
 * (Golub and Van Loan, section 8.5). */
void ref_sym_eigen(const double *a, size_t n, double *lambda, double *vt)
{
    double *m = malloc(n * n * sizeof *m);
    memcpy(m, a, n * n * sizeof *m);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            vt[i * n + j] = i == j ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, diag = 0.0;
        for (size_t i = 0; i < n; i++) {
            diag += m[i * n + i] * m[i * n + i];
            for (size_t j = 0; j < n; j++)
                off += i != j ? m[i * n + j] * m[i * n + j] : 0.0;
        }
        if (off <= 1e-30 * diag || off == 0.0)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                if (m[p * n + q] == 0.0)
                    continue;
                double theta = (m[q * n + q] - m[p * n + p]) / (2.0 * m[p * n + q]);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (size_t k = 0; k < n; k++) { /* M <- M J */
                    double mkp = m[k * n + p], mkq = m[k * n + q];
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for (size_t k = 0; k < n; k++) { /* M <- J^T M */
                    double mpk = m[p * n + k], mqk = m[q * n + k];
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for (size_t k = 0; k < n; k++) { /* rows of vt are the columns of V J */
                    double vp = vt[p * n + k], vq = vt[q * n + k];
                    vt[p * n + k] = c * vp - s * vq;
                    vt[q * n + k] = s * vp + c * vq;
                }
            }
    }
    /* Ascending order (selection sort: n is small). */
    for (size_t i = 0; i < n; i++)
        lambda[i] = m[i * n + i];
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            best = lambda[j] < lambda[best] ? j : best;
        double tl = lambda[i];
        lambda[i] = lambda[best];
        lambda[best] = tl;
        for (size_t k = 0; k < n; k++) {
            double tv = vt[i * n + k];
            vt[i * n + k] = vt[best * n + k];
            vt[best * n + k] = tv;
        }
    }
    free(m);
}
