/* Builds the static graph from a Keras model.to_json() network:
 * Sequential (layers in order) or Functional (inbound_nodes, Keras 2 and
 * Keras 3 forms), channels_last shapes mapped to channel-first. */
#include <stdlib.h>
#include <string.h>
#include "builder.h"
#include "keras_keys.h"
#include "layer_util.h"

typedef struct {
    bk_model *m;
    const bk_json_doc *doc;
    char **names;      /* Keras layer name -> node index that carries its output */
    int *node_of;
    int n_names, cap;
    const bk_build_opts *o;
    int inputs_only;   /* bk_keras_inputs: input nodes only, shapes as declared */
} build_ctx;

static int lookup(build_ctx *c, const char *name)
{
    for (int i = 0; i < c->n_names; i++)
        if (!strcmp(c->names[i], name)) return c->node_of[i];
    return -1;
}

static bk_status remember(build_ctx *c, const char *name, int node)
{
    if (c->n_names == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        char **nn = realloc(c->names, (size_t)cap * sizeof *nn);
        if (!nn) return bk_error(BK_ERR_NOMEM, "out of memory");
        c->names = nn;
        int *no = realloc(c->node_of, (size_t)cap * sizeof *no);
        if (!no) return bk_error(BK_ERR_NOMEM, "out of memory");
        c->node_of = no;
        c->cap = cap;
    }
    c->names[c->n_names] = strdup(name);
    if (!c->names[c->n_names]) return bk_error(BK_ERR_NOMEM, "out of memory");
    c->node_of[c->n_names++] = node;
    return BK_OK;
}

/* Reads batch_input_shape (Keras 2) or batch_shape (Keras 3) into a Keras
 * shape without the batch dim, a free (null) size as -1. The channel axis
 * (the last) must be given: it decides the shapes of the weights. Returns 1
 * when present. */
static int read_batch_shape(const bk_json_doc *doc, json_t *cfg, const char *path, bk_shape *out,
                            bk_status *st)
{
    json_t *v = json_object_get(cfg, "batch_input_shape");
    const char *key = "batch_input_shape";
    if (!v) {
        v = json_object_get(cfg, "batch_shape");
        key = "batch_shape";
    }
    *st = BK_OK;
    if (!v || json_is_null(v)) return 0;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, key);
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n < 2 || n > BK_MAX_DIMS + 1) {
        *st = bk_json_error_at(doc, kp, BK_ERR_INVALID,
                               "expected [null, dims...] with 1 to %d dims", BK_MAX_DIMS);
        return 0;
    }
    out->ndim = (int)n - 1;
    for (size_t i = 1; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (json_is_null(e) && i + 1 < n) {
            out->dims[i - 1] = -1; /* fixed when the data arrive */
            continue;
        }
        if (json_is_null(e)) {
            *st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "the channel dimension (the last) is null; it decides the "
                                   "shapes of the weights, so give it (e.g. [null, null, null, 3])");
            return 0;
        }
        if (!json_is_integer(e) || json_integer_value(e) <= 0) {
            *st = bk_json_error_at(doc, kp, BK_ERR_INVALID,
                                   "dimension %zu must be a positive integer or null", i);
            return 0;
        }
        out->dims[i - 1] = json_integer_value(e);
    }
    return 1;
}

/* Collects the names of a layer's inputs from inbound_nodes. */
static bk_status inbound_names(build_ctx *c, json_t *layer, const char *path, const char **names, int *n)
{
    char ip[1024];
    bk_json_child_path(ip, sizeof ip, path, "inbound_nodes");
    json_t *inb = json_object_get(layer, "inbound_nodes");
    *n = 0;
    if (!inb || !json_is_array(inb) || json_array_size(inb) == 0) return BK_OK;
    if (json_array_size(inb) > 1)
        return bk_json_error_at(c->doc, ip, BK_ERR_UNSUPPORTED,
                                "a layer called more than once (shared weights) is not supported");
    json_t *node = json_array_get(inb, 0);
    if (json_is_array(node)) { /* Keras 2: [[name, node, tensor, kwargs], ...] */
        size_t i;
        json_t *t;
        json_array_foreach(node, i, t) {
            const char *nm = json_is_array(t) ? json_string_value(json_array_get(t, 0)) : NULL;
            if (!nm || *n == BK_MAX_INPUTS)
                return bk_json_error_at(c->doc, ip, BK_ERR_INVALID, "expected [[\"layer_name\", 0, 0, {}], ...]");
            names[(*n)++] = nm;
        }
        return BK_OK;
    }
    if (json_is_object(node)) { /* Keras 3: {"args": [tensor or [tensors]], "kwargs": {}} */
        json_t *args = json_object_get(node, "args");
        json_t *list = json_array_get(args, 0);
        if (json_is_object(list)) list = args;
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t) {
            json_t *hist = json_object_get(json_object_get(t, "config"), "keras_history");
            const char *nm = json_string_value(json_array_get(hist, 0));
            if (!nm || *n == BK_MAX_INPUTS)
                return bk_json_error_at(c->doc, ip, BK_ERR_INVALID, "cannot read the input tensors (keras_history)");
            names[(*n)++] = nm;
        }
        return BK_OK;
    }
    return bk_json_error_at(c->doc, ip, BK_ERR_INVALID, "unrecognised inbound_nodes format");
}

static bk_status unknown_class(build_ctx *c, const char *path, const char *cls)
{
    const char *names[256]; /* every registered class (about 70) */
    int n = bk_layer_class_names(names, 256);
    char cp[1024];
    bk_json_child_path(cp, sizeof cp, path, "class_name");
    return bk_json_unknown_name(c->doc, cp, BK_ERR_UNSUPPORTED, "(or unsupported) layer class", cls, names, n);
}

/* Registers node idx as the next model input and sets the shape it is
 * built with: the caller's shapes[k] (the data's), else the declared
 * batch_input_shape with its free dims set to free_size, else the hint. */
static bk_status add_input(build_ctx *c, int idx, int has_shape, const bk_shape *kshape, const char *cpath)
{
    bk_model *m = c->m;
    const bk_build_opts *o = c->o;
    bk_node *n = &m->nodes[idx];
    if (m->n_inputs == 8) return bk_error(BK_ERR_UNSUPPORTED, "more than 8 model inputs");
    int k = m->n_inputs++;
    m->inputs[k] = idx;
    bk_shape decl = has_shape ? bk_keras_to_internal(kshape) : (bk_shape){0};
    m->declared[k] = decl;
    const bk_shape *given = o->shapes && k < o->n_shapes && o->shapes[k].ndim ? &o->shapes[k] : NULL;
    char a[64], b[64];
    if (c->inputs_only) {
        n->out_shape = decl;
    } else if (given) {
        if (has_shape && (given->ndim != decl.ndim || given->dims[0] != decl.dims[0]))
            return bk_json_error_at(c->doc, cpath, BK_ERR_SHAPE, "input \"%s\" is declared %s (channels_last) but "
                                    "is to be built for %s: the rank and the channel count must stay", n->name,
                                    bk_input_size_str(&decl, a, sizeof a), bk_input_size_str(given, b, sizeof b));
        n->out_shape = *given;
    } else if (has_shape) {
        n->out_shape = decl;
        for (int i = 0; i < decl.ndim; i++) {
            if (decl.dims[i] >= 0) continue;
            if (o->free_size <= 0)
                return bk_json_error_at(c->doc, cpath, BK_ERR_INVALID, "input \"%s\" is %s: its size is free "
                                        "(null) and fixed by the data, and there are none here; give the sizes in "
                                        "batch_input_shape", n->name, bk_input_size_str(&decl, a, sizeof a));
            n->out_shape.dims[i] = o->free_size;
        }
    } else if (o->input_hint) {
        n->out_shape = *o->input_hint;
    } else if (n->hidden) {
        return bk_json_error_at(c->doc, cpath, BK_ERR_INVALID,
                                "the first layer needs \"batch_input_shape\" (or an InputLayer before it)");
    } else {
        return bk_json_error_at(c->doc, cpath, BK_ERR_INVALID,
                                "InputLayer needs \"batch_input_shape\" (Keras 2) or \"batch_shape\" (Keras 3)");
    }
    n->keras_rank = n->out_shape.ndim;
    return BK_OK;
}

static bk_status add_layer(build_ctx *c, json_t *layer, const char *path, int index, int sequential,
                           int *last)
{
    bk_model *m = c->m;
    if (!json_is_object(layer)) return bk_json_error_at(c->doc, path, BK_ERR_INVALID, "expected a layer object");
    const char *cls_name = json_string_value(json_object_get(layer, "class_name"));
    if (!cls_name) return bk_json_error_at(c->doc, path, BK_ERR_INVALID, "layer has no \"class_name\"");
    json_t *cfg = json_object_get(layer, "config");
    char cpath[1024];
    bk_json_child_path(cpath, sizeof cpath, path, "config");
    if (!json_is_object(cfg)) return bk_json_error_at(c->doc, path, BK_ERR_INVALID, "layer has no \"config\" object");
    const bk_layer_class *cls = bk_layer_class_find(cls_name);
    if (!cls) return unknown_class(c, path, cls_name);
    const char *name = json_string_value(json_object_get(layer, "name"));
    if (!name) name = json_string_value(json_object_get(cfg, "name"));
    char auto_name[64];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "layer_%d", index);
        name = auto_name;
    }
    if (lookup(c, name) >= 0)
        return bk_json_error_at(c->doc, path, BK_ERR_INVALID, "layer name \"%s\" is used twice; names must be unique", name);

    bk_shape kshape;
    bk_status st;
    int has_shape = read_batch_shape(c->doc, cfg, cpath, &kshape, &st);
    if (st) return st;

    const char *in_names[BK_MAX_INPUTS];
    int n_in = 0;
    st = inbound_names(c, layer, path, in_names, &n_in);
    if (st) return st;
    int is_input = cls == &bk_class_input;
    int implicit_input = n_in == 0 && !is_input && !(sequential && *last >= 0);
    if (implicit_input) {
        /* a first layer carrying batch_input_shape: give it an input node */
        char iname[BK_NAME_LEN + 8];
        snprintf(iname, sizeof iname, "%s_input", name);
        int in_idx = bk_model_add_node(m, iname, &bk_class_input);
        if (in_idx < 0) return BK_ERR_NOMEM;
        bk_node *inn = &m->nodes[in_idx];
        snprintf(inn->class_name, sizeof inn->class_name, "InputLayer");
        inn->hidden = 1;
        if ((st = add_input(c, in_idx, has_shape, &kshape, cpath))) return st;
        *last = in_idx;
    }
    if (c->inputs_only && !is_input) return BK_OK;

    int idx = bk_model_add_node(m, name, cls);
    if (idx < 0) return BK_ERR_NOMEM;
    bk_node *n = &m->nodes[idx];
    snprintf(n->class_name, sizeof n->class_name, "%s", cls_name);
    st = bk_json_get_bool(c->doc, cfg, cpath, "trainable", 1, &n->trainable);
    if (!st) st = cls->parse(n, c->doc, cfg, cpath);
    if (st) return bk_error_context(st, "layer \"%s\" (%s): ", name, cls_name);

    if (n_in == 0 && !is_input) {
        n->n_in = 1;
        n->in[0] = *last;
    }
    for (int i = 0; i < n_in; i++) {
        int src = lookup(c, in_names[i]);
        if (src < 0)
            return bk_json_error_at(c->doc, path, BK_ERR_INVALID,
                                    "layer \"%s\" takes input from \"%s\", which is not defined before it",
                                    name, in_names[i]);
        n->in[n->n_in++] = src;
    }
    if (is_input) {
        if ((st = add_input(c, idx, has_shape, &kshape, cpath))) return st;
        if (c->inputs_only) {
            *last = idx;
            return remember(c, name, idx);
        }
    } else {
        n->keras_rank = m->nodes[n->in[0]].keras_rank;
        st = cls->infer(n, m, bk_node_in_shape(m, n, 0));
        if (!st) st = bk_keras_weight_keys(m, &m->nodes[idx], c->doc, cfg, cpath);
        if (st) return bk_error_context(st, "%s%s", c->doc->file[0] ? c->doc->file : "", c->doc->file[0] ? ": " : "");
    }
    int out_idx = bk_add_activation_node(m, idx, m->nodes[idx].post_act, m->nodes[idx].post_alpha);
    if (out_idx < 0) return BK_ERR_NOMEM;
    if (out_idx != idx) {
        st = bk_class_act_internal.infer(&m->nodes[out_idx], m, &m->nodes[idx].out_shape);
        if (st) return st;
    }
    *last = out_idx;
    return remember(c, name, out_idx);
}

/* Reads the output layer names of a Functional config (Keras 2 or 3 form). */
static bk_status read_outputs(build_ctx *c, json_t *cfg, const char *path)
{
    bk_model *m = c->m;
    json_t *outs = json_object_get(cfg, "output_layers");
    if (!outs) return BK_OK;
    char op[1024];
    bk_json_child_path(op, sizeof op, path, "output_layers");
    /* Keras 3 writes a single output as ["name", 0, 0] */
    if (json_is_array(outs) && json_is_string(json_array_get(outs, 0))) {
        json_t *wrap = json_array();
        json_array_append(wrap, outs);
        outs = wrap;
    } else {
        json_incref(outs);
    }
    size_t i;
    json_t *o;
    bk_status st = BK_OK;
    m->n_outputs = 0;
    json_array_foreach(outs, i, o) {
        const char *nm = json_string_value(json_array_get(o, 0));
        int idx = nm ? lookup(c, nm) : -1;
        if (idx < 0) {
            st = bk_json_error_at(c->doc, op, BK_ERR_INVALID, "output layer \"%s\" is not a layer of the model",
                                  nm ? nm : "?");
            break;
        }
        if (m->n_outputs == 8) {
            st = bk_error(BK_ERR_UNSUPPORTED, "more than 8 model outputs");
            break;
        }
        m->outputs[m->n_outputs++] = idx;
    }
    json_decref(outs);
    return st;
}

/* Reads the network's layers into c->m (all of them, or its inputs only). */
static bk_status walk_layers(build_ctx *c, json_t *net, const char *path)
{
    bk_model *m = c->m;
    const bk_json_doc *doc = c->doc;
    json_t *layers = NULL, *cfg = NULL;
    char lpath[1024], cpath[1024];
    int sequential = 1;
    if (json_is_array(net)) {
        layers = net;
        snprintf(lpath, sizeof lpath, "%s", path);
    } else if (json_is_object(net)) {
        const char *cls = json_string_value(json_object_get(net, "class_name"));
        cfg = json_object_get(net, "config");
        bk_json_child_path(cpath, sizeof cpath, path, "config");
        if (!cls || !cfg)
            return bk_json_error_at(doc, path, BK_ERR_INVALID,
                                    "expected a Keras model (model.to_json(): {\"class_name\": ..., \"config\": ...})");
        if (!strcmp(cls, "Sequential")) sequential = 1;
        else if (!strcmp(cls, "Functional") || !strcmp(cls, "Model")) sequential = 0;
        else return bk_json_error_at(doc, path, BK_ERR_UNSUPPORTED,
                                     "model class \"%s\": expected Sequential, Functional or Model", cls);
        if (json_is_array(cfg)) {
            layers = cfg; /* very old Keras: config is the layer list */
            snprintf(lpath, sizeof lpath, "%s", cpath);
        } else {
            layers = json_object_get(cfg, "layers");
            bk_json_child_path(lpath, sizeof lpath, cpath, "layers");
            const char *nm = json_string_value(json_object_get(cfg, "name"));
            if (nm) snprintf(m->name, sizeof m->name, "%s", nm);
        }
    }
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return bk_json_error_at(doc, path, BK_ERR_INVALID, "the network has no layers");
    /* model.to_json() writes it at the top level; hard_sigmoid's slope depends on it */
    const char *kv = json_string_value(json_object_get(net, "keras_version"));
    if (kv) m->keras_major = atoi(kv);

    bk_status st = BK_OK;
    int last = -1;
    size_t i;
    json_t *layer;
    json_array_foreach(layers, i, layer) {
        char ip[1024];
        bk_json_index_path(ip, sizeof ip, lpath, i);
        st = add_layer(c, layer, ip, (int)i, sequential, &last);
        if (st) break;
    }
    if (c->inputs_only) return st;
    if (!st && !sequential && cfg && json_is_object(cfg)) st = read_outputs(c, cfg, cpath);
    if (!st && m->n_outputs == 0) m->outputs[m->n_outputs++] = last;
    return st;
}

static bk_status walk(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path, const bk_build_opts *o,
                      int inputs_only)
{
    memset(m, 0, sizeof *m);
    m->be = bk_backend_cpu();
    m->seed = o->seed;
    m->src_doc = doc;
    m->src_net = json_incref(net);
    snprintf(m->src_path, sizeof m->src_path, "%s", path);
    build_ctx c = {.m = m, .doc = doc, .o = o, .inputs_only = inputs_only};
    bk_status st = walk_layers(&c, net, path);
    for (int k = 0; k < c.n_names; k++) free(c.names[k]);
    free(c.names);
    free(c.node_of);
    return st;
}

bk_status bk_keras_inputs(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path)
{
    bk_build_opts o = {0};
    return walk(m, doc, net, path, &o, 1);
}

bk_status bk_build_keras(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path,
                         uint64_t seed, const bk_shape *input_hint)
{
    bk_build_opts o = {.seed = seed, .input_hint = input_hint};
    return bk_build_keras_opts(m, doc, net, path, &o);
}

bk_status bk_build_keras_opts(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path,
                              const bk_build_opts *o)
{
    bk_status st = walk(m, doc, net, path, o, 0);
    if (st) return st;

    /* gradients flow only where something upstream or here is trainable */
    for (int k = 0; k < m->n_nodes; k++) {
        bk_node *n = &m->nodes[k];
        for (int p = 0; p < n->n_params; p++) {
            bk_param *pp = bk_node_p(m, n, p);
            if (!pp->is_buffer && !pp->frozen) n->needs_grad = 1;
        }
        for (int p = 0; p < n->n_in; p++)
            if (m->nodes[n->in[p]].needs_grad) n->needs_grad = 1;
    }
    st = bk_model_layout(m);
    if (st || o->shapes_only) return st;
    st = bk_model_alloc_params(m);
    if (st) return st;
    for (int k = 0; k < m->n_nodes; k++) {
        bk_node *n = &m->nodes[k];
        if (!n->cls->init) continue;
        bk_rng r;
        bk_node_rng(m, n, 0x1A17u, &r);
        n->cls->init(n, m, &r);
    }
    /* initializers wrote PyTorch's layout */
    return bk_model_flat_from_plain(m, m->param_data);
}
