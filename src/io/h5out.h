/* Predictions to HDF5: one float32 dataset filled batch by batch, in a
 * temporary file renamed into place when complete. */
#ifndef BK_IO_H5OUT_H
#define BK_IO_H5OUT_H
#include "brisk/tensor.h"

typedef struct bk_h5out bk_h5out;
/* Creates path (via a temporary) with dataset `name` of shape [count, sample...]. */
bk_status bk_h5out_open(bk_h5out **out, const char *path, const char *name, int64_t count, const bk_shape *sample);
/* Writes rows [first, first+n). */
bk_status bk_h5out_write(bk_h5out *h, int64_t first, int64_t n, const float *data);
/* Closes and renames into place (commit=1) or removes the temporary. */
bk_status bk_h5out_close(bk_h5out *h, int commit);
#endif
