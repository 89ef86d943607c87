/* OSU-style MPI_Allreduce micro-benchmark (float sums, in place): latency
 * per message size and the algorithmic bandwidth 2 (p - 1) / p * bytes / t
 * that a ring allreduce moves per process. Run under mpirun:
 *     mpirun -np 2 build/bench/mpi_allreduce
 * Prints one Markdown table row per size on rank 0. Never asserts. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const long max_bytes = 64L << 20;
    float *buf = malloc((size_t)max_bytes);
    if (!buf) MPI_Abort(MPI_COMM_WORLD, 1);
    for (long i = 0; i < max_bytes / 4; i++) buf[i] = 1.0f;
    if (rank == 0) printf("| bytes | latency us | algorithmic bandwidth GB/s |\n|---|---|---|\n");
    for (long bytes = 4; bytes <= max_bytes; bytes *= 4) {
        int n = (int)(bytes / 4), iters = bytes <= 65536 ? 1000 : bytes <= (4L << 20) ? 50 : 10;
        for (int w = 0; w < iters / 10 + 1; w++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t = (MPI_Wtime() - t0) / iters, worst;
        MPI_Reduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0)
            printf("| %ld | %.2f | %.3f |\n", bytes, worst * 1e6, 2.0 * (size - 1) / size * (double)bytes / worst / 1e9);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
