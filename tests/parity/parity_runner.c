/* parity_runner: the brisk side of the PyTorch parity tests.
 *
 * usage: parity_runner SPEC.json
 *
 * SPEC.json (every path may be relative to the current directory):
 *   {"net": "model.json",               Keras model.to_json() network
 *    "weights": "init.safetensors",     every parameter, loaded strictly
 *    "x": "x.npy", "y": "y.npy",        inputs (channel-first or channels_last
 *                                       per sample) and targets
 *    "optimizer": {"type": "SGD"|"Adam"|"AdamW"|"RMSprop", "lr", "momentum",
 *                  "dampening", "nesterov", "weight_decay", "beta1", "beta2",
 *                  "eps", "amsgrad", "alpha", "centered"},
 *    "loss": {"function": "NLL"|"CrossEntropy"|"MSE"|"BCE"|"L1"|"Lovasz", "from_logits",
 *             "source": "sigmoid"|"softmax"|"log_softmax"|"logits" (Lovasz)},
 *                                       or a list: one loss per model output
 *    "loss_weights": [1, 0.5],          with a list of losses: each output's
 *                                       share of the total (default 1)
 *    (a model with several inputs/outputs takes "x" / "y" as lists of .npy
 *     files, in the order of its input_layers / output_layers)
 *    "steps": 20, "batch": 16,            or a list of batch sizes, used in
 *                                       turn (a last, smaller batch; plans
 *                                       for several batch sizes)
 *    "eval": false,                     also run an inference-mode forward pass
 *                                       on batch 0 after training
 *    "trace": false,                    also write every step's starting state
 *                                       and gradients (below)
 *    "out": "result.safetensors"}
 *
 * Runs `steps` training steps exactly as src/train/trainer.c does, on
 * consecutive batches (each batch takes the samples after the previous one,
 * modulo the sample count; no shuffle), and writes to `out`:
 *   losses [steps]            the loss of every step (before its update)
 *   losses.<k> [steps]        with several outputs: output k's own loss
 *   output0 [batch0, ...]     the model output of step 0 (channel-first);
 *                             with several outputs output0.<k>, and
 *                             eval.output.<k> below
 *   grad.<param>              step-0 gradient of every trainable parameter
 *   final.<param>             every parameter (running statistics included)
 *                             after the last step
 *   eval.output [batch0, ...] with "eval": the inference-mode output on the
 *                             first batch0 samples (batch0: the first size)
 *   w<s>.<param>, g<s>.<param>  with "trace", for s = 0..steps-1: every
 *                             parameter (running statistics included) before
 *                             step s, and the gradients step s computed
 * Exits 0 on success, 1 with a message on stderr on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brisk/data.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "nn/builder.h"
#include "nn/graph.h"
#include "nn/layer_util.h"
#include "optim/optim.h"
#include "train/checkpoint.h"
#include "train/loss.h"
#include "train/heads.h"
#include "train/regularizer.h"

static int fail(const char *what)
{
    fprintf(stderr, "parity_runner: %s: %s\n", what, bk_last_error());
    return 1;
}

static bk_status read_optimizer(const bk_json_doc *d, json_t *o, bk_optim_config *c)
{
    static const char *const keys[] = {"type", "lr", "momentum", "dampening", "nesterov", "weight_decay",
                                       "beta1", "beta2", "eps", "amsgrad", "alpha", "centered"};
    const char *p = "optimizer", *type;
    memset(c, 0, sizeof *c);
    c->sched = BK_SCHED_NONE;
    bk_status st = bk_json_check_keys(d, o, p, keys, (int)(sizeof keys / sizeof keys[0]));
    if (!st) st = bk_json_get_string(d, o, p, "type", NULL, &type);
    if (!st && !type) st = bk_json_error_at(d, p, BK_ERR_INVALID, "optimizer.type is required");
    if (st) return st;
    if (!strcasecmp(type, "sgd")) c->kind = BK_OPT_SGD;
    else if (!strcasecmp(type, "adam")) c->kind = BK_OPT_ADAM;
    else if (!strcasecmp(type, "adamw")) c->kind = BK_OPT_ADAMW;
    else if (!strcasecmp(type, "rmsprop")) c->kind = BK_OPT_RMSPROP;
    else return bk_json_error_at(d, "optimizer.type", BK_ERR_INVALID, "unknown optimizer \"%s\"", type);
    /* PyTorch's defaults, so a spec only names what it changes */
    double wd_def = c->kind == BK_OPT_ADAMW ? 1e-2 : 0.0;
    st = bk_json_get_double(d, o, p, "lr", 0.01, &c->lr);
    if (!st) st = bk_json_get_double(d, o, p, "momentum", 0.0, &c->momentum);
    if (!st) st = bk_json_get_double(d, o, p, "dampening", 0.0, &c->dampening);
    if (!st) st = bk_json_get_bool(d, o, p, "nesterov", 0, &c->nesterov);
    if (!st) st = bk_json_get_double(d, o, p, "weight_decay", wd_def, &c->weight_decay);
    if (!st) st = bk_json_get_double(d, o, p, "beta1", 0.9, &c->beta1);
    if (!st) st = bk_json_get_double(d, o, p, "beta2", 0.999, &c->beta2);
    if (!st) st = bk_json_get_double(d, o, p, "eps", 1e-8, &c->eps);
    if (!st) st = bk_json_get_bool(d, o, p, "amsgrad", 0, &c->amsgrad);
    if (!st) st = bk_json_get_double(d, o, p, "alpha", 0.99, &c->alpha);
    if (!st) st = bk_json_get_bool(d, o, p, "centered", 0, &c->centered);
    return st;
}

static bk_status read_loss(const bk_json_doc *d, json_t *o, bk_loss *l)
{
    static const char *const keys[] = {"function", "from_logits", "source"};
    static const char *const sources[] = {"", "sigmoid", "softmax", "log_softmax", "logits"};
    const char *p = "loss", *fn, *src;
    memset(l, 0, sizeof *l);
    bk_status st = bk_json_check_keys(d, o, p, keys, 3);
    if (!st) st = bk_json_get_string(d, o, p, "function", NULL, &fn);
    if (!st) st = bk_json_get_string(d, o, p, "source", "", &src);
    if (!st && !fn) st = bk_json_error_at(d, p, BK_ERR_INVALID, "loss.function is required");
    if (!st) st = bk_json_get_bool(d, o, p, "from_logits", 0, &l->from_logits);
    if (st) return st;
    if (!strcasecmp(fn, "nll")) l->kind = BK_LOSS_NLL;
    else if (!strcasecmp(fn, "crossentropy")) l->kind = BK_LOSS_CROSS_ENTROPY;
    else if (!strcasecmp(fn, "mse")) l->kind = BK_LOSS_MSE;
    else if (!strcasecmp(fn, "bce")) l->kind = BK_LOSS_BCE;
    else if (!strcasecmp(fn, "l1")) l->kind = BK_LOSS_L1;
    else if (!strcasecmp(fn, "lovasz")) l->kind = BK_LOSS_LOVASZ;
    else return bk_json_error_at(d, "loss.function", BK_ERR_INVALID, "unknown loss \"%s\"", fn);
    /* the bk_loss_source values in the order of `sources` */
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(src, sources[i])) {
            l->source = (bk_loss_source)i;
            return BK_OK;
        }
    return bk_json_error_at(d, "loss.source", BK_ERR_INVALID, "unknown source \"%s\"", src);
}

/* A growing list of output tensors; names and data are owned here. */
typedef struct {
    bk_st_entry *e;
    int n, cap;
} outlist;

static bk_status out_add(outlist *o, const char *prefix, const char *name, const bk_shape *shape, const float *src)
{
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 32;
        bk_st_entry *ne = realloc(o->e, (size_t)cap * sizeof *ne);
        if (!ne) return bk_error(BK_ERR_NOMEM, "out of memory");
        o->e = ne;
        o->cap = cap;
    }
    size_t len = strlen(prefix) + strlen(name) + 1;
    char *nm = malloc(len);
    int64_t count = bk_shape_numel(shape);
    float *data = malloc((size_t)(count ? count : 1) * sizeof(float));
    if (!nm || !data) {
        free(nm);
        free(data);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    snprintf(nm, len, "%s%s", prefix, name);
    memcpy(data, src, (size_t)count * sizeof(float));
    o->e[o->n++] = (bk_st_entry){.name = nm, .shape = *shape, .data = data};
    return BK_OK;
}

/* A parameter's values or gradients, in PyTorch's layout whatever brisk
 * stores (graph.h, bk_param.block). */
static bk_status out_add_param(outlist *o, const char *prefix, const bk_model *m, const bk_param *p, const float *src)
{
    bk_status st = out_add(o, prefix, p->name, &p->shape, src);
    return st ? st : bk_param_to_plain(m, p, src, (float *)o->e[o->n - 1].data);
}

static void out_free(outlist *o)
{
    for (int i = 0; i < o->n; i++) {
        free((char *)o->e[i].name);
        free((float *)o->e[i].data);
    }
    free(o->e);
}

#define MAX_SIZES 64

/* "batch": an integer or a list of positive integers. */
static bk_status read_batch_sizes(const bk_json_doc *d, json_t *root, int64_t *sizes, int *n)
{
    json_t *v = json_object_get(root, "batch");
    *n = 1;
    sizes[0] = 16;
    if (!v) return BK_OK;
    if (json_is_integer(v)) {
        sizes[0] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= MAX_SIZES) {
        *n = (int)json_array_size(v);
        for (int i = 0; i < *n; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            sizes[i] = json_is_integer(e) ? json_integer_value(e) : 0;
        }
    } else {
        return bk_json_error_at(d, "batch", BK_ERR_INVALID, "expected an integer or a list of 1 to %d integers", MAX_SIZES);
    }
    for (int i = 0; i < *n; i++)
        if (sizes[i] < 1) return bk_json_error_at(d, "batch", BK_ERR_INVALID, "batch sizes must be positive integers");
    return BK_OK;
}

static bk_shape batch_shape(int64_t batch, const bk_shape *per)
{
    bk_shape s = {.ndim = per->ndim + 1, .dims = {batch}};
    for (int i = 0; i < per->ndim; i++) s.dims[i + 1] = per->dims[i];
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: parity_runner SPEC.json\n");
        return 2;
    }
    static const char *const keys[] = {"net", "weights", "x", "y", "optimizer", "loss", "steps", "batch", "eval",
                                       "trace", "out", "loss_weights"};
    bk_json_doc spec = {0}, net = {0};
    bk_model m;
    memset(&m, 0, sizeof m);
    bk_dataset *ds = NULL;
    bk_optimizer opt;
    memset(&opt, 0, sizeof opt);
    outlist outs = {0};
    float *x = NULL, *xin = NULL, *y = NULL, *losses = NULL, *head_losses = NULL;
    int64_t *idx = NULL;
    int rc = 1;

    const char *net_path, *w_path, *x_path, *y_path, *out_path;
    int64_t steps, sizes[MAX_SIZES], bmax = 0;
    int n_sizes = 1;
    int do_eval, trace;
    bk_optim_config oc;
    bk_loss loss[8];
    memset(loss, 0, sizeof loss);
    int n_losses = 1;
    double lw[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    if (bk_json_load_file(&spec, argv[1])) { rc = fail("reading the spec"); goto done; }
    json_t *r = spec.root;
    bk_status st = bk_json_check_keys(&spec, r, "", keys, (int)(sizeof keys / sizeof keys[0]));
    if (!st) st = bk_json_get_string(&spec, r, "", "net", NULL, &net_path);
    if (!st) st = bk_json_get_string(&spec, r, "", "weights", NULL, &w_path);
    json_t *xl = json_object_get(r, "x"), *yl = json_object_get(r, "y");
    int multi = json_is_array(xl) || json_is_array(yl);
    if (!st && !multi) st = bk_json_get_string(&spec, r, "", "x", NULL, &x_path);
    if (!st && !multi) st = bk_json_get_string(&spec, r, "", "y", NULL, &y_path);
    if (!st && multi) x_path = y_path = "(lists)";
    if (!st) st = bk_json_get_string(&spec, r, "", "out", NULL, &out_path);
    if (!st) st = bk_json_get_int(&spec, r, "", "steps", 1, &steps);
    if (!st) st = read_batch_sizes(&spec, r, sizes, &n_sizes);
    if (!st) st = bk_json_get_bool(&spec, r, "", "eval", 0, &do_eval);
    if (!st) st = bk_json_get_bool(&spec, r, "", "trace", 0, &trace);
    if (!st && (!net_path || !w_path || !x_path || !y_path || !out_path))
        st = bk_error(BK_ERR_INVALID, "%s: net, weights, x, y and out are required", argv[1]);
    if (!st && steps < 1) st = bk_error(BK_ERR_INVALID, "%s: steps must be >= 1", argv[1]);
    if (!st) st = read_optimizer(&spec, json_object_get(r, "optimizer"), &oc);
    json_t *lj = json_object_get(r, "loss"), *wj = json_object_get(r, "loss_weights");
    if (json_is_array(lj)) n_losses = (int)json_array_size(lj);
    if (!st && (n_losses < 1 || n_losses > 8)) st = bk_error(BK_ERR_INVALID, "%s: 1 to 8 losses", argv[1]);
    for (int k = 0; k < n_losses && !st; k++)
        st = read_loss(&spec, json_is_array(lj) ? json_array_get(lj, (size_t)k) : lj, &loss[k]);
    for (int k = 0; k < n_losses && k < (int)json_array_size(wj); k++)
        lw[k] = json_number_value(json_array_get(wj, (size_t)k));
    if (st) { rc = fail("spec"); goto done; }

    /* model: built with seed 0, then every parameter replaced from the file */
    if (bk_json_load_file(&net, net_path)) { rc = fail("reading the network"); goto done; }
    if (bk_build_keras(&m, &net, net.root, "", 0, NULL)) { rc = fail("building the network"); goto done; }
    if (m.n_outputs != n_losses) {
        fprintf(stderr, "parity_runner: %d loss(es) for %d model output(s)\n", n_losses, m.n_outputs);
        goto done;
    }
    if (bk_checkpoint_load(&m, w_path, 1, NULL, 0)) { rc = fail("loading the weights"); goto done; }

    /* data */
    if (multi) {
        /* one .npy per model input / output, in the model's order */
        bk_data_arrays arr = {.n_inputs = json_is_array(xl) ? (int)json_array_size(xl) : 1,
                              .n_targets = json_is_array(yl) ? (int)json_array_size(yl) : 1};
        for (int k = 0; k < arr.n_inputs && k < 8; k++)
            arr.input_paths[k] = json_string_value(json_is_array(xl) ? json_array_get(xl, (size_t)k) : xl);
        for (int k = 0; k < arr.n_targets && k < 8; k++)
            arr.target_paths[k] = json_string_value(json_is_array(yl) ? json_array_get(yl, (size_t)k) : yl);
        if (bk_dataset_open_arrays(&ds, 0, &arr)) { rc = fail("reading the data"); goto done; }
    } else {
        bk_data_options dopt = {.input_path = x_path, .target_path = y_path, .preload = 1};
        if (bk_dataset_open_numpy(&ds, &dopt)) { rc = fail("reading the data"); goto done; }
    }
    if (bk_dataset_num_inputs(ds) != m.n_inputs || bk_dataset_num_targets(ds) != m.n_outputs) {
        fprintf(stderr, "parity_runner: %d input and %d target arrays for a model with %d inputs and %d outputs\n",
                bk_dataset_num_inputs(ds), bk_dataset_num_targets(ds), m.n_inputs, m.n_outputs);
        goto done;
    }
    int transpose[8] = {0};
    char a[64], b[64];
    for (int k = 0; k < m.n_inputs; k++) {
        const bk_shape *mi = &m.nodes[m.inputs[k]].out_shape, *di = bk_dataset_input_shape(ds, k);
        bk_shape keras_in = bk_internal_to_keras(mi);
        if (bk_shape_equal(di, mi)) continue;
        if (!bk_shape_equal(di, &keras_in)) {
            fprintf(stderr, "parity_runner: input %d: samples of shape %s, the model takes %s (channel-first)\n", k,
                    bk_shape_str(di, a, sizeof a), bk_shape_str(mi, b, sizeof b));
            goto done;
        }
        transpose[k] = 1;
    }
    if (!ds->has_targets) {
        fprintf(stderr, "parity_runner: %s: no targets\n", y_path);
        goto done;
    }
    int64_t xper = bk_shape_numel(&ds->input_shape), yper = bk_shape_numel(&ds->target_shape);
    for (int i = 0; i < n_sizes; i++) if (sizes[i] > bmax) bmax = sizes[i];
    x = malloc((size_t)(bmax * xper) * sizeof(float));
    xin = malloc((size_t)(bmax * xper) * sizeof(float));
    y = malloc((size_t)(bmax * (yper ? yper : 1)) * sizeof(float));
    losses = malloc((size_t)steps * sizeof(float));
    head_losses = malloc((size_t)(steps * m.n_outputs) * sizeof(float));
    idx = malloc((size_t)bmax * sizeof *idx);
    if (!x || !xin || !y || !losses || !head_losses || !idx) { fprintf(stderr, "parity_runner: out of memory\n"); goto done; }

    if (bk_optim_init(&opt, &oc, &m)) { rc = fail("optimizer"); goto done; }
    bk_head heads[8];
    for (int k = 0; k < m.n_outputs; k++) {
        heads[k] = (bk_head){.node = m.outputs[k], .loss = &loss[k], .weight = lw[k]};
        bk_layer_name_of(&m, m.outputs[k], heads[k].name, sizeof heads[k].name);
        if (!m.nodes[m.outputs[k]].needs_grad) { fprintf(stderr, "parity_runner: nothing to train\n"); goto done; }
    }
    const float *xs[8], *ys[8], *xp[8], *houts[8];
    float *grads[8];

    int64_t first = 0; /* of the next batch */
    for (int64_t s = 0; s < steps; s++) {
        int64_t batch = sizes[s % n_sizes];
        for (int64_t i = 0; i < batch; i++) idx[i] = (first + i) % ds->count;
        first = (first + batch) % ds->count;
        if (ds->read(ds, idx, batch, x, y)) { rc = fail("reading a batch"); goto done; }
        bk_batch_split(ds, batch, x, y, xs, ys);
        for (int k = 0; k < m.n_inputs; k++) {
            xp[k] = xs[k];
            if (!transpose[k]) continue;
            /* the same offset in xin as in x: the arrays are planar */
            float *dst = xin + (xs[k] - x);
            bk_from_keras_order(xs[k], dst, batch, &m.nodes[m.inputs[k]].out_shape);
            xp[k] = dst;
        }
        if (trace) {
            /* before the forward pass, which updates the running statistics */
            char prefix[32];
            snprintf(prefix, sizeof prefix, "w%lld.", (long long)s);
            for (int k = 0; k < m.n_params && !st; k++)
                st = out_add_param(&outs, prefix, &m, &m.params[k], m.params[k].data);
            if (st) { rc = fail("collecting weights"); goto done; }
        }
        /* one step, as src/train/trainer.c takes it */
        if (bk_model_forward(&m, xp, batch, 1)) { rc = fail("forward"); goto done; }
        double l, per[8];
        bk_model_begin_backward(&m);
        for (int k = 0; k < m.n_outputs; k++) {
            houts[k] = m.nodes[m.outputs[k]].out;
            grads[k] = m.nodes[m.outputs[k]].grad;
        }
        if (bk_heads_loss(heads, m.n_outputs, &m, houts, ys, batch, grads, per, &l)) { rc = fail("loss"); goto done; }
        for (int k = 0; k < m.n_outputs; k++) {
            m.nodes[m.outputs[k]].grad_written = 1;
            head_losses[k * steps + s] = (float)per[k];
        }
        if (bk_model_backward(&m)) { rc = fail("backward"); goto done; }
        l += bk_regularizer_add_grad(&m); /* Keras weight regularizers join the loss */
        losses[s] = (float)l;
        if (s == 0) {
            for (int k = 0; k < m.n_outputs && !st; k++) {
                bk_node *out = &m.nodes[m.outputs[k]];
                bk_shape os = batch_shape(batch, &out->out_shape);
                char nm[32];
                if (m.n_outputs == 1) snprintf(nm, sizeof nm, "output0");
                else snprintf(nm, sizeof nm, "output0.%d", k);
                st = out_add(&outs, "", nm, &os, out->out);
            }
            for (int k = 0; k < m.n_params && !st; k++) {
                bk_param *p = &m.params[k];
                if (!p->is_buffer && !p->frozen) st = out_add_param(&outs, "grad.", &m, p, p->grad);
            }
        }
        if (trace) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "g%lld.", (long long)s);
            for (int k = 0; k < m.n_params && !st; k++) {
                bk_param *p = &m.params[k];
                if (!p->is_buffer && !p->frozen) st = out_add_param(&outs, prefix, &m, p, p->grad);
            }
        }
        if (st) { rc = fail("collecting gradients"); goto done; }
        bk_optim_step(&opt, &m, oc.lr);
        m.step++;
        if (!isfinite(l)) {
            fprintf(stderr, "parity_runner: the loss became %g at step %lld\n", l, (long long)s);
            goto done;
        }
    }
    bk_shape ls = {.ndim = 1, .dims = {steps}};
    st = out_add(&outs, "", "losses", &ls, losses);
    for (int k = 0; k < m.n_outputs && m.n_outputs > 1 && !st; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "losses.%d", k);
        st = out_add(&outs, "", nm, &ls, head_losses + k * steps);
    }
    for (int k = 0; k < m.n_params && !st; k++)
        st = out_add_param(&outs, "final.", &m, &m.params[k], m.params[k].data);
    if (!st && do_eval) {
        int64_t batch = sizes[0];
        for (int64_t i = 0; i < batch; i++) idx[i] = i % ds->count;
        st = ds->read(ds, idx, batch, x, y);
        bk_batch_split(ds, batch, x, y, xs, ys);
        for (int k = 0; k < m.n_inputs && !st; k++) {
            xp[k] = xs[k];
            if (!transpose[k]) continue;
            float *dst = xin + (xs[k] - x);
            bk_from_keras_order(xs[k], dst, batch, &m.nodes[m.inputs[k]].out_shape);
            xp[k] = dst;
        }
        /* through the liveness-planned inference arena, as evaluation runs */
        if (!st) st = bk_model_infer(&m, xp, batch, houts);
        for (int k = 0; k < m.n_outputs && !st; k++) {
            bk_shape os = batch_shape(batch, &m.nodes[m.outputs[k]].out_shape);
            char nm[32];
            if (m.n_outputs == 1) snprintf(nm, sizeof nm, "eval.output");
            else snprintf(nm, sizeof nm, "eval.output.%d", k);
            st = out_add(&outs, "", nm, &os, houts[k]);
        }
    }
    if (st) { rc = fail("collecting results"); goto done; }
    const char *mk[] = {"format"}, *mv[] = {"brisk-parity-1"};
    if (bk_safetensors_write(out_path, outs.e, outs.n, mk, mv, 1)) { rc = fail("writing the results"); goto done; }
    rc = 0;

done:
    out_free(&outs);
    free(x);
    free(xin);
    free(y);
    free(losses);
    free(head_losses);
    free(idx);
    bk_optim_free(&opt);
    for (int k = 0; k < 8; k++) free(loss[k].class_weight);
    bk_dataset_destroy(ds);
    bk_model_free(&m);
    bk_json_free(&net);
    bk_json_free(&spec);
    return rc;
}
