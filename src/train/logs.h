/* The run's log tables (<outfile>_train.txt, <outfile>_test.txt) and the
 * resolved config in the checkpoint folder. */
#ifndef BK_TRAIN_LOGS_H
#define BK_TRAIN_LOGS_H
#include "run_ctx.h"

/* Appends one row to the run history. */
bk_status bk_logs_add(bk_run_ctx *r, const char *phase, int64_t epoch, const bk_loss *loss, double mean_loss,
                      const bk_metric_sums *met, double grad_norm, double lr, double seconds, double samples);
/* Rewrites both log tables from the history (atomically). */
bk_status bk_logs_write(bk_run_ctx *r);
/* Writes <save>/config.json: the config as read plus the values in force. */
bk_status bk_logs_write_config(bk_run_ctx *r);
#endif
