/* The process-wide MPI state behind include/brisk/dist.h, and the
 * collectives the trainer uses (dist.h in this folder). */
#include <mpi.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "brisk/dist.h"
#include "dist.h"

static int g_rank = 0, g_size = 1, g_joined = 0, g_tried = 0;
/* Collectives made from inside a pass (synchronized batch norm) go on a
 * communicator of their own: MPI orders collectives per communicator, so
 * they may interleave with the gradient buckets in flight on the world
 * communicator in any order. */
static MPI_Comm g_side = MPI_COMM_NULL;

_Static_assert(sizeof(MPI_Request) <= sizeof(((bk_dist_request *)0)->opaque), "bk_dist_request too small");

/* Open MPI's mpirun, PMIx (srun --mpi=pmix, prte) and PMI-1/2 launchers
 * (MPICH's hydra, srun --mpi=pmi2) each leave their mark in the
 * environment. A process started alone has none and stays out of MPI, so
 * a plain `brisk --config=...` never depends on an MPI runtime working. */
static int launched_by_mpi(void)
{
    static const char *const marks[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (getenv(marks[i])) return 1;
    return 0;
}

/* Ranks sharing this node (Open MPI tells; other launchers: assume the
 * whole job, which only makes the thread count conservative). */
static int local_ranks(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!v) v = getenv("MPI_LOCALNRANKS");
    if (!v) v = getenv("SLURM_NTASKS_PER_NODE");
    int n = v ? atoi(v) : g_size;
    return n > 0 ? n : 1;
}

/* OMP_NUM_THREADS unset: as many threads as cores this rank may use. A
 * launcher that binds each rank to cores (Open MPI binds to a core at up
 * to 2 ranks) leaves that many in the affinity mask; an unbound rank gets
 * its share of the node. */
static void pick_threads(void)
{
    if (getenv("OMP_NUM_THREADS") || g_size == 1) return;
    cpu_set_t set;
    int bound = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) bound = CPU_COUNT(&set);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int share = (int)(cores > 0 ? cores : 1) / local_ranks();
    if (share < 1) share = 1;
    int t = bound > 0 && bound < share ? bound : share;
    omp_set_num_threads(t);
}

bk_status bk_dist_init(int *argc, char ***argv)
{
    if (g_tried) return BK_OK;
    g_tried = 1;
    if (!launched_by_mpi()) return BK_OK;
    int initialized = 0, provided = 0;
    MPI_Initialized(&initialized);
    /* FUNNELED: only the main thread calls MPI; the data loader's and
     * OpenMP's threads never do */
    if (!initialized && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return bk_error(BK_ERR_INTERNAL, "cannot join the MPI job (MPI_Init_thread failed); check that mpirun and "
                        "brisk use the same MPI (Debian's Open MPI)");
    /* errors come back as codes, so a failure can be reported with the rank
     * and the cause before the job is ended */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &g_side) != MPI_SUCCESS)
        return bk_error(BK_ERR_INTERNAL, "rank %d: cannot create a second MPI communicator", g_rank);
    MPI_Comm_set_errhandler(g_side, MPI_ERRORS_RETURN);
    g_joined = !initialized; /* finalize only what we started */
    pick_threads();
    return BK_OK;
}

int bk_dist_rank(void) { return g_rank; }
int bk_dist_size(void) { return g_size; }

static bk_status mpi_failed(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return bk_error(BK_ERR_INTERNAL, "rank %d: %s failed: %s (another rank has probably died)", g_rank, what, msg);
}

bk_status bk_dist_barrier(void)
{
    if (g_size == 1) return BK_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Barrier");
}

void bk_dist_abort(int code)
{
    if (g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

void bk_dist_finalize(void)
{
    if (g_side != MPI_COMM_NULL) MPI_Comm_free(&g_side);
    if (g_size > 1 && g_joined) MPI_Finalize();
    g_size = 1;
    g_rank = 0;
}

bk_status bk_dist_sum_doubles(double *buf, int n)
{
    if (g_size == 1 || n == 0) return BK_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Allreduce");
}

bk_status bk_dist_sum_doubles_in_pass(double *buf, int n)
{
    if (g_size == 1 || n == 0) return BK_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, g_side);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Allreduce (batch statistics)");
}

bk_status bk_dist_bcast_floats(float *buf, int64_t n)
{
    if (g_size == 1) return BK_OK;
    /* MPI counts are int: send large buffers in pieces */
    for (int64_t done = 0; done < n;) {
        int part = (int)(n - done < (1 << 30) ? n - done : (1 << 30));
        int rc = MPI_Bcast(buf + done, part, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Bcast");
        done += part;
    }
    return BK_OK;
}

bk_status bk_dist_iallreduce_floats(float *buf, int n, bk_dist_request *req)
{
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, (MPI_Request *)req->opaque);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Iallreduce");
}

bk_status bk_dist_test(bk_dist_request *req, int *done)
{
    int rc = MPI_Test((MPI_Request *)req->opaque, done, MPI_STATUS_IGNORE);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Test");
}

bk_status bk_dist_wait(bk_dist_request *req)
{
    int rc = MPI_Wait((MPI_Request *)req->opaque, MPI_STATUS_IGNORE);
    return rc == MPI_SUCCESS ? BK_OK : mpi_failed(rc, "MPI_Wait");
}
