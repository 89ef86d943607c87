/* A run's model outputs ("heads") and inputs as the data feeds them: which
 * loss and weight score each output, and which array of a dataset feeds
 * each model input and holds each output's targets (models with several
 * inputs or outputs; see docs/multi-io.md). */
#ifndef BK_TRAIN_HEADS_H
#define BK_TRAIN_HEADS_H
#include "brisk/data.h"
#include "train/config.h"
#include "nn/graph.h"

typedef struct {
    char name[BK_NAME_LEN];   /* the output layer's Keras name */
    int node;                 /* model node */
    const bk_loss *loss;      /* borrowed from the config; NULL: no loss configured */
    double weight;            /* share of the total loss */
} bk_head;

/* Which dataset array feeds model input k (in[k]) and holds the targets
 * of head k (tgt[k]); transpose[k]: input k is stored channels_last. */
typedef struct {
    int in[8], tgt[8], transpose[8];
} bk_io_map;

/* The Keras layer name behind model node i (an activation step the builder
 * added for an `activation` key belongs to its layer). */
void bk_layer_name_of(const bk_model *m, int i, char *buf, size_t n);

/* One head per model output, scored as the config says: the plain loss
 * for every output, or the per-output form matched by name (an unknown
 * name, or an output without a loss, is an error naming the outputs). */
bk_status bk_heads_resolve(const bk_run_config *c, const bk_model *m, bk_head *heads);

/* Matches ds's input arrays to m's inputs (counts; names when the config
 * maps them by layer name): array in[k] feeds model input k. m may hold
 * only its inputs (bk_keras_inputs), so this runs before sizes are known. */
bk_status bk_io_map_inputs(const bk_run_config *c, const bk_model *m, const bk_dataset *ds, const char *what,
                           int test, int *in);

/* Matches ds's arrays to the model (counts, names when the config maps
 * them by layer name, per-sample shapes) and fills map. what: "training"
 * or "test", for messages. */
bk_status bk_io_map_check(const bk_run_config *c, const bk_model *m, const bk_head *heads, bk_dataset *ds,
                          const char *what, int test, bk_io_map *map);

/* The losses of one batch: head k's output outs[k] against targets
 * tgts[k]; per[k] its mean loss, *total the weighted sum. When grads[k] is
 * not NULL, writes weight * dloss/dout there. */
bk_status bk_heads_loss(const bk_head *heads, int n, const bk_model *m, const float *const *outs,
                        const float *const *tgts, int64_t batch, float *const *grads, double *per, double *total);

/* Splits a planar batch (see bk_dataset) into its arrays: xs[j] points at
 * input array j, ys[j] at target array j (y may be NULL). */
void bk_batch_split(const bk_dataset *ds, int64_t n, const float *x, const float *y, const float **xs,
                    const float **ys);
#endif
