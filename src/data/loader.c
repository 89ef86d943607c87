/* The batching pipeline: one worker thread fills one of two batch buffers
 * while the caller computes on the other. */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#endif
#include "brisk/data.h"
#include "core/rng.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { JOB_NONE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct bk_loader {
    bk_dataset *ds;
    int64_t batch_size, num_batches, xs, ys;
    int shuffle;
    int rank, size;      /* this process's share of each batch (bk_loader_shard) */
    uint64_t seed;
    int64_t *perm;       /* sample order of the current epoch */
    float *x[2], *y[2];  /* double buffer */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu. perm and the buffers are only touched by the caller while
     * no job is queued or running, so they need no lock of their own. */
    int quit, job_state, job_slot;
    int64_t job_batch;
    bk_status job_status;
    char job_msg[1024];

    /* Caller's thread only. */
    int epoch, epoch_started;
    int64_t next_batch;
    double wait_s;
    bk_status failed;    /* sticky until the next begin_epoch */
    char failed_msg[1100]; /* job_msg plus a "batch N of epoch E: " prefix */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t batch_len(const bk_loader *ld, int64_t b)
{
    int64_t left = ld->ds->count - b * ld->batch_size;
    return left < ld->batch_size ? left : ld->batch_size;
}

/* This process's rows [*lo, *hi) of batch b, counted within the batch. */
static void share(const bk_loader *ld, int64_t b, int64_t *lo, int64_t *hi)
{
    int64_t n = batch_len(ld, b);
    *lo = n * ld->rank / ld->size;
    *hi = n * (ld->rank + 1) / ld->size;
}

static void *worker(void *arg)
{
    bk_loader *ld = arg;
    pthread_mutex_lock(&ld->mu);
    for (;;) {
        while (!ld->quit && ld->job_state != JOB_QUEUED) pthread_cond_wait(&ld->cv, &ld->mu);
        if (ld->quit) break;
        ld->job_state = JOB_RUNNING;
        int64_t b = ld->job_batch;
        int slot = ld->job_slot;
        pthread_mutex_unlock(&ld->mu);

        bk_dataset *ds = ld->ds;
        int64_t lo, hi;
        share(ld, b, &lo, &hi);
        bk_status st = hi > lo ? ds->read(ds, ld->perm + b * ld->batch_size + lo, hi - lo, ld->x[slot],
                                          ds->has_targets ? ld->y[slot] : NULL)
                               : BK_OK;

        pthread_mutex_lock(&ld->mu);
        ld->job_status = st;
        /* The message lives in this thread's storage; the caller cannot
         * see it, so it travels with the job. */
        if (st) snprintf(ld->job_msg, sizeof ld->job_msg, "%s", bk_last_error());
        ld->job_state = JOB_DONE;
        pthread_cond_broadcast(&ld->cv);
    }
    pthread_mutex_unlock(&ld->mu);
    return NULL;
}

static void queue_job(bk_loader *ld, int64_t b, int slot)
{
    pthread_mutex_lock(&ld->mu);
    ld->job_batch = b;
    ld->job_slot = slot;
    ld->job_status = BK_OK;
    ld->job_state = JOB_QUEUED;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
}

/* Waits until no job is queued or running; returns the finished job's
 * status (BK_OK when there was none) and leaves the loader idle. */
static bk_status finish_job(bk_loader *ld, char *msg, size_t len)
{
    pthread_mutex_lock(&ld->mu);
    while (ld->job_state == JOB_QUEUED || ld->job_state == JOB_RUNNING)
        pthread_cond_wait(&ld->cv, &ld->mu);
    bk_status st = ld->job_state == JOB_DONE ? ld->job_status : BK_OK;
    if (st && msg) snprintf(msg, len, "%s", ld->job_msg);
    ld->job_state = JOB_NONE;
    pthread_mutex_unlock(&ld->mu);
    return st;
}

static void free_buffers(bk_loader *ld)
{
    free(ld->perm);
    for (int i = 0; i < 2; i++) {
        bk_free(ld->x[i]);
        bk_free(ld->y[i]);
    }
}

bk_status bk_loader_create(bk_loader **out, bk_dataset *ds, int64_t batch_size,
                           int shuffle, uint64_t seed)
{
    *out = NULL;
    if (!ds || !ds->read)
        return bk_error(BK_ERR_INVALID, "bk_loader_create: dataset is NULL or has no read function");
    if (batch_size < 1)
        return bk_error(BK_ERR_INVALID, "%s: batch size %lld must be at least 1",
                        ds->name, (long long)batch_size);
    bk_loader *ld = calloc(1, sizeof *ld);
    if (!ld) return bk_error(BK_ERR_NOMEM, "%s: out of memory creating a loader", ds->name);
    ld->ds = ds;
    ld->batch_size = batch_size;
    ld->num_batches = ds->count > 0 ? (ds->count + batch_size - 1) / batch_size : 0;
    ld->shuffle = shuffle;
    ld->seed = seed;
    ld->size = 1;
    ld->xs = bk_shape_numel(&ds->input_shape);
    ld->ys = ds->has_targets ? bk_shape_numel(&ds->target_shape) : 0;
    /* A batch never holds more than the whole dataset. */
    int64_t rows = batch_size < ds->count ? batch_size : (ds->count > 0 ? ds->count : 1);
    int ok = ds->count >= 0 && ld->xs >= 0 && ld->ys >= 0 &&
             (uint64_t)ds->count < SIZE_MAX / sizeof(int64_t) &&
             (ld->xs == 0 || (uint64_t)rows <= SIZE_MAX / sizeof(float) / (uint64_t)ld->xs) &&
             (ld->ys == 0 || (uint64_t)rows <= SIZE_MAX / sizeof(float) / (uint64_t)ld->ys);
    if (ok) {
        ld->perm = malloc((size_t)(ds->count > 0 ? ds->count : 1) * sizeof(int64_t));
        ok = ld->perm != NULL;
        for (int i = 0; i < 2 && ok; i++) {
            ld->x[i] = bk_alloc((size_t)rows * (size_t)ld->xs * sizeof(float));
            if (ds->has_targets) ld->y[i] = bk_alloc((size_t)rows * (size_t)ld->ys * sizeof(float));
            ok = ld->x[i] && (!ds->has_targets || ld->y[i]);
        }
    }
    if (!ok) {
        free_buffers(ld);
        free(ld);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for two batches of %lld samples; "
                        "use a smaller batch size", ds->name, (long long)rows);
    }
    if (pthread_mutex_init(&ld->mu, NULL) != 0) {
        free_buffers(ld);
        free(ld);
        return bk_error(BK_ERR_INTERNAL, "%s: cannot create a mutex for the loader", ds->name);
    }
    if (pthread_cond_init(&ld->cv, NULL) != 0) {
        pthread_mutex_destroy(&ld->mu);
        free_buffers(ld);
        free(ld);
        return bk_error(BK_ERR_INTERNAL, "%s: cannot create a condition variable for the loader", ds->name);
    }
    if (pthread_create(&ld->thread, NULL, worker, ld) != 0) {
        pthread_cond_destroy(&ld->cv);
        pthread_mutex_destroy(&ld->mu);
        free_buffers(ld);
        free(ld);
        return bk_error(BK_ERR_INTERNAL, "%s: cannot start the loader thread; "
                        "too many threads in this process?", ds->name);
    }
    *out = ld;
    return BK_OK;
}

bk_status bk_loader_shard(bk_loader *ld, int rank, int size)
{
    if (!ld || size < 1 || rank < 0 || rank >= size)
        return bk_error(BK_ERR_INVALID, "bk_loader_shard: rank %d of %d is not a process of the job", rank, size);
    if (ld->epoch_started)
        return bk_error(BK_ERR_INVALID, "%s: shard the loader before its first epoch", ld->ds->name);
    /* the buffers were sized for whole batches; a share is never larger */
    ld->rank = rank;
    ld->size = size;
    return BK_OK;
}

bk_status bk_loader_begin_epoch(bk_loader *ld, int epoch)
{
    if (!ld) return bk_error(BK_ERR_INVALID, "bk_loader_begin_epoch: loader is NULL");
    if (epoch < 0)
        return bk_error(BK_ERR_INVALID, "%s: epoch %d must be >= 0", ld->ds->name, epoch);
    /* The caller may abandon an epoch midway; the prefetch in flight still
     * reads perm, so let it finish before reshuffling. */
    finish_job(ld, NULL, 0);
    if (ld->ds->set_epoch) ld->ds->set_epoch(ld->ds, epoch);
    for (int64_t i = 0; i < ld->ds->count; i++) ld->perm[i] = i;
    if (ld->shuffle) {
        bk_rng r;
        bk_rng_seed(&r, ld->seed, (uint64_t)epoch);
        bk_rng_shuffle(&r, ld->perm, ld->ds->count);
    }
    ld->epoch = epoch;
    ld->epoch_started = 1;
    ld->next_batch = 0;
    ld->wait_s = 0;
    ld->failed = BK_OK;
    if (ld->num_batches > 0) queue_job(ld, 0, 0);
    return BK_OK;
}

bk_status bk_loader_next(bk_loader *ld, bk_batch *batch, int *done)
{
    if (batch) memset(batch, 0, sizeof *batch);
    if (done) *done = 0;
    if (!ld || !batch || !done)
        return bk_error(BK_ERR_INVALID, "bk_loader_next: loader, batch and done must not be NULL");
    if (!ld->epoch_started)
        return bk_error(BK_ERR_INVALID, "%s: bk_loader_next called before bk_loader_begin_epoch",
                        ld->ds->name);
    if (ld->failed) return bk_error(ld->failed, "%s", ld->failed_msg);
    if (ld->next_batch >= ld->num_batches) {
        *done = 1;
        return BK_OK;
    }
    double t0 = now_s();
    char msg[1024];
    bk_status st = finish_job(ld, msg, sizeof msg);
    ld->wait_s += now_s() - t0;
    int64_t b = ld->next_batch;
    if (st) {
        ld->failed = st;
        snprintf(ld->failed_msg, sizeof ld->failed_msg, "batch %lld of epoch %d: %s",
                 (long long)b, ld->epoch, msg);
        return bk_error(st, "%s", ld->failed_msg);
    }
    int slot = (int)(b & 1);
    int64_t lo, hi;
    share(ld, b, &lo, &hi);
    batch->n = hi - lo;
    batch->global_n = batch_len(ld, b);
    batch->first = lo;
    batch->x = ld->x[slot];
    batch->y = ld->ds->has_targets ? ld->y[slot] : NULL;
    ld->next_batch = b + 1;
    /* The other slot held the batch before this one, which the caller has
     * given up by calling us again. */
    if (ld->next_batch < ld->num_batches) queue_job(ld, ld->next_batch, slot ^ 1);
    return BK_OK;
}

int64_t bk_loader_num_batches(const bk_loader *ld) { return ld ? ld->num_batches : 0; }

double bk_loader_wait_seconds(const bk_loader *ld) { return ld ? ld->wait_s : 0.0; }

void bk_loader_destroy(bk_loader *ld)
{
    if (!ld) return;
    pthread_mutex_lock(&ld->mu);
    ld->quit = 1;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
    pthread_join(ld->thread, NULL);
    pthread_cond_destroy(&ld->cv);
    pthread_mutex_destroy(&ld->mu);
    free_buffers(ld);
    free(ld);
}
