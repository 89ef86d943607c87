#include "norm_core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "elem_map.h"
#include "layer_util.h"

bk_status bk_norm_setup(bk_norm *c, const bk_shape *in, const int *param_axes, const int *group_axes, int div_axis,
                        int64_t div)
{
    bk_shape k = bk_internal_to_keras(in);
    c->per = bk_shape_numel(in);
    if (c->per > INT32_MAX) return bk_error(BK_ERR_UNSUPPORTED, "more than 2^31 values per sample");
    c->n_param = c->n_groups = 1;
    for (int a = 0; a < k.ndim; a++) {
        if (param_axes[a]) c->n_param *= k.dims[a];
        if (group_axes[a]) c->n_groups *= a == div_axis ? k.dims[a] / div : k.dims[a];
    }
    c->group = malloc((size_t)c->per * sizeof *c->group);
    c->pidx = malloc((size_t)c->per * sizeof *c->pidx);
    if (!c->group || !c->pidx) return bk_error(BK_ERR_NOMEM, "out of memory");
    int64_t kc[BK_MAX_DIMS];
    for (int64_t i = 0; i < c->per; i++) {
        bk_keras_coords(in, i, kc);
        int64_t g = 0, p = 0;
        for (int a = 0; a < k.ndim; a++) {
            if (param_axes[a]) p = p * k.dims[a] + kc[a];
            if (group_axes[a]) g = a == div_axis ? g * (k.dims[a] / div) + kc[a] / div : g * k.dims[a] + kc[a];
        }
        c->group[i] = (int32_t)g;
        c->pidx[i] = (int32_t)p;
    }
    return BK_OK;
}

static bk_status reserve(bk_norm *c, int64_t rows)
{
    if (c->cap >= rows) return BK_OK;
    free(c->mean); free(c->var); free(c->r); free(c->q); free(c->acc);
    size_t n = (size_t)(rows * c->n_groups);
    c->mean = malloc(n * sizeof(float));
    c->var = malloc(n * sizeof(float));
    c->r = malloc(n * sizeof(float));
    c->q = malloc(n * sizeof(float));
    c->acc = malloc(2 * n * sizeof(double)); /* forward sums; backward's two per group */
    c->cap = rows;
    if (!c->mean || !c->var || !c->r || !c->q || !c->acc) {
        c->cap = 0;
        return bk_error(BK_ERR_NOMEM, "out of memory for normalization statistics");
    }
    return BK_OK;
}

/* Mean and biased variance per group over `rows` samples starting at x
 * (two passes in double), into mean/var/acc at offset 0. */
static void stats(const bk_norm *c, const float *x, int64_t rows, float *mean, float *var, double *acc)
{
    int64_t ng = c->n_groups;
    double count = (double)(rows * c->per / ng);
    memset(acc, 0, (size_t)ng * sizeof(double));
    for (int64_t b = 0; b < rows; b++)
        for (int64_t i = 0; i < c->per; i++) acc[c->group[i]] += x[b * c->per + i];
    for (int64_t g = 0; g < ng; g++) mean[g] = (float)(acc[g] / count);
    memset(acc, 0, (size_t)ng * sizeof(double));
    for (int64_t b = 0; b < rows; b++)
        for (int64_t i = 0; i < c->per; i++) {
            double d = (double)x[b * c->per + i] - mean[c->group[i]];
            acc[c->group[i]] += d * d;
        }
    for (int64_t g = 0; g < ng; g++) var[g] = (float)(acc[g] / count);
}

bk_status bk_norm_forward(bk_norm *c, const float *x, const float *gamma, const float *beta, const float *given_mean,
                          const float *given_var, float *y, int64_t batch)
{
    int64_t rows = c->per_batch ? 1 : batch, ng = c->n_groups, per = c->per;
    bk_status st = reserve(c, rows);
    if (st) return st;
    c->fixed = given_mean != NULL;
    if (c->fixed) {
        memcpy(c->mean, given_mean, (size_t)ng * sizeof(float));
        memcpy(c->var, given_var, (size_t)ng * sizeof(float));
    } else if (c->per_batch) {
        stats(c, x, batch, c->mean, c->var, c->acc);
    } else {
#pragma omp parallel for if (batch * per > 65536)
        for (int64_t b = 0; b < batch; b++) stats(c, x + b * per, 1, c->mean + b * ng, c->var + b * ng, c->acc + b * ng);
    }
    for (int64_t g = 0; g < rows * ng; g++) {
        double sd = sqrt((double)c->var[g]);
        c->r[g] = (float)(c->eps_outside ? 1.0 / (sd + c->eps) : 1.0 / sqrt((double)c->var[g] + c->eps));
        c->q[g] = c->eps_outside ? (sd > 0 ? (float)(1.0 / sd) : 0.0f) : c->r[g];
    }
#pragma omp parallel for if (batch * per > 65536)
    for (int64_t b = 0; b < batch; b++) {
        const float *mean = c->mean + (c->per_batch ? 0 : b * ng), *r = c->r + (c->per_batch ? 0 : b * ng);
        for (int64_t i = 0; i < per; i++) {
            int32_t g = c->group[i], p = c->pidx[i];
            float v = (x[b * per + i] - mean[g]) * r[g];
            if (gamma) v *= gamma[p];
            if (beta) v += beta[p];
            y[b * per + i] = v;
        }
    }
    return BK_OK;
}

void bk_norm_backward(bk_norm *c, const float *x, const float *dy, const float *gamma, float *dx, float *dgamma,
                      float *dbeta, int64_t batch)
{
    int64_t ng = c->n_groups, per = c->per;
    if (dgamma) memset(dgamma, 0, (size_t)c->n_param * sizeof(float));
    if (dbeta) memset(dbeta, 0, (size_t)c->n_param * sizeof(float));
    for (int64_t b = 0; b < batch; b++) {
        int64_t o = c->per_batch ? 0 : b * ng;
        for (int64_t i = 0; i < per; i++) {
            int32_t g = c->group[i] + (int32_t)o, p = c->pidx[i];
            float d = dy[b * per + i];
            if (dgamma) dgamma[p] += d * (x[b * per + i] - c->mean[g]) * c->r[g];
            if (dbeta) dbeta[p] += d;
        }
    }
    if (!dx) return;
    if (c->fixed) {
#pragma omp parallel for if (batch * per > 65536)
        for (int64_t b = 0; b < batch; b++)
            for (int64_t i = 0; i < per; i++)
                dx[b * per + i] = dy[b * per + i] * (gamma ? gamma[c->pidx[i]] : 1.0f) * c->r[c->group[i]];
        return;
    }
    /* per group: s1 = sum dxhat, s2 = sum dxhat * xhat (in acc: s1 then s2) */
    int64_t rows = c->per_batch ? 1 : batch;
    double *s = c->acc;
    memset(s, 0, (size_t)(2 * rows * ng) * sizeof(double));
    double count = (double)((c->per_batch ? batch : 1) * per / ng);
    for (int64_t b = 0; b < batch; b++) {
        int64_t o = c->per_batch ? 0 : b * ng;
        for (int64_t i = 0; i < per; i++) {
            int64_t g = c->group[i] + o;
            double dxh = (double)dy[b * per + i] * (gamma ? gamma[c->pidx[i]] : 1.0f);
            double xh = ((double)x[b * per + i] - c->mean[g]) * c->r[g];
            s[2 * g] += dxh;
            s[2 * g + 1] += dxh * xh;
        }
    }
#pragma omp parallel for if (batch * per > 65536)
    for (int64_t b = 0; b < batch; b++) {
        int64_t o = c->per_batch ? 0 : b * ng;
        for (int64_t i = 0; i < per; i++) {
            int64_t g = c->group[i] + o;
            double dxh = (double)dy[b * per + i] * (gamma ? gamma[c->pidx[i]] : 1.0f);
            double xh = ((double)x[b * per + i] - c->mean[g]) * c->r[g];
            dx[b * per + i] = (float)(c->r[g] * (dxh - s[2 * g] / count) - xh * s[2 * g + 1] / count * c->q[g]);
        }
    }
}

void bk_norm_free(bk_norm *c)
{
    free(c->group); free(c->pidx);
    free(c->mean); free(c->var); free(c->r); free(c->q); free(c->acc);
    memset(c, 0, sizeof *c);
}
