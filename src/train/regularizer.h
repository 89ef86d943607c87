/* Keras weight regularizers (L1, L2, L1L2 on kernels, biases, ...): the
 * penalty sum(l1 * |w| + l2 * w^2) over the trainable parameters that carry
 * one is added to the loss, as Keras adds layer.losses to the loss it
 * reports and minimises. */
#ifndef BK_TRAIN_REGULARIZER_H
#define BK_TRAIN_REGULARIZER_H
#include "nn/graph.h"

/* The penalty at the current weights (0 when no parameter has one). */
double bk_regularizer_penalty(const bk_model *m);
/* Adds the penalty's gradient (l1 * sign(w) + 2 l2 w) to the parameter
 * gradients, which a backward pass has just written; returns the penalty. */
double bk_regularizer_add_grad(bk_model *m);
#endif
