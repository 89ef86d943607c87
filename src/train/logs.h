/* The run's log tables (<outfile>_train.txt, <outfile>_test.txt) and the
 * resolved config in the checkpoint folder. */
#ifndef BK_TRAIN_LOGS_H
#define BK_TRAIN_LOGS_H
#include "run_ctx.h"

/* Appends one row: the total mean loss, and per output k (r->m.n_outputs)
 * its mean loss head_loss[k] and metric sums met[k]. */
bk_status bk_logs_add(bk_run_ctx *r, const char *phase, int64_t epoch, double mean_loss, const double *head_loss,
                      const bk_metric_sums *met, double grad_norm, double lr, double seconds, double samples);
/* 1 when the Dice/mIoU metrics score output k. */
int bk_logs_head_seg(const bk_run_ctx *r, int k);
/* Rewrites both log tables from the history (atomically). */
bk_status bk_logs_write(bk_run_ctx *r);
/* Writes <save>/config.json: the config as read plus the values in force. */
bk_status bk_logs_write_config(bk_run_ctx *r);
#endif
