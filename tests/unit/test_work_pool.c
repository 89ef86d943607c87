/* The data worker pool: every item runs exactly once per job, jobs follow
 * each other without a thread carrying one job's function into the next,
 * the lowest failing item's message comes back on the caller's thread,
 * and two threads calling run at once take turns. */
#include "data/work_pool.h"
#include "testutil.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int *count;     /* runs of each item */
    int64_t fail_from;
    int job;        /* which job this is: items record it */
    int *seen_job;
} job_ctx;

static bk_status count_item(void *ctx, int64_t i)
{
    job_ctx *c = ctx;
    __atomic_add_fetch(&c->count[i], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->seen_job[i], c->job, __ATOMIC_RELAXED);
    if (i >= c->fail_from && i % 7 == 3) return bk_error(BK_ERR_IO, "item %lld failed", (long long)i);
    return BK_OK;
}

/* Returns how many items ran other than once in their own job (the test
 * counters are not thread-safe, so callers CHECK the result). */
static int many_jobs(bk_work_pool *p)
{
    int count[500], seen[500];
    int bad = 0;
    for (int job = 0; job < 300; job++) {
        int n = 1 + (job * 37) % 500;
        memset(count, 0, sizeof count);
        memset(seen, 0, sizeof seen);
        job_ctx c = {count, 1 << 30, job + 1, seen};
        if (bk_work_pool_run(p, n, count_item, &c) != BK_OK) bad++;
        for (int i = 0; i < n; i++)
            if (count[i] != 1 || seen[i] != job + 1) bad++;
        for (int i = n; i < 500; i++)
            if (count[i] != 0) bad++;
    }
    return bad;
}

static void failures(bk_work_pool *p)
{
    int count[400], seen[400];
    memset(count, 0, sizeof count);
    job_ctx c = {count, 100, 1, seen};
    /* items 101, 108, ... fail; 101 is the lowest, but later ones may fail first */
    bk_status st = bk_work_pool_run(p, 400, count_item, &c);
    CHECK(st == BK_ERR_IO);
    CHECK(!strcmp(bk_last_error(), "item 101 failed"));
    for (int i = 0; i <= 101; i++) CHECK(count[i] == 1); /* items before the first failure all ran */
    /* the pool is fine afterwards */
    memset(count, 0, sizeof count);
    c.fail_from = 1 << 30;
    CHECK_OK(bk_work_pool_run(p, 400, count_item, &c));
    int once = 1;
    for (int i = 0; i < 400; i++) once &= count[i] == 1;
    CHECK(once);
    CHECK_OK(bk_work_pool_run(p, 0, count_item, &c));
}

static void *caller(void *arg)
{
    static int bad;
    bad = many_jobs(arg);
    return &bad;
}

int main(void)
{
    for (int threads = 1; threads <= 5; threads += 2) {
        bk_work_pool *p = NULL;
        CHECK_OK(bk_work_pool_create(&p, threads, "test"));
        if (!p) continue;
        CHECK(bk_work_pool_size(p) == threads);
        CHECK(many_jobs(p) == 0);
        failures(p);
        pthread_t t;
        void *other = NULL;
        CHECK(pthread_create(&t, NULL, caller, p) == 0);
        CHECK(many_jobs(p) == 0); /* while another thread runs jobs too */
        pthread_join(t, &other);
        CHECK(other && *(int *)other == 0);
        bk_work_pool_destroy(p);
    }
    int n;
    setenv("BRISK_DATA_THREADS", "3", 1);
    CHECK_OK(bk_data_threads(&n));
    CHECK(n == 3);
    setenv("BRISK_DATA_THREADS", "0", 1);
    CHECK(bk_data_threads(&n) == BK_ERR_INVALID);
    unsetenv("BRISK_DATA_THREADS");
    CHECK_OK(bk_data_threads(&n));
    CHECK(n >= 1);
    bk_work_pool_destroy(NULL);
    return bk_test_finish("test_work_pool");
}
