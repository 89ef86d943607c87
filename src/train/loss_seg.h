/* Pieces of the segmentation losses (loss_seg.c) shared with the Lovasz
 * losses (loss_lovasz.c). Outputs and probabilities are [batch, c, sp]. */
#ifndef BK_TRAIN_LOSS_SEG_H
#define BK_TRAIN_LOSS_SEG_H
#include "loss.h"

/* What the outputs are for this loss and channel count (DEFAULT resolved:
 * sigmoid for one channel, softmax for several). */
bk_loss_source bk_loss_seg_source(const bk_loss *l, int64_t c);
/* p := the probabilities the outputs stand for (an error when outputs
 * given as probabilities are not). */
bk_status bk_loss_seg_probs(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp, double *p);
/* grad := g (dL/dp, overwritten) pushed through p's Jacobian w.r.t. the outputs. */
void bk_loss_seg_to_outputs(const bk_loss *l, const double *p, double *g, int64_t batch, int64_t c, int64_t sp,
                            float *grad);
/* The target of pixel s of sample b: class *k (c > 1) or mask value *t (c == 1), checked. */
bk_status bk_loss_seg_target(const float *target, int64_t b, int64_t sp, int64_t s, int64_t c, double *t, int64_t *k);

/* Lovasz-Softmax / Lovasz hinge (loss_lovasz.c); bk_loss_seg_compute's contract. */
bk_status bk_loss_lovasz_compute(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp,
                                 const float *target, float *grad, double *loss);
#endif
