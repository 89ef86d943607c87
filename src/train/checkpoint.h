/* Model weights and training state as safetensors files, written
 * atomically. Weight names are PyTorch-style ("conv1.weight"). */
#ifndef BK_TRAIN_CHECKPOINT_H
#define BK_TRAIN_CHECKPOINT_H
#include <stdio.h>
#include "nn/graph.h"
#include "optim/optim.h"
#include "train/loss.h"

/* Checkpoints and training states hold PyTorch's layouts whatever layout
 * the model stores a tensor in (graph.h, bk_param.block), so they move
 * between machines and PyTorch reads them. */

/* Writes every parameter (trainable and running statistics) of m. */
bk_status bk_checkpoint_save(const bk_model *m, const char *path);

/* Loads weights by name. strict: every model parameter must be in the file
 * with the same shape (resume). Otherwise parameters absent from the file
 * keep their initial values and their layers are named in *warning
 * (transfer learning); a shape mismatch is always an error. */
bk_status bk_checkpoint_load(bk_model *m, const char *path, int strict, char *warning, size_t warning_len);
/* The same, also writing to log the file's tensors the model has no place
 * for, as the reference CLI does ("   Skipping layer dense_1: not found in
 * model", "   Skipping parameter dense_1.weight: not found in model"). */
bk_status bk_checkpoint_load_logged(bk_model *m, const char *path, int strict, FILE *log, char *warning,
                                    size_t warning_len);

/* Training state for --resume: optimizer slots plus metadata. */
typedef struct {
    int64_t epoch;       /* epochs fully done */
    int64_t batch;       /* batches done within the next epoch (after an interrupt) */
    int64_t opt_step;
    int momentum_started;
    char model_file[256];/* weights file in the same folder */
    char *history;       /* JSON text of per-epoch log rows; owned */
    double sums[6];      /* running sums of an interrupted epoch */
    bk_metric_sums *seg; /* its segmentation-metric sums (seg_classes 0: none); borrowed */
    char *heads;         /* JSON text of every output's running sums (the trainer's); owned; NULL: none */
} bk_train_state;

bk_status bk_train_state_save(const char *path, const bk_model *m, const bk_optimizer *o, const bk_train_state *s);
/* Loads into o (already initialised for the same model) and s; s->seg,
 * when set by the caller, receives the segmentation sums. */
bk_status bk_train_state_load(const char *path, const bk_model *m, bk_optimizer *o, bk_train_state *s);
#endif
