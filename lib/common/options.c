/*
 * The options handle: one table of keys with their kind, range and
 * default, so that every call validates and documents options the same
 * way and a new option is one new row.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "gmmprior/options.h"

#include "internal.h"
#include "options_internal.h"

typedef struct option_spec {
    gmmp_option key;
    const char *name;
    bool is_real;
    double lo, hi, def;
} option_spec;

/* Integer ranges are kept within +-9.2e18 so that they convert to
 * int64_t exactly where it matters (the seed's range is wider than any
 * double can tell apart, and any int64 seed is accepted). */
static const option_spec specs[GMMP__N_OPTIONS] = {
    {GMMP_OPT_THREADS, "threads", false, 1, 256, 1},
    {GMMP_OPT_BLAS_SERIAL, "blas_serial", false, 0, 1, 0},
    {GMMP_OPT_SKIP, "skip", true, 0, 1e-3, 1e-12},
    {GMMP_OPT_PRECISION, "precision", false, GMMP_PRECISION_DOUBLE, GMMP_PRECISION_SINGLE,
     GMMP_PRECISION_DOUBLE},
    {GMMP_OPT_MAX_ITER, "max_iter", false, 1, 1e9, 100},
    {GMMP_OPT_N_INIT, "n_init", false, 1, 1e6, 1},
    {GMMP_OPT_INIT, "init", false, GMMP_INIT_KMEANS, GMMP_INIT_MODEL, GMMP_INIT_KMEANS},
    {GMMP_OPT_SEED, "seed", false, (double)INT64_MIN, (double)INT64_MAX, 0},
    {GMMP_OPT_KMEANS_MAX_ITER, "kmeans_max_iter", false, 1, 1e9, 300},
    {GMMP_OPT_TOL, "tol", true, 0, INFINITY, 1e-3},
    {GMMP_OPT_REG_COVAR, "reg_covar", true, 0, INFINITY, 1e-6},
    {GMMP_OPT_PLAN_METHOD, "plan_method", false, GMMP_PLAN_DEFAULT, GMMP_PLAN_CHOLESKY,
     GMMP_PLAN_DEFAULT},
    {GMMP_OPT_RANK, "rank", false, 0, 32000, 0},
    {GMMP_OPT_CANDIDATES, "candidates", false, 0, 1e6, 0},
    {GMMP_OPT_STEP, "step", false, 1, 4096, 1},
    {GMMP_OPT_ESTIMATOR, "estimator", false, GMMP_ESTIMATOR_MMSE, GMMP_ESTIMATOR_MAP,
     GMMP_ESTIMATOR_MMSE},
    {GMMP_OPT_BATCH, "batch", false, 1, 1048576, 4096},
    {GMMP_OPT_EPLL_STEPS, "epll_steps", false, 1, 64, 5},
    {GMMP_OPT_CHANNEL_BASIS, "channel_basis", false, GMMP_BASIS_PCA, GMMP_BASIS_IDENTITY,
     GMMP_BASIS_PCA},
    {GMMP_OPT_EPLL_ADAPT, "epll_adapt", false, 0, 8, 0},
    {GMMP_OPT_ADAPT_RELEVANCE, "adapt_relevance", true, 0, 1e12, 16},
    {GMMP_OPT_EPLL_ADAPT_AFTER, "epll_adapt_after", false, 0, 64, 0},
    {GMMP_OPT_EPLL_LAST_GRID, "epll_last_grid", false, 0, 4096, 0},
    {GMMP_OPT_GROUP_PATCH, "group_patch", false, 0, 32, 0},
    {GMMP_OPT_GROUP_SIZE, "group_size", false, 0, 4096, 0},
    {GMMP_OPT_GROUP_SEARCH, "group_search", false, 1, 256, 16},
    {GMMP_OPT_GROUP_STEP, "group_step", false, 1, 64, 3},
    {GMMP_OPT_GROUP_WEIGHT, "group_weight", true, -1, 1, -1},
};

struct gmmp_options {
    gmmp__option_values v;
};

int gmmp_options_set_progress(gmmp_options *options, gmmp_progress_fn fn, void *payload)
{
    if (!options)
        return gmmp__fail(GMMP_EINVAL, "options handle is NULL");
    options->v.progress = fn;
    options->v.payload = payload;
    return GMMP_OK;
}

static int find(gmmp_option key)
{
    for (int i = 0; i < GMMP__N_OPTIONS; i++)
        if (specs[i].key == key)
            return i;
    return -1;
}

void gmmp__options_defaults(gmmp__option_values *v)
{
    v->progress = NULL;
    v->payload = NULL;
    for (int i = 0; i < GMMP__N_OPTIONS; i++) {
        if (specs[i].is_real)
            v->real[i] = specs[i].def;
        else
            v->integer[i] = (int64_t)specs[i].def;
    }
}

void gmmp__options_read(const gmmp_options *options, gmmp__option_values *v)
{
    if (options)
        *v = options->v;
    else
        gmmp__options_defaults(v);
}

int64_t gmmp__opt_int(const gmmp__option_values *v, gmmp_option key)
{
    int i = find(key);
    return i < 0 ? 0 : v->integer[i];
}

double gmmp__opt_real(const gmmp__option_values *v, gmmp_option key)
{
    int i = find(key);
    return i < 0 ? 0.0 : v->real[i];
}

int gmmp_options_create(gmmp_options **out)
{
    if (!out)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer is NULL");
    gmmp_options *o = gmmp__alloc(sizeof *o);
    if (!o)
        return gmmp__fail_nomem();
    gmmp__options_defaults(&o->v);
    *out = o;
    return GMMP_OK;
}

void gmmp_options_destroy(gmmp_options *options)
{
    gmmp__free(options);
}

/* Finds key's row and checks that it is of the kind asked for. */
static int lookup(gmmp_option key, bool is_real, int *index)
{
    int i = find(key);
    if (i < 0)
        return gmmp__fail(GMMP_EINVAL, "unknown option %d", (int)key);
    if (specs[i].is_real != is_real)
        return gmmp__fail(GMMP_EINVAL, "option %s is %s: use gmmp_options_%s_%s", specs[i].name,
                          specs[i].is_real ? "real" : "an integer", "set or get",
                          specs[i].is_real ? "real" : "int");
    *index = i;
    return GMMP_OK;
}

int gmmp_options_set_int(gmmp_options *options, gmmp_option key, int64_t value)
{
    if (!options)
        return gmmp__fail(GMMP_EINVAL, "options handle is NULL");
    int i = 0, rc = lookup(key, false, &i);
    if (rc)
        return rc;
    /* Compare in double only where the range is narrower than int64's. */
    if ((specs[i].lo > (double)INT64_MIN && (double)value < specs[i].lo) ||
        (specs[i].hi < (double)INT64_MAX && (double)value > specs[i].hi))
        return gmmp__fail(GMMP_EINVAL, "option %s = %lld is out of range [%.0f, %.0f]",
                          specs[i].name, (long long)value, specs[i].lo, specs[i].hi);
    options->v.integer[i] = value;
    return GMMP_OK;
}

int gmmp_options_set_real(gmmp_options *options, gmmp_option key, double value)
{
    if (!options)
        return gmmp__fail(GMMP_EINVAL, "options handle is NULL");
    int i = 0, rc = lookup(key, true, &i);
    if (rc)
        return rc;
    if (!isfinite(value) || value < specs[i].lo || value > specs[i].hi)
        return gmmp__fail(GMMP_EINVAL, "option %s = %g is out of range [%g, %g]", specs[i].name,
                          value, specs[i].lo, specs[i].hi);
    options->v.real[i] = value;
    return GMMP_OK;
}

int gmmp_options_get_int(const gmmp_options *options, gmmp_option key, int64_t *value)
{
    if (!value)
        return gmmp__fail(GMMP_EINVAL, "output pointer is NULL");
    int i = 0, rc = lookup(key, false, &i);
    if (rc)
        return rc;
    *value = options ? options->v.integer[i] : (int64_t)specs[i].def;
    return GMMP_OK;
}

int gmmp_options_get_real(const gmmp_options *options, gmmp_option key, double *value)
{
    if (!value)
        return gmmp__fail(GMMP_EINVAL, "output pointer is NULL");
    int i = 0, rc = lookup(key, true, &i);
    if (rc)
        return rc;
    *value = options ? options->v.real[i] : specs[i].def;
    return GMMP_OK;
}

int gmmp_option_bounds(gmmp_option key, double *lo, double *hi, int *is_int)
{
    int i = find(key);
    if (i < 0)
        return gmmp__fail(GMMP_EINVAL, "unknown option %d", (int)key);
    if (lo)
        *lo = specs[i].lo;
    if (hi)
        *hi = specs[i].hi;
    if (is_int)
        *is_int = !specs[i].is_real;
    return GMMP_OK;
}

const char *gmmp_option_name(gmmp_option key)
{
    int i = find(key);
    return i < 0 ? NULL : specs[i].name;
}

int gmmp__report(const gmmp__option_values *v, const gmmp_progress *p)
{
    return v->progress ? v->progress(p, v->payload) : 0;
}

int gmmp__options_from_values(const gmmp__option_values *v, gmmp_options **out)
{
    int rc = gmmp_options_create(out);
    if (rc == GMMP_OK)
        (*out)->v = *v;
    return rc;
}

void gmmp__opt_set_int(gmmp__option_values *v, gmmp_option key, int64_t value)
{
    int i = find(key);
    if (i >= 0)
        v->integer[i] = value;
}
