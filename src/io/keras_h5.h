/* Keras weights in HDF5 files: which layers a file holds, each layer's
 * weights (name, shape in Keras' layout), and their values on demand, so
 * a large file (ResNet50: 100 MB) is never held in memory twice.
 *
 * The layouts Keras writes, told apart by their structure:
 *   model  Keras 2 model.save("x.h5") (Keras 3's legacy .h5 save too):
 *          group model_weights, attribute layer_names; per layer a group
 *          with attribute weight_names ("conv1/kernel:0"; Keras 3: the
 *          variable path "dense/kernel") naming datasets inside it.
 *   weights  Keras 2 save_weights("x.h5"): the same at the root.
 *   keras3 Keras 3 save_weights("x.weights.h5") (and the weights inside a
 *          .keras archive): layers/<key>/vars/0, 1, ... in the layer's
 *          variable order, where <key> is not the layer's name but its
 *          class in snake case with a per-class count ("conv2d",
 *          "conv2d_1"); TF-Keras 2.13 wrote _layer_checkpoint_dependencies
 *          in place of layers.
 * Attribute lists too large for one HDF5 object header are split by Keras
 * into layer_names0, layer_names1, ...; both forms are read. */
#ifndef BK_IO_KERAS_H5_H
#define BK_IO_KERAS_H5_H

#include <stddef.h>
#include "brisk/tensor.h"

typedef enum {
    BK_KERAS_H5_MODEL = 1,
    BK_KERAS_H5_WEIGHTS,
    BK_KERAS_H5_V3
} bk_keras_h5_layout;

typedef struct {
    char name[256];   /* as the file names it: "conv1/kernel:0", "vars/0" */
    char var[64];     /* its variable: "kernel", "gamma", ... (the last path
                       * part without ":0"); "" in Keras 3 files, which
                       * only number them */
    bk_shape shape;   /* as stored: Keras' layout */
    char dset[1024];  /* the dataset's path from the file's root */
} bk_keras_weight;

typedef struct {
    char name[256];   /* the layer's name; Keras 3: its key ("conv2d_1") */
    int n_weights;
    bk_keras_weight *w;
} bk_keras_layer;

typedef struct bk_keras_h5 bk_keras_h5;

/* Opens path and lists its layers and weights (reads no values). Errors
 * name the file and what is missing or malformed. Caller closes *out. */
bk_status bk_keras_h5_open(bk_keras_h5 **out, const char *path);
/* Opens an HDF5 file image held in memory (a .keras archive's
 * model.weights.h5); name stands for it in messages. HDF5 copies the
 * bytes, so the caller may free them once this returns. */
bk_status bk_keras_h5_open_image(bk_keras_h5 **out, const void *image, size_t len, const char *name);
bk_keras_h5_layout bk_keras_h5_layout_of(const bk_keras_h5 *f);
/* "model.save (Keras 2 HDF5)" and the like, for messages. */
const char *bk_keras_h5_layout_name(bk_keras_h5_layout l);
/* The keras_version attribute ("2.13.1"), or "" when the file has none. */
const char *bk_keras_h5_version(const bk_keras_h5 *f);
/* The layers in the file's order (layer_names; Keras 3: by key); owned by f. */
int bk_keras_h5_count(const bk_keras_h5 *f);
const bk_keras_layer *bk_keras_h5_layer(const bk_keras_h5 *f, int i);
/* Reads weight w (of f) as float32 into dst (numel of w->shape floats). */
bk_status bk_keras_h5_read(const bk_keras_h5 *f, const bk_keras_weight *w, float *dst);
/* NULL is a no-op. */
void bk_keras_h5_close(bk_keras_h5 *f);

#endif
