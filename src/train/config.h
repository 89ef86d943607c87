/* The run configuration (`neural_network` object) as typed structs, with
 * every default in one place. Paths are resolved relative to the config
 * file's directory. */
#ifndef BK_IO_CONFIG_H
#define BK_IO_CONFIG_H
#include <jansson.h>
#include "brisk/data.h"
#include "io/json.h"
#include "optim/optim.h"
#include "train/loss.h"

typedef enum { BK_DATA_NONE, BK_DATA_MNIST, BK_DATA_NUMPY, BK_DATA_HDF5, BK_DATA_IMAGES, BK_DATA_PDE } bk_data_type;

/* A data key given as a list (in the order of the model's input_layers or
 * output_layers) or an object (model layer name -> dataset name or file),
 * for models with several inputs or outputs. */
typedef struct {
    int n;                                   /* 0: the key is a plain string (or absent) */
    int named;                               /* given as an object: layer[] holds the layer names */
    char val[BK_DATA_MAX_ARRAYS][1024];      /* dataset names, or resolved file paths */
    char layer[BK_DATA_MAX_ARRAYS][128];
    char path[128];                          /* JSON path of the key, for messages */
} bk_data_list;

typedef struct {
    bk_data_type type;
    char input_path[1024], target_path[1024];
    char test_input_path[1024], test_target_path[1024], test_output_path[1024];
    char input_key[256], target_key[256];
    int64_t batch_size, test_batch_size;
    int preload, shuffle;
    double test_split;
    bk_data_list input_keys, target_keys;    /* list forms of input_key / target_key */
    bk_data_list input_paths, target_paths, test_input_paths, test_target_paths;
    int hdf5_half;                           /* hdf5_precision "half": predictions stored as float16 */
    int n_slicers;                           /* > 0: samples cut from one array by these sets */
    bk_slicer slicers[BK_SLICER_MAX_SETS];
    char hdf5_outfile[1024];                 /* the slices' predictions put back together */
    bk_transform_config transforms;          /* transforms, input_/target_transforms, target_is_mask */
    /* the images loader (parse_images_keys) */
    int target_labels;                       /* target_type "labels": classes from folder names */
    int input_grayscale, target_grayscale;   /* "grayscale" sets both */
    char training_tag[256], test_tag[256];   /* "test_tag" or "testing_tag" */
    /* type "pde": the generator's settings (count and stream are set per
     * set from num_examples / num_test_examples; 0: no such set) */
    bk_pde_options pde;
    int64_t num_examples, num_test_examples;
} bk_data_config;

/* One entry of the per-output loss form
 * ("loss": {"outputs": {NAME: {...}}, "weights": {NAME: w}}). */
typedef struct {
    char output[128];            /* the model output layer it scores */
    bk_loss loss;
    double weight;               /* its share of the total loss (default 1) */
    char path[256];              /* JSON path of its loss object, for messages */
} bk_output_loss;

#define BK_MAX_REFS 48           /* hub: references in one config */

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
    bk_loss loss;                /* the plain form: one loss for every output */
    int n_output_losses;         /* > 0: the per-output form (then `loss` is unused) */
    bk_output_loss output_losses[8];
    bk_optim_config optim;
    bk_data_config data;
    char save_dir[1024], load_path[1024];
    int64_t interval;
    int64_t log_interval;        /* batches between console lines */
    int debug;                   /* "debug": write the network graph as a .dot file */
    int sync_batchnorm;          /* batch statistics over the whole job's batch (MPI runs) */
    json_t *hub_refs;            /* "hub:" paths as resolved (array, owned; NULL: none) */
    /* "hub:" references kept as written while reading: each names its
     * JSON path and the field (in this struct) it resolves into at run
     * start (bk_run_config_resolve_refs in refs.c) */
    int n_refs;
    struct {
        char key[256];           /* JSON path, for messages and provenance */
        char *dest;              /* holds the reference until resolved, then the local path */
        size_t len;
        int checkpoint;          /* checkpoints.load: prefer model_final.safetensors */
    } refs[BK_MAX_REFS];
} bk_run_config;

/* The data section's slicers and hdf5_outfile (config_slicers.c); called
 * by the data parser once type, paths and keys are read. */
bk_status bk_config_parse_slicers(bk_run_config *c, json_t *d, const char *path);

/* Reads and validates path. On failure the message names the file, the JSON
 * path (line:column) and a fix. Caller frees with bk_run_config_free. */
bk_status bk_run_config_load(bk_run_config *c, const char *path);
/* 1 when a config value is a hub reference ("hub:..."). */
int bk_is_hub_ref(const char *s);
/* Resolves the config's hub: references in place (refs.c); a run calls it
 * before opening its data. */
bk_status bk_run_config_resolve_refs(bk_run_config *c);
/* The same for what needs only the network (brisk summary): "data",
 * "loss" and "optimizer" may be absent; those present are checked. */
bk_status bk_run_config_load_network(bk_run_config *c, const char *path);
void bk_run_config_free(bk_run_config *c);
#endif
