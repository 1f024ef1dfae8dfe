/*
 * Strict option values for the tools and examples (see cli.h).
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <gmmprior.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int silent;

void cli_set_silent(int on)
{
    silent = on;
}

/* Messages go to stderr unless silenced. */
#define SAY(...) (silent ? 0 : fprintf(stderr, __VA_ARGS__))

/* Whole-text parses; 0 on success. */
static int parse_int(const char *text, long long *v)
{
    char *end;
    if (!text || !*text || isspace((unsigned char)text[0]))
        return -1;
    errno = 0;
    *v = strtoll(text, &end, 10);
    return *end != '\0' || errno ? -1 : 0;
}

static int parse_real(const char *text, double *v)
{
    char *end;
    if (!text || !*text || isspace((unsigned char)text[0]))
        return -1;
    errno = 0;
    *v = strtod(text, &end);
    return *end != '\0' || errno == ERANGE || !isfinite(*v) ? -1 : 0;
}

int cli_int(const char *prog, const char *option, const char *text, int64_t lo, int64_t hi,
            int64_t *out)
{
    long long v;
    if (parse_int(text, &v) || v < lo || v > hi) {
        SAY("%s: bad value '%s' for --%s: expected an integer in [%lld, %lld]\n",
                prog, text ? text : "", option, (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_real(const char *prog, const char *option, const char *text, double lo, double hi,
             double *out)
{
    double v;
    if (parse_real(text, &v) || v < lo || v > hi) {
        SAY("%s: bad value '%s' for --%s: expected a number in [%g, %g]\n", prog,
                text ? text : "", option, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_real_list(const char *prog, const char *option, const char *text, double lo, double hi,
                  double *out, size_t max, size_t *n)
{
    size_t count = 0;
    const char *p = text ? text : "";
    char item[128];
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        double v;
        if (count == max || len == 0 || len >= sizeof item)
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_real(item, &v) || v < lo || v > hi)
            goto bad;
        out[count++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    *n = count;
    return 0;
bad:
    SAY("%s: bad value '%s' for --%s: expected 1 to %zu comma-separated numbers, "
                    "each in [%g, %g]\n",
            prog, text ? text : "", option, max, lo, hi);
    return -1;
}

const char *const cli_precisions[] = {[GMMP_PRECISION_DOUBLE] = "double",
                                      [GMMP_PRECISION_SINGLE] = "single", NULL};

int cli_choice(const char *prog, const char *option, const char *text,
               const char *const *choices, int *out)
{
    for (int i = 0; choices[i]; i++)
        if (text && strcmp(text, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    SAY("%s: bad value '%s' for --%s: expected one of", prog, text ? text : "",
            option);
    for (int i = 0; choices[i]; i++)
        SAY("%s %s", i ? "," : "", choices[i]);
    SAY(" (exactly, in lower case)\n");
    return -1;
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    if (silent)
        return CLI_USAGE;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}

int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cli_flush_stdout(const char *prog)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        fprintf(stderr, "%s: cannot write the standard output: %s\n", prog,
                e ? strerror(e) : "write error");
        return -1;
    }
    return 0;
}

int cli_print_version(const char *prog)
{
    printf("%s (libgmmprior) %s\n", prog, gmmp_version_string());
    return cli_flush_stdout(prog) ? 1 : 0;
}
