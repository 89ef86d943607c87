/* Keras' size-1 broadcasting for the element-wise merge layers (NumPy
 * rules over the axes after the batch: a lower-rank input gets leading 1s,
 * then each axis must match or be 1 in all but one input).
 *
 * Shapes here are brisk's internal (channel-first) per-sample shapes; the
 * rules are applied to their Keras (channels_last) forms and mapped back,
 * so (H, W, C) * (1, 1, C) is internal (C, H, W) * (C, 1, 1). Inserting
 * size-1 axes never moves data, so an input's buffer is read as is. */
#ifndef BK_NN_BROADCAST_H
#define BK_NN_BROADCAST_H
#include "brisk/tensor.h"

/* How one input's elements map onto the output's: the output's
 * [batch, shape...] axes with the size-1 ones dropped and neighbours of
 * the same kind merged; stride 0 on an axis where the input is repeated. */
typedef struct {
    int nd;
    int64_t size[BK_MAX_DIMS + 1], stride[BK_MAX_DIMS + 1];
    int64_t count;   /* output elements */
} bk_bcast;

/* *out := the broadcast shape of internal shapes a and b; returns 0 when
 * they are incompatible (the caller names the layer and both shapes). */
int bk_bcast_shape(const bk_shape *a, const bk_shape *b, bk_shape *out);
/* The mapping of an input of internal shape `in` onto `out` (a broadcast
 * shape of it, as bk_bcast_shape made), for `batch` rows. */
void bk_bcast_plan(bk_bcast *p, const bk_shape *in, const bk_shape *out, int64_t batch);
/* y[count] := x repeated along the broadcast axes. */
void bk_bcast_expand(const bk_bcast *p, const float *x, float *y);
/* dx := g[count] summed over the broadcast axes (the gradient of expand). */
void bk_bcast_reduce(const bk_bcast *p, const float *g, float *dx);
#endif
