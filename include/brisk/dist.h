/* brisk: data-parallel runs under mpirun / srun.
 *
 * One process is one replica of the model. A process started by mpirun
 * (Open MPI), srun or another PMI launcher joins the job's communicator in
 * bk_dist_init; a process started alone is a job of one and never touches
 * MPI. The state is process-wide, as MPI's is. */
#ifndef BRISK_DIST_H
#define BRISK_DIST_H
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Joins the MPI job when a launcher started this process (no-op
 * otherwise, and on later calls). Also picks the OpenMP thread count when
 * OMP_NUM_THREADS is unset: the cores this rank may run on, shared with
 * the other ranks on its node. Call before any other brisk function
 * that may start threads. */
bk_status bk_dist_init(int *argc, char ***argv);
/* This process's rank and the number of processes (0 and 1 alone). */
int bk_dist_rank(void);
int bk_dist_size(void);
/* Waits for every rank. */
bk_status bk_dist_barrier(void);
/* Ends every rank of the job with `code` (the failing rank calls it after
 * printing its message, so that no rank waits forever for it). Only the
 * program's main may call it; it does not return when the job has more
 * than one rank. */
void bk_dist_abort(int code);
/* Leaves the MPI job (no-op alone). */
void bk_dist_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
