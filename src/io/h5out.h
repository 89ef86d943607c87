/* Predictions to HDF5: float32 datasets (one per model output) filled
 * batch by batch, in a temporary file renamed into place when complete. */
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
/* Closes and renames into place (commit=1) or removes the temporary. */
bk_status bk_h5out_close(bk_h5out *h, int commit);
#endif
