/* What one `brisk` run holds: config, data, model, optimizer, history. */
#ifndef BK_TRAIN_RUN_CTX_H
#define BK_TRAIN_RUN_CTX_H
#include <jansson.h>
#include "brisk/data.h"
#include "brisk/train.h"
#include "train/config.h"
#include "nn/graph.h"
#include "train/heads.h"
#include "optim/optim.h"

typedef struct {
    bk_run_config *c;
    const bk_run_options *o;
    FILE *out;
    bk_dataset *train_file, *test_file;   /* opened files */
    bk_dataset *train, *test;             /* what is used (maybe subsets) */
    bk_dataset *split_train, *split_test; /* test_split views, owned */
    bk_sample_transform tf;               /* the config's transforms (ctx NULL: none) */
    bk_dataset *tf_train, *tf_test;       /* train / test seen through them, owned */
    bk_model m;                           /* built for the training data's size (else the test data's) */
    int m_built;
    bk_model *test_m;                     /* runs the test set: m, or m's variant for its size */
    bk_optimizer opt;
    bk_head heads[8];                     /* one per model output */
    bk_io_map train_map, test_map;        /* dataset arrays -> model inputs/outputs */
    json_t *history;                      /* array of per-epoch rows */
} bk_run_ctx;

/* Opens the datasets the config names (train, test, test_split). */
bk_status bk_run_open_data(bk_run_ctx *r);
/* Builds the model; checks that the data fit it. */
bk_status bk_run_build_model(bk_run_ctx *r);
/* Builds r->m for the data's input sizes (input_size.c) and r->test_m for
 * the test set's; notes sizes that differ from the declared ones. */
bk_status bk_run_build_for_data(bk_run_ctx *r);
void bk_run_ctx_free(bk_run_ctx *r);
#endif
