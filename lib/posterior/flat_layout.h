/*
 * What a flat-tail plan derives from the model alone, whatever the noise
 * level: the kept eigenvectors laid out for the blocks' products, their
 * projections of the means, and their float copies. EPLL makes a plan
 * for each of its steps, each at its own noise level; these parts had
 * been rebuilt by every one of them (2 to 6 ms a plan for the K = 200
 * prior, serial, between the steps' passes). They are kept with the
 * model's eigenbases and shared by reference count, so that a plan for
 * another noise level computes only its O(K r) noise-dependent values.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_FLAT_LAYOUT_H
#define GMMP_FLAT_LAYOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "eigen.h"
#include "model.h"

typedef struct gmmp__flat_layout {
    atomic_size_t refs;
    /* What it serves: rank r, preselection's coarse rank r0 (0: none),
     * and whether it holds the float copies single precision uses. */
    size_t rank, pre_rank;
    bool single;
    double *u_all;       /* d x K r: [U_r,1 ... U_r,K], leading eigenvectors as columns */
    float *u_all_f;      /* in float, for single precision without preselection */
    double *proj_mu;     /* K x r: U_r,k^T mu_k */
    double *mu_norm2;    /* K: ||mu_k||^2 */
    /* Preselection's coarse coordinates come through pre_dim directions
     * (0: none, the whole row): the leading eigenvectors of the prior's
     * second moment, where patches and the coarse columns mostly lie. */
    size_t pre_dim;      /* m */
    double *pre_basis;   /* d x m, those directions as columns */
    float *pre_basis_f;  /* in float, for single precision */
    double *pre_u;       /* preselection without a basis: d x (r0 + 1) K, the r0 leading
                            eigenvectors (column a K + k), then the means (column r0 K + k);
                            with one: m x r0 K, the eigenvectors in its coordinates */
    float *pre_means_f;  /* with a basis, for single precision: K x d, the model's means
                            in float (whole; in double the plan takes the model's) */
    size_t pre_exact;    /* coordinates a candidate computes itself: r with a basis
                            (its coarse ones approximate), else r - r0 */
    double *pre_rest;    /* K x d x pre_exact: the kept eigenvectors not taken from the
                            coarse product, as columns */
    float *pre_u_f;      /* pre_u in float, for single precision */
    float *pre_rest_f;   /* pre_rest in float, transposed: K x pre_exact x d, rows */
    double *pre_proj_mu; /* r0 x K: the coarse eigenvectors' projections of mu_k */
} gmmp__flat_layout;

/* The layout of rank r (1 <= r < d) and coarse rank r0 (0: without
 * preselection) for model m and its eigenbases e, with float copies if
 * `single` asks (those the plan would use: none with preselection when
 * the means exceed float's safe range): the one kept with e when it
 * serves, else a new one, which is then kept. A reference for the
 * caller, released with gmmp__flat_layout_release. */
int gmmp__flat_layout_get(const gmmp_model *m, gmmp__eigen *e, size_t r, size_t r0,
                          bool single, gmmp__flat_layout **out);

/* Drops one reference. Accepts NULL. */
void gmmp__flat_layout_release(gmmp__flat_layout *layout);

#endif /* GMMP_FLAT_LAYOUT_H */
