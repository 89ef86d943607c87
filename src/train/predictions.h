/* Where an inference run's predictions go, as its config says:
 * - test_output_path naming an .h5/.hdf5 file: one dataset per model
 *   output ("output", or the output layer's name), [N, ...] (brisk's form);
 * - test_output_path naming a folder (an existing one, a path ending in
 *   '/', or one without an .h5/.hdf5 extension): <dir>/output_1.h5 with one
 *   dataset per sample, named by the sample (the reference CLI's form);
 * - hdf5_outfile with slicers: the slices' outputs put back together into
 *   volumes shaped like the input (slice_assemble.c).
 * Every file is written to a temporary and renamed into place when all of
 * it is there. */
#ifndef BK_TRAIN_PREDICTIONS_H
#define BK_TRAIN_PREDICTIONS_H
#include "run_ctx.h"

typedef struct bk_predictions bk_predictions;

/* 1 when test_output_path names a folder (see above). */
int bk_output_is_folder(const char *path);

/* Opens the writers for predictions over ds (every sample, in order).
 * *out stays NULL when the config asks for none. */
bk_status bk_predictions_open(bk_predictions **out, bk_run_ctx *r, bk_dataset *ds);
/* Takes the outputs of samples [first, first+n): outs[k] is model output
 * k for the n samples, channel-first. */
bk_status bk_predictions_write(bk_predictions *p, int64_t first, int64_t n, const float *const *outs);
/* commit: finishes the files, moves them into place and says so on r->out;
 * else removes the temporaries. Frees p (NULL is fine). */
bk_status bk_predictions_close(bk_predictions *p, int commit);
#endif
