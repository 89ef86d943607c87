/* checkpoints.load: a weights file of any format brisk reads, told apart
 * by its first bytes (not its name):
 *   safetensors  brisk's checkpoints (bk_checkpoint_load, by parameter name)
 *   HDF5         Keras .h5 / .weights.h5 (keras_load.h)
 *   zip          a Keras 3 .keras archive (its model.weights.h5); any other
 *                zip, and a pickle, is a PyTorch/libtorch .pt file: an
 *                error that gives the command converting it to safetensors
 * The reference CLI saves model_checkpoint_<N>.pt where brisk saves
 * model_epoch_<N>.safetensors; a config naming the first after a brisk run
 * (its tutorials' inference configs do) loads the second, saying so. */
#ifndef BK_TRAIN_LOAD_WEIGHTS_H
#define BK_TRAIN_LOAD_WEIGHTS_H
#include <stdio.h>
#include "nn/graph.h"

/* Loads path into m for transfer learning or inference: parameters the
 * file lacks keep their values, with a warning to warn naming their
 * layers ("warning: F has no weights for layer(s) "fc"; they keep their
 * initial values"); a shape mismatch or a file matching no layer is an
 * error. The console lines ("Loading model checkpoint from file: ...",
 * skipped layers, "Loaded weights from ...") go to out. */
bk_status bk_load_weights(bk_model *m, const char *path, FILE *out, FILE *warn);
#endif
