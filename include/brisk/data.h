/* brisk: datasets and the batching pipeline.
 *
 * A dataset is a random-access collection of samples. Inputs are float32,
 * channel-first per sample (e.g. [1, 28, 28]); targets are float32 too
 * (class labels are stored as their index, target shape []). */
#ifndef BRISK_DATA_H
#define BRISK_DATA_H

#include <stdint.h>
#include <stdio.h>
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

/* ---- The transforms of the run configuration ----
 * "transforms" (inputs and targets, with the same random draws),
 * "input_transforms" and "target_transforms" (one side each), as typed
 * entries so an embedder can build a list without JSON. A side runs the
 * shared list first, then its own. Geometric entries work on the last two
 * axes (height, width) of [C, H, W], [H, W] or (flips, center_crop,
 * normalize, convert_color only) [C, D, H, W] samples. A target of fewer
 * than 2 dims (a class index) passes through the shared list unchanged. */
typedef enum {
    BK_TF_RESIZE,          /* width x height; bilinear as OpenCV INTER_LINEAR, nearest for masks */
    BK_TF_CENTER_CROP,     /* width x height from the middle (zeros where larger than the sample) */
    BK_TF_JITTER_CROP,     /* value = Cmax: keep (1 - c) of each side, c ~ U[0, Cmax), at a random place */
    BK_TF_RANDOM_HFLIP,    /* value = p: left-right flip with probability p */
    BK_TF_RANDOM_VFLIP,    /* value = p: top-bottom flip with probability p */
    BK_TF_RANDOM_ZOOM,     /* value = Cmax: magnify the central (1 - c) by 1/(1 - c); same size */
    BK_TF_ROTATE,          /* value = degrees clockwise about the centre; same size, zeros outside */
    BK_TF_RANDOM_ROTATE,   /* value = alpha: rotate by an angle ~ U[-alpha, alpha] */
    BK_TF_CONVERT_COLOR,   /* color: an OpenCV conversion */
    BK_TF_NORMALIZE,       /* x' = (x - mean[c]) / std[c] */
    BK_TF_RANDOM_PATCHES   /* number squares of size x size: zeroed in inputs, all that targets keep */
} bk_transform_kind;

/* OpenCV colour conversion codes (cv::COLOR_<name>), on values in [0, 1]
 * the way OpenCV converts float images. */
typedef enum {
    BK_COLOR_BGR2RGB, BK_COLOR_RGB2BGR, BK_COLOR_BGRA2RGBA, BK_COLOR_RGBA2BGRA,
    BK_COLOR_BGR2BGRA, BK_COLOR_RGB2RGBA, BK_COLOR_BGR2RGBA, BK_COLOR_RGB2BGRA,
    BK_COLOR_BGRA2BGR, BK_COLOR_RGBA2RGB, BK_COLOR_BGRA2RGB, BK_COLOR_RGBA2BGR,
    BK_COLOR_BGR2GRAY, BK_COLOR_RGB2GRAY, BK_COLOR_BGRA2GRAY, BK_COLOR_RGBA2GRAY,
    BK_COLOR_GRAY2BGR, BK_COLOR_GRAY2RGB, BK_COLOR_GRAY2BGRA, BK_COLOR_GRAY2RGBA,
    BK_COLOR_BGR2HSV, BK_COLOR_RGB2HSV, BK_COLOR_HSV2BGR, BK_COLOR_HSV2RGB,
    BK_COLOR_BGR2YCrCb, BK_COLOR_RGB2YCrCb, BK_COLOR_YCrCb2BGR, BK_COLOR_YCrCb2RGB,
    BK_COLOR_COUNT
} bk_color_code;

/* The code's name without "COLOR_" ("BGR2RGB"); NULL for a value out of range. */
const char *bk_color_code_name(bk_color_code code);
/* Looks a name up (case-insensitive); returns 1 and sets *out when known. */
int bk_color_code_from_name(const char *name, bk_color_code *out);

#define BK_TF_MAX_CHANNELS 64 /* per-channel normalize values */
#define BK_TF_MAX 32          /* entries in one list */

typedef struct {
    bk_transform_kind kind;
    int64_t width, height;    /* resize, center_crop: [Sx, Sy] = [width, height], cv::Size order */
    double value;             /* jitter_crop, random_zoom: Cmax in [0, 1]; flips: p in [0, 1];
                                 rotate: degrees; random_rotate: alpha >= 0 degrees */
    bk_color_code color;      /* convert_color */
    int n_mean, n_std;        /* normalize: 1 (every channel) or one value per channel */
    float mean[BK_TF_MAX_CHANNELS], std[BK_TF_MAX_CHANNELS];
    int64_t number, size;     /* random_patches */
} bk_transform;

typedef struct {
    int n;
    bk_transform t[BK_TF_MAX];
} bk_transform_list;

typedef struct {
    bk_transform_list shared; /* "transforms" */
    bk_transform_list input;  /* "input_transforms" */
    bk_transform_list target; /* "target_transforms" */
    int target_is_mask;       /* targets are labels: nearest-neighbour resampling */
    uint64_t seed;            /* random draws come from (seed, epoch, sample, entry) */
} bk_transform_config;

/* 1 when cfg lists any transform. */
int bk_transform_config_any(const bk_transform_config *cfg);

/* Builds the per-sample transform of cfg (copied) into *out. Random
 * entries draw from a stream of (seed, epoch, sample, list, position), so
 * a rerun or a resumed run repeats every draw and the input and target of
 * one sample share the draws of the shared list. At evaluation (epoch -1)
 * flips, jitter_crop, random_zoom and random_rotate do nothing and
 * random_patches draws from a fixed per-sample stream. Release with
 * bk_transforms_destroy. */
bk_status bk_transforms_create(bk_sample_transform *out, const bk_transform_config *cfg);
/* Releases what bk_transforms_create made (a zeroed struct is fine). */
void bk_transforms_destroy(bk_sample_transform *tf);

/* A dataset that reads base and passes each sample through tf (input side
 * 0, target side 1). train = 1: sample draws follow the epoch the loader
 * gives through set_epoch; train = 0 (a test set): every epoch reads as
 * evaluation (-1). The shapes come from tf->out_shape and must be fixed
 * (a random crop needs a resize after it). One input and at most one
 * target array per sample. base and tf->ctx must outlive the dataset;
 * destroying it leaves them alone. */
bk_status bk_dataset_transformed(bk_dataset **out, bk_dataset *base, const bk_sample_transform *tf, int train);

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

/* NumPy data, in two forms (any numeric dtype, C or Fortran order,
 * converted to float32):
 * - arrays with samples along axis 0: a .npy file, or an .npz whose arrays
 *   are picked by input_key / target_key or are named "x" / "y". A 1-D
 *   input array gives samples of shape [1]; a 1-D target array gives
 *   targets of shape []. Loaded into memory.
 * - one sample per array (the reference CLI's form): a folder (every .npy
 *   below it is one sample, every array of an .npz one; sorted by relative
 *   path; samples named by it, "sub/a.npy", "b.npz/arr_0"), or an .npz
 *   without keys and without an "x" array (numpy.savez(path, *samples):
 *   one sample per array in archive order, named by the array). All
 *   samples share one shape (else an error naming the file). preload: all
 *   at open, else read per batch.
 * target_path names the targets' file or folder, in either form; inputs
 * and targets are paired by position and must have the same count.
 * Caller destroys the dataset. */
bk_status bk_dataset_open_numpy(bk_dataset **out, const bk_data_options *opt);

/* HDF5, in two forms:
 * - arrays with samples along axis 0: datasets input_key (default
 *   "input"/"x"/"data"/"images") and target_key (default
 *   "target"/"y"/"label"/"labels") in input_path (targets may live in
 *   target_path). 1-D shapes as for numpy. Without target_key or
 *   target_path, a file with no target dataset gives a dataset without
 *   targets.
 * - one sample per dataset: a key that names a group (its datasets, at any
 *   depth), or, without a key, a file holding none of the default names and
 *   at least two datasets. Sorted and named by path relative to the group;
 *   all of one shape (else an error naming the dataset). Targets in the
 *   same file then need target_key.
 * Inputs and targets of different forms pair by position (equal counts).
 * preload=0 reads only the rows / datasets asked for, so files larger than
 * memory work. Caller destroys the dataset. */
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

/* ---- slicers: samples cut from one big channel-first array ---- */

#define BK_SLICER_MAX_AXES 3
#define BK_SLICER_MAX_SETS 16

/* One slicer set (the reference CLI's `slicers` entry). Lists have one
 * entry per geometric axis of the array (no channel entry). */
typedef struct {
    char name[128];              /* the output dataset's name; "" means "slicer_<k+1>" */
    int n_axes;                  /* geometric axes of the array, 1..3 */
    int64_t sizes[BK_SLICER_MAX_AXES];   /* slice extent; 1 drops the axis from the samples */
    int64_t pad_lo[BK_SLICER_MAX_AXES];  /* padding before / after the slice */
    int64_t pad_hi[BK_SLICER_MAX_AXES];
    int64_t strides[BK_SLICER_MAX_AXES]; /* step between slice origins */
    int discard_remainders;      /* 0: an edge left over is one more slice, padded to sizes */
    int transpose;               /* 2-D samples: swap their two axes (and back for the output) */
} bk_slicer;

/* Checks a set on its own (sizes, strides >= 1, padding >= 0 and none on
 * a dropped axis, transpose only for 2-D samples). On error *key names the
 * offending key ("sizes", "padding", "strides", "transpose"). */
bk_status bk_slicer_check(const bk_slicer *s, const char **key);

/* Slices of set s over an array of geometric extent full[0..n_axes): per
 * axis, floor((N - size) / stride) + 1 full slices, plus one remainder
 * slice when the remainders are kept and the last full slice leaves an
 * edge that the next origin still reaches. A size larger than the extent
 * is BK_ERR_SHAPE (*bad_axis says which; may be NULL). */
bk_status bk_slicer_count(const bk_slicer *s, const int64_t *full, int64_t *per_axis, int64_t *total,
                          int *bad_axis);

/* A sample's shape: [channels, padded sizes of the axes not dropped]
 * (swapped when transposed); channels 0: no channel axis (targets stored
 * without one). */
bk_shape bk_slicer_sample_shape(const bk_slicer *s, int64_t channels);

typedef struct {
    const char *input_path, *target_path; /* a .npy / .npz or HDF5 file; target may be NULL */
    const char *input_key, *target_key;   /* HDF5 dataset / npz array; NULL: the defaults */
    int hdf5;                  /* 1: HDF5 files; 0: numpy */
    int preload;               /* HDF5: 1 reads the arrays at open; 0 reads each slice's box */
    int n_sets;
    const bk_slicer *sets;
    FILE *log;                 /* the console lines (full size, each set, counts); may be NULL */
    int bad_set;               /* out: the set an error is about, or -1 */
    const char *bad_key;       /* out: its key ("sizes", ...) or NULL */
} bk_slice_options;

/* Cuts samples from one array: an .npy (or an .npz array: input_key, or
 * its only array, or "x" / "y"), or an HDF5 dataset (input_key, or the
 * defaults of bk_dataset_open_hdf5). The array is channel-first with as
 * many geometric axes as the slicers have entries, with a leading channel
 * axis or without one (then one channel; targets without one give samples
 * without a channel axis, e.g. class-index maps). Samples of every set are
 * pooled, set after set, slices in row-major order of their origins; all
 * sets must give one sample shape. Padding (and the fill of a remainder
 * slice) mirrors the slice's own values (numpy.pad mode "reflect"), so an
 * input and its target stay consistent. Targets are cut the same way from
 * target_path (same geometric extent). Caller destroys the dataset. */
bk_status bk_dataset_open_sliced(bk_dataset **out, bk_slice_options *o);

/* How a sliced dataset was cut; NULL for any other dataset. */
typedef struct {
    int n_axes;
    int64_t channels;                     /* of the input array (1 without a channel axis) */
    int64_t full[BK_SLICER_MAX_AXES];     /* the array's geometric extent */
    int n_sets;
    bk_slicer sets[BK_SLICER_MAX_SETS];
    int64_t first[BK_SLICER_MAX_SETS], count[BK_SLICER_MAX_SETS]; /* set k: samples [first, first+count) */
} bk_slice_layout;
const bk_slice_layout *bk_dataset_slices(const bk_dataset *ds);

/* Sample i of a sliced dataset: its set, and per axis the slice's origin
 * and the extent of the array inside it (below sizes for a remainder). */
bk_status bk_slice_box(const bk_dataset *ds, int64_t i, int *set, int64_t *origin, int64_t *extent);

/* Puts the outputs of a geometry-keeping network on the slices of one set
 * back together into a volume [channels, full...]: each slice is
 * un-transposed, its padding stripped, and what remains added in place;
 * voxels that several slices cover get their mean, voxels none covers
 * (discarded remainders, strides larger than sizes) are NaN. */
typedef struct bk_slice_volume bk_slice_volume;
/* ds must outlive the volume. */
bk_status bk_slice_volume_create(bk_slice_volume **out, const bk_dataset *ds, int set, int64_t channels);
/* y: the output for sample i (of this set): [channels, sample geometry]. */
bk_status bk_slice_volume_add(bk_slice_volume *v, int64_t i, const float *y);
/* The averaged volume (borrowed; valid until destroy) and its shape. */
const float *bk_slice_volume_finish(bk_slice_volume *v, bk_shape *shape);
void bk_slice_volume_destroy(bk_slice_volume *v);
/* Folders of images: the `images` loader (PNG, JPEG and TIFF, 8- or
 * 16-bit; docs/data-images.md). input_path and its sub-folders are
 * searched for image files, recognised by content, and ordered by their
 * path relative to input_path, so runs repeat; sample i is named by that
 * path (bk_dataset_sample_name). Pixels come as OpenCV's imread gives them
 * (the reference CLI reads with OpenCV): float32 [C, H, W] divided by 255
 * or 65535 into [0, 1], C = 3 in BGR order (alpha dropped) or C = 1 for
 * grayscale (luma 0.299 R + 0.587 G + 0.114 B).
 *
 * Targets: none (inference); class labels from folder names (labels = 1;
 * target shape [], the class index: see bk_dataset_class_name); or images
 * from target_path (masks, clean images; it may be input_path itself),
 * paired with the inputs by relative path less extension, so "a.jpg" pairs
 * with "a.png".
 *
 * Every sample must come out the same size: the shapes are set at open by
 * the first image (and the first target) as the transform gives them; a
 * sample that comes out another size is an error naming its file, and so
 * is a target image whose size differs from its input's where the first
 * pair's sizes agree. preload = 1 decodes every file at open and keeps the
 * pixels (the transform still runs at each read, so random transforms
 * draw anew each epoch); preload = 0 decodes in read(). Either way the
 * work runs on the dataset's own pool of threads. Caller destroys the
 * dataset. */
typedef struct {
    const char *input_path;        /* folder of input images */
    const char *target_path;       /* folder of target images, or NULL */
    int labels;                    /* 1: targets are class indices from folder names */
    /* labels: NULL or "": the class of an image is the folder it sits in;
     * else the folder just below the last folder of this name in its path
     * (`training_tag` / `test_tag`) */
    const char *tag;
    /* labels: class k is classes[k] (a test set takes its training set's
     * classes, from bk_dataset_class_name; a class outside them is an
     * error); n_classes 0: the folder names found, sorted */
    const char *const *classes;
    int n_classes;
    int input_grayscale, target_grayscale;   /* 1 channel instead of 3 (BGR) */
    int preload;
    /* NULL: none. Applied to each input (side 0) and target image (side 1)
     * after decoding, with the sample's index and the epoch set_epoch gave
     * (-1 before any). Borrowed: it must outlive the dataset. */
    const bk_sample_transform *transform;
    int threads;                   /* decoding threads; 0: BRISK_DATA_THREADS, else the cores */
    /* 1: an evaluation or inference set: the transform always gets epoch
     * -1 (no random augmentation), whatever set_epoch the loader calls */
    int evaluation;
} bk_images_options;
bk_status bk_dataset_open_images(bk_dataset **out, const bk_images_options *opt);

/* Classes of a dataset with folder-name labels (bk_dataset_open_images
 * with labels): how many (0 for any other dataset) and the name of class
 * k (NULL when out of range). The names belong to ds. */
int bk_dataset_num_classes(const bk_dataset *ds);
const char *bk_dataset_class_name(const bk_dataset *ds, int k);
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
    /* Sharded loaders (bk_loader_shard): the rows of the whole batch over
     * every process, and where this process's n rows start among them.
     * Unsharded: global_n = n, first = 0. */
    int64_t global_n, first;
} bk_batch;

typedef struct bk_loader bk_loader;

/* Creates a loader that yields batches of batch_size (the last one may be
 * smaller) and prepares the next batch on a background thread while the
 * caller computes. shuffle: a new permutation each epoch, derived from
 * (seed, epoch) only, so a resumed run sees the same order. ds must outlive
 * the loader; caller destroys the loader with bk_loader_destroy. */
bk_status bk_loader_create(bk_loader **out, bk_dataset *ds, int64_t batch_size,
                           int shuffle, uint64_t seed);
/* Data parallelism: every process of a job creates the same loader
 * (same dataset, batch size and seed, so the same permutation) and keeps
 * its share of every batch: rows [n*rank/size, n*(rank+1)/size) of a batch
 * of n, so shares differ by at most one row and every sample is seen once
 * per epoch. A share may be empty (a last batch smaller than the job).
 * Call before the first begin_epoch. */
bk_status bk_loader_shard(bk_loader *ld, int rank, int size);
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
