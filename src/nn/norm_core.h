/* Normalization over arbitrary Keras axes, shared by BatchNormalization
 * (on an axis other than the channels: the channel axis has the oneDNN
 * path), LayerNormalization, GroupNormalization and InstanceNormalization.
 *
 * Each element of a sample belongs to one statistics group and has one
 * parameter index (into gamma/beta), both given by its Keras coordinates:
 *   xhat = (x - mean_g) * r_g,  y = gamma_p * xhat + beta_p
 * with r_g = 1 / sqrt(var_g + eps) (Keras, TF, PyTorch) or, for
 * keras-contrib's InstanceNormalization, 1 / (std_g + eps). Variances are
 * biased (divide by the group's count). Groups are per sample, or pooled
 * over the batch (per_batch, BatchNormalization).
 *
 * Backward, per group of n elements, with dxhat = dy * gamma:
 *   dx = r (dxhat - mean(dxhat)) - xhat * mean(dxhat * xhat) * q
 * where q = r (eps inside the root) or 1 / std (eps outside), and with
 * fixed statistics (inference-mode BatchNormalization) dx = r dxhat. */
#ifndef BK_NN_NORM_CORE_H
#define BK_NN_NORM_CORE_H

#include "graph.h"

typedef struct {
    int per_batch, eps_outside;
    double eps;
    int64_t per, n_groups, n_param;
    int32_t *group, *pidx;     /* per element of one sample (internal order) */
    float *mean, *var, *r, *q; /* [rows or 1][n_groups]: of the last forward */
    double *acc;               /* [2 x rows x n_groups] scratch */
    int64_t cap;               /* rows the arrays hold */
    int fixed;                 /* the last forward used given statistics */
} bk_norm;

/* Builds the maps for internal shape `in`. param_axes / group_axes: masks
 * over the 0-based Keras axes. The group coordinate along div_axis (or -1)
 * is divided by div (GroupNormalization's channel groups). */
bk_status bk_norm_setup(bk_norm *c, const bk_shape *in, const int *param_axes, const int *group_axes, int div_axis,
                        int64_t div);
/* y from x. gamma/beta may be NULL (scale/center off). With given_mean /
 * given_var (per group) normalises with those; otherwise computes the
 * statistics of this batch (kept for backward and bk_norm_batch_stats). */
bk_status bk_norm_forward(bk_norm *c, const float *x, const float *gamma, const float *beta, const float *given_mean,
                          const float *given_var, float *y, int64_t batch);
/* Gradients of the last forward: dx (may be NULL), dgamma/dbeta (may be
 * NULL; overwritten). */
void bk_norm_backward(bk_norm *c, const float *x, const float *dy, const float *gamma, float *dx, float *dgamma,
                      float *dbeta, int64_t batch);
void bk_norm_free(bk_norm *c);
#endif
