/* Softmax and log-softmax over the middle axis of [outer, axis, inner]
 * when inner > 1 (a Keras softmax over the last axis of a tensor whose
 * internal layout is channel-first, such as BraggNN's attention scores):
 * oneDNN 2.6 computes those only with the axis innermost, which took two
 * transposes forward and three backward, 17% of a BraggNN training step.
 * Here each outer slice is one pass per step over contiguous rows, with a
 * running value per inner position, so the loops vectorize and the slice
 * stays in cache.
 *
 * exp is a polynomial the compiler vectorizes (glibc's expf is a call per
 * element): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then a
 * degree-7 Taylor series of e^r scaled by 2^n built in the exponent bits:
 * within 1e-7 relative of e^x over [-87, 0] (glibc's expf: 6e-8). Softmax only needs it for
 * x <= 0 (inputs minus their maximum); below -87 e^x is under FLT_MIN and
 * counts as e^-87 (1.6e-38), which no sum of terms >= 1 can see. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cpu_plan.h"

static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    /* round to nearest by the 1.5 * 2^23 trick: no floor, so it vectorizes */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

typedef struct { int64_t outer, axis, inner; int log; } slices;

/* y = softmax(x) (or log-softmax) of one [axis, inner] slice; acc holds
 * 2 * inner floats. */
BK_WIDE_CLONES static void forward_slice(const slices *s, const float *x, float *y, float *acc)
{
    int64_t A = s->axis, I = s->inner;
    float *mx = acc, *sum = acc + I;
    memcpy(mx, x, sizeof(float) * (size_t)I);
    for (int64_t a = 1; a < A; a++)
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) mx[j] = x[a * I + j] > mx[j] ? x[a * I + j] : mx[j];
    memset(sum, 0, sizeof(float) * (size_t)I);
    if (s->log) {
        for (int64_t a = 0; a < A; a++)
            #pragma omp simd
            for (int64_t j = 0; j < I; j++) sum[j] += exp_nonpositive(x[a * I + j] - mx[j]);
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) sum[j] = logf(sum[j]);
        /* (x - max) - log(sum): x - (max + log(sum)) would round the sum
         * to the ulp of max, an error of 2e-6 at max = 40 */
        for (int64_t a = 0; a < A; a++)
            #pragma omp simd
            for (int64_t j = 0; j < I; j++) y[a * I + j] = (x[a * I + j] - mx[j]) - sum[j];
        return;
    }
    for (int64_t a = 0; a < A; a++)
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) {
            y[a * I + j] = exp_nonpositive(x[a * I + j] - mx[j]);
            sum[j] += y[a * I + j];
        }
    #pragma omp simd
    for (int64_t j = 0; j < I; j++) sum[j] = 1.0f / sum[j];
    for (int64_t a = 0; a < A; a++)
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) y[a * I + j] *= sum[j];
}

/* softmax: dx = y (dy - sum_a dy y); log-softmax: dx = dy - e^y sum_a dy. */
BK_WIDE_CLONES static void backward_slice(const slices *s, const float *y, const float *dy, float *dx, float *acc)
{
    int64_t A = s->axis, I = s->inner;
    memset(acc, 0, sizeof(float) * (size_t)I);
    if (s->log) {
        for (int64_t a = 0; a < A; a++)
            #pragma omp simd
            for (int64_t j = 0; j < I; j++) acc[j] += dy[a * I + j];
        for (int64_t a = 0; a < A; a++)
            #pragma omp simd
            for (int64_t j = 0; j < I; j++) dx[a * I + j] = dy[a * I + j] - exp_nonpositive(y[a * I + j]) * acc[j];
        return;
    }
    for (int64_t a = 0; a < A; a++)
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) acc[j] += dy[a * I + j] * y[a * I + j];
    for (int64_t a = 0; a < A; a++)
        #pragma omp simd
        for (int64_t j = 0; j < I; j++) dx[a * I + j] = y[a * I + j] * (dy[a * I + j] - acc[j]);
}

static bk_status run(const bk_plan *p, const float *a, const float *b, float *out, int backward)
{
    slices s = {p->count, p->loop_axis, p->loop_inner, p->act == BK_ACT_LOG_SOFTMAX};
    int64_t slice = s.axis * s.inner;
    int failed = 0;
#pragma omp parallel if (s.outer > 1 && s.outer * slice > 65536) reduction(| : failed)
    {
        float *acc = malloc(sizeof(float) * 2 * (size_t)s.inner);
        failed = acc == NULL;
#pragma omp for
        for (int64_t o = 0; o < s.outer; o++) {
            if (!acc) continue;
            if (backward) backward_slice(&s, a + o * slice, b + o * slice, out + o * slice, acc);
            else forward_slice(&s, a + o * slice, out + o * slice, acc);
        }
        free(acc);
    }
    return failed ? bk_error(BK_ERR_NOMEM, "out of memory in softmax") : BK_OK;
}

bk_status bk_cpu_softmax_loop_forward(const bk_plan *p, const float *x, float *y)
{
    return run(p, x, NULL, y, 0);
}

bk_status bk_cpu_softmax_loop_backward(const bk_plan *p, const float *y, const float *dy, float *dx)
{
    return run(p, y, dy, dx, 1);
}
