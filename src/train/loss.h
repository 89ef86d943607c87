/* Losses: the mean loss over a batch and its gradient w.r.t. the model
 * output, with PyTorch's definitions (the reference CLI's engine). */
#ifndef BK_TRAIN_LOSS_H
#define BK_TRAIN_LOSS_H
#include "brisk/tensor.h"

typedef enum { BK_LOSS_NLL, BK_LOSS_CROSS_ENTROPY, BK_LOSS_BCE, BK_LOSS_MSE, BK_LOSS_L1 } bk_loss_kind;

typedef struct {
    bk_loss_kind kind;
    int from_logits;        /* BCE: output is a logit (source "logits") */
    float *class_weight;    /* NLL / cross-entropy per-class weights, or NULL; owned */
    int64_t n_weights;
} bk_loss;

/* 1 when targets are class indices (one value per sample/pixel). */
int bk_loss_is_classification(const bk_loss *l);

/* out: [batch, out_shape]; target: class indices [batch, spatial] for
 * classification, else the same shape as out. Sets *loss to the batch
 * mean; when grad is not NULL writes dloss/dout there. Out-of-range class
 * indices are an error. */
bk_status bk_loss_compute(const bk_loss *l, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, float *grad, double *loss);

/* Metric sums for a batch: correct predictions (classification) and
 * absolute / squared errors (regression), plus how many values counted. */
typedef struct { double correct, abs_err, sq_err, count; } bk_metric_sums;
void bk_metric_accumulate(const bk_loss *l, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, bk_metric_sums *acc);
#endif
