#include "heads.h"
#include <stdio.h>
#include <string.h>
#include "io/json.h"
#include "nn/layer_util.h"

void bk_layer_name_of(const bk_model *m, int i, char *buf, size_t n)
{
    const bk_node *nd = &m->nodes[i];
    const char *slash = nd->hidden ? strrchr(nd->name, '/') : NULL;
    if (slash) snprintf(buf, n, "%.*s", (int)(slash - nd->name), nd->name);
    else snprintf(buf, n, "%s", nd->name);
}

/* "a, b, c": the names of the model's inputs (inputs=1) or outputs. */
static void io_names(const bk_model *m, int inputs, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    int cnt = inputs ? m->n_inputs : m->n_outputs;
    for (int k = 0; k < cnt && len + 1 < n; k++) {
        char nm[BK_NAME_LEN];
        bk_layer_name_of(m, inputs ? m->inputs[k] : m->outputs[k], nm, sizeof nm);
        len += (size_t)snprintf(buf + len, n - len, "%s\"%s\"", k ? ", " : "", nm);
    }
}

bk_status bk_heads_resolve(const bk_run_config *c, const bk_model *m, bk_head *heads)
{
    char names[1024];
    io_names(m, 0, names, sizeof names);
    for (int j = 0; j < c->n_output_losses; j++) {
        const char *known[8];
        char buf[8][BK_NAME_LEN];
        int found = 0;
        for (int k = 0; k < m->n_outputs; k++) {
            bk_layer_name_of(m, m->outputs[k], buf[k], sizeof buf[k]);
            known[k] = buf[k];
            found |= !strcmp(buf[k], c->output_losses[j].output);
        }
        if (!found)
            return bk_json_unknown_name(&c->doc, c->output_losses[j].path, BK_ERR_INVALID, "model output",
                                        c->output_losses[j].output, known, m->n_outputs);
    }
    for (int k = 0; k < m->n_outputs; k++) {
        bk_head *h = &heads[k];
        h->node = m->outputs[k];
        bk_layer_name_of(m, h->node, h->name, sizeof h->name);
        h->loss = c->has_loss && !c->n_output_losses ? &c->loss : NULL;
        h->weight = 1.0;
        for (int j = 0; j < c->n_output_losses; j++)
            if (!strcmp(c->output_losses[j].output, h->name)) {
                h->loss = &c->output_losses[j].loss;
                h->weight = c->output_losses[j].weight;
            }
        if (c->n_output_losses && !h->loss)
            return bk_json_error_at(&c->doc, "neural_network.loss.outputs", BK_ERR_INVALID,
                                    "the model's output \"%s\" has no loss; give every output one (the outputs are %s)",
                                    h->name, names);
    }
    return BK_OK;
}

/* The list of the config that names a dataset's arrays by layer (NULL: by position). */
static const bk_data_list *named(const bk_data_list *a, const bk_data_list *b)
{
    return a->n && a->named ? a : b->n && b->named ? b : NULL;
}

/* Fills map[] (model slot -> dataset array) for one side. */
static bk_status match_side(const bk_run_config *c, const bk_model *m, const bk_dataset *ds, const char *what,
                            int inputs, const bk_data_list *by_name, int *map)
{
    int have = inputs ? bk_dataset_num_inputs(ds) : bk_dataset_num_targets(ds);
    int want = inputs ? m->n_inputs : m->n_outputs;
    char names[1024], arrays[1024] = "";
    io_names(m, inputs, names, sizeof names);
    size_t len = 0;
    for (int j = 0; j < have && len + 1 < sizeof arrays; j++) {
        const char *an = inputs ? (ds->n_inputs ? ds->input_names[j] : ds->name)
                                : (ds->n_targets ? ds->target_names[j] : ds->name);
        len += (size_t)snprintf(arrays + len, sizeof arrays - len, "%s%s", j ? ", " : "", an);
    }
    if (have != want)
        return bk_error(BK_ERR_SHAPE, "%s: the %s data gives %d %s array(s) (%s) but the model has %d %s (%s); "
                        "give one array per model %s in %s (a list in the order of the model's %s, or an object "
                        "mapping layer names to arrays)", c->doc.file, what, have, inputs ? "input" : "target",
                        arrays, want, inputs ? "input(s)" : "output(s)", names, inputs ? "input" : "output",
                        inputs ? "input_key / input_path" : "target_key / target_path",
                        inputs ? "input_layers" : "output_layers");
    for (int k = 0; k < want; k++) map[k] = k;
    if (!by_name) return BK_OK;
    const char *known[8];
    char buf[8][BK_NAME_LEN];
    for (int k = 0; k < want; k++) {
        bk_layer_name_of(m, inputs ? m->inputs[k] : m->outputs[k], buf[k], sizeof buf[k]);
        known[k] = buf[k];
    }
    for (int j = 0; j < by_name->n; j++) {
        int k = 0;
        while (k < want && strcmp(known[k], by_name->layer[j])) k++;
        char kp[1024];
        bk_json_child_path(kp, sizeof kp, by_name->path, by_name->layer[j]);
        if (k == want)
            return bk_json_unknown_name(&c->doc, kp, BK_ERR_INVALID, inputs ? "model input" : "model output",
                                        by_name->layer[j], known, want);
        map[k] = j;
    }
    return BK_OK;
}

bk_status bk_io_map_inputs(const bk_run_config *c, const bk_model *m, const bk_dataset *ds, const char *what,
                           int test, int *in)
{
    const bk_data_config *d = &c->data;
    return match_side(c, m, ds, what, 1, named(&d->input_keys, test ? &d->test_input_paths : &d->input_paths), in);
}

bk_status bk_io_map_check(const bk_run_config *c, const bk_model *m, const bk_head *heads, bk_dataset *ds,
                          const char *what, int test, bk_io_map *map)
{
    const bk_data_config *d = &c->data;
    memset(map, 0, sizeof *map);
    bk_status st = match_side(c, m, ds, what, 1, named(&d->input_keys, test ? &d->test_input_paths : &d->input_paths),
                              map->in);
    if (st) return st;
    char a[64], b[64], k[64];
    for (int i = 0; i < m->n_inputs; i++) {
        const bk_node *in = &m->nodes[m->inputs[i]];
        const bk_shape *mi = &in->out_shape, *ds_shape = bk_dataset_input_shape(ds, map->in[i]);
        bk_shape keras = bk_internal_to_keras(mi);
        if (bk_shape_numel(ds_shape) != bk_shape_numel(mi))
            return bk_error(BK_ERR_SHAPE, "%s: %s samples of %s have shape %s but the model's input \"%s\" is %s "
                            "(channels_last; %s channel-first); fix batch_input_shape or the data", c->doc.file, what,
                            ds->n_inputs ? ds->input_names[map->in[i]] : ds->name, bk_shape_str(ds_shape, a, sizeof a),
                            in->name, bk_shape_str(&keras, k, sizeof k), bk_shape_str(mi, b, sizeof b));
        /* data written channels_last (as Keras users keep it) is moved, not misread */
        map->transpose[i] = mi->ndim >= 2 && mi->dims[0] > 1 && bk_shape_equal(ds_shape, &keras) &&
                            !bk_shape_equal(ds_shape, mi);
    }
    if (!ds->has_targets || !c->has_loss) return BK_OK;
    st = match_side(c, m, ds, what, 0, named(&d->target_keys, test ? &d->test_target_paths : &d->target_paths),
                    map->tgt);
    if (st) return st;
    for (int i = 0; i < m->n_outputs; i++) {
        const bk_shape *mo = &m->nodes[heads[i].node].out_shape, *ts = bk_dataset_target_shape(ds, map->tgt[i]);
        int64_t want = bk_loss_target_numel(heads[i].loss, mo);
        if (bk_shape_numel(ts) != want) {
            char out[BK_NAME_LEN + 32] = "";
            if (m->n_outputs > 1) snprintf(out, sizeof out, " \"%s\"", heads[i].name);
            return bk_error(BK_ERR_SHAPE, "%s: %s targets of %s have shape %s but the model's output%s %s needs %lld "
                            "value(s) per sample for this loss", c->doc.file, what,
                            ds->n_targets ? ds->target_names[map->tgt[i]] : ds->name, bk_shape_str(ts, a, sizeof a),
                            out, bk_shape_str(mo, b, sizeof b), (long long)want);
        }
    }
    return BK_OK;
}

bk_status bk_heads_loss(const bk_head *heads, int n, const bk_model *m, const float *const *outs,
                        const float *const *tgts, int64_t batch, float *const *grads, double *per, double *total)
{
    *total = 0;
    for (int k = 0; k < n; k++) {
        const bk_head *h = &heads[k];
        const bk_shape *os = &m->nodes[h->node].out_shape;
        float *g = grads ? grads[k] : NULL;
        bk_status st = bk_loss_compute(h->loss, outs[k], os, tgts[k], batch, g, &per[k]);
        if (st) return n > 1 ? bk_error_context(st, "output \"%s\": ", h->name) : st;
        if (g && h->weight != 1.0) {
            int64_t len = batch * bk_shape_numel(os);
            float w = (float)h->weight;
            for (int64_t i = 0; i < len; i++) g[i] *= w;
        }
        *total += h->weight * per[k];
    }
    return BK_OK;
}

void bk_batch_split(const bk_dataset *ds, int64_t n, const float *x, const float *y, const float **xs,
                    const float **ys)
{
    for (int j = 0; j < bk_dataset_num_inputs(ds); j++) {
        xs[j] = x;
        x += n * bk_shape_numel(bk_dataset_input_shape(ds, j));
    }
    for (int j = 0; y && j < bk_dataset_num_targets(ds); j++) {
        ys[j] = y;
        y += n * bk_shape_numel(bk_dataset_target_shape(ds, j));
    }
}
