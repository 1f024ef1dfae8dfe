/*
 * Runs a fuzz target over files, without libFuzzer: how every build
 * (gcc, sanitizers, valgrind) replays the seed corpus and the inputs that
 * once broke a target. usage: replay FILE-OR-DIRECTORY...
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzzutil.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0, got;
    unsigned char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]))
                return 1;
            count++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        struct dirent *e;
        char *names[4096];
        size_t n = 0;
        while (dir && (e = readdir(dir)) && n < 4096)
            if (e->d_name[0] != '.')
                names[n++] = strdup(e->d_name);
        if (dir)
            closedir(dir);
        qsort(names, n, sizeof *names, compare);
        for (size_t j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]);
            if (replay_file(path))
                return 1;
            free(names[j]);
            count++;
        }
    }
    printf("replayed %d inputs\n", count);
    return 0;
}
