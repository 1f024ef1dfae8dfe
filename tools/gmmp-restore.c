/*
 * gmmp-restore: restores a noisy (or partly missing) photograph by EPLL
 * with an installed Gaussian-mixture patch prior.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blas_threads.h"
#include "cli.h"
#include "gmmprior.h"
#include "huge_pages.h"
#include "noise_ahead.h"
#include "imageio.h"
#include "restore.h"

#ifndef GMMP_MODEL_DIR
#define GMMP_MODEL_DIR "/usr/local/share/gmmprior/models"
#endif

static const char *prog = "gmmp-restore";

/* Default priors, looked up in the model directory, first found wins.
 * --fast on colour images prefers the smaller grey prior: each of the
 * three channels is a restoration, and the K = 50 prior keeps a 500 x 500
 * photograph within a second. On grey images --fast takes the K = 200
 * prior with preselection: 0.17 dB better on set12 at sigma 25, within
 * 0.3 dB of full quality, for about 0.2 s per 481 x 321 photograph,
 * 1.05 to 1.2 times scikit-image's NL-means (docs/performance.md). */
static const char *const grey_models[] = {"natural-8x8-k200.gmmp", "natural-8x8-k50.gmmp", NULL};
static const char *const fast_colour_models[] = {"natural-8x8-k50.gmmp",
                                                 "natural-8x8-k200.gmmp", NULL};

/* Half-quadratic steps at full quality: EPLL's five (beta = 1, 4, 8, 16,
 * 32 over sigma^2) and a sixth (64), which measured +0.02 to +0.03 dB on
 * held-out grey Kodak crops at sigma 15, 25, 50 for a fifth more time
 * (a seventh gave nothing more; docs/performance.md). */
#define FULL_STEPS 6

/* Rounds of adapting the prior to the image at full quality (EM
 * adaptation, GMMP_OPT_EPLL_ADAPT): the image restored on a jittered
 * grid, the prior adapted to its patches, twice, then the image restored
 * with the twice-adapted prior. On held-out RGB Kodak crops, one round
 * gave +0.12 / +0.18 / +0.24 dB at sigma 15 / 25 / 50, a second
 * +0.03 / +0.03 / +0.00 more; two rounds take 1.2 to 1.45 times the time
 * of none (docs/performance.md). --fast does without: it would double its
 * time. */
#define FULL_ADAPT 2

/* Full quality refines colour images by groups of similar patches
 * (gmmp_group_refine_image(), NL-Bayes' second step on EPLL's result,
 * with the library's settings by sigma): on held-out Kodak RGB crops
 * +0.13 / +0.08 / +0.03 dB at sigma 15 / 25 / 50, for about a tenth more
 * time. The groups model the three channels together, which EPLL in a
 * colour basis restores one by one; on grey crops they gained 0.03 to
 * 0.06 dB at sigma 15 and 25 and lost at 50, so grey images are not
 * refined unless asked (docs/performance.md). --fast does without: it
 * would take several times its time. */
#define REFINE_UNSET (-2.0)
#define REFINE_AUTO (-1.0)

#define FAST_RANK 16
/* With a prior of at least FAST_PRESELECT_K components, the components
 * whose log densities --fast computes exactly, of those its coarse model
 * ranks first (GMMP_OPT_CANDIDATES): 8 of 200 measured within 0.02 dB of
 * all 200 (held-out Kodak crops, sigma 25). The K = 50 prior runs without:
 * 8 of 50 cost it 0.03 dB on set12. */
#define FAST_CANDIDATES 8
#define FAST_PRESELECT_K 100
/* --fast adapts its prior within its steps, after the first
 * (GMMP_OPT_EPLL_ADAPT_AFTER): +0.09 dB on held-out grey Kodak crops and
 * +0.14 dB on set12 at sigma 25, for about a fifth more time. */
#define FAST_ADAPT_AFTER 1
/* --fast's last half-quadratic step on a grid of 6, the others on grids
 * of 4 (GMMP_OPT_EPLL_LAST_GRID): the same PSNR to 0.002 dB at sigma 15,
 * 25, 50 on held-out grey Kodak crops and set12 (means over three grid
 * seeds), for 44% of that step's patches; a grid of 8 lost 0.025 dB, and
 * the first step or the last two on grids of 5 lost 0.01. With the K = 50
 * prior's five steps (colour) it lost 0.015 dB on McMaster at sigma 25:
 * priors of FAST_PRESELECT_K components or more only, and patches of at
 * least 6 x 6 (docs/performance.md). */
#define FAST_LAST_GRID 6

/* What --fast means: every option it sets, in one place (with the
 * default priors above). Measured on set12 at sigma 25
 * (docs/performance.md): jittered grids of step 4 (the last step's of 6
 * with K >= FAST_PRESELECT_K), flat tails beyond 16
 * eigenvalues (fast EPLL), MAP estimates, the prior adapted after the
 * first step; K = 200 priors with preselection. */
static int fast_options(gmmp_options *o, const gmmp_model *model)
{
    /* Half-quadratic steps: with preselection EPLL's 5 and the sixth of
     * full quality (set12, sigma 25: 29.65 -> 29.71 dB, what brings it
     * within 0.3 dB of full quality); the K = 50 prior loses with a sixth
     * (held-out Kodak grey crops: 29.02 -> 29.01), and keeps 5. */
    bool preselect = gmmp_model_components(model) >= FAST_PRESELECT_K;
    /* The last step's grid where the patch holds it (any grid up to the
     * patch's size leaves no pixel without an estimate). */
    size_t ph = 0, pw = 0;
    bool last_grid = preselect && gmmp_model_patch(model, &ph, &pw, NULL, NULL) == GMMP_OK &&
                     ph >= FAST_LAST_GRID && pw >= FAST_LAST_GRID;
    return gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, preselect ? FULL_STEPS : 5) ||
           gmmp_options_set_int(o, GMMP_OPT_STEP, 4) ||
           (last_grid && gmmp_options_set_int(o, GMMP_OPT_EPLL_LAST_GRID, FAST_LAST_GRID)) ||
           gmmp_options_set_int(o, GMMP_OPT_RANK, FAST_RANK) ||
           (preselect && gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, FAST_CANDIDATES)) ||
           gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, FAST_ADAPT_AFTER) ||
           gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR, GMMP_ESTIMATOR_MAP);
}

/* The model's eigenbases and flat layout, which every --fast plan needs,
 * made now (the model keeps them) by a plan of --fast's kind made and
 * dropped: while the noise estimate runs beside it, rather than after it.
 * Failures are left to the restoration, which makes the same plans and
 * reports them. */
static void prepare_flat_plans(const gmmp_model *model, int64_t threads, int64_t precision)
{
    gmmp_options *o = NULL;
    gmmp_plan *plan = NULL;
    const double var = 1.0;
    if (gmmp_model_dim(model) > FAST_RANK && !gmmp_options_create(&o) &&
        !fast_options(o, model) && !gmmp_options_set_int(o, GMMP_OPT_PRECISION, precision) &&
        !gmmp_options_set_int(o, GMMP_OPT_THREADS, threads) &&
        !gmmp_options_set_int(o, GMMP_OPT_BLAS_SERIAL, threads > 1) &&
        !gmmp_plan_create(&plan, model, gmmp_model_dim(model), NULL, GMMP_NOISE_SCALAR, &var,
                          NULL, o))
        gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-restore [options] INPUT OUTPUT\n"
            "Restores a noisy photograph (or fills in missing pixels) by EPLL with a\n"
            "Gaussian-mixture patch prior. INPUT: PNG (grey or RGB, 8 or 16-bit), PGM/PPM\n"
            "(8 or 16-bit), or IDX (h x w, n x h x w grey, n x h x w x 3 RGB; any element\n"
            "type, floating point for noisy data that was not clipped). OUTPUT's format\n"
            "follows its suffix: .png, .pgm, .ppm, .idx (.idx.gz compressed); it keeps\n"
            "INPUT's bit depth where the format allows, integer formats rounded and clipped.\n"
            "\n"
            "  --sigma S|auto         noise standard deviation on the 0..255 scale, whatever\n"
            "                         the file's depth (default auto: estimated from the\n"
            "                         image, printed on stderr)\n"
            "  --model M              prior file (default: the installed grey natural prior,\n"
            "                         for colour input too; a bare name is also looked up\n"
            "                         in the model directory). A grey prior restores RGB\n"
            "                         channel by channel in a colour basis; an RGB prior\n"
            "                         (natural-rgb-8x8.gmmp) takes RGB patches whole\n"
            "  --colour-basis B       with a grey prior on RGB input: pca (default: the\n"
            "                         image's own principal colour axes), opponent, rgb\n"
            "  --fast                 faster, slightly lower quality (jittered patch grid,\n"
            "                         flat-tail covariances, the prior adapted once within\n"
            "                         the steps, single precision; by default the K = 200\n"
            "                         prior for grey images, the K = 50 one for colour)\n"
            "  --steps N              half-quadratic steps (default 6: the EPLL schedule\n"
            "                         and one more; 5 with --fast and a prior of fewer\n"
            "                         than 100 components)\n"
            "  --adapt N              rounds of adapting the prior to the image, each\n"
            "                         restoring it again (default 2; 0 with --fast)\n"
            "  --adapt-after S        adapt the prior once within the steps, after step S,\n"
            "                         and go on with it (default 1 with --fast, else 0:\n"
            "                         never)\n"
            "  --refine auto|W        refine the result by groups of similar patches\n"
            "                         (NL-Bayes' second step), weighing that W against\n"
            "                         EPLL's 1 - W, W in [0, 1]; auto: by sigma (default\n"
            "                         for colour; 0, no refinement, for grey images and\n"
            "                         with --fast or --mask)\n"
            "  --estimator map|mmse   posterior mean or most responsible component\n"
            "                         (default map, as EPLL)\n"
            "  --mask MASK            inpainting: a grey image of INPUT's size whose zero\n"
            "                         pixels are missing in INPUT (all channels)\n"
            "  --threads N            threads (default: all cores; with more than one,\n"
            "                         OpenBLAS runs single-threaded)\n"
            "  --seed N               seed of the jittered grids (default 0)\n"
            "  --precision P          double (default; single with --fast) or single: the\n"
            "                         heavy products in float where that is accurate\n"
            "                         enough (about twice as fast at full quality, the\n"
            "                         same PSNR)\n"
            "  --max-elements N       refuse inputs of more values than N (default 2^27)\n"
            "  -q, --quiet            no estimate, no progress\n"
            "  --version              print the version\n"
            "  -h, --help             this help\n"
            "\n"
            "Models are looked up in $GMMPRIOR_MODEL_DIR if set, else in\n"
            "%s.\n"
            "OUTPUT is replaced atomically. Usage errors exit with status 2.\n",
            GMMP_MODEL_DIR);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *model_dir(void)
{
    const char *env = getenv("GMMPRIOR_MODEL_DIR");
    return env && *env ? env : GMMP_MODEL_DIR;
}

/* Resolves --model (or the default for `channels`) into path; returns 0
 * or -1 with a message. */
static int find_model(const char *given, size_t channels, int fast, char *path, size_t len,
                      char *err,
                      size_t errlen)
{
    const char *dir = model_dir();
    if (given) {
        if (file_exists(given) || strchr(given, '/')) {
            snprintf(path, len, "%s", given);
            return 0;
        }
        snprintf(path, len, "%s/%s", dir, given);
        if (file_exists(path))
            return 0;
        snprintf(path, len, "%s", given); /* the loader says it is missing */
        return 0;
    }
    /* Colour too: the grey prior in the image's own colour basis measured
     * about 1 dB better than the joint RGB prior (docs/performance.md). */
    const char *const *names = fast && channels > 1 ? fast_colour_models : grey_models;
    for (size_t i = 0; names[i]; i++) {
        snprintf(path, len, "%s/%s", dir, names[i]);
        if (file_exists(path))
            return 0;
    }
    snprintf(err, errlen, "no grey prior is installed (neither %s nor %s in %s; the "
             "directory is set by GMMPRIOR_MODEL_DIR), and %s images are restored with one: "
             "give a model with --model",
             grey_models[0], grey_models[1], dir, channels == 1 ? "grey" : "colour");
    return -1;
}

static const char *channels_name(size_t c)
{
    return c == 1 ? "grey (1 channel)" : c == 3 ? "colour (3 channels, RGB)" : "other";
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model_arg = NULL, *mask_path = NULL;
    double sigma = -1.0; /* auto */
    double refine = REFINE_UNSET; /* by the image, --fast and --mask */
    int64_t threads = cores > 0 ? cores : 1, steps = 0, seed = 0, adapt = -1, after = -1;
    int64_t max_elements = (int64_t)GMMPIO_DEFAULT_MAX_ELEMENTS;
    int estimator = -1, fast = 0, quiet = 0, bad = 0, precision = -1, basis = 0, c;
    static const char *const estimators[] = {"mmse", "map", NULL};
    /* In the order of gmmp_channel_basis. */
    static const char *const bases[] = {"pca", "opponent", "rgb", NULL};
    enum { MODEL = 256, SIGMA, EST, FAST, STEPS, MASK, THREADS, SEED, MAXEL, VERSION, PREC,
           BASIS, ADAPT, AFTER, REFINE };
    static const struct option longopts[] = {
        {"model", required_argument, 0, MODEL},     {"sigma", required_argument, 0, SIGMA},
        {"estimator", required_argument, 0, EST},   {"fast", no_argument, 0, FAST},
        {"steps", required_argument, 0, STEPS},     {"mask", required_argument, 0, MASK},
        {"threads", required_argument, 0, THREADS}, {"seed", required_argument, 0, SEED},
        {"max-elements", required_argument, 0, MAXEL},
        {"precision", required_argument, 0, PREC},
        {"colour-basis", required_argument, 0, BASIS},
        {"adapt", required_argument, 0, ADAPT},
        {"adapt-after", required_argument, 0, AFTER},
        {"refine", required_argument, 0, REFINE},
        {"quiet", no_argument, 0, 'q'},             {"version", no_argument, 0, VERSION},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    while (!bad && (c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case MODEL: model_arg = optarg; break;
        case SIGMA:
            if (strcmp(optarg, "auto") == 0)
                sigma = -1.0;
            else
                bad = cli_real(prog, "sigma", optarg, CLI_SIGMA_MIN, CLI_SIGMA_MAX, &sigma);
            break;
        case EST: bad = cli_choice(prog, "estimator", optarg, estimators, &estimator); break;
        case FAST: fast = 1; break;
        case STEPS: bad = cli_int(prog, "steps", optarg, 1, 64, &steps); break;
        case ADAPT: bad = cli_int(prog, "adapt", optarg, 0, 8, &adapt); break;
        case AFTER: bad = cli_int(prog, "adapt-after", optarg, 0, 64, &after); break;
        case REFINE:
            if (strcmp(optarg, "auto") == 0)
                refine = REFINE_AUTO;
            else
                bad = cli_real(prog, "refine", optarg, 0.0, 1.0, &refine);
            break;
        case MASK: mask_path = optarg; break;
        case THREADS: bad = cli_int(prog, "threads", optarg, 1, 256, &threads); break;
        case PREC: bad = cli_choice(prog, "precision", optarg, cli_precisions, &precision); break;
        case BASIS: bad = cli_choice(prog, "colour-basis", optarg, bases, &basis); break;
        case SEED: bad = cli_int(prog, "seed", optarg, 0, INT64_MAX, &seed); break;
        case MAXEL:
            bad = cli_int(prog, "max-elements", optarg, 1, GMMPIO_MAX_ELEMENTS, &max_elements);
            break;
        case 'q': quiet = 1; break;
        case VERSION: return cli_print_version(prog);
        case 'h': usage(stdout); return 0;
        default: bad = 1; break;
        }
    }
    if (bad)
        return CLI_USAGE;
    if (argc - optind != 2) {
        fprintf(stderr, "%s: expected INPUT and OUTPUT\n", prog);
        usage(stderr);
        return CLI_USAGE;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    char err[800], model_path[4096];
    enum gmmpio_kind out_kind;
    if (gmmpio_kind_from_name(out_path, &out_kind, err, sizeof err))
        return cli_usage_error(prog, "%s", err);
    if (model_arg && cli_same_file(model_arg, out_path))
        return cli_usage_error(prog, "the output %s is the model file: it would be replaced by "
                                     "an image", out_path);
    if (mask_path && refine != REFINE_UNSET && refine != 0.0)
        return cli_usage_error(prog, "--refine needs every pixel observed: with --mask, "
                                     "leave it out or give --refine 0");
    if (mask_path && cli_same_file(mask_path, out_path))
        return cli_usage_error(prog, "the output %s is the mask: it would be replaced", out_path);
    gmmpio_set_max_elements((size_t)max_elements);
    if (threads > 1)
        blas_threads_single(); /* blas_threads.h says why */
    huge_pages_for_large_arrays(); /* huge_pages.h says why */

    gmmp_model *model = NULL;
    gmmp_options *opt = NULL;
    gmmpio_stack in = {0}, mask = {0}, out = {0};
    unsigned char *observed = NULL;
    noise_ahead *ahead = NULL;
    int status = 1;
    if (gmmpio_atomic_check(out_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (gmmpio_read_images_ex(in_path, GMMPIO_READ_COLOUR, &in, NULL, err, sizeof err) ||
        gmmpio_check_values(&in, CLI_VALUE_LIMIT, in_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    const size_t ch = gmmpio_stack_channels(&in), h = in.rows, w = in.cols;
    const size_t per = h * w * ch;
    /* The priors model the 0..255 scale: deeper files are scaled to it. */
    const double scale = in.maxval ? 255.0 / in.maxval : 1.0;
    for (size_t i = 0; i < in.count * per; i++)
        in.pixels[i] *= scale;
    /* Refuse what cannot be written before the long work. */
    if (out_kind != GMMPIO_KIND_IDX && in.count != 1) {
        fprintf(stderr, "%s: %s holds %zu images: only an .idx output holds more than one\n",
                prog, in_path, in.count);
        goto done;
    }
    if ((out_kind == GMMPIO_KIND_PGM && ch != 1) || (out_kind == GMMPIO_KIND_PPM && ch != 3)) {
        fprintf(stderr, "%s: %s: a %s file holds %s images, the input is %s (use %s)\n", prog,
                out_path, out_kind == GMMPIO_KIND_PGM ? "PGM" : "PPM",
                out_kind == GMMPIO_KIND_PGM ? "grey" : "colour", channels_name(ch),
                ch == 1 ? ".pgm" : ".ppm");
        goto done;
    }
    /* --sigma auto: the first image's estimate runs beside the mask's
     * reading and the model's loading (noise_ahead.h); with one thread, in
     * line below. */
    if (sigma < 0 && threads > 1)
        ahead = noise_ahead_start(in.pixels, h, w, ch, w * ch);
    if (mask_path) {
        if (gmmpio_read_images(mask_path, &mask, NULL, err, sizeof err)) {
            fprintf(stderr, "%s: mask: %s\n", prog, err);
            goto done;
        }
        if (mask.count != 1 || mask.rows != h || mask.cols != w) {
            fprintf(stderr, "%s: the mask %s is %zux%zu%s, the input %s is %zux%zu: they must "
                    "have the same size\n", prog, mask_path, mask.cols, mask.rows,
                    mask.count != 1 ? " (several images)" : "", in_path, w, h);
            goto done;
        }
        if (in.count != 1) {
            fprintf(stderr, "%s: --mask needs a single input image; %s holds %zu\n", prog,
                    in_path, in.count);
            goto done;
        }
        observed = malloc(h * w);
        if (!observed) {
            fprintf(stderr, "%s: out of memory\n", prog);
            goto done;
        }
        size_t seen = 0;
        for (size_t i = 0; i < h * w; i++)
            seen += observed[i] = mask.pixels[i] != 0.0;
        if (!seen) {
            fprintf(stderr, "%s: the mask %s marks every pixel missing: nothing to restore "
                    "from\n", prog, mask_path);
            goto done;
        }
    }
    if (find_model(model_arg, ch, fast, model_path, sizeof model_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (cli_same_file(model_path, out_path)) {
        fprintf(stderr, "%s: the output %s is the model file\n", prog, out_path);
        goto done;
    }
    /* On the threads: its checks were a tenth of a grey --fast run. */
    gmmp_options *load_opt = NULL;
    int load_rc = gmmp_options_create(&load_opt);
    if (!load_rc)
        load_rc = gmmp_options_set_int(load_opt, GMMP_OPT_THREADS, threads);
    if (!load_rc)
        load_rc = gmmp_model_load_with(&model, model_path, load_opt);
    gmmp_options_destroy(load_opt);
    if (load_rc) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    size_t mch, ph, pw;
    /* A grey prior restores any image, channel by channel in a colour
     * basis; a colour prior only images of its channels. */
    if (gmmp_model_patch(model, &ph, &pw, &mch, NULL) != GMMP_OK)
        mch = 1; /* a version 1 file: grey, as restore_model_patch sets it */
    const int by_channel = mch == 1 && ch > 1;
    if (mch != ch && !by_channel) {
        fprintf(stderr, "%s: the model %s is a %s prior, but %s is %s: give a model for "
                "%s images with --model\n", prog, model_path, channels_name(mch), in_path,
                channels_name(ch), ch == 1 ? "grey" : "colour");
        goto done;
    }
    if (restore_model_patch(model, 0, -1, h, w, by_channel ? 1 : ch, in_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, model_path, err);
        goto done;
    }
    /* --fast: its flat tails' projections in float, the same PSNR. */
    const int64_t plan_precision = precision >= 0 ? precision
                                   : fast         ? GMMP_PRECISION_SINGLE
                                                  : GMMP_PRECISION_DOUBLE;
    if (ahead && fast)
        prepare_flat_plans(model, threads, plan_precision);

    if (gmmpio_stack_alloc_channels(&out, in.count, h, w, ch) || gmmp_options_create(&opt)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    out.maxval = in.maxval;
    if (refine == REFINE_UNSET)
        refine = fast || mask_path || ch == 1 ? 0.0 : REFINE_AUTO;
    /* Progress units per image: EPLL's 9 and the refinement's 1, about
     * their shares of the time (5 to 20% for the refinement). */
    const size_t epll_units = refine != 0.0 ? 9 : 1, units = epll_units + (refine != 0.0);
    restore_progress ps;
    restore_progress_start(&ps, prog, in.count * units);
    if (gmmp_options_set_int(opt, GMMP_OPT_EPLL_STEPS, FULL_STEPS) ||
        (fast && fast_options(opt, model)) ||
        gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads) ||
        (threads > 1 && gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, 1)) ||
        gmmp_options_set_int(opt, GMMP_OPT_SEED, seed) ||
        gmmp_options_set_int(opt, GMMP_OPT_PRECISION, plan_precision) ||
        gmmp_options_set_int(opt, GMMP_OPT_CHANNEL_BASIS, basis) ||
        gmmp_options_set_real(opt, GMMP_OPT_GROUP_WEIGHT, refine) ||
        (steps && gmmp_options_set_int(opt, GMMP_OPT_EPLL_STEPS, steps)) ||
        gmmp_options_set_int(opt, GMMP_OPT_EPLL_ADAPT,
                             adapt >= 0 ? adapt : fast ? 0 : FULL_ADAPT) ||
        (after >= 0 && gmmp_options_set_int(opt, GMMP_OPT_EPLL_ADAPT_AFTER, after)) ||
        /* MAP by default, as EPLL: as good here, and it needs one
         * component's posterior mean per patch instead of several. */
        gmmp_options_set_int(opt, GMMP_OPT_ESTIMATOR,
                             estimator == 0 ? GMMP_ESTIMATOR_MMSE : GMMP_ESTIMATOR_MAP) ||
        (!quiet && gmmp_options_set_progress(opt, restore_progress_report, &ps))) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    for (size_t i = 0; i < in.count; i++) {
        double *y = in.pixels + i * per, s = sigma;
        if (s < 0) {
            int rc;
            if (i == 0 && ahead) {
                rc = noise_ahead_finish(ahead, &s, err, sizeof err);
                ahead = NULL;
            } else if ((rc = gmmp_estimate_noise(y, h, w, ch, w * ch, &s))) {
                snprintf(err, sizeof err, "%s", gmmp_last_error());
            }
            if (rc) {
                fprintf(stderr, "%s: %s: cannot estimate the noise (%s): give --sigma\n", prog,
                        in_path, err);
                goto done;
            }
            if (mask_path && s < 1.0)
                s = 1.0; /* missing pixels bias the estimate; the library's inpainting floor */
            if (s < CLI_SIGMA_MIN)
                s = CLI_SIGMA_MIN;
            if (!quiet) {
                if (in.count > 1)
                    fprintf(stderr, "%s: image %zu: estimated sigma %.3f\n", prog, i, s);
                else
                    fprintf(stderr, "%s: estimated sigma %.3f%s\n", prog, s,
                            mask_path ? " (missing pixels included: give --sigma if known)"
                                      : "");
            }
        }
        ps.image = i * units;
        ps.span = epll_units;
        double *x = out.pixels + i * per;
        int rc = by_channel ? gmmp_epll_channels(model, s, y, h, w, ch, w * ch, observed, x,
                                                 w * ch, opt)
                            : gmmp_epll_image(model, s, y, h, w, w * ch, observed, x, w * ch,
                                              opt);
        ps.image += epll_units;
        ps.span = 1;
        if (rc == GMMP_OK && refine != 0.0)
            rc = gmmp_group_refine_image(s, y, x, h, w, ch, w * ch, x, w * ch, opt);
        if (rc) {
            if (ps.last >= 0)
                fputc('\n', stderr);
            fprintf(stderr, "%s: %s: %s\n", prog, in_path, gmmp_last_error());
            goto done;
        }
    }
    restore_progress_end(&ps);
    for (size_t i = 0; i < in.count * per; i++)
        out.pixels[i] /= scale;
    if (gmmpio_check_values(&out, CLI_VALUE_LIMIT * 1e3, out_path, err, sizeof err) ||
        gmmpio_write_images(out_path, &out, out_kind, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    status = 0;
done:
    if (ahead) {
        double unused;
        noise_ahead_finish(ahead, &unused, err, sizeof err);
    }
    free(observed);
    gmmpio_stack_free(&in);
    gmmpio_stack_free(&mask);
    gmmpio_stack_free(&out);
    gmmp_options_destroy(opt);
    gmmp_model_destroy(model);
    return status;
}
