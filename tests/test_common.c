/*
 * Versions, error names, per-thread messages and the allocator hook.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

START_TEST(version_matches_headers)
{
    ck_assert_uint_eq(gmmp_version(), GMMP_VERSION_NUMBER);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", GMMP_VERSION_MAJOR, GMMP_VERSION_MINOR,
             GMMP_VERSION_PATCH);
    ck_assert_str_eq(gmmp_version_string(), expected);
}
END_TEST

START_TEST(every_code_has_its_own_name)
{
    const int codes[] = {GMMP_OK,        GMMP_EINVAL,     GMMP_ENOMEM, GMMP_EDIM,
                         GMMP_EOVERFLOW, GMMP_ENONFINITE, GMMP_ENOTSPD, GMMP_EIO,
                         GMMP_EFORMAT,   GMMP_EVERSION,   GMMP_EINTERNAL};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *name = gmmp_strerror(codes[i]);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "unknown error");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(name, gmmp_strerror(codes[j]));
    }
    ck_assert_str_eq(gmmp_strerror(-999), "unknown error");
    ck_assert_str_eq(gmmp_strerror(7), "unknown error");
}
END_TEST

static void *fail_in_thread(void *arg)
{
    (void)arg;
    gmmp_extractor *ex;
    int rc = gmmp_extractor_create(&ex, 3, 3, 1, 0);
    static char seen[512];
    snprintf(seen, sizeof seen, "%d:%s", rc, gmmp_last_error());
    return seen;
}

START_TEST(messages_are_per_thread)
{
    gmmp_extractor *ex;
    ck_assert_fails(gmmp_extractor_create(&ex, 0, 3, 1, 1), GMMP_EINVAL);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", gmmp_last_error());
    pthread_t t;
    void *theirs;
    ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &theirs), 0);
    ck_assert_str_eq((const char *)theirs, "-1:patch step must be at least 1");
    ck_assert_str_eq(gmmp_last_error(), mine); /* untouched by the other thread */
    ck_assert_str_eq(mine, "patch size 0x3 is empty");
}
END_TEST

/* An allocator that fails after a budget of successful allocations. */
static int budget;
static int live;
static void *counting_alloc(size_t size, void *payload)
{
    (void)payload;
    if (budget-- <= 0)
        return NULL;
    live++;
    return malloc(size);
}
static void counting_release(void *ptr, void *payload)
{
    (void)payload;
    live--;
    free(ptr);
}

START_TEST(failed_allocations_report_enomem_without_leaks)
{
    const gmmp_allocator a = {counting_alloc, counting_release, NULL};
    ck_assert_ok(gmmp_set_allocator(&a));
    int succeeded = 0;
    /* Every possible failure point, then enough to succeed. */
    for (int allowed = 0; allowed < 8 && !succeeded; allowed++) {
        budget = allowed;
        live = 0;
        gmmp_extractor *ex = NULL;
        gmmp_reconstructor *rc = NULL;
        int r = gmmp_extractor_create(&ex, 4, 4, 1, 1);
        if (r == GMMP_OK)
            r = gmmp_reconstructor_create(&rc, ex, 10, 10);
        if (r == GMMP_OK) {
            succeeded = 1;
        } else {
            ck_assert_int_eq(r, GMMP_ENOMEM);
            ck_assert_str_eq(gmmp_last_error(), "out of memory");
        }
        gmmp_reconstructor_destroy(rc);
        gmmp_extractor_destroy(ex);
        ck_assert_int_eq(live, 0);
    }
    ck_assert(succeeded);
    const gmmp_allocator half = {counting_alloc, NULL, NULL};
    ck_assert_fails(gmmp_set_allocator(&half), GMMP_EINVAL);
    ck_assert_ok(gmmp_set_allocator(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tu_tcase("core");
    tcase_add_test(tc, version_matches_headers);
    tcase_add_test(tc, every_code_has_its_own_name);
    tcase_add_test(tc, failed_allocations_report_enomem_without_leaks);
    suite_add_tcase(s, tc);
    TCase *threads = tu_tcase("threads");
    tcase_set_tags(threads, "threads");
    tcase_add_test(threads, messages_are_per_thread);
    suite_add_tcase(s, threads);
    return tu_run(s);
}
