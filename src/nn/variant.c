/* Variants: one network built at several input sizes, every build pointing
 * at the parameter buffers of the first, so there is one set of weights
 * (see graph.h). The network is built again from its JSON rather than
 * copied node by node: each layer's infer and state (plans, gathers) then
 * follow the new shapes exactly as a fresh build would, and the checks
 * below make sure that sharing the buffers means the same weights. */
#include <stdlib.h>
#include <string.h>
#include "builder.h"
#include "layer_util.h"
#include "variant.h"

struct bk_variant_cache {
    bk_model *m[BK_VARIANT_SLOTS];
    uint64_t used[BK_VARIANT_SLOTS]; /* tick of the last lookup that returned it */
    uint64_t tick;
};

char *bk_input_size_str(const bk_shape *s, char *buf, size_t n)
{
    bk_shape k = bk_internal_to_keras(s);
    size_t len = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < k.ndim && len < n; i++) {
        if (k.dims[i] < 0) len += (size_t)snprintf(buf + len, n - len, "%sNone", i ? "x" : "");
        else len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "x" : "", (long long)k.dims[i]);
    }
    if (!k.ndim) snprintf(buf, n, "a scalar");
    return buf;
}

/* The input sizes of shapes[0..n) as "64x48x3" or "64x48x3, 10" (several inputs). */
static char *sizes_str(const bk_shape *shapes, int n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (int k = 0; k < n && at < len; k++) {
        char one[96];
        at += (size_t)snprintf(buf + at, len - at, "%s%s", k ? ", " : "", bk_input_size_str(&shapes[k], one, sizeof one));
    }
    return buf;
}

static void input_shapes(const bk_model *m, bk_shape *out)
{
    for (int k = 0; k < m->n_inputs; k++) out[k] = m->nodes[m->inputs[k]].out_shape;
}

int bk_model_param_diff(const bk_model *a, const bk_model *b)
{
    if (a->n_params != b->n_params) return -2;
    for (int k = 0; k < a->n_params; k++) {
        const bk_param *pa = &a->params[k], *pb = &b->params[k];
        if (strcmp(pa->name, pb->name) || pa->is_buffer != pb->is_buffer) return -2;
        if (!bk_shape_equal(&pa->shape, &pb->shape) || pa->block != pb->block || pa->offset != pb->offset) return k;
    }
    return -1;
}

/* The same nodes in the same places: the run's references to nodes by
 * index (outputs, heads) hold in both. */
static int same_structure(const bk_model *a, const bk_model *b)
{
    if (a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) return 0;
    for (int k = 0; k < a->n_inputs; k++)
        if (a->inputs[k] != b->inputs[k]) return 0;
    for (int k = 0; k < a->n_outputs; k++)
        if (a->outputs[k] != b->outputs[k]) return 0;
    for (int i = 0; i < a->n_nodes; i++)
        if (strcmp(a->nodes[i].name, b->nodes[i].name) || a->nodes[i].n_params != b->nodes[i].n_params) return 0;
    return 1;
}

bk_status bk_model_variant(bk_model *v, bk_model *from, const bk_shape *shapes)
{
    char want[256], have[256], a[64], b[64];
    bk_shape own[8];
    memset(v, 0, sizeof *v);
    input_shapes(from, own);
    sizes_str(shapes, from->n_inputs, want, sizeof want);
    sizes_str(own, from->n_inputs, have, sizeof have);
    if (!from->src_net || !from->param_data)
        return bk_error(BK_ERR_INVALID, "model \"%s\" has no %s, so it has no variants", from->name,
                        from->src_net ? "parameter buffers (it was built for its shapes only)" : "Keras network to build again");
    bk_build_opts o = {.seed = from->seed, .shapes = shapes, .n_shapes = from->n_inputs, .shapes_only = 1};
    bk_status st = bk_build_keras_opts(v, from->src_doc, from->src_net, from->src_path, &o);
    if (st) return bk_error_context(st, "building the model for input size %s (its weights are for %s): ", want, have);
    int k = bk_model_param_diff(v, from);
    if (k == -2 || !same_structure(v, from))
        return bk_error(BK_ERR_INTERNAL, "the model built for input size %s has other layers or parameters than at "
                        "%s; its weights cannot be shared", want, have);
    if (k >= 0) {
        const bk_param *pv = &v->params[k], *pm = &from->params[k];
        const bk_node *n = &v->nodes[pv->node];
        if (!bk_shape_equal(&pv->shape, &pm->shape))
            return bk_error(BK_ERR_SHAPE, "layer \"%s\" (%s): its weights %s would be %s at input size %s but are %s "
                            "at %s, the size the model was built for; a layer whose weights depend on the input size "
                            "(as Dense after Flatten) runs at that size only: give data of size %s (crop or resize), "
                            "or make the network size-independent (e.g. GlobalAveragePooling instead of Flatten)",
                            n->name, n->class_name, pv->name, bk_shape_str(&pv->shape, a, sizeof a), want,
                            bk_shape_str(&pm->shape, b, sizeof b), have, have);
        return bk_error(BK_ERR_INTERNAL, "layer \"%s\" (%s): its weights %s would be stored in another layout at input "
                        "size %s (channel block %d) than at %s (block %d); they cannot be shared", n->name,
                        n->class_name, pv->name, want, pv->block, have, pm->block);
    }
    v->param_data = from->param_data;
    v->param_grad = from->param_grad;
    v->shares_params = 1;
    for (int i = 0; i < v->n_params; i++) {
        v->params[i].data = v->param_data + v->params[i].offset;
        v->params[i].grad = v->param_grad + v->params[i].offset;
    }
    v->step = from->step;
    return BK_OK;
}

static int has_shapes(const bk_model *m, const bk_shape *shapes)
{
    for (int k = 0; k < m->n_inputs; k++)
        if (!bk_shape_equal(&m->nodes[m->inputs[k]].out_shape, &shapes[k])) return 0;
    return 1;
}

bk_status bk_model_at_shapes(bk_model *m, const bk_shape *shapes, bk_model **out)
{
    *out = NULL;
    if (has_shapes(m, shapes)) {
        *out = m;
        return BK_OK;
    }
    if (!m->variants && !(m->variants = calloc(1, sizeof *m->variants)))
        return bk_error(BK_ERR_NOMEM, "out of memory");
    struct bk_variant_cache *c = m->variants;
    int slot = 0;
    for (int s = 0; s < BK_VARIANT_SLOTS; s++) {
        if (c->m[s] && has_shapes(c->m[s], shapes)) {
            c->used[s] = ++c->tick;
            *out = c->m[s];
            return BK_OK;
        }
        /* an empty slot, else the least recently used */
        if (c->m[slot] && (!c->m[s] || c->used[s] < c->used[slot])) slot = s;
    }
    bk_model *v = calloc(1, sizeof *v);
    if (!v) return bk_error(BK_ERR_NOMEM, "out of memory");
    bk_status st = bk_model_variant(v, m, shapes);
    if (st) {
        bk_model_free(v);
        free(v);
        return st;
    }
    if (c->m[slot]) {
        bk_model_free(c->m[slot]);
        free(c->m[slot]);
    }
    c->m[slot] = v;
    c->used[slot] = ++c->tick;
    *out = v;
    return BK_OK;
}

void bk_variants_free(bk_model *m)
{
    struct bk_variant_cache *c = m->variants;
    if (!c) return;
    for (int s = 0; s < BK_VARIANT_SLOTS; s++) {
        if (!c->m[s]) continue;
        bk_model_free(c->m[s]);
        free(c->m[s]);
    }
    free(c);
    m->variants = NULL;
}
