/*
 * gmmp-train: fits a Gaussian-mixture patch prior to the patches of images.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gmmprior.h"
#include "imageio.h"
#include "stream_em.h"

static const char *prog = "gmmp-train";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-train [options] INPUT... -o MODEL\n"
            "Fits a Gaussian mixture to the overlapping patches of the input images\n"
            "(IDX files, gzip-compressed or not, PGM/PPM or PNG; grey, or RGB for a colour\n"
            "prior of M x M x 3 patches: all inputs alike) and writes a model file.\n"
            "\n"
            "  -o, --output MODEL     model file to write (required)\n"
            "  --patch M              patch side, M x M patches (default 8)\n"
            "  --step S               patch step (default 1)\n"
            "  --components K         mixture components (default 20)\n"
            "  --max-iter N           EM iterations at most (default 100)\n"
            "  --tol T                stop when the mean log-likelihood changes less (1e-3)\n"
            "  --reg-covar R          added to each covariance's diagonal (default 1e-6)\n"
            "  --init kmeans|random   initialisation (default kmeans)\n"
            "  --n-init N             restarts, the best kept (default 1)\n"
            "  --seed N               seed of the initialisation and subset (default 0)\n"
            "  --max-patches N        train on a random subset of N patches (default: all)\n"
            "  --remove-mean          remove each patch's mean (for natural images)\n"
            "  --threads N            threads (default: all cores; with more than one,\n"
            "                         OpenBLAS is kept single-threaded while they run)\n"
            "  --precision P          double (default) or single: the E-step's whitening in\n"
            "                         float where that is accurate enough (about 1.5-2x faster)\n"
            "  --init-model MODEL     start from this model file (skips --init)\n"
            "  --chunk N              out of core: stream the inputs, N patches in memory at\n"
            "                         a time, one pass over them per EM iteration\n"
            "  --init-patches N       with --chunk: k-means (or random) initialisation on a\n"
            "                         random sample of N patches (default 100000)\n"
            "  --spectra R            write each covariance's R (at most d) largest\n"
            "                         eigenpairs into the model file, so that fast\n"
            "                         restorations need not compute them (default 16; 0: none)\n"
            "  --max-elements N       refuse inputs of more pixels than N (default 2^27)\n"
            "  -q, --quiet            no progress lines\n"
            "  --version              print the version\n"
            "  -h, --help             this help\n"
            "\n"
            "Progress goes to stderr, one line per iteration. --tol 0 --max-iter N runs\n"
            "exactly N iterations. The model file records the patch size, the mean\n"
            "removal and what the model was trained on, for gmmp-denoise and gmmp-epll.\n"
            "--max-patches and --n-init do not apply with --chunk; with --init-model, K\n"
            "is the model's (--components must agree). Pixel values must be finite and\n"
            "within +-1e30. Usage errors exit with status 2.\n");
}

typedef struct options {
    const char *output, *init_model;
    int64_t patch, step, components, max_iter, n_init, seed, max_patches, threads, chunk,
        init_patches, spectra;
    double tol, reg_covar;
    int init, remove_mean, quiet, patch_given, components_given;
    int precision; /* a gmmp_precision */
} options;

/* The library options of the trainer: the tools are applications, so
 * with several threads of their own they keep OpenBLAS single-threaded
 * meanwhile (GMMP_OPT_BLAS_SERIAL). NULL on failure. */
static gmmp_options *trainer_options(const options *o)
{
    gmmp_options *to = NULL;
    if (gmmp_options_create(&to) || gmmp_options_set_int(to, GMMP_OPT_SEED, o->seed) ||
        gmmp_options_set_int(to, GMMP_OPT_THREADS, o->threads) ||
        gmmp_options_set_int(to, GMMP_OPT_BLAS_SERIAL, o->threads > 1) ||
        gmmp_options_set_real(to, GMMP_OPT_REG_COVAR, o->reg_covar) ||
        gmmp_options_set_int(to, GMMP_OPT_PRECISION, o->precision)) {
        gmmp_options_destroy(to);
        return NULL;
    }
    return to;
}

static int on_progress(const gmmp_progress *p, void *payload)
{
    (void)payload;
    if (p->phase == GMMP_PHASE_KMEANS) {
        /* The initialisation can take minutes: say that it is running. */
        if (p->iteration == 1 || p->iteration % 10 == 0)
            fprintf(stderr, "k-means iteration %4d  %8.2f s\n", p->iteration, p->seconds);
        return 0;
    }
    if (p->phase != GMMP_PHASE_EM)
        return 0;
    fprintf(stderr, "iteration %4d  mean log-likelihood %14.6f  change %11.4e  %8.2f s\n",
            p->iteration, p->mean_loglik, p->change, p->seconds);
    return 0;
}

/* Draws `want` distinct indices below `total` by a partial shuffle. */
static size_t *choose(size_t total, size_t want, uint64_t seed)
{
    size_t *all = malloc(total * sizeof *all);
    if (!all)
        return NULL;
    for (size_t i = 0; i < total; i++)
        all[i] = i;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < want; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = i + (size_t)((s >> 11) % (total - i));
        size_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    return all;
}

/* Initialises on a random sample of the stream, as the in-memory trainer
 * would on all the data: its init method and one EM iteration. */
static int sample_init(const options *o, const stream_source *src, gmmp_model **init)
{
    char err[512];
    double *X = NULL;
    size_t n = 0;
    gmmp_trainer *t = NULL;
    gmmp_options *to = NULL;
    int status = 1;
    if (stream_sample(src, (size_t)o->init_patches, (uint64_t)o->seed, &X, &n, err,
                      sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (!(to = trainer_options(o)) || gmmp_options_set_int(to, GMMP_OPT_INIT, o->init) ||
        gmmp_options_set_int(to, GMMP_OPT_MAX_ITER, 1) ||
        gmmp_trainer_create(&t, (size_t)o->components, to) ||
        gmmp_trainer_fit(t, X, n, (size_t)(o->patch * o->patch), init, NULL)) {
        fprintf(stderr, "%s: initialisation failed: %s\n", prog, gmmp_last_error());
        goto done;
    }
    if (!o->quiet)
        fprintf(stderr, "%s: initialised on %zu sampled patches\n", prog, n);
    status = 0;
done:
    gmmp_trainer_destroy(t);
    gmmp_options_destroy(to);
    free(X);
    return status;
}

/* Out of core: inputs streamed chunk by chunk, one pass per iteration. */
static int train_streamed(const options *o, const char *const *paths, size_t n_paths,
                          const gmmp_model *given, gmmp_model **out)
{
    stream_source src = {paths, n_paths, (size_t)o->patch, (size_t)o->step, o->remove_mean,
                         (size_t)o->chunk, 0, 1};
    char err[512];
    gmmp_model *sampled = NULL;
    if (!given && sample_init(o, &src, &sampled))
        return 1;
    stream_fit_options fo;
    stream_fit_defaults(&fo);
    fo.max_iter = (int)o->max_iter;
    fo.tol = o->tol;
    fo.reg_covar = o->reg_covar;
    fo.precision = o->precision;
    fo.verbose = !o->quiet;
    gmmp_fit_info info;
    int failed = stream_fit(&src, given ? given : sampled, &fo, out, &info, err, sizeof err);
    gmmp_model_destroy(sampled);
    if (failed) {
        fprintf(stderr, "%s: training failed: %s\n", prog, err);
        return 1;
    }
    if (!o->quiet)
        fprintf(stderr, "%s: streamed, %lld patches per chunk: %d iterations, %s, mean "
                        "log-likelihood %.6f, %.1f s\n",
                prog, (long long)o->chunk, info.n_iter,
                info.converged ? "converged" : "not converged", info.mean_loglik, info.seconds);
    return 0;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads every input (patch counts decide the subset), then extracts all
 * patches or a random subset of them into *X. */
static int load_patches(const options *o, const char *const *paths, size_t n_inputs,
                        double **X_out, size_t *n_out, size_t *total_out, size_t *channels_out)
{
    gmmpio_stack *inputs = calloc(n_inputs, sizeof *inputs);
    size_t *per = calloc(n_inputs, sizeof *per), *pick = NULL, total = 0;
    double *X = NULL, *means = NULL;
    gmmp_extractor *ex = NULL;
    char err[512];
    int status = 1;
    if (!inputs || !per) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    /* Grey or colour, as the first input is; every input alike. */
    size_t C = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        if (gmmpio_read_images_ex(paths[i], GMMPIO_READ_COLOUR, &inputs[i], NULL, err,
                                  sizeof err) ||
            gmmpio_check_values(&inputs[i], CLI_VALUE_LIMIT, paths[i], err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto done;
        }
        size_t ci = gmmpio_stack_channels(&inputs[i]);
        if (C == 0) {
            C = ci;
            if (gmmp_extractor_create(&ex, (size_t)o->patch, (size_t)o->patch, C,
                                      (size_t)o->step)) {
                fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
                goto done;
            }
        } else if (ci != C) {
            fprintf(stderr, "%s: %s has %zu channel(s), %s %zu: train on grey or on colour "
                            "images, not both\n",
                    prog, paths[i], ci, paths[0], C);
            goto done;
        }
        if (gmmp_extractor_count(ex, inputs[i].rows, inputs[i].cols, &per[i])) {
            fprintf(stderr, "%s: %s: %s\n", prog, paths[i], gmmp_last_error());
            goto done;
        }
        total += inputs[i].count * per[i];
    }
    size_t n = o->max_patches > 0 && (size_t)o->max_patches < total ? (size_t)o->max_patches
                                                                     : total;
    size_t d = (size_t)(o->patch * o->patch) * C;
    if (n < (size_t)o->components) {
        fprintf(stderr, "%s: %zu patches cannot train %lld components\n", prog, n,
                (long long)o->components);
        goto done;
    }
    size_t bytes;
    if (__builtin_mul_overflow(n, d, &bytes) || __builtin_mul_overflow(bytes, sizeof *X, &bytes)) {
        fprintf(stderr, "%s: %zu patches of %zu pixels do not fit in memory (use --chunk or "
                        "--max-patches)\n",
                prog, n, d);
        goto done;
    }
    X = malloc(bytes);
    means = o->remove_mean ? malloc(n * C * sizeof *means) : NULL;
    pick = n < total ? choose(total, n, (uint64_t)o->seed) : NULL;
    if (!X || (o->remove_mean && !means) || (n < total && !pick)) {
        fprintf(stderr, "%s: out of memory for %zu patches of %zu pixels\n", prog, n, d);
        goto done;
    }
    if (pick) /* in file order, for the walk below */
        qsort(pick, n, sizeof *pick, compare_size);
    /* Walk the inputs' patches in order, taking all or the picked ones. */
    size_t global = 0, taken = 0;
    for (size_t f = 0; f < n_inputs && taken < n; f++) {
        const gmmpio_stack *s = &inputs[f];
        size_t pixels = s->rows * s->cols * C;
        for (size_t img = 0; img < s->count && taken < n; img++, global += per[f]) {
            for (size_t j = 0; j < per[f] && taken < n; j++) {
                if (pick && pick[taken] != global + j)
                    continue;
                gmmp_extractor_extract(ex, s->pixels + img * pixels, s->rows, s->cols,
                                       s->cols * C, j, 1, X + taken * d,
                                       means ? means + taken * C : NULL);
                taken++;
            }
        }
    }
    *X_out = X;
    X = NULL;
    *n_out = n;
    *total_out = total;
    *channels_out = C;
    status = 0;
done:
    for (size_t i = 0; inputs && i < n_inputs; i++)
        gmmpio_stack_free(&inputs[i]);
    free(inputs);
    free(per);
    free(pick);
    free(means);
    free(X);
    gmmp_extractor_destroy(ex);
    return status;
}

/* All (or a subset of) the patches in memory, one trainer. */
static int train_in_memory(const options *o, const char *const *paths, size_t n_paths,
                           const gmmp_model *init, gmmp_model **out, size_t *channels)
{
    double *X = NULL;
    size_t n = 0, total = 0;
    if (load_patches(o, paths, n_paths, &X, &n, &total, channels))
        return 1;
    size_t d = (size_t)(o->patch * o->patch) * *channels;
    if (init && gmmp_model_dim(init) != d) {
        fprintf(stderr, "%s: --init-model %s is on patches of %zu values, the %zu-channel "
                        "inputs give %zu\n",
                prog, o->init_model, gmmp_model_dim(init), *channels, d);
        free(X);
        return 1;
    }
    if (!o->quiet)
        fprintf(stderr, "%s: %zu patches of %lldx%lld%s (of %zu), K = %lld, %lld threads\n",
                prog, n, (long long)o->patch, (long long)o->patch,
                *channels == 3 ? "x3 (RGB)" : "", total, (long long)o->components,
                (long long)o->threads);
    gmmp_trainer *t = NULL;
    gmmp_options *to = NULL;
    gmmp_fit_info info;
    int status = 1;
    if (!(to = trainer_options(o)) ||
        gmmp_options_set_int(to, GMMP_OPT_MAX_ITER, o->max_iter) ||
        gmmp_options_set_int(to, GMMP_OPT_N_INIT, o->n_init) ||
        gmmp_options_set_int(to, GMMP_OPT_INIT, init ? GMMP_INIT_MODEL : o->init) ||
        gmmp_options_set_real(to, GMMP_OPT_TOL, o->tol) ||
        (!o->quiet && gmmp_options_set_progress(to, on_progress, NULL)) ||
        gmmp_trainer_create(&t, (size_t)o->components, to) ||
        (init && gmmp_trainer_set_init_model(t, init)) ||
        gmmp_trainer_fit(t, X, n, d, out, &info)) {
        fprintf(stderr, "%s: training failed: %s\n", prog, gmmp_last_error());
    } else {
        status = 0;
        size_t single = 0, dbl = 0;
        gmmp_trainer_precision(t, &single, &dbl);
        if (!o->quiet)
            fprintf(stderr, "%s: %d iterations, %s, mean log-likelihood %.6f, %.1f s\n", prog,
                    info.n_iter, info.converged ? "converged" : "not converged",
                    info.mean_loglik, info.seconds);
        if (!o->quiet && o->precision == GMMP_PRECISION_SINGLE)
            fprintf(stderr, "%s: single precision: %zu of %zu E-step passes (components x "
                    "iterations); the rest fell back to double\n",
                    prog, single, single + dbl);
    }
    gmmp_trainer_destroy(t);
    gmmp_options_destroy(to);
    free(X);
    return status;
}

/* What the model was trained on, for its description: the command's
 * options that shape the model and the inputs' names and image counts. */
static void describe(const options *o, const char *const *paths, size_t n_paths, char *buf,
                     size_t len)
{
    size_t images = 0, at = 0;
    int known = 1;
    for (size_t i = 0; i < n_paths; i++) {
        gmmpio_reader *r;
        char err[256];
        size_t count, rows, cols;
        if (gmmpio_reader_open(&r, paths[i], err, sizeof err)) {
            known = 0;
            continue;
        }
        gmmpio_reader_info(r, &count, &rows, &cols);
        gmmpio_reader_close(r);
        images += count;
    }
#define ADD(...)                                                                           \
    do {                                                                                   \
        int k_ = snprintf(buf + at, len - at, __VA_ARGS__);                                \
        at = k_ < 0 ? at : (size_t)k_ >= len - at ? len - 1 : at + (size_t)k_;             \
    } while (0)
    ADD("gmmp-train --patch %lld", (long long)o->patch);
    if (o->step != 1)
        ADD(" --step %lld", (long long)o->step);
    ADD(" --components %lld", (long long)o->components);
    if (o->remove_mean)
        ADD(" --remove-mean");
    if (o->max_patches > 0)
        ADD(" --max-patches %lld", (long long)o->max_patches);
    if (o->seed != 0)
        ADD(" --seed %lld", (long long)o->seed);
    if (o->init_model)
        ADD(" --init-model %s", strrchr(o->init_model, '/') ? strrchr(o->init_model, '/') + 1
                                                            : o->init_model);
    ADD(" on");
    for (size_t i = 0; i < n_paths; i++) {
        const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        if (i == 8 && n_paths > 9) { /* room for the rest of the sentence */
            ADD(" and %zu more", n_paths - i);
            break;
        }
        ADD("%s %s", i ? "," : "", base);
    }
    if (known)
        ADD(" (%zu image%s)", images, images == 1 ? "" : "s");
#undef ADD
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    options o = {NULL, NULL, 8, 1, 20, 100, 1, 0, 0, cores > 0 ? cores : 1, 0, 100000, 16,
                 1e-3, 1e-6, GMMP_INIT_KMEANS, 0, 0, 0, 0, GMMP_PRECISION_DOUBLE};
    int64_t max_elements = (int64_t)GMMPIO_DEFAULT_MAX_ELEMENTS;
    int n_init_given = 0;
    enum { PATCH = 256, STEP, COMP, MAXIT, TOL, REG, INIT, NINIT, SEED, MAXP, RMEAN, THREADS,
           INITMODEL, CHUNK, INITP, MAXEL, PREC, SPECTRA };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},     {"patch", required_argument, 0, PATCH},
        {"step", required_argument, 0, STEP},      {"components", required_argument, 0, COMP},
        {"max-iter", required_argument, 0, MAXIT}, {"tol", required_argument, 0, TOL},
        {"reg-covar", required_argument, 0, REG},  {"init", required_argument, 0, INIT},
        {"n-init", required_argument, 0, NINIT},   {"seed", required_argument, 0, SEED},
        {"max-patches", required_argument, 0, MAXP}, {"remove-mean", no_argument, 0, RMEAN},
        {"threads", required_argument, 0, THREADS}, {"quiet", no_argument, 0, 'q'},
        {"init-model", required_argument, 0, INITMODEL}, {"chunk", required_argument, 0, CHUNK},
        {"init-patches", required_argument, 0, INITP},
        {"max-elements", required_argument, 0, MAXEL},
        {"precision", required_argument, 0, PREC},
        {"spectra", required_argument, 0, SPECTRA},
        {"help", no_argument, 0, 'h'},             {"version", no_argument, 0, 'V'},             {0, 0, 0, 0}};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case PATCH:
            bad = cli_int(prog, "patch", optarg, 1, 4096, &o.patch);
            o.patch_given = 1;
            break;
        case STEP: bad = cli_int(prog, "step", optarg, 1, 4096, &o.step); break;
        case COMP:
            bad = cli_int(prog, "components", optarg, 1, 100000, &o.components);
            o.components_given = 1;
            break;
        case MAXIT: bad = cli_int(prog, "max-iter", optarg, 1, 1000000000, &o.max_iter); break;
        case TOL: bad = cli_real(prog, "tol", optarg, 0.0, 1e300, &o.tol); break;
        case REG: bad = cli_real(prog, "reg-covar", optarg, 0.0, 1e300, &o.reg_covar); break;
        case NINIT:
            bad = cli_int(prog, "n-init", optarg, 1, 1000000, &o.n_init);
            n_init_given = 1;
            break;
        case SEED: bad = cli_int(prog, "seed", optarg, 0, INT64_MAX, &o.seed); break;
        case MAXP: bad = cli_int(prog, "max-patches", optarg, 1, INT64_MAX, &o.max_patches); break;
        case THREADS: bad = cli_int(prog, "threads", optarg, 1, 256, &o.threads); break;
        case PREC: bad = cli_choice(prog, "precision", optarg, cli_precisions, &o.precision); break;
        case SPECTRA: bad = cli_int(prog, "spectra", optarg, 0, 32000, &o.spectra); break;
        case RMEAN: o.remove_mean = 1; break;
        case INITMODEL: o.init_model = optarg; break;
        case CHUNK: bad = cli_int(prog, "chunk", optarg, 1, INT64_MAX / 65536, &o.chunk); break;
        case INITP:
            bad = cli_int(prog, "init-patches", optarg, 1, INT64_MAX / 65536, &o.init_patches);
            break;
        case MAXEL:
            bad = cli_int(prog, "max-elements", optarg, 1, GMMPIO_MAX_ELEMENTS, &max_elements);
            break;
        case 'q': o.quiet = 1; break;
        case INIT: {
            static const char *const inits[] = {"kmeans", "random", NULL};
            int which = 0;
            bad = cli_choice(prog, "init", optarg, inits, &which);
            o.init = which == 0 ? GMMP_INIT_KMEANS : GMMP_INIT_RANDOM;
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': return cli_print_version(prog);
        default: bad = 1; break;
        }
    }
    if (bad)
        return CLI_USAGE;
    if (!o.output || optind >= argc) {
        fprintf(stderr, "%s: %s\n", prog, !o.output ? "no output model (-o MODEL)" : "no input");
        usage(stderr);
        return CLI_USAGE;
    }
    /* Options that would be silently ignored are refused. */
    if (o.chunk > 0 && o.max_patches > 0)
        return cli_usage_error(prog, "--max-patches does not apply with --chunk (which trains "
                                     "on every patch; --init-patches sizes the initial sample)");
    if (o.chunk > 0 && n_init_given && o.n_init != 1)
        return cli_usage_error(prog, "--n-init does not apply with --chunk (one initialisation "
                                     "on a sample)");
    /* Memory the chunk or sample would need, before anything is read. */
    const double d = (double)o.patch * (double)o.patch;
    if (o.chunk > 0 && ((double)o.chunk * d * 8.0 > 0x1p40 ||
                        (double)o.init_patches * d * 8.0 > 0x1p40))
        return cli_usage_error(prog, "--%s %lld of %lldx%lld patches needs %.3g bytes: above "
                                     "the 1 TiB this tool allows",
                               (double)o.chunk * d > (double)o.init_patches * d ? "chunk"
                                                                                : "init-patches",
                               (long long)((double)o.chunk * d > (double)o.init_patches * d
                                               ? o.chunk
                                               : o.init_patches),
                               (long long)o.patch, (long long)o.patch,
                               8.0 * d * (double)(o.chunk > o.init_patches ? o.chunk
                                                                           : o.init_patches));
    for (int i = optind; i < argc; i++)
        if (cli_same_file(o.output, argv[i]))
            return cli_usage_error(prog, "the output %s is also an input: it would be replaced "
                                         "by the model",
                                   o.output);
    /* (-o equal to --init-model is allowed: the result replaces the start.) */
    gmmpio_set_max_elements((size_t)max_elements);
    /* The output must be writable: find out now, not after training. */
    char err[600];
    if (gmmpio_atomic_check(o.output, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }

    gmmp_model *init_model = NULL, *model = NULL;
    int status = 1;
    if (o.init_model) {
        if (gmmp_model_load(&init_model, o.init_model)) {
            fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
            return 1;
        }
        size_t K = gmmp_model_components(init_model);
        if (o.components_given && (size_t)o.components != K) {
            gmmp_model_destroy(init_model);
            return cli_usage_error(prog, "--components %lld disagrees with --init-model %s, "
                                         "which has %zu components",
                                   (long long)o.components, o.init_model, K);
        }
        o.components = (int64_t)K;
        /* A model that says its patches gives them, unless they are asked
         * for explicitly: then they must agree. */
        size_t ph, pw, ch;
        int rm;
        if (gmmp_model_patch(init_model, &ph, &pw, &ch, &rm) == GMMP_OK) {
            if (ph != pw || ch != 1 || (o.patch_given && (size_t)o.patch != ph) ||
                (o.remove_mean && !rm)) {
                fprintf(stderr, "%s: %s is a prior for %zux%zu patches of %zu channel(s), "
                                "means %s: it cannot start a model of %lldx%lld patches of 1 "
                                "channel, means %s\n",
                        prog, o.init_model, ph, pw, ch, rm ? "removed" : "kept",
                        (long long)o.patch, (long long)o.patch,
                        o.remove_mean ? "removed" : "kept");
                goto done;
            }
            o.patch = (int64_t)ph;
            o.remove_mean = rm;
        }
        size_t dim = gmmp_model_dim(init_model);
        if (dim != (size_t)(o.patch * o.patch)) {
            gmmp_model_destroy(init_model);
            return cli_usage_error(prog, "--init-model %s is on patches of %zu pixels, --patch "
                                         "%lld gives %lld",
                                   o.init_model, dim, (long long)o.patch,
                                   (long long)(o.patch * o.patch));
        }
    }
    const char *const *paths = (const char *const *)argv + optind;
    size_t n_paths = (size_t)(argc - optind);
    size_t channels = 1; /* the streamed reader is grey only */
    if (o.chunk > 0 ? train_streamed(&o, paths, n_paths, init_model, &model)
                    : train_in_memory(&o, paths, n_paths, init_model, &model, &channels))
        goto done;
    char description[GMMP_MODEL_DESCRIPTION_MAX];
    describe(&o, paths, n_paths, description, sizeof description);
    if (gmmp_model_set_patch(model, (size_t)o.patch, (size_t)o.patch, channels, o.remove_mean) ||
        gmmp_model_set_description(model, description) ||
        gmmp_model_set_spectra(model, o.spectra < (int64_t)gmmp_model_dim(model)
                                          ? (size_t)o.spectra
                                          : gmmp_model_dim(model)) ||
        gmmp_model_save(model, o.output)) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, "%s: wrote %s\n", prog, o.output);
    status = 0;
done:
    gmmp_model_destroy(model);
    gmmp_model_destroy(init_model);
    return status;
}
