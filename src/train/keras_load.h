/* Keras HDF5 weights into a brisk model: layers matched by name (Keras 3
 * files: by Keras' own keys, class and count), each weight converted from
 * Keras' layout to the PyTorch layout brisk's parameters hold.
 *
 *   Dense kernel [in, out]                 -> weight [out, in]
 *   Conv kernel [k..., in, out]            -> weight [out, in, k...]
 *   ConvTranspose kernel [k..., out, in]   -> weight [in, out, k...]
 *   (Separable)DepthwiseConv depthwise_kernel [k..., in, mult]
 *                                          -> [in*mult, 1, k...]
 *   SeparableConv pointwise_kernel [1..., in, out] -> [out, in, 1...]
 *   PReLU alpha [d..., C]                  -> weight [C, d...]
 *   norms' gamma / beta / moving_mean / moving_variance
 *                                          -> weight / bias / running_mean /
 *                                             running_var, as stored
 * A Dense after a Flatten needs nothing more: brisk's Flatten and Reshape
 * produce Keras' (channels_last) element order (layer_shape.c), the order
 * the Keras kernel's rows follow. */
#ifndef BK_TRAIN_KERAS_LOAD_H
#define BK_TRAIN_KERAS_LOAD_H
#include <stdio.h>
#include "io/keras_h5.h"
#include "nn/graph.h"

/* Loads f (opened from path) into m. Layers in the file that the model
 * lacks, and file weights a model layer has no place for, are logged to
 * log (NULL: not at all) as the reference CLI words them ("   Skipping
 * layer dense_1: not found in model", "   Skipping parameter
 * bn.weight (bn/gamma:0): not found in model"); model layers (or single
 * parameters, "bn.bias") the file has no weights for keep their values
 * and are listed in missing ("\"fc\", \"bn.bias\"", truncated to fit).
 * A shape that differs is an error naming the layer, the Keras weight and
 * both shapes; so is a file none of whose layers the model has. */
bk_status bk_keras_load(bk_model *m, const bk_keras_h5 *f, const char *path, FILE *log, char *missing,
                        size_t missing_len);
#endif
