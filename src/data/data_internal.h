/* Private helpers shared by the dataset loaders in src/data/. */
#ifndef BK_DATA_INTERNAL_H
#define BK_DATA_INTERNAL_H
#include "brisk/data.h"
#include <stddef.h>

/* Allocates a zeroed dataset whose name is printf-formatted (truncated to
 * fit). The caller fills in the rest; bk_dataset_destroy frees it through
 * ds->destroy. NULL when out of memory. */
bk_dataset *bk_data_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wraps float arrays already in memory: x is count * numel(in_shape) floats,
 * y (may be NULL) count * numel(tgt_shape). Takes ownership of x and y even
 * on failure. */
bk_status bk_data_from_floats(bk_dataset **out, const char *name, int64_t count,
                              const bk_shape *in_shape, float *x,
                              const bk_shape *tgt_shape, float *y);

/* Error for an index outside [0, ds->count); shared so every reader words
 * it the same way. */
bk_status bk_data_bad_index(const bk_dataset *ds, int64_t i);

/* Per-sample shape for an array whose axis 0 is the sample axis: dims[1..].
 * A 1-D array gives [1] for inputs (so layers see a feature axis) and [] for
 * targets (a class index or scalar per sample). */
bk_status bk_data_sample_shape(bk_shape *out, int ndim, const int64_t *dims,
                               int is_target, const char *what);

/* One array as a dataset of inputs only (its shape in input_shape, with
 * the target convention for 1-D arrays when is_target): the parts that
 * bk_dataset_open_arrays joins. key names the hdf5 dataset / npz member
 * (required for hdf5; NULL for a .npy). Caller destroys the dataset. */
bk_status bk_data_hdf5_array(bk_dataset **out, const char *path, const char *key, int is_target, int preload);
bk_status bk_data_numpy_array(bk_dataset **out, const char *path, const char *key, int is_target);

/* count * per_sample fits in size_t elements of elem bytes. */
int bk_data_size_ok(int64_t count, int64_t per_sample, size_t elem);

/* Joins two datasets of equal count: inputs are x's, targets are y's
 * inputs (open y as a target part). Sample names are x's. hint is added
 * to the count-mismatch message. Takes ownership of x and y, even on
 * failure. Caller destroys the result. */
bk_status bk_data_pair(bk_dataset **out, bk_dataset *x, bk_dataset *y, const char *hint);

/* ---- numpy files (npy.c) ---- */

#define BK_NPY_MAX_DIMS 32
typedef struct {
    int ndim;
    int64_t dims[BK_NPY_MAX_DIMS];
    float *data; /* C order, malloc'd; NULL after a header-only read */
} bk_npy_array;

/* A .npy file: its shape, and unless header_only its values as float32 in
 * C order (any numeric dtype, either order). Caller frees a->data. */
bk_status bk_npy_read(const char *path, bk_npy_array *a, int header_only);
/* *npz = 1 when path is a zip archive (an .npz), 0 for anything else. */
bk_status bk_npy_is_npz(const char *path, int *npz);

/* An open .npz archive; members are named without ".npy". Not safe for
 * two threads at once. */
typedef struct bk_npz bk_npz;
bk_status bk_npz_open(bk_npz **out, const char *path);
int64_t bk_npz_count(const bk_npz *z);
/* Member i's array name (borrowed; valid until bk_npz_close). */
const char *bk_npz_name(const bk_npz *z, int64_t i);
/* Index of the array key ("x" or "x.npy"), or -1. */
int64_t bk_npz_find(const bk_npz *z, const char *key);
/* Member i as bk_npy_read reads a file. */
bk_status bk_npz_read(bk_npz *z, int64_t i, bk_npy_array *a, int header_only);
void bk_npz_close(bk_npz *z);

/* Whether path holds one sample per file / per array (*per_sample = 1: a
 * folder, or an .npz without key and without an array called `named`)
 * rather than arrays with samples along axis 0. A key with a folder is an
 * error. */
bk_status bk_data_numpy_form(const char *path, const char *key, const char *named, int *per_sample);

/* One sample per .npy file / per .npz array (npy_samples.c): path is a
 * folder (every .npy/.npz below it, sorted by relative path) or one .npz
 * (its arrays in archive order). Every sample must have one shape, its
 * whole array's (a 0-d array is [1] for inputs, [] for targets). Samples
 * are named by their relative path ("sub/a.npy", "b.npz/arr_0"; in a
 * single .npz, the array name). preload reads all values at open; else
 * each read() reads its files. Caller destroys the dataset. */
bk_status bk_data_numpy_samples(bk_dataset **out, const char *path, int is_target, int preload);

/* ---- the array slicers cut from (slice_source.c) ---- */

/* One channel-first array of n_axes geometric axes, with or without a
 * leading channel axis; internally always 3 geometric axes (trailing 1s). */
typedef struct bk_slice_src bk_slice_src;
typedef struct {
    int64_t channels;      /* 1 without a channel axis */
    int channel_axis;      /* the array has one */
    int rank;              /* of the array as stored */
    int64_t dims[4];       /* as stored */
    int64_t geom[3];       /* geometric extent, trailing 1s past n_axes */
    char what[1200];       /* "dataset 'input' from HDF5 file: f.h5" / "array from NumPy file: a.npy" */
} bk_slice_src_info;

/* Opens the array: an HDF5 dataset (key, else the input or target
 * defaults) or a numpy array (a .npy; an .npz array: key, else its only
 * array, else "x" / "y"). numpy arrays are read whole; HDF5 ones whole
 * with preload, else box by box. Caller closes. */
bk_status bk_slice_src_open(bk_slice_src **out, const char *path, const char *key, int hdf5, int is_target,
                            int n_axes, int preload);
const bk_slice_src_info *bk_slice_src_info_of(const bk_slice_src *s);
/* The whole array in memory ([channels, geom...]), or NULL when it is
 * read box by box. */
const float *bk_slice_src_data(const bk_slice_src *s);
/* Reads the box [o, o+e) (3 axes) of every channel into out, [C, e0, e1, e2]. */
bk_status bk_slice_src_read(bk_slice_src *s, const int64_t *o, const int64_t *e, float *out);
void bk_slice_src_close(bk_slice_src *s);
#endif
