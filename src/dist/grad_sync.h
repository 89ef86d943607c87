/* Summing a model's gradients over the job's processes, in buckets started
 * while the backward pass is still running.
 *
 * The trainable parameters' gradients are cut into buckets of at most
 * bucket_bytes, taken from the end of the flat gradient buffer backwards:
 * the backward pass visits the nodes from the last to the first, so the
 * last parameters' gradients are final first. As soon as every node owning
 * a bucket's parameters has run its backward step, the bucket is packed
 * and a non-blocking allreduce started; later nodes' steps let MPI
 * progress it. Every process starts the same buckets in the same order.
 * Running statistics and frozen parameters are not exchanged. */
#ifndef BK_DIST_GRAD_SYNC_H
#define BK_DIST_GRAD_SYNC_H
#include "nn/graph.h"

typedef struct bk_grad_sync bk_grad_sync;

/* Plans the buckets for m and installs the backward hook in m. Caller
 * destroys (which removes the hook). */
bk_status bk_grad_sync_create(bk_grad_sync **out, bk_model *m, int64_t bucket_bytes);
void bk_grad_sync_destroy(bk_grad_sync *g);
/* Before a backward pass. */
void bk_grad_sync_begin(bk_grad_sync *g);
/* After it (or instead of it, with the gradients zeroed, for a process
 * with no rows in this batch): starts what is left and waits for every
 * bucket; the model's gradients are then the sums over the processes. */
bk_status bk_grad_sync_finish(bk_grad_sync *g);
/* Seconds spent blocked in finish since the last call (the exchange not
 * hidden behind the backward pass). */
double bk_grad_sync_take_wait(bk_grad_sync *g);
/* Number of buckets (for the log). */
int bk_grad_sync_buckets(const bk_grad_sync *g);
#endif
