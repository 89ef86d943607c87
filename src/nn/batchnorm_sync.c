#include <math.h>
#include <stdlib.h>
#include "batchnorm_sync.h"

/* Offset of channel c's first value in sample b; its values follow at
 * stride block. */
static int64_t base_of(const bk_bn_sync *s, int64_t b, int64_t c)
{
    int64_t B = s->block;
    return (b * (s->c / B) + c / B) * s->spatial * B + c % B;
}

bk_status bk_bn_sync_stats(const bk_bn_sync *s, const float *x, float *mean, float *var, double *count)
{
    int64_t C = s->c;
    double *acc = calloc((size_t)(2 * C + 1), sizeof *acc); /* sums, sums of squares, count */
    if (!acc) return bk_error(BK_ERR_NOMEM, "out of memory for synchronized batch statistics");
#pragma omp parallel for if (s->batch * C * s->spatial > 65536)
    for (int64_t c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < s->batch; b++) {
            const float *p = x + base_of(s, b, c);
            for (int64_t i = 0; i < s->spatial; i++) {
                double v = p[i * s->block];
                sum += v;
                sq += v * v;
            }
        }
        acc[c] = sum;
        acc[C + c] = sq;
    }
    acc[2 * C] = (double)(s->batch * s->spatial);
    bk_status st = s->sum(acc, (int)(2 * C + 1));
    if (!st) {
        double n = acc[2 * C];
        for (int64_t c = 0; c < C; c++) {
            double mu = n > 0 ? acc[c] / n : 0, v = n > 0 ? acc[C + c] / n - mu * mu : 0;
            mean[c] = (float)mu;
            var[c] = (float)(v > 0 ? v : 0);
        }
        *count = n;
    }
    free(acc);
    return st;
}

bk_status bk_bn_sync_backward(const bk_bn_sync *s, const float *x, const float *dy, const float *gamma,
                              const float *mean, const float *var, double count, float *dx, float *dgamma,
                              float *dbeta)
{
    int64_t C = s->c;
    double *acc = calloc((size_t)(2 * C), sizeof *acc); /* sum dy, sum dy * xhat */
    if (!acc) return bk_error(BK_ERR_NOMEM, "out of memory for synchronized batch-norm gradients");
#pragma omp parallel for if (s->batch * C * s->spatial > 65536)
    for (int64_t c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0, mu = mean[c], inv = 1.0 / sqrt((double)var[c] + s->eps);
        for (int64_t b = 0; b < s->batch; b++) {
            int64_t o = base_of(s, b, c);
            for (int64_t i = 0; i < s->spatial; i++) {
                double g = dy[o + i * s->block];
                sdy += g;
                sdyx += g * ((double)x[o + i * s->block] - mu) * inv;
            }
        }
        acc[c] = sdy;
        acc[C + c] = sdyx;
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)sdyx;
    }
    bk_status st = s->sum(acc, (int)(2 * C));
    if (!st && dx) {
#pragma omp parallel for if (s->batch * C * s->spatial > 65536)
        for (int64_t c = 0; c < C; c++) {
            double mu = mean[c], inv = 1.0 / sqrt((double)var[c] + s->eps);
            double k = gamma[c] * inv, m1 = acc[c] / count, m2 = acc[C + c] / count;
            for (int64_t b = 0; b < s->batch; b++) {
                int64_t o = base_of(s, b, c);
                for (int64_t i = 0; i < s->spatial; i++) {
                    int64_t j = o + i * s->block;
                    double xhat = ((double)x[j] - mu) * inv;
                    dx[j] = (float)(k * ((double)dy[j] - m1 - xhat * m2));
                }
            }
        }
    }
    free(acc);
    return st;
}
