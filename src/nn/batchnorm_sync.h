/* Batch normalization over the channel axis with statistics pooled over
 * every process of a data-parallel job ("sync_batchnorm"), as PyTorch's
 * SyncBatchNorm: the job's mean and variance in the forward pass, and in
 * the backward pass the job's sums of dy and dy * xhat, so each process's
 * input gradient is that of one process holding the whole batch.
 * Activations are [batch][c / block][spatial][block] (block 1: plain). */
#ifndef BK_NN_BATCHNORM_SYNC_H
#define BK_NN_BATCHNORM_SYNC_H
#include <stdint.h>
#include "brisk/status.h"

typedef struct {
    int64_t batch, c, spatial, block;
    double eps;
    bk_status (*sum)(double *buf, int n); /* sums over the processes */
} bk_bn_sync;

/* The job's per-channel mean and biased variance of x; *count: values per
 * channel over the job (for the running variance's unbiasing). */
bk_status bk_bn_sync_stats(const bk_bn_sync *s, const float *x, float *mean, float *var, double *count);
/* dx (may be NULL) from dy, with the job's sums; dgamma and dbeta get this
 * process's part (the gradient exchange sums them). count as above. */
bk_status bk_bn_sync_backward(const bk_bn_sync *s, const float *x, const float *dy, const float *gamma,
                              const float *mean, const float *var, double count, float *dx, float *dgamma,
                              float *dbeta);
#endif
