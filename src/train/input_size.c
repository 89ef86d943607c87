/* The input sizes of a run. A network may leave its spatial sizes free
 * (batch_input_shape [null, null, null, 3]) or declare sizes the data do
 * not have; either way the model is built for the data's size, as the
 * reference CLI runs fully convolutional networks at any size. Only the
 * rank and the channel count must be the declared ones: they decide the
 * weights. A test set of another size than the training set runs through
 * a variant of the model (graph.h) sharing its weights. */
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "run_ctx.h"

/* 1 when s has p's rank and p's dims wherever p gives one (-1: any). */
static int fits(const bk_shape *s, const bk_shape *p)
{
    if (s->ndim != p->ndim) return 0;
    for (int i = 0; i < s->ndim; i++)
        if (p->dims[i] >= 0 && p->dims[i] != s->dims[i]) return 0;
    return 1;
}

static int all_given(const bk_shape *s)
{
    for (int i = 0; i < s->ndim; i++)
        if (s->dims[i] < 0) return 0;
    return 1;
}

/* "[None, None, 3]" (Keras order) or "[3, None, None]" (as stored). */
static char *dims_str(const bk_shape *s, int keras, char *buf, size_t n)
{
    bk_shape k = keras ? bk_internal_to_keras(s) : *s;
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < k.ndim && at < n; i++) {
        if (k.dims[i] < 0) at += (size_t)snprintf(buf + at, n - at, "%sNone", i ? ", " : "");
        else at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)k.dims[i]);
    }
    if (at < n) snprintf(buf + at, n - at, "]");
    return buf;
}

enum { FITS, OTHER_RANK, OTHER_CHANNELS };

/* The channel-first model shape *out for samples of shape s, for an input
 * declared d (channel-first, -1 free; ndim 0: not declared). Samples may
 * be stored channel-first or channels_last (Keras' order); where both
 * readings fit, channel-first wins, as the data are documented to be. */
static int resolve(const bk_shape *d, const bk_shape *s, bk_shape *out)
{
    if (!d->ndim) { /* the network gives no shape: the data's, channel-first */
        *out = *s;
        return FITS;
    }
    bk_shape k = bk_internal_to_keras(d);
    if (fits(s, d)) {
        *out = *s;
        return FITS;
    }
    if (fits(s, &k)) {
        *out = bk_keras_to_internal(s);
        return FITS;
    }
    /* the declared values in another rank ([784] for 28x28x1): read in the declared shape */
    if (all_given(d) && s->ndim != d->ndim && bk_shape_numel(s) == bk_shape_numel(d)) {
        *out = *d;
        return FITS;
    }
    /* one-channel images stored without their channel axis */
    if (d->ndim >= 2 && d->dims[0] == 1 && s->ndim == d->ndim - 1) {
        out->ndim = d->ndim;
        out->dims[0] = 1;
        for (int i = 0; i < s->ndim; i++) out->dims[i + 1] = s->dims[i];
        return FITS;
    }
    if (s->ndim != d->ndim || d->ndim < 2) return OTHER_RANK;
    if (s->dims[0] == d->dims[0]) {
        *out = *s;
        return FITS;
    }
    if (s->dims[s->ndim - 1] == d->dims[0]) {
        *out = bk_keras_to_internal(s);
        return FITS;
    }
    return OTHER_CHANNELS;
}

/* The shapes the model's inputs get from ds's samples; probe holds the
 * network's inputs (bk_keras_inputs). */
static bk_status input_shapes(const bk_run_config *c, const bk_model *probe, bk_dataset *ds, const char *what,
                              int test, bk_shape *shapes)
{
    int in[8];
    bk_status st = bk_io_map_inputs(c, probe, ds, what, test, in);
    if (st) return st;
    for (int k = 0; k < probe->n_inputs; k++) {
        const bk_shape *d = &probe->declared[k], *s = bk_dataset_input_shape(ds, in[k]);
        const char *arr = ds->n_inputs ? ds->input_names[in[k]] : ds->name, *name = probe->nodes[probe->inputs[k]].name;
        char a[96], b[96], e[96];
        int r = resolve(d, s, &shapes[k]);
        if (r == OTHER_RANK)
            return bk_error(BK_ERR_SHAPE, "%s: %s samples of %s have shape %s but the model's input \"%s\" is %s "
                            "(channels_last; %s channel-first); fix batch_input_shape or the data", c->doc.file, what,
                            arr, bk_shape_str(s, a, sizeof a), name, dims_str(d, 1, b, sizeof b),
                            dims_str(d, 0, e, sizeof e));
        if (r == OTHER_CHANNELS)
            return bk_error(BK_ERR_SHAPE, "%s: %s samples of %s have shape %s, but the model's input \"%s\" takes %lld "
                            "channel(s) (it is declared %s, channels_last), which decide the shapes of its weights; "
                            "give %lld-channel data, channel-first [C, ...] or channels_last [..., C]", c->doc.file,
                            what, arr, bk_shape_str(s, a, sizeof a), name, (long long)d->dims[0],
                            bk_input_size_str(d, b, sizeof b), (long long)d->dims[0]);
    }
    return BK_OK;
}

/* Describes, into note, the inputs whose declared sizes the data do not
 * have; returns how many. */
static int size_note(const bk_model *probe, const bk_shape *shapes, const char *what, char *note, size_t n)
{
    int count = 0;
    size_t at = 0;
    note[0] = 0;
    for (int k = 0; k < probe->n_inputs; k++) {
        const bk_shape *d = &probe->declared[k];
        int differs = 0;
        for (int i = 0; i < d->ndim; i++) differs |= d->dims[i] >= 0 && d->dims[i] != shapes[k].dims[i];
        if (!differs || at >= n) continue;
        char a[96], b[96];
        at += (size_t)snprintf(note + at, n - at, "%sthe %s data are %s where the network declares %s (input \"%s\")",
                               count++ ? "; " : "", what, bk_input_size_str(&shapes[k], a, sizeof a),
                               bk_input_size_str(d, b, sizeof b), probe->nodes[probe->inputs[k]].name);
    }
    return count;
}

/* Writes into note the first layer whose weights the data's size changes
 * against the declared size (a Dense layer after Flatten); "" if none. */
static void weights_note(bk_run_ctx *r, const bk_model *probe, const bk_shape *shapes, char *note, size_t n)
{
    note[0] = 0;
    bk_run_config *c = r->c;
    bk_shape at_decl[8];
    for (int k = 0; k < probe->n_inputs; k++) {
        const bk_shape *d = &probe->declared[k];
        at_decl[k] = d->ndim && all_given(d) ? *d : shapes[k];
    }
    bk_model dm;
    bk_build_opts o = {.seed = c->seed, .shapes = at_decl, .n_shapes = probe->n_inputs, .shapes_only = 1};
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    /* a declared size that does not build has no weights to compare with */
    int k = bk_build_keras_opts(&dm, doc, c->net, c->net_path, &o) ? -1 : bk_model_param_diff(&r->m, &dm);
    if (k >= 0) {
        const bk_param *p = &r->m.params[k], *q = &dm.params[k];
        const bk_node *nd = &r->m.nodes[p->node];
        char a[64], b[64];
        snprintf(note, n, "; at this size layer \"%s\" (%s) has weights of another shape than at the declared "
                 "one: %s is %s, not %s", nd->name, nd->class_name, p->name, bk_shape_str(&p->shape, a, sizeof a),
                 bk_shape_str(&q->shape, b, sizeof b));
    }
    bk_model_free(&dm);
}

bk_status bk_run_build_for_data(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    bk_dataset *ds = r->train ? r->train : r->test;
    const char *what = r->train ? "training" : "test";
    bk_model probe;
    bk_shape shapes[8], tshapes[8];
    memset(shapes, 0, sizeof shapes);
    bk_status st = bk_keras_inputs(&probe, doc, c->net, c->net_path);
    if (!st && ds) st = input_shapes(c, &probe, ds, what, !r->train, shapes);
    if (!st && r->train && r->test) st = input_shapes(c, &probe, r->test, "test", !r->split_test, tshapes);
    if (st) {
        bk_model_free(&probe);
        return st;
    }
    bk_build_opts o = {.seed = c->seed, .shapes = ds ? shapes : NULL, .n_shapes = ds ? probe.n_inputs : 0};
    char note[2048];
    int differs = ds ? size_note(&probe, shapes, what, note, sizeof note) : 0;
    st = bk_build_keras_opts(&r->m, doc, c->net, c->net_path, &o);
    r->m_built = 1;
    if (st && differs) st = bk_error_context(st, "building the model for the data's size (%s): ", note);
    if (!st && differs) {
        char wnote[512];
        weights_note(r, &probe, shapes, wnote, sizeof wnote);
        fprintf(r->out, "note: %s: the model is built for the data's size (convolutional layers run at any size)%s\n",
                note, wnote);
    }
    r->test_m = &r->m;
    if (!st && r->train && r->test) {
        st = bk_model_at_shapes(&r->m, tshapes, &r->test_m);
        char a[256], b[256];
        bk_input_size_str(&tshapes[0], a, sizeof a);
        bk_input_size_str(&shapes[0], b, sizeof b);
        if (st) st = bk_error_context(st, "%s: the test data are %s, the training data %s: ", c->doc.file, a, b);
        else if (r->test_m != &r->m)
            fprintf(r->out, "note: the test data are %s, the training data %s: evaluation runs the model at %s "
                    "with the same weights\n", a, b, a);
    }
    bk_model_free(&probe);
    return st;
}
