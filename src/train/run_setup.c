/* Opening the data and building the model for a run, with the checks that
 * make a wrong file or a wrong shape a clear error instead of a wrong result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/layer_util.h"
#include "nn/builder.h"
#include "run_ctx.h"

/* Fills one side (inputs or targets) of a several-array dataset from the
 * config's lists; *n stays 0 when the side has no list. */
static bk_status arrays_side(const bk_run_config *c, const bk_data_list *keys, const bk_data_list *paths,
                             const char *one_key, const char *one_path, const char **out_paths,
                             const char **out_keys, int *n)
{
    *n = keys->n > paths->n ? keys->n : paths->n;
    if (keys->n && paths->n && keys->n != paths->n)
        return bk_json_error_at(&c->doc, paths->path, BK_ERR_INVALID, "lists %d files but %s lists %d dataset names; "
                                "give one of each per array", paths->n, keys->path, keys->n);
    for (int k = 0; k < *n; k++) {
        out_paths[k] = paths->n ? paths->val[k] : one_path;
        out_keys[k] = keys->n ? keys->val[k] : one_key && one_key[0] ? one_key : NULL;
    }
    return BK_OK;
}

/* The config's transform lists as one bk_sample_transform (made once; the
 * train and test sets share it). Errors point at the list. */
static bk_status make_transforms(bk_run_ctx *r)
{
    if (r->tf.apply) return BK_OK;
    const bk_data_config *d = &r->c->data;
    bk_transform_config tc = d->transforms;
    tc.seed = r->c->seed;
    bk_status st = bk_transforms_create(&r->tf, &tc);
    if (st) {
        const char *key = tc.shared.n ? "transforms" : tc.input.n ? "input_transforms" : "target_transforms";
        char kp[128], msg[1024]; /* bk_json_error_at reuses the message buffer */
        bk_json_child_path(kp, sizeof kp, "neural_network.data", key);
        snprintf(msg, sizeof msg, "%s", bk_last_error());
        return bk_json_error_at(&r->c->doc, kp, st, "%s", msg);
    }
    return BK_OK;
}

/* A folder of images (docs/data-images.md). The test set is labelled with
 * the training set's classes, so class k means the same on both. */
static bk_status open_images(bk_run_ctx *r, bk_dataset **out, const char *input, const char *target, int train)
{
    const bk_data_config *d = &r->c->data;
    bk_images_options o = {.input_path = input, .target_path = target[0] ? target : NULL,
                           .labels = d->target_labels, .tag = train ? d->training_tag : d->test_tag,
                           .input_grayscale = d->input_grayscale, .target_grayscale = d->target_grayscale,
                           .preload = d->preload, .evaluation = !train};
    /* the images loader runs the transforms itself, on its decoding threads,
     * before the samples take their common size */
    if (bk_transform_config_any(&d->transforms)) {
        bk_status st = make_transforms(r);
        if (st) return st;
        o.transform = &r->tf;
    }
    int n = !train && d->target_labels ? bk_dataset_num_classes(r->train_file) : 0;
    const char **classes = n ? malloc((size_t)n * sizeof *classes) : NULL;
    if (n && !classes) return bk_error(BK_ERR_NOMEM, "out of memory for %d class names", n);
    for (int k = 0; k < n; k++) classes[k] = bk_dataset_class_name(r->train_file, k);
    o.classes = classes;
    o.n_classes = n;
    bk_status st = bk_dataset_open_images(out, &o);
    free(classes);
    if (st) return bk_error_context(st, "%s: neural_network.data.%s: ", r->c->doc.file, train ? "input_path" : "test_input_path");
    int64_t nc = bk_dataset_num_classes(*out);
    fprintf(r->out, "%s images: %lld in %s", train ? "Training" : "Test", (long long)(*out)->count, input);
    if (nc) fprintf(r->out, " (%lld classes)", (long long)nc);
    fprintf(r->out, "\n");
    return BK_OK;
}

static bk_status open_one(bk_run_ctx *r, bk_dataset **out, const char *input, const char *target, int train)
{
    const bk_data_config *d = &r->c->data;
    const bk_data_list *ip = train ? &d->input_paths : &d->test_input_paths;
    const bk_data_list *tp = train ? &d->target_paths : &d->test_target_paths;
    bk_status st;
    if (d->n_slicers) {
        bk_slice_options so = {.input_path = input, .target_path = target[0] ? target : NULL,
                               .input_key = d->input_key[0] ? d->input_key : NULL,
                               .target_key = d->target_key[0] ? d->target_key : NULL,
                               .hdf5 = d->type == BK_DATA_HDF5, .preload = d->preload, .n_sets = d->n_slicers,
                               .sets = d->slicers, .log = r->out};
        st = bk_dataset_open_sliced(out, &so);
        if (st && so.bad_set >= 0) {
            /* a set that does not fit the array: point at it in the config */
            char kp[256], msg[1024];
            snprintf(kp, sizeof kp, "neural_network.data.slicers[%d].%s", so.bad_set, so.bad_key ? so.bad_key : "sizes");
            snprintf(msg, sizeof msg, "%s", bk_last_error());
            return bk_json_error_at(&r->c->doc, kp, st, "%s", msg);
        }
    } else if (d->input_keys.n || d->target_keys.n || ip->n || tp->n) {
        /* several arrays per sample (multi-io.md) */
        bk_data_arrays a = {.preload = d->preload};
        if (d->type != BK_DATA_NUMPY && d->type != BK_DATA_HDF5)
            return bk_json_error_at(&r->c->doc, "neural_network.data.type", BK_ERR_UNSUPPORTED, "several input or "
                                    "target arrays need \"numpy\" or \"hdf5\" data");
        if (ip->n > 1 && !tp->n && d->target_keys.n && !target[0])
            return bk_json_error_at(&r->c->doc, d->target_keys.path, BK_ERR_INVALID, "the inputs come from several files: "
                                    "name the targets' file(s) in %starget_path", train ? "" : "test_");
        st = arrays_side(r->c, &d->input_keys, ip, d->input_key, input, a.input_paths, a.input_keys, &a.n_inputs);
        if (!st) st = arrays_side(r->c, &d->target_keys, tp, d->target_key, target[0] ? target : input, a.target_paths,
                                  a.target_keys, &a.n_targets);
        if (!st && !a.n_inputs) {
            /* one input, several targets */
            a.n_inputs = 1;
            a.input_paths[0] = input;
            a.input_keys[0] = d->input_key[0] ? d->input_key : NULL;
        }
        if (!st && !a.n_targets && (target[0] || d->target_key[0])) {
            a.n_targets = 1;
            a.target_paths[0] = target[0] ? target : input;
            a.target_keys[0] = d->target_key[0] ? d->target_key : NULL;
        }
        if (!st) st = bk_dataset_open_arrays(out, d->type == BK_DATA_HDF5, &a);
    } else {
        bk_data_options opt = {.input_path = input, .target_path = target[0] ? target : NULL,
                               .input_key = d->input_key[0] ? d->input_key : NULL,
                               .target_key = d->target_key[0] ? d->target_key : NULL,
                               .preload = d->preload, .train = train};
        switch (d->type) {
        case BK_DATA_MNIST: st = bk_dataset_open_mnist(out, &opt); break;
        case BK_DATA_NUMPY: st = bk_dataset_open_numpy(out, &opt); break;
        case BK_DATA_HDF5: st = bk_dataset_open_hdf5(out, &opt); break;
        case BK_DATA_IMAGES: return open_images(r, out, input, target, train);
        default: return bk_error(BK_ERR_INVALID, "no data type");
        }
    }
    if (st) return bk_error_context(st, "%s: neural_network.data: ", r->c->doc.file);
    return BK_OK;
}

/* Puts the train and test sets behind the config's transforms; the test
 * set reads as evaluation (no random geometry), whatever epoch it is in. */
static bk_status wrap_transforms(bk_run_ctx *r)
{
    const bk_data_config *d = &r->c->data;
    const bk_transform_config *tc = &d->transforms;
    const char *key = tc->shared.n ? "transforms" : tc->input.n ? "input_transforms" : "target_transforms";
    char kp[128];
    bk_json_child_path(kp, sizeof kp, "neural_network.data", key);
    bk_dataset *any = r->train ? r->train : r->test;
    if (d->hdf5_outfile[0])
        return bk_json_error_at(&r->c->doc, kp, BK_ERR_UNSUPPORTED, "transforms change the slices that hdf5_outfile "
                                "puts back together; remove the transforms from the inference config");
    if (any && (any->n_inputs > 1 || any->n_targets > 1))
        return bk_json_error_at(&r->c->doc, kp, BK_ERR_UNSUPPORTED, "transforms apply to one input and one target "
                                "array per sample; this data has %d inputs and %d targets", bk_dataset_num_inputs(any),
                                bk_dataset_num_targets(any));
    bk_status st = make_transforms(r);
    if (st) return st;
    if (r->train) st = bk_dataset_transformed(&r->tf_train, r->train, &r->tf, 1);
    if (!st && r->test) st = bk_dataset_transformed(&r->tf_test, r->test, &r->tf, 0);
    if (st) {
        char msg[1024]; /* bk_json_error_at reuses the message buffer */
        snprintf(msg, sizeof msg, "%s", bk_last_error());
        return bk_json_error_at(&r->c->doc, kp, st, "%s", msg);
    }
    if (r->tf_train) r->train = r->tf_train;
    if (r->tf_test) r->test = r->tf_test;
    return BK_OK;
}

/* The pde generator's sets: training on stream 1, test on stream 2 of the
 * config's seed, so they differ (random_uniform) and runs repeat. */
static bk_status open_pde(bk_run_ctx *r, bk_dataset **out, int64_t count, int train)
{
    bk_pde_options o = r->c->data.pde;
    o.count = count;
    o.stream = train ? 1 : 2;
    bk_status st = bk_dataset_open_pde(out, &o);
    return st ? bk_error_context(st, "%s: neural_network.data: ", r->c->doc.file) : BK_OK;
}

bk_status bk_run_open_data(bk_run_ctx *r)
{
    const bk_data_config *d = &r->c->data;
    bk_status st;
    if (d->type == BK_DATA_PDE) {
        if (d->num_examples && (st = open_pde(r, &r->train_file, d->num_examples, 1))) return st;
        if (d->num_test_examples && (st = open_pde(r, &r->test_file, d->num_test_examples, 0))) return st;
        r->train = r->train_file;
        r->test = r->test_file;
    }
    if (d->input_path[0]) {
        st = open_one(r, &r->train_file, d->input_path, d->target_path, 1);
        if (st) return st;
        r->train = r->train_file;
    }
    if (d->test_input_path[0]) {
        st = open_one(r, &r->test_file, d->test_input_path, d->test_target_path, 0);
        if (st) return st;
        r->test = r->test_file;
    }
    if (d->test_split > 0 && r->train) {
        if (r->test)
            return bk_json_error_at(&r->c->doc, "neural_network.data.test_split", BK_ERR_INVALID,
                                    "test_split and test_input_path both name a test set; keep one");
        int64_t n = r->train->count, nt = (int64_t)((double)n * d->test_split);
        if (nt < 1 || nt >= n)
            return bk_json_error_at(&r->c->doc, "neural_network.data.test_split", BK_ERR_INVALID,
                                    "splits %lld samples into %lld for testing; choose a fraction that leaves both sides non-empty",
                                    (long long)n, (long long)nt);
        /* the last samples are held out, so the split is the same every run */
        st = bk_dataset_subset(&r->split_train, r->train, 0, n - nt);
        if (!st) st = bk_dataset_subset(&r->split_test, r->train, n - nt, nt);
        if (st) return st;
        r->train = r->split_train;
        r->test = r->split_test;
    }
    /* (the images loader applied them already) */
    if (bk_transform_config_any(&d->transforms) && d->type != BK_DATA_IMAGES && (st = wrap_transforms(r))) return st;
    if (r->train && !r->train->has_targets)
        return bk_error(BK_ERR_INVALID, "%s: training data %s has no targets; %s", r->c->doc.file, r->train->name,
                        d->type == BK_DATA_IMAGES ? "set target_type \"labels\" (classes from folder names) or "
                        "target_path (a folder of target images)" : "set target_path (or target_key)");
    return BK_OK;
}

bk_status bk_run_build_model(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    bk_status st = bk_run_build_for_data(r);
    if (st) return st;
    if ((st = bk_heads_resolve(c, &r->m, r->heads))) return st;
    for (int k = 0; k < r->m.n_outputs && c->has_loss; k++) {
        const bk_head *h = &r->heads[k];
        const bk_shape *mo = &r->m.nodes[h->node].out_shape;
        char lp[512] = "neural_network.loss";
        json_t *lj = json_object_get(json_object_get(c->doc.root, "neural_network"), "loss");
        if (c->n_output_losses) {
            snprintf(lp, sizeof lp, "neural_network.loss.outputs.%s", h->name);
            lj = json_object_get(json_object_get(lj, "outputs"), h->name);
        }
        if (h->loss->kind == BK_LOSS_FOCAL && mo->ndim && mo->dims[0] > 1 && json_object_get(lj, "alpha")) {
            char ap[600];
            bk_json_child_path(ap, sizeof ap, lp, "alpha");
            return bk_json_error_at(&c->doc, ap, BK_ERR_INVALID,
                                    "alpha weighs the positives of a one-channel (binary) Focal loss; this model has %lld "
                                    "output channels: give per-class \"weight\" instead", (long long)mo->dims[0]);
        }
        if (bk_loss_is_pde(h->loss) && (st = bk_loss_pde_check(h->loss, mo)))
            return r->m.n_outputs > 1 ? bk_error_context(st, "%s: output \"%s\": ", c->doc.file, h->name)
                                      : bk_error_context(st, "%s: ", c->doc.file);
        int classes;
        /* with several outputs, the segmentation metrics score the outputs they apply to */
        if ((c->metrics & (BK_METRIC_DICE | BK_METRIC_MIOU)) && r->m.n_outputs == 1 &&
            (st = bk_metric_seg_classes(h->loss, mo, &classes)))
            return bk_error_context(st, "%s: neural_network.metrics: ", c->doc.file);
    }
    if (r->train && (st = bk_io_map_check(c, &r->m, r->heads, r->train, "training", 0, &r->train_map))) return st;
    if (r->test && (st = bk_io_map_check(c, r->test_m, r->heads, r->test, "test", !r->split_test, &r->test_map)))
        return st;
    return BK_OK;
}

void bk_run_ctx_free(bk_run_ctx *r)
{
    bk_dataset_destroy(r->tf_train);
    bk_dataset_destroy(r->tf_test);
    bk_transforms_destroy(&r->tf);
    bk_dataset_destroy(r->split_train);
    bk_dataset_destroy(r->split_test);
    bk_dataset_destroy(r->train_file);
    bk_dataset_destroy(r->test_file);
    if (r->m_built) bk_model_free(&r->m);
    bk_optim_free(&r->opt);
    if (r->history) json_decref(r->history);
}
