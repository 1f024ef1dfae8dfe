/*
 * Distributed EM with MPI: every rank streams its share of the input
 * images (those whose global index modulo the number of ranks is its
 * rank), accumulates the library's sufficient statistics, and the ranks
 * sum them with one MPI_Allreduce per iteration. Every rank then runs the
 * same M-step on the same sums, so all ranks hold the same model. Rank 0
 * initialises (from --init-model, or k-means on a sample of all inputs)
 * and broadcasts the model; rank 0 writes the result.
 *
 *   mpirun -np 4 gmmp-mpi-train --patch 8 --components 20 -o model.gmmp INPUT...
 *
 * The library takes no MPI dependency: gmmp_stats_pack/_unpack give the
 * statistics as one additive array of doubles.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gmmprior.h"
#include "imageio.h"
#include "stream_em.h"

static int allreduce(double *buf, size_t count, void *payload)
{
    (void)payload;
    /* Counts above INT_MAX would need several calls; K(1+d+d(d+1)/2)
     * stays far below for any patch prior. */
    return MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
           MPI_SUCCESS;
}

/* Rank 0's model to every rank, in the model file format. */
static gmmp_model *broadcast_model(gmmp_model *model, int rank)
{
    unsigned long long size = rank == 0 ? gmmp_model_serialized_size(model) : 0;
    MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    unsigned char *bytes = malloc(size);
    if (rank == 0)
        gmmp_model_serialize(model, bytes, size);
    MPI_Bcast(bytes, (int)size, MPI_BYTE, 0, MPI_COMM_WORLD);
    gmmp_model *copy = NULL;
    if (rank != 0 && gmmp_model_deserialize(&copy, bytes, size)) {
        fprintf(stderr, "rank %d: %s\n", rank, gmmp_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    free(bytes);
    return rank == 0 ? model : copy;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mpirun -np P gmmp-mpi-train [options] -o MODEL INPUT...\n"
               "  --patch M            patch side (default 8)\n"
               "  --step S             patch step (default 1)\n"
               "  --components K       components (default 20; ignored with --init-model)\n"
               "  --init-model FILE    start from this model\n"
               "  --init-patches N     k-means initialisation on N sampled patches (100000)\n"
               "  --chunk N            patches in memory per rank (default 65536)\n"
               "  --max-iter N         EM iterations at most (default 100)\n"
               "  --tol T              convergence threshold (default 1e-3)\n"
               "  --seed N             seed of the initialisation (default 0)\n");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static const char *prog = "gmmp-mpi-train";
    const char *out = NULL, *init_path = NULL;
    int64_t patch = 8, step = 1, K = 20, init_patches = 100000, chunk = 65536, max_iter = 100,
            seed = 0;
    double tol = 1e-3;
    int components_given = 0;
    static const struct option opts[] = {
        {"patch", 1, 0, 'p'},      {"step", 1, 0, 's'},    {"components", 1, 0, 'k'},
        {"init-model", 1, 0, 'i'}, {"init-patches", 1, 0, 'n'}, {"chunk", 1, 0, 'c'},
        {"max-iter", 1, 0, 'm'},   {"tol", 1, 0, 't'},     {"seed", 1, 0, 'r'},
        {"output", 1, 0, 'o'},     {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int c, bad = 0;
    /* Every rank parses; only rank 0 speaks. */
    cli_set_silent(rank != 0);
    while (!bad && (c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': bad = cli_int(prog, "patch", optarg, 1, 4096, &patch); break;
        case 's': bad = cli_int(prog, "step", optarg, 1, 4096, &step); break;
        case 'k':
            bad = cli_int(prog, "components", optarg, 1, 100000, &K);
            components_given = 1;
            break;
        case 'i': init_path = optarg; break;
        case 'n':
            bad = cli_int(prog, "init-patches", optarg, 1, INT64_MAX / 65536, &init_patches);
            break;
        case 'c': bad = cli_int(prog, "chunk", optarg, 1, INT64_MAX / 65536, &chunk); break;
        case 'm': bad = cli_int(prog, "max-iter", optarg, 1, 1000000000, &max_iter); break;
        case 't': bad = cli_real(prog, "tol", optarg, 0.0, 1e300, &tol); break;
        case 'r': bad = cli_int(prog, "seed", optarg, 0, INT64_MAX, &seed); break;
        case 'o': out = optarg; break;
        case 'h':
            if (rank == 0)
                usage(stdout);
            MPI_Finalize();
            return 0;
        default: bad = 1; break;
        }
    }
    const double dd = (double)patch * (double)patch;
    if (!bad && (!out || optind >= argc)) {
        cli_usage_error(prog, "%s", !out ? "no output model (-o MODEL)" : "no input");
        if (rank == 0)
            usage(stderr);
        bad = 1;
    } else if (!bad && ((double)chunk * dd * 8.0 > 0x1p40 || (double)init_patches * dd * 8.0 > 0x1p40)) {
        cli_usage_error(prog, "--chunk or --init-patches of %lldx%lld patches needs more than "
                              "the 1 TiB this tool allows",
                        (long long)patch, (long long)patch);
        bad = 1;
    } else if (!bad && init_path && components_given) {
        cli_usage_error(prog, "--components does not apply with --init-model (K is the model's)");
        bad = 1;
    }
    for (int i = optind; !bad && i < argc; i++)
        if (cli_same_file(out, argv[i])) {
            cli_usage_error(prog, "the output %s is also an input: it would be replaced by the "
                                  "model",
                            out);
            bad = 1;
        }
    if (bad) {
        MPI_Finalize();
        return CLI_USAGE;
    }
    char early[600];
    int writable = rank != 0 || gmmpio_atomic_check(out, early, sizeof early) == 0;
    if (!writable)
        fprintf(stderr, "%s: %s\n", prog, early);
    MPI_Bcast(&writable, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!writable) {
        MPI_Finalize();
        return 1;
    }
    stream_source src = {(const char *const *)argv + optind, (size_t)(argc - optind),
                         (size_t)patch, (size_t)step, 0, (size_t)chunk, (unsigned)rank,
                         (unsigned)size};
    char err[512] = "";
    gmmp_model *init = NULL;
    int ok = 1;
    if (rank == 0) {
        if (init_path) {
            ok = gmmp_model_load(&init, init_path) == GMMP_OK;
            if (!ok)
                snprintf(err, sizeof err, "%s", gmmp_last_error());
            if (ok && gmmp_model_dim(init) != (size_t)(patch * patch)) {
                snprintf(err, sizeof err, "--init-model %s is on patches of %zu pixels, --patch "
                                          "%lld gives %lld",
                         init_path, gmmp_model_dim(init), (long long)patch,
                         (long long)(patch * patch));
                gmmp_model_destroy(init);
                init = NULL;
                ok = 0;
            }
        } else {
            stream_source all = src;
            all.share = 0, all.shares = 1;
            double *X = NULL;
            size_t n = 0;
            gmmp_trainer *t = NULL;
            gmmp_options *to = NULL;
            ok = stream_sample(&all, (size_t)init_patches, (uint64_t)seed, &X, &n, err,
                               sizeof err) == 0 &&
                 gmmp_options_create(&to) == 0 &&
                 gmmp_options_set_int(to, GMMP_OPT_SEED, seed) == 0 &&
                 gmmp_options_set_int(to, GMMP_OPT_MAX_ITER, 1) == 0 &&
                 gmmp_trainer_create(&t, (size_t)K, to) == 0 &&
                 gmmp_trainer_fit(t, X, n, (size_t)(patch * patch), &init, NULL) == 0;
            gmmp_trainer_destroy(t);
            gmmp_options_destroy(to);
            free(X);
        }
        if (!ok)
            fprintf(stderr, "%s: initialisation failed: %s\n", prog,
                    err[0] ? err : gmmp_last_error());
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok) {
        MPI_Finalize();
        return 1;
    }
    init = broadcast_model(init, rank);

    stream_fit_options fo;
    stream_fit_defaults(&fo);
    fo.max_iter = (int)max_iter;
    fo.tol = tol;
    fo.verbose = rank == 0;
    fo.reduce = allreduce;
    gmmp_model *model = NULL;
    gmmp_fit_info info;
    size_t Kf = gmmp_model_components(init), d = gmmp_model_dim(init);
    double t0 = MPI_Wtime();
    int failed = stream_fit(&src, init, &fo, &model, &info, err, sizeof err) != 0;
    double secs = MPI_Wtime() - t0;
    if (failed) {
        fprintf(stderr, "rank %d: %s\n", rank, err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) {
        /* The model says which patches it is a prior for. */
        char desc[256];
        snprintf(desc, sizeof desc,
                 "gmmp-mpi-train --patch %ld --step %ld --components %zu on %d input(s), %d ranks",
                 patch, step, Kf, argc - optind, size);
        if (gmmp_model_set_patch(model, (size_t)patch, (size_t)patch, 1, 0) ||
            gmmp_model_set_description(model, desc) || gmmp_model_save(model, out)) {
            fprintf(stderr, "gmmp-mpi-train: %s\n", gmmp_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        size_t bytes = gmmp_stats_packed_size(Kf, d) * sizeof(double);
        fprintf(stderr,
                "gmmp-mpi-train: %d ranks, %d iterations (%s), mean log-likelihood %.6f, "
                "%.2f s (%.3f s/iteration); each iteration reduces %zu doubles (%.2f MB); "
                "wrote %s\n",
                size, info.n_iter, info.converged ? "converged" : "not converged",
                info.mean_loglik, secs, secs / info.n_iter, bytes / sizeof(double),
                (double)bytes / 1e6, out);
    }
    gmmp_model_destroy(model);
    gmmp_model_destroy(init);
    MPI_Finalize();
    return 0;
}
