/* Concatenate (Keras merge layer; Add and the other element-wise merges:
 * layer_merge_ew.c). */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

/* Concatenate along one internal axis: rows are [outer, axis_i, inner]. */
typedef struct {
    int64_t keras_axis;
    int axis;          /* internal, per-sample */
} cat_st;

static bk_status cat_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    cat_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    return bk_json_get_int(doc, cfg, path, "axis", -1, &s->keras_axis);
}

static bk_status cat_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    cat_st *s = n->st;
    int r = in->ndim; /* Keras rank without batch */
    int64_t ka = s->keras_axis < 0 ? s->keras_axis + r + 1 : s->keras_axis; /* with batch */
    if (ka < 1 || ka > r)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": axis %lld is out of range for inputs of rank %d",
                        n->name, (long long)s->keras_axis, r + 1);
    /* Keras axis ka (1-based over [S..., C]) -> internal per-sample axis over [C, S...] */
    s->axis = (ka == r || r < 2) ? 0 : (int)ka;
    n->out_shape = *in;
    for (int i = 1; i < n->n_in; i++) {
        const bk_shape *o = bk_node_in_shape(m, n, i);
        int ok = o->ndim == r;
        for (int d = 0; ok && d < r; d++)
            if (d != s->axis && o->dims[d] != in->dims[d]) ok = 0;
        if (!ok) {
            char a[64], b[64];
            bk_shape ka0 = bk_internal_to_keras(in), kb = bk_internal_to_keras(o);
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": cannot concatenate %s (\"%s\") and %s (\"%s\") on axis %lld",
                            n->name, bk_shape_str(&ka0, a, sizeof a), m->nodes[n->in[0]].name,
                            bk_shape_str(&kb, b, sizeof b), m->nodes[n->in[i]].name, (long long)s->keras_axis);
        }
        n->out_shape.dims[s->axis] += o->dims[s->axis];
    }
    return BK_OK;
}

static void cat_geometry(bk_node *n, bk_model *m, int64_t *outer, int64_t *inner)
{
    cat_st *s = n->st;
    *outer = m->batch;
    for (int d = 0; d < s->axis; d++) *outer *= n->out_shape.dims[d];
    *inner = 1;
    for (int d = s->axis + 1; d < n->out_shape.ndim; d++) *inner *= n->out_shape.dims[d];
}

static bk_status cat_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    cat_st *s = n->st;
    int64_t outer, inner, out_row = n->out_shape.dims[s->axis];
    cat_geometry(n, m, &outer, &inner);
    int64_t off = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t len = bk_node_in_shape(m, n, i)->dims[s->axis] * inner;
        const float *x = bk_node_in(m, n, i);
        for (int64_t o = 0; o < outer; o++)
            memcpy(n->out + o * out_row * inner + off, x + o * len, (size_t)len * sizeof(float));
        off += len;
    }
    return BK_OK;
}

static bk_status cat_backward(bk_node *n, bk_model *m)
{
    cat_st *s = n->st;
    int64_t outer, inner, out_row = n->out_shape.dims[s->axis];
    cat_geometry(n, m, &outer, &inner);
    int64_t off = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t len = bk_node_in_shape(m, n, i)->dims[s->axis] * inner;
        float *dx = bk_grad_dst(m, n, i);
        if (dx) {
            for (int64_t o = 0; o < outer; o++)
                memcpy(dx + o * len, n->grad + o * out_row * inner + off, (size_t)len * sizeof(float));
            bk_grad_commit(m, n, i);
        }
        off += len;
    }
    return BK_OK;
}

static void cat_release(bk_node *n, bk_model *m)
{
    (void)m;
    free(n->st);
    n->st = NULL;
}

const bk_layer_class bk_class_concatenate = {"Concatenate", cat_parse, cat_infer, NULL, cat_forward, cat_backward, cat_release};
