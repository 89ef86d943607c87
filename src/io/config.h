/* The run configuration (`neural_network` object) as typed structs, with
 * every default in one place. Paths are resolved relative to the config
 * file's directory. */
#ifndef BK_IO_CONFIG_H
#define BK_IO_CONFIG_H
#include <jansson.h>
#include "io/json.h"
#include "optim/optim.h"
#include "train/loss.h"

typedef enum { BK_DATA_NONE, BK_DATA_MNIST, BK_DATA_NUMPY, BK_DATA_HDF5 } bk_data_type;

typedef struct {
    bk_data_type type;
    char input_path[1024], target_path[1024];
    char test_input_path[1024], test_target_path[1024], test_output_path[1024];
    char input_key[256], target_key[256];
    int64_t batch_size, test_batch_size;
    int preload, shuffle;
    double test_split;
} bk_data_config;

typedef struct bk_run_config {
    bk_json_doc doc;             /* the config file, kept for error locations */
    bk_json_doc net_doc;         /* the layers file when "layers" names one */
    json_t *net;                 /* the Keras network JSON (borrowed from a doc) */
    char net_path[1024];         /* JSON path of the network, for messages */
    char config_dir[1024];
    char outfile[1024];          /* base: "out.txt" -> out_train.txt, out_test.txt */
    int64_t num_epochs;
    uint64_t seed;
    int has_loss;
    unsigned metrics;            /* BK_METRIC_* bits reported besides the loss */
    bk_loss loss;
    bk_optim_config optim;
    bk_data_config data;
    char save_dir[1024], load_path[1024];
    int64_t interval;
    int64_t log_interval;        /* batches between console lines */
    json_t *hub_refs;            /* "hub:" paths as resolved (array, owned; NULL: none) */
} bk_run_config;

/* Reads and validates path. On failure the message names the file, the JSON
 * path (line:column) and a fix. Caller frees with bk_run_config_free. */
bk_status bk_run_config_load(bk_run_config *c, const char *path);
void bk_run_config_free(bk_run_config *c);
#endif
