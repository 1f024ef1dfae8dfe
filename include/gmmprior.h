/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file gmmprior.h
 * @brief The whole public interface: include this one header.
 */
#ifndef GMMPRIOR_H
#define GMMPRIOR_H

#include "gmmprior/common.h"
#include "gmmprior/options.h"
#include "gmmprior/patches.h"
#include "gmmprior/model.h"
#include "gmmprior/train.h"
#include "gmmprior/posterior.h"
#include "gmmprior/restore.h"
#include "gmmprior/noise.h"

#endif /* GMMPRIOR_H */
