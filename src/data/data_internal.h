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
#endif
