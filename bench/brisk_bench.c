/* Times brisk on one Keras network with random data: training steps (Adam),
 * inference at a large batch and latency at batch 1, plus the model's
 * FLOPs and the SGEMM rates OpenBLAS and oneDNN reach here (the practical
 * limit).
 * Prints one JSON object. Benchmarks report; they never assert.
 *   brisk_bench NET.json TRAIN_BATCH INFER_BATCH STEPS LOSS(nll|mse) */
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "nn/builder.h"
#include "nn/profile.h"
#include "optim/optim.h"
#include "train/loss.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Multiply-adds x2 of the convolutions and dense layers, forward, per sample. */
static double forward_flops(const bk_model *m)
{
    double f = 0;
    for (int i = 0; i < m->n_nodes; i++) f += bk_node_forward_flops(m, &m->nodes[i]);
    return f;
}

/* The best rate of 5 single-precision 2048^3 GEMMs, by OpenBLAS (dnnl 0)
 * or by oneDNN (dnnl 1). Both count as the machine's practical limit:
 * OpenBLAS may run a kernel older than the CPU (Debian's 0.3.21 takes
 * AVX-512 Zen 5 cores for Haswell), oneDNN picks its kernels by ISA. */
static double sgemm_gflops(int dnnl)
{
    int n = 2048; /* oneDNN 2.6 runs 1024^3 at half its rate for 512^3 or 2048^3 */
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) return 0;
    for (int i = 0; i < n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    double best = 0;
    for (int r = 0; r < 6; r++) { /* the first call of each library warms it up */
        double t = now();
        if (dnnl)
            dnnl_sgemm('N', 'N', n, n, n, 1, a, n, b, n, 0, c, n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        t = now() - t;
        double g = 2.0 * n * n * (double)n / t / 1e9;
        if (r && g > best) best = g;
    }
    free(a); free(b); free(c);
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: brisk_bench NET.json TRAIN_BATCH INFER_BATCH STEPS nll|mse\n");
        return 2;
    }
    int64_t B = atoll(argv[2]), IB = atoll(argv[3]);
    int steps = atoi(argv[4]);
    bk_json_doc doc;
    bk_model m;
    if (bk_json_load_file(&doc, argv[1]) || bk_build_keras(&m, &doc, doc.root, "", 1, NULL)) {
        fprintf(stderr, "brisk_bench: %s\n", bk_last_error());
        return 1;
    }
    bk_node *in = &m.nodes[m.inputs[0]], *out = &m.nodes[m.outputs[0]];
    int64_t per_in = bk_shape_numel(&in->out_shape), per_out = bk_shape_numel(&out->out_shape);
    int64_t maxb = B > IB ? B : IB;
    float *x = malloc(sizeof(float) * (size_t)(maxb * per_in)), *y = malloc(sizeof(float) * (size_t)(maxb * per_out));
    bk_loss loss = {.kind = strcmp(argv[5], "mse") ? BK_LOSS_CROSS_ENTROPY : BK_LOSS_MSE};
    int64_t classes = out->out_shape.dims[0];
    bk_rng r;
    bk_rng_seed(&r, 3, 0);
    for (int64_t i = 0; i < maxb * per_in; i++) x[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < maxb * per_out; i++)
        y[i] = loss.kind == BK_LOSS_MSE ? (float)bk_rng_uniform(&r) : (float)bk_rng_below(&r, (uint64_t)classes);
    bk_optim_config oc = {.kind = BK_OPT_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    bk_optimizer opt;
    if (bk_optim_init(&opt, &oc, &m)) return 1;
    const float *xs = x;
    double *times = malloc(sizeof(double) * (size_t)(steps + 2));
    for (int s = -2; s < steps; s++) { /* two warm-up steps build the plans */
        double t = now(), l;
        if (bk_model_forward(&m, &xs, B, 1)) { fprintf(stderr, "%s\n", bk_last_error()); return 1; }
        bk_model_begin_backward(&m);
        if (bk_loss_compute(&loss, out->out, &out->out_shape, y, B, out->grad, &l)) { fprintf(stderr, "%s\n", bk_last_error()); return 1; }
        out->grad_written = 1;
        if (bk_model_backward(&m)) { fprintf(stderr, "%s\n", bk_last_error()); return 1; }
        bk_optim_step(&opt, &m, 1e-3);
        if (s >= 0) times[s] = now() - t;
        if (s == -1) bk_profile_reset(&m); /* BRISK_PROFILE: leave the warm-up out */
    }
    double train_step = median(times, steps);
    bk_profile_print(&m, stderr);
    for (int s = -1; s < steps; s++) {
        double t = now();
        const float *y;
        bk_model_infer(&m, &xs, IB, &y);
        if (s >= 0) times[s] = now() - t;
    }
    double infer_step = median(times, steps);
    for (int s = -1; s < steps * 4; s++) {
        double t = now();
        const float *y;
        bk_model_infer(&m, &xs, 1, &y);
        if (s >= 0 && s < steps) times[s] = now() - t;
    }
    double latency = median(times, steps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double fl = forward_flops(&m);
    printf("{\"train_samples_per_s\": %.2f, \"infer_samples_per_s\": %.2f, \"latency_ms\": %.4f, "
           "\"peak_rss_mb\": %.1f, \"train_gflops\": %.3f, \"sgemm_gflops\": %.3f, \"dnnl_sgemm_gflops\": %.3f, "
           "\"params\": %lld}\n",
           (double)B / train_step, (double)IB / infer_step, latency * 1e3, ru.ru_maxrss / 1024.0,
           3.0 * fl * (double)B / train_step / 1e9, sgemm_gflops(0), sgemm_gflops(1),
           (long long)m.param_count);
    bk_optim_free(&opt);
    bk_model_free(&m);
    bk_json_free(&doc);
    free(x); free(y); free(times);
    return 0;
}
