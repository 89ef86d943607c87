/* Softmax and log-softmax over a strided axis (the backend's loops,
 * cpu_softmax_loop.c) against double-precision references: ordinary
 * logits, logits hundreds apart (e^x below float's range must give 0 and
 * 1, and log-softmax the exact difference, not a clamped one), and the
 * backward formulas. The gradient checks cover the same code through
 * whole networks; this pins the values at the extremes. */
#include <stdlib.h>
#include "backend/backend.h"
#include "core/rng.h"
#include "testutil.h"

enum { OUTER = 3, AXIS = 7, INNER = 5, N = OUTER * AXIS * INNER };

static void reference(const float *x, double *y, int logsm)
{
    for (int o = 0; o < OUTER; o++)
        for (int j = 0; j < INNER; j++) {
            double mx = -INFINITY, sum = 0;
            for (int a = 0; a < AXIS; a++) mx = fmax(mx, x[(o * AXIS + a) * INNER + j]);
            for (int a = 0; a < AXIS; a++) sum += exp(x[(o * AXIS + a) * INNER + j] - mx);
            for (int a = 0; a < AXIS; a++) {
                double v = x[(o * AXIS + a) * INNER + j] - mx;
                y[(o * AXIS + a) * INNER + j] = logsm ? v - log(sum) : exp(v) / sum;
            }
        }
}

static void check(double spread, int logsm, uint64_t seed)
{
    const bk_backend *be = bk_backend_cpu();
    bk_rng r;
    bk_rng_seed(&r, seed, 0);
    float x[N], y[N], dy[N], dx[N];
    double ref[N], ref_dx[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)((bk_rng_uniform(&r) * 2 - 1) * spread);
        dy[i] = (float)(bk_rng_uniform(&r) * 2 - 1);
    }
    reference(x, ref, logsm);
    bk_plan *p = NULL;
    CHECK_OK(be->softmax_plan(&p, OUTER, AXIS, INNER, logsm));
    if (!p) return;
    CHECK_OK(be->softmax_forward(p, x, y));
    CHECK_OK(be->softmax_backward(p, y, dy, dx));
    /* backward from the float outputs, in double */
    for (int o = 0; o < OUTER; o++)
        for (int j = 0; j < INNER; j++) {
            double s = 0;
            for (int a = 0; a < AXIS; a++) {
                int k = (o * AXIS + a) * INNER + j;
                s += logsm ? dy[k] : (double)dy[k] * y[k];
            }
            for (int a = 0; a < AXIS; a++) {
                int k = (o * AXIS + a) * INNER + j;
                ref_dx[k] = logsm ? dy[k] - exp((double)y[k]) * s : y[k] * (dy[k] - s);
            }
        }
    /* Bounds in units of what float evaluation must lose anyway: the
     * difference x - max rounds to half an ulp of itself, which e^v turns
     * into a relative error of |v| 2^-24; a gradient's terms cancel, so its
     * error is measured against the size of the terms. */
    double worst = 0, worst_dx = 0;
    for (int o = 0; o < OUTER; o++)
        for (int j = 0; j < INNER; j++) {
            double mx = -INFINITY, s = 0;
            for (int a = 0; a < AXIS; a++) mx = fmax(mx, x[(o * AXIS + a) * INNER + j]);
            for (int a = 0; a < AXIS; a++) {
                int k = (o * AXIS + a) * INNER + j;
                s += logsm ? fabs(dy[k]) : fabs(dy[k] * y[k]);
            }
            for (int a = 0; a < AXIS; a++) {
                int k = (o * AXIS + a) * INNER + j;
                double v = fabs(x[k] - mx), ulp_v = v * 6e-8;
                double bound = logsm ? 1e-6 * fmax(fabs(ref[k]), 1.0) + ulp_v : ref[k] * (1e-6 + ulp_v) + 1e-37;
                double gbound = logsm ? 1e-6 * (fabs(dy[k]) + exp((double)y[k]) * s) : 1e-6 * fabs(y[k]) * (fabs(dy[k]) + s) + 1e-37;
                worst = fmax(worst, fabs(y[k] - ref[k]) / bound);
                worst_dx = fmax(worst_dx, fabs(dx[k] - ref_dx[k]) / gbound);
                CHECK(isfinite(y[k]) && isfinite(dx[k]));
            }
        }
    fprintf(stderr, "%s spread %g: worst error %.2g of its bound, gradient %.2g\n", logsm ? "log-softmax" : "softmax",
            spread, worst, worst_dx);
    CHECK(worst <= 1);
    CHECK(worst_dx <= 1);
    be->plan_destroy(p);
}

int main(void)
{
    for (int logsm = 0; logsm < 2; logsm++) {
        check(3, logsm, 1);
        check(40, logsm, 2);
        check(500, logsm, 3); /* most terms under e^-87 */
    }
    return bk_test_finish("test_softmax_strided");
}
