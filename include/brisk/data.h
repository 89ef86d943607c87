/* brisk: datasets and the batching pipeline.
 *
 * A dataset is a random-access collection of samples. Inputs are float32,
 * channel-first per sample (e.g. [1, 28, 28]); targets are float32 too
 * (class labels are stored as their index, target shape []). */
#ifndef BRISK_DATA_H
#define BRISK_DATA_H

#include <stdint.h>
#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bk_dataset bk_dataset;

/* Most arrays one sample may hold (inputs, and targets, each). */
#define BK_DATA_MAX_ARRAYS 8

struct bk_dataset {
    int64_t count;          /* number of samples */
    bk_shape input_shape;   /* one sample, no batch dim */
    bk_shape target_shape;  /* one target, no batch dim; ndim 0 for a class index */
    int has_targets;        /* 0 for inputs only (inference) */
    /* Reads samples idx[0..n) into x (n * numel(input_shape) floats) and,
     * when y is not NULL and has_targets, y (n * numel(target_shape)).
     * idx may be in any order and repeat; an index outside [0, count) is
     * BK_ERR_INVALID. Must be safe to call from one background thread at a
     * time. */
    bk_status (*read)(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y);
    /* Releases impl and ds itself (NULL: nothing to release, e.g. a
     * dataset struct the caller keeps on the stack). */
    void (*destroy)(bk_dataset *ds);
    void *impl;
    char name[256];         /* for messages: the file(s) it came from */
    /* Several arrays per sample (models with several inputs or outputs).
     * n_inputs 0: one input of input_shape, as above. n_inputs >= 1: input
     * k has input_shapes[k] and is called input_names[k] in messages, and
     * input_shape is [floats of all inputs of one sample] (for sizing
     * buffers); read() then fills x "planar": all n samples of input 0,
     * then all n of input 1, and so on. n_targets and y likewise. */
    int n_inputs, n_targets;
    bk_shape input_shapes[BK_DATA_MAX_ARRAYS], target_shapes[BK_DATA_MAX_ARRAYS];
    char input_names[BK_DATA_MAX_ARRAYS][128], target_names[BK_DATA_MAX_ARRAYS][128];
    /* Optional (NULL: not needed). The loader calls set_epoch before the
     * first read of each epoch, so random transforms can draw from
     * (seed, epoch, sample) and a resumed run sees the same draws. */
    void (*set_epoch)(bk_dataset *ds, int epoch);
    /* Optional (NULL: samples have no names). Writes the name of sample i
     * into buf: its file's path relative to the data folder
     * ("cats/cat_001.jpg", "nu.npy"), or its HDF5 dataset name. The
     * inference output names its datasets after these. */
    bk_status (*sample_name)(bk_dataset *ds, int64_t i, char *buf, size_t len);
};

/* Sample i's name (see bk_dataset.sample_name); "" when ds names none. */
bk_status bk_dataset_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len);

/* A per-sample transform (resize, crops, flips, normalisation, ...) that a
 * loader applies to each sample after reading it and before batching.
 * Samples are channel-first [C, H, W] (or [C, D, H, W]). side is 0 for an
 * input, 1 for a target; the transform may treat them differently (masks
 * are resampled nearest-neighbour; random draws are shared by the input
 * and the target of one sample, so an image and its mask move together).
 * sample is the sample's index in the dataset and epoch the one set_epoch
 * gave (-1 before any: evaluation), so random draws repeat exactly on a
 * resumed run. Both functions must be safe to call from several threads
 * at once. */
typedef struct {
    /* Writes the transformed sample into *out (allocated with malloc by
     * apply; the caller frees it) and its shape into *out_shape. */
    bk_status (*apply)(void *ctx, int side, int64_t sample, int epoch, const float *in,
                       const bk_shape *in_shape, float **out, bk_shape *out_shape);
    /* The shape apply gives for a sample of shape in, without reading any
     * data, so a loader can size its batches; a dimension of -1 means it
     * varies from draw to draw (a random crop not followed by a resize),
     * which a loader refuses with a message that says to add a resize. */
    bk_status (*out_shape)(void *ctx, int side, const bk_shape *in, bk_shape *out);
    void *ctx;
} bk_sample_transform;

/* Options shared by the file loaders. */
typedef struct {
    const char *input_path;    /* file or folder */
    const char *target_path;   /* may be NULL */
    const char *input_key;     /* hdf5 dataset / npz array name; NULL = default */
    const char *target_key;
    int preload;               /* 1: read everything into memory at open */
    int train;                 /* mnist folder: 1 picks train-*, 0 picks t10k-* */
} bk_data_options;

/* MNIST/Fashion-MNIST IDX files, gzip'd or not. input_path names the images
 * file, or a folder holding the standard four files (then target_path may be
 * NULL and opt->train picks the split). uint8 pixels are scaled to [0,1].
 * An images file given with target_path NULL picks up its labels file by the
 * standard name (train-images-idx3-ubyte -> train-labels-idx1-ubyte) when it
 * is there, else the dataset has no targets. Always loaded into memory.
 * Caller destroys the dataset with bk_dataset_destroy. */
bk_status bk_dataset_open_mnist(bk_dataset **out, const bk_data_options *opt);

/* NumPy .npy (one array, samples along axis 0) or .npz (input_key /
 * target_key name the arrays; defaults "x"/"y", else first/second array).
 * Any numeric dtype, C or Fortran order, converted to float32. For a .npy,
 * target_path names the targets' .npy (or .npz). A 1-D input array gives
 * samples of shape [1]; a 1-D target array gives targets of shape [].
 * Loaded into memory. Caller destroys the dataset. */
bk_status bk_dataset_open_numpy(bk_dataset **out, const bk_data_options *opt);

/* HDF5: datasets input_key (default "input"/"x"/"data"/"images") and
 * target_key (default "target"/"y"/"label"/"labels") in input_path (targets
 * may live in target_path). Samples along axis 0; 1-D shapes as for numpy.
 * Without target_key or target_path, a file with no target dataset gives a
 * dataset without targets. preload=0 reads only the rows asked for, so
 * files larger than memory work. Caller destroys the dataset. */
bk_status bk_dataset_open_hdf5(bk_dataset **out, const bk_data_options *opt);

/* Several arrays per sample: input k is array input_keys[k] (an hdf5
 * dataset or npz member; NULL for a .npy file) of file input_paths[k], and
 * target k likewise (n_targets 0: no targets). Every array must have the
 * same number of samples along axis 0. The dataset reads them "planar"
 * (see bk_dataset), so one index list, and so one shuffle, serves all
 * arrays of a sample. hdf5 = 1 opens HDF5 files (preload as for
 * bk_dataset_open_hdf5), else .npy/.npz files. Caller destroys the dataset. */
typedef struct {
    int n_inputs, n_targets;
    const char *input_paths[BK_DATA_MAX_ARRAYS], *input_keys[BK_DATA_MAX_ARRAYS];
    const char *target_paths[BK_DATA_MAX_ARRAYS], *target_keys[BK_DATA_MAX_ARRAYS];
    int preload;
} bk_data_arrays;
bk_status bk_dataset_open_arrays(bk_dataset **out, int hdf5, const bk_data_arrays *a);

/* The Burgers initial-condition generator (data type "pde"): sample i is
 * b(x) = sum_j w_j 1/2 (1 - cos(2 pi c_j x / d)), x = 0..d-1, as input
 * and as target, both of shape [1, d]. fixed_uniform: one term, c_i =
 * cmin + i (cmax - cmin) / (count - 1). Otherwise 1 to max_terms terms
 * (how many: uniform), each c_j uniform in [cmin, cmax], weights w_j
 * uniform in (0, 1] scaled to sum to 1 (so b stays in [0, 1] with
 * b(0) = 0, as the boundary condition u(0, t) = 0 wants). Samples are
 * computed when read, from (seed, stream, i) only: the same options give
 * the same samples, in any order, and a test set on another stream
 * differs from the training set. Caller destroys the dataset. */
typedef struct {
    int64_t domain_size;   /* d: points in x (>= 3) */
    int64_t count;         /* samples (>= 1) */
    double cmin, cmax;     /* bc_frequency (0 <= cmin <= cmax) */
    int fixed_uniform;     /* bc_type fixed_uniform (else random_uniform) */
    int max_terms;         /* random_uniform: most raised cosines per sample (>= 1) */
    uint64_t seed, stream;
} bk_pde_options;
bk_status bk_dataset_open_pde(bk_dataset **out, const bk_pde_options *opt);

/* Number of inputs / targets of one sample (1 for a one-array dataset),
 * and the shape of input / target k. */
int bk_dataset_num_inputs(const bk_dataset *ds);
int bk_dataset_num_targets(const bk_dataset *ds);
const bk_shape *bk_dataset_input_shape(const bk_dataset *ds, int k);
const bk_shape *bk_dataset_target_shape(const bk_dataset *ds, int k);

/* A view of samples [first, first+count) of base; base must outlive it.
 * Caller destroys the view (which leaves base alone). */
bk_status bk_dataset_subset(bk_dataset **out, bk_dataset *base, int64_t first, int64_t count);

void bk_dataset_destroy(bk_dataset *ds);

/* One batch: x is [n, input_shape...], y is [n, target_shape...]
 * (several arrays: planar, see bk_dataset).
 * Memory belongs to the loader and is valid until the next call to
 * bk_loader_next (or bk_loader_destroy). */
typedef struct {
    int64_t n;
    float *x;
    float *y;
} bk_batch;

typedef struct bk_loader bk_loader;

/* Creates a loader that yields batches of batch_size (the last one may be
 * smaller) and prepares the next batch on a background thread while the
 * caller computes. shuffle: a new permutation each epoch, derived from
 * (seed, epoch) only, so a resumed run sees the same order. ds must outlive
 * the loader; caller destroys the loader with bk_loader_destroy. */
bk_status bk_loader_create(bk_loader **out, bk_dataset *ds, int64_t batch_size,
                           int shuffle, uint64_t seed);
/* Starts epoch `epoch` (0-based); begins prefetching its first batch. */
bk_status bk_loader_begin_epoch(bk_loader *ld, int epoch);
/* Next batch of the epoch; sets *done = 1 (and leaves batch empty) at the end.
 * An error from the dataset's read (on the worker thread) is returned here
 * with its message; the epoch then stays failed until begin_epoch. */
bk_status bk_loader_next(bk_loader *ld, bk_batch *batch, int *done);
/* Number of batches per epoch. */
int64_t bk_loader_num_batches(const bk_loader *ld);
/* Seconds the caller spent waiting for data in this epoch so far. */
double bk_loader_wait_seconds(const bk_loader *ld);
void bk_loader_destroy(bk_loader *ld);

#ifdef __cplusplus
}
#endif
#endif
