/* A fixed pool of threads that a dataset keeps for its whole life, so
 * decoding and transforming a batch's samples runs in parallel without
 * starting threads per batch. */
#ifndef BK_DATA_WORK_POOL_H
#define BK_DATA_WORK_POOL_H
#include <stdint.h>
#include "brisk/status.h"

typedef struct bk_work_pool bk_work_pool;

/* Threads for data work: BRISK_DATA_THREADS when set (1-256; anything
 * else is an error that names it), else the cores this process may run
 * on. */
bk_status bk_data_threads(int *out);

/* A pool running jobs on `threads` threads in all: threads - 1 of its own
 * plus the thread that calls bk_work_pool_run. threads <= 0 takes
 * bk_data_threads(). name is for messages. Caller destroys the pool. */
bk_status bk_work_pool_create(bk_work_pool **out, int threads, const char *name);

/* Threads the pool runs a job on (the caller's included). */
int bk_work_pool_size(const bk_work_pool *p);

/* Calls fn(ctx, i) once for each i in [0, n), spread over the pool's
 * threads and the calling one, and returns when all calls have returned.
 * fn must be safe to call from several threads at once. On failure the
 * items not yet started are skipped, and the failure of the lowest i among
 * those that failed is returned, its message set on the calling thread.
 * Calls from several threads take turns. */
bk_status bk_work_pool_run(bk_work_pool *p, int64_t n, bk_status (*fn)(void *ctx, int64_t i), void *ctx);

/* Stops and joins the threads (none may be in bk_work_pool_run). NULL is fine. */
void bk_work_pool_destroy(bk_work_pool *p);
#endif
