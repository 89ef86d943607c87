/* The data worker pool. Threads sleep on a condition variable between
 * jobs (never spin), so while the model computes on OpenMP's threads an
 * idle pool costs nothing. Items are handed out one at a time through an
 * atomic counter: decode times vary a lot from file to file. */
#include "work_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bk_work_pool {
    pthread_t *threads;
    int n_threads;                /* own threads (the caller of run is one more) */
    char name[256];
    pthread_mutex_t run_mu;       /* one job at a time */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    /* under mu */
    int quit;
    uint64_t gen;                 /* job number, so a thread joins each job once */
    int open;                     /* the current job still takes helpers */
    int joined;                   /* own threads inside the current job */
    int64_t fail_i;               /* lowest failed item (n: none) */
    bk_status fail_st;
    char fail_msg[1024];
    /* the current job: set under mu before it opens, read-only while open */
    bk_status (*fn)(void *, int64_t);
    void *ctx;
    int64_t n;
    atomic_int_fast64_t next;     /* next item to hand out */
    atomic_int failed;            /* stop handing out items */
};

bk_status bk_data_threads(int *out)
{
    const char *env = getenv("BRISK_DATA_THREADS");
    if (env && env[0]) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 1 || v > 256)
            return bk_error(BK_ERR_INVALID, "BRISK_DATA_THREADS=%s: expected a number of threads from 1 to 256", env);
        *out = (int)v;
        return BK_OK;
    }
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    *out = n > 0 ? n : 1;
    return BK_OK;
}

/* Takes items until none are left; records failures. */
static void work(bk_work_pool *p, bk_status (*fn)(void *, int64_t), void *ctx, int64_t n)
{
    for (;;) {
        if (atomic_load_explicit(&p->failed, memory_order_relaxed)) break;
        int64_t i = atomic_fetch_add(&p->next, 1);
        if (i >= n) break;
        bk_status st = fn(ctx, i);
        if (st) {
            pthread_mutex_lock(&p->mu);
            if (i < p->fail_i) {
                p->fail_i = i;
                p->fail_st = st;
                /* the message is in this thread's storage; the caller's thread reports it */
                snprintf(p->fail_msg, sizeof p->fail_msg, "%s", bk_last_error());
            }
            pthread_mutex_unlock(&p->mu);
            atomic_store(&p->failed, 1);
        }
    }
}

static void *thread_main(void *arg)
{
    bk_work_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !(p->open && p->gen != seen)) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        p->joined++;
        bk_status (*fn)(void *, int64_t) = p->fn;
        void *ctx = p->ctx;
        int64_t n = p->n;
        pthread_mutex_unlock(&p->mu);
        work(p, fn, ctx, n);
        pthread_mutex_lock(&p->mu);
        if (--p->joined == 0) pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bk_status bk_work_pool_create(bk_work_pool **out, int threads, const char *name)
{
    *out = NULL;
    bk_status st;
    if (threads <= 0 && (st = bk_data_threads(&threads))) return st;
    bk_work_pool *p = calloc(1, sizeof *p);
    if (!p) return bk_error(BK_ERR_NOMEM, "%s: out of memory for the data threads", name);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads || pthread_mutex_init(&p->run_mu, NULL)) {
        free(p->threads);
        free(p);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for the data threads", name);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->failed, 0);
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&p->threads[i], NULL, thread_main, p) != 0) {
            bk_work_pool_destroy(p);
            return bk_error(BK_ERR_INTERNAL, "%s: cannot start data thread %d of %d; set BRISK_DATA_THREADS lower",
                            name, i + 1, threads);
        }
        p->n_threads++;
    }
    *out = p;
    return BK_OK;
}

int bk_work_pool_size(const bk_work_pool *p) { return p ? p->n_threads + 1 : 0; }

bk_status bk_work_pool_run(bk_work_pool *p, int64_t n, bk_status (*fn)(void *ctx, int64_t i), void *ctx)
{
    if (n <= 0) return BK_OK;
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->fail_i = n;
    p->fail_st = BK_OK;
    atomic_store(&p->next, 0);
    atomic_store(&p->failed, 0);
    p->gen++;
    /* one item is the caller's alone: waking threads for it costs more than it saves */
    p->open = n > 1 && p->n_threads > 0;
    if (p->open) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    work(p, fn, ctx, n);

    /* Close the job, then wait for the threads inside it: a thread that
     * has not joined yet never will, so it cannot take an item of the
     * next job with this job's function. */
    pthread_mutex_lock(&p->mu);
    p->open = 0;
    while (p->joined > 0) pthread_cond_wait(&p->done, &p->mu);
    bk_status st = p->fail_st;
    char msg[sizeof p->fail_msg];
    if (st) memcpy(msg, p->fail_msg, sizeof msg);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_mu);
    return st ? bk_error(st, "%s", msg) : BK_OK;
}

void bk_work_pool_destroy(bk_work_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_mu);
    free(p->threads);
    free(p);
}
