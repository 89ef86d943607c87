/* Opening the data and building the model for a run, with the checks that
 * make a wrong file or a wrong shape a clear error instead of a wrong result. */
#include <string.h>
#include "nn/layer_util.h"
#include "nn/builder.h"
#include "run_ctx.h"

static bk_status open_one(bk_run_ctx *r, bk_dataset **out, const char *input, const char *target, int train)
{
    const bk_data_config *d = &r->c->data;
    bk_data_options opt = {.input_path = input, .target_path = target[0] ? target : NULL,
                           .input_key = d->input_key[0] ? d->input_key : NULL,
                           .target_key = d->target_key[0] ? d->target_key : NULL,
                           .preload = d->preload, .train = train};
    bk_status st;
    switch (d->type) {
    case BK_DATA_MNIST: st = bk_dataset_open_mnist(out, &opt); break;
    case BK_DATA_NUMPY: st = bk_dataset_open_numpy(out, &opt); break;
    case BK_DATA_HDF5: st = bk_dataset_open_hdf5(out, &opt); break;
    default: return bk_error(BK_ERR_INVALID, "no data type");
    }
    if (st) return bk_error_context(st, "%s: neural_network.data: ", r->c->doc.file);
    return BK_OK;
}

bk_status bk_run_open_data(bk_run_ctx *r)
{
    const bk_data_config *d = &r->c->data;
    bk_status st;
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
    if (r->train && !r->train->has_targets)
        return bk_error(BK_ERR_INVALID, "%s: training data %s has no targets; set target_path (or target_key)",
                        r->c->doc.file, r->train->name);
    return BK_OK;
}

bk_status bk_run_check_data(bk_run_ctx *r, bk_dataset *ds, const char *what)
{
    bk_model *m = &r->m;
    const bk_shape *mi = &m->nodes[m->inputs[0]].out_shape;
    char a[64], b[64], k[64];
    bk_shape keras = bk_internal_to_keras(mi);
    if (bk_shape_numel(&ds->input_shape) != bk_shape_numel(mi))
        return bk_error(BK_ERR_SHAPE,
                        "%s: %s samples of %s have shape %s but the model's input is %s (channels_last; %s channel-first); "
                        "fix batch_input_shape or the data",
                        r->c->doc.file, what, ds->name, bk_shape_str(&ds->input_shape, a, sizeof a),
                        bk_shape_str(&keras, k, sizeof k), bk_shape_str(mi, b, sizeof b));
    /* data written channels_last (as Keras users keep it) is moved, not misread */
    r->transpose_input = mi->ndim >= 2 && mi->dims[0] > 1 && bk_shape_equal(&ds->input_shape, &keras) &&
                         !bk_shape_equal(&ds->input_shape, mi);
    if (!ds->has_targets || !r->c->has_loss) return BK_OK;
    const bk_shape *mo = &m->nodes[m->outputs[0]].out_shape;
    int64_t want = bk_shape_numel(mo);
    if (bk_loss_is_classification(&r->c->loss)) want /= mo->ndim ? mo->dims[0] : 1;
    if (bk_shape_numel(&ds->target_shape) != want)
        return bk_error(BK_ERR_SHAPE, "%s: %s targets of %s have shape %s but the model's output %s needs %lld value(s) per sample for this loss",
                        r->c->doc.file, what, ds->name, bk_shape_str(&ds->target_shape, a, sizeof a),
                        bk_shape_str(mo, b, sizeof b), (long long)want);
    return BK_OK;
}

bk_status bk_run_build_model(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    bk_dataset *ds = r->train ? r->train : r->test;
    const bk_shape *hint = ds ? &ds->input_shape : NULL;
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    bk_status st = bk_build_keras(&r->m, doc, c->net, c->net_path, c->seed, hint);
    r->m_built = 1;
    if (st) return st;
    if (r->m.n_inputs != 1 || r->m.n_outputs != 1)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: the network has %d inputs and %d outputs; training from a config needs exactly one of each",
                        c->doc.file, r->m.n_inputs, r->m.n_outputs);
    const bk_shape *mo = &r->m.nodes[r->m.outputs[0]].out_shape;
    json_t *loss = json_object_get(json_object_get(c->doc.root, "neural_network"), "loss");
    if (c->loss.kind == BK_LOSS_FOCAL && mo->ndim && mo->dims[0] > 1 && json_object_get(loss, "alpha"))
        return bk_json_error_at(&c->doc, "neural_network.loss.alpha", BK_ERR_INVALID,
                                "alpha weighs the positives of a one-channel (binary) Focal loss; this model has %lld "
                                "output channels: give per-class \"weight\" instead", (long long)mo->dims[0]);
    int classes;
    if ((c->metrics & (BK_METRIC_DICE | BK_METRIC_MIOU)) &&
        (st = bk_metric_seg_classes(&c->loss, mo, &classes)))
        return bk_error_context(st, "%s: neural_network.metrics: ", c->doc.file);
    if (r->train && (st = bk_run_check_data(r, r->train, "training"))) return st;
    if (r->test && (st = bk_run_check_data(r, r->test, "test"))) return st;
    return BK_OK;
}

void bk_run_ctx_free(bk_run_ctx *r)
{
    bk_dataset_destroy(r->split_train);
    bk_dataset_destroy(r->split_test);
    bk_dataset_destroy(r->train_file);
    bk_dataset_destroy(r->test_file);
    if (r->m_built) bk_model_free(&r->m);
    bk_optim_free(&r->opt);
    if (r->history) json_decref(r->history);
}
