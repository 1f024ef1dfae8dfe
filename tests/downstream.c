/*
 * A program built against the installed library with pkg-config only, as
 * C and as C++ (tests/downstream.sh). It checks the loaded library's
 * version and round-trips an image through patches.
 */
#include <gmmprior.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    if (gmmp_version() != GMMP_VERSION_NUMBER) {
        fprintf(stderr, "headers %d, library %u\n", GMMP_VERSION_NUMBER, gmmp_version());
        return 1;
    }
    enum { H = 12, W = 9, P = 4 };
    double image[H * W], out[H * W];
    for (int i = 0; i < H * W; i++)
        image[i] = (double)((i * 37) % 101);
    gmmp_extractor *ex = NULL;
    gmmp_reconstructor *rc = NULL;
    size_t n = 0;
    double *patches = NULL;
    int err = gmmp_extractor_create(&ex, P, P, 1, 1);
    if (!err)
        err = gmmp_extractor_count(ex, H, W, &n);
    if (!err) {
        patches = (double *)malloc(n * P * P * sizeof *patches);
        err = patches ? gmmp_extractor_extract(ex, image, H, W, W, 0, n, patches, NULL)
                      : GMMP_ENOMEM;
    }
    if (!err)
        err = gmmp_reconstructor_create(&rc, ex, H, W);
    if (!err)
        err = gmmp_reconstructor_add(rc, 0, n, patches, NULL, NULL);
    if (!err)
        err = gmmp_reconstructor_finish(rc, out, W);
    for (int i = 0; !err && i < H * W; i++)
        if (fabs(out[i] - image[i]) > 1e-12)
            err = GMMP_EINTERNAL;
    if (err)
        fprintf(stderr, "failed: %s: %s\n", gmmp_strerror(err), gmmp_last_error());
    else
        printf("downstream program OK with libgmmprior %s (%zu patches)\n",
               gmmp_version_string(), n);
    free(patches);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    return err ? 1 : 0;
}
