/* Collectives over every rank of the job (no-ops in a job of one), for the
 * trainer and the gradient synchronisation. Only the main thread calls
 * them, every rank in the same order. Failures name the rank. */
#ifndef BK_DIST_DIST_H
#define BK_DIST_DIST_H
#include <stdint.h>
#include "brisk/dist.h"

/* Sums buf[0..n) over the ranks, in place. */
bk_status bk_dist_sum_doubles(double *buf, int n);
/* The same, for sums made inside a forward or backward pass (synchronized
 * batch norm), which may run while gradient buckets are in flight. */
bk_status bk_dist_sum_doubles_in_pass(double *buf, int n);
/* Rank 0's buf[0..n) to every rank. */
bk_status bk_dist_bcast_floats(float *buf, int64_t n);

/* A non-blocking sum in flight (MPI_Request inside, kept opaque so this
 * header needs no mpi.h). */
typedef struct { _Alignas(8) unsigned char opaque[64]; } bk_dist_request;
bk_status bk_dist_iallreduce_floats(float *buf, int n, bk_dist_request *req);
/* Lets MPI progress the request; *done = 1 when it has completed. */
bk_status bk_dist_test(bk_dist_request *req, int *done);
bk_status bk_dist_wait(bk_dist_request *req);
#endif
