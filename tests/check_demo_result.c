/*
 * Checks the demo's RESULT line (read from a file): MMSE PSNR >= 27.5 dB
 * and MAP PSNR above the noisy input's, on 1000 images.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
    if (!f)
        return 2;
    char line[512];
    double noisy = 0, map = 0, mmse = 0;
    int images = 0, found = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RESULT noisy_psnr=%lf map_psnr=%lf mmse_psnr=%lf images=%d", &noisy,
                   &map, &mmse, &images) == 4)
            found = 1;
    fclose(f);
    if (!found) {
        printf("no RESULT line\n");
        return 1;
    }
    int ok = images == 1000 && mmse >= 27.5 && map > noisy && mmse > noisy;
    printf("%s: noisy %.2f, MAP %.2f, MMSE %.2f dB on %d images (floor: MMSE >= 27.5)\n",
           ok ? "ok" : "FAIL", noisy, map, mmse, images);
    return ok ? 0 : 1;
}
