/* Predictions to HDF5, in a temporary file renamed into place when
 * complete: float32 datasets (one per model output) filled batch by batch,
 * or whole datasets at any path in the file, stored as float32 or as IEEE
 * half precision. */
#ifndef BK_IO_H5OUT_H
#define BK_IO_H5OUT_H
#include "brisk/tensor.h"

#define BK_H5OUT_MAX 8

typedef struct bk_h5out bk_h5out;
/* Creates path (via a temporary) with n (1..BK_H5OUT_MAX) datasets:
 * names[k] of shape [count, samples[k]...]. */
bk_status bk_h5out_open(bk_h5out **out, const char *path, int n, const char *const *names, int64_t count,
                        const bk_shape *samples);
/* Writes rows [first, first+rows) of dataset k. */
bk_status bk_h5out_write(bk_h5out *h, int k, int64_t first, int64_t rows, const float *data);
/* Creates path (via a temporary) with no datasets; add them with bk_h5out_put. */
bk_status bk_h5out_create(bk_h5out **out, const char *path);
/* Writes the whole dataset `name` of shape s from data (numel(s) floats).
 * name may hold '/': the groups on the way are created. half: stored as
 * IEEE binary16 (rounded to nearest even; h5py reads it as float16), else
 * float32. A name already in the file is an error naming it. */
bk_status bk_h5out_put(bk_h5out *h, const char *name, const bk_shape *s, const float *data, int half);
/* IEEE binary16 bits of f, rounded to nearest even (overflow to inf). */
uint16_t bk_float_to_half(float f);
/* Closes and renames into place (commit=1) or removes the temporary. */
bk_status bk_h5out_close(bk_h5out *h, int commit);
#endif
