/* brisk links the OpenMP build of OpenBLAS (CMakeLists.txt): with the
 * pthreads build, each GEMM wakes a second pool of threads that fights
 * the spinning OpenMP threads of oneDNN and brisk's loops for the cores
 * (batch-1 latency of the Fashion-MNIST CNN went from 0.15 ms to 4-7 ms on
 * a 2-core machine). This checks the library the binaries load, and that a
 * GEMM called from inside a parallel region, as brisk's batched products
 * do, gives each thread its own correct result. */
#include <cblas.h>
#include <omp.h>
#include "testutil.h"

int main(void)
{
    /* 0 sequential, 1 pthreads, 2 OpenMP (OpenBLAS's openblas_get_parallel) */
    int parallel = openblas_get_parallel();
    if (parallel != 2)
        fprintf(stderr, "linked OpenBLAS is %s (parallel=%d), not the OpenMP build: "
                "install libopenblas-openmp-dev and rebuild\n", openblas_get_config(), parallel);
    CHECK(parallel == 2);

    float a[4][6], b[6][5], c[4][4][5];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 6; k++) a[i][k] = (float)(i - k);
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < 5; j++) b[k][j] = (float)(k + 2 * j);
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 4; t++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 4, 5, 6, (float)(t + 1), &a[0][0], 6,
                    &b[0][0], 5, 0.0f, &c[t][0][0], 5);
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++) {
                double want = 0;
                for (int k = 0; k < 6; k++) want += (double)(i - k) * (k + 2 * j);
                CHECK_NEAR(c[t][i][j], (t + 1) * want, 1e-4);
            }
    return bk_test_finish("blas_threads");
}
