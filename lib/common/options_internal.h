/*
 * Option values as the library's calls read them: a plain copy of an
 * options handle (or of the defaults), taken when a call starts, so that
 * the caller's handle may change or go away afterwards.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_OPTIONS_INTERNAL_H
#define GMMP_OPTIONS_INTERNAL_H

#include <stdint.h>

#include "gmmprior/options.h"

/* Number of keys in the table of options.c. */
#define GMMP__N_OPTIONS 28

typedef struct gmmp__option_values {
    int64_t integer[GMMP__N_OPTIONS];
    double real[GMMP__N_OPTIONS];
    gmmp_progress_fn progress; /* gmmp_options_set_progress */
    void *payload;
} gmmp__option_values;

/* A new handle holding these values, for a call that passes modified
 * options on to another. */
int gmmp__options_from_values(const gmmp__option_values *v, gmmp_options **out);

/* Sets a value in place; the key must be of that kind and the value in
 * range (callers use known keys and values). */
void gmmp__opt_set_int(gmmp__option_values *v, gmmp_option key, int64_t value);

/* Calls the progress callback, if any; non-zero means stop. */
int gmmp__report(const gmmp__option_values *v, const gmmp_progress *p);

/* Every option at its default. */
void gmmp__options_defaults(gmmp__option_values *v);

/* Copies the handle's values, or the defaults for NULL. */
void gmmp__options_read(const gmmp_options *options, gmmp__option_values *v);

/* One value; the key must be of that kind (callers use known keys). */
int64_t gmmp__opt_int(const gmmp__option_values *v, gmmp_option key);
double gmmp__opt_real(const gmmp__option_values *v, gmmp_option key);

#endif /* GMMP_OPTIONS_INTERNAL_H */
