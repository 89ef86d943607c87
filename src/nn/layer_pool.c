/* Max/Average pooling 1D-3D through the backend, and global average and
 * max pooling (a mean or max over the spatial axes, written here: it is
 * one pass). */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    int nd, is_max, pad_mode;
    int64_t k[3], stride[3];
    bk_pool_desc desc;
    bk_plan_cache plans;
} pool_st;

static bk_status pool_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd, int is_max)
{
    pool_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->nd = nd;
    s->is_max = is_max;
    int cf;
    int64_t pad[3];
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (!st && cf) st = bk_error(BK_ERR_UNSUPPORTED, "%s: data_format channels_first is not supported", path);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "pool_size", nd, 2, s->k);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "strides", nd, 0, s->stride);
    if (!st) st = bk_cfg_padding(doc, cfg, path, nd, &s->pad_mode, pad);
    if (!st && s->pad_mode == 2) st = bk_error(BK_ERR_INVALID, "%s.padding: pooling takes \"valid\" or \"same\"", path);
    for (int i = 0; i < nd; i++)
        if (s->stride[i] <= 0) s->stride[i] = s->k[i]; /* Keras: strides default to pool_size */
    return st;
}

#define POOL_PARSE(fn, nd, mx) \
    static bk_status fn(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return pool_parse(n, d, c, p, nd, mx); }
POOL_PARSE(maxpool1_parse, 1, 1)
POOL_PARSE(maxpool2_parse, 2, 1)
POOL_PARSE(maxpool3_parse, 3, 1)
POOL_PARSE(avgpool1_parse, 1, 0)
POOL_PARSE(avgpool2_parse, 2, 0)
POOL_PARSE(avgpool3_parse, 3, 0)

static bk_status pool_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    pool_st *s = n->st;
    n->layout_role = BK_LAYOUT_FOLLOW;
    if (in->ndim != s->nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels, got rank %d",
                        n->name, s->nd, in->ndim);
    bk_pool_desc *d = &s->desc;
    d->nd = s->nd;
    d->c = in->dims[0];
    d->is_max = s->is_max;
    n->out_shape = *in;
    for (int i = 0; i < s->nd; i++) {
        d->in[i] = in->dims[1 + i];
        d->k[i] = s->k[i];
        d->stride[i] = s->stride[i];
        bk_status st = bk_conv_axis(d->in[i], s->k[i], s->stride[i], 1, s->pad_mode, 0, &d->out[i],
                                    &d->pad_l[i], &d->pad_r[i]);
        if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
        n->out_shape.dims[1 + i] = d->out[i];
    }
    return BK_OK;
}

static bk_status pool_get_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    pool_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    bk_pool_desc d = s->desc;
    d.n = m->batch;
    d.block = n->block;
    bk_status st = m->be->pool_plan(p, &d);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static bk_status pool_forward(bk_node *n, bk_model *m, int training)
{
    bk_plan *p;
    bk_status st = pool_get_plan(n, m, &p);
    if (st) return st;
    return m->be->pool_forward(p, bk_node_in(m, n, 0), n->out, training);
}

static bk_status pool_backward(bk_node *n, bk_model *m)
{
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    bk_plan *p;
    bk_status st = pool_get_plan(n, m, &p);
    if (!st) st = m->be->pool_backward(p, n->grad, dx);
    if (!st) bk_grad_commit(m, n, 0);
    return st;
}

static void pool_release(bk_node *n, bk_model *m)
{
    pool_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s);
    n->st = NULL;
}

#define POOL_CLASS(var, name, parse) \
    const bk_layer_class var = {name, parse, pool_infer, NULL, pool_forward, pool_backward, pool_release};
POOL_CLASS(bk_class_maxpool1d, "MaxPooling1D", maxpool1_parse)
POOL_CLASS(bk_class_maxpool2d, "MaxPooling2D", maxpool2_parse)
POOL_CLASS(bk_class_maxpool3d, "MaxPooling3D", maxpool3_parse)
POOL_CLASS(bk_class_avgpool1d, "AveragePooling1D", avgpool1_parse)
POOL_CLASS(bk_class_avgpool2d, "AveragePooling2D", avgpool2_parse)
POOL_CLASS(bk_class_avgpool3d, "AveragePooling3D", avgpool3_parse)

/* Global average / max pooling: [N, C, S...] -> [N, C] (or [N, C, 1...]
 * with keepdims). The max's gradient is shared equally by tied elements,
 * as TensorFlow's reduce_max (Keras' GlobalMaxPooling) does. */
typedef struct { int nd, keepdims, is_max; } gap_st;

static bk_status gap_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd, int is_max)
{
    gap_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->nd = nd;
    s->is_max = is_max;
    int cf;
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (!st && cf) st = bk_error(BK_ERR_UNSUPPORTED, "%s: data_format channels_first is not supported", path);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "keepdims", 0, &s->keepdims);
    return st;
}
#define GAP_PARSE(fn, nd, mx) \
    static bk_status fn(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return gap_parse(n, d, c, p, nd, mx); }
GAP_PARSE(gap1_parse, 1, 0)
GAP_PARSE(gap2_parse, 2, 0)
GAP_PARSE(gap3_parse, 3, 0)
GAP_PARSE(gmp1_parse, 1, 1)
GAP_PARSE(gmp2_parse, 2, 1)
GAP_PARSE(gmp3_parse, 3, 1)

static bk_status gap_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    gap_st *s = n->st;
    if (in->ndim != s->nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels, got rank %d",
                        n->name, s->nd, in->ndim);
    if (s->keepdims) {
        n->out_shape = *in;
        for (int i = 1; i < in->ndim; i++) n->out_shape.dims[i] = 1;
    } else {
        n->out_shape = (bk_shape){.ndim = 1, .dims = {in->dims[0]}};
    }
    return BK_OK;
}

static bk_status gap_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    const bk_shape *in = bk_node_in_shape(m, n, 0);
    int64_t rows = m->batch * in->dims[0], sp = bk_shape_numel(in) / in->dims[0];
    const float *x = bk_node_in(m, n, 0);
    const gap_st *s = n->st;
#pragma omp parallel for if (rows * sp > 65536)
    for (int64_t r = 0; r < rows; r++) {
        if (s->is_max) {
            float mx = x[r * sp];
            for (int64_t i = 1; i < sp; i++) mx = x[r * sp + i] > mx ? x[r * sp + i] : mx;
            n->out[r] = mx;
            continue;
        }
        double acc = 0;
        for (int64_t i = 0; i < sp; i++) acc += x[r * sp + i];
        n->out[r] = (float)(acc / (double)sp);
    }
    return BK_OK;
}

static bk_status gap_backward(bk_node *n, bk_model *m)
{
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    const bk_shape *in = bk_node_in_shape(m, n, 0);
    int64_t rows = m->batch * in->dims[0], sp = bk_shape_numel(in) / in->dims[0];
    float inv = 1.0f / (float)sp;
    const gap_st *s = n->st;
    const float *x = bk_node_in(m, n, 0);
#pragma omp parallel for if (rows * sp > 65536)
    for (int64_t r = 0; r < rows; r++) {
        if (s->is_max) {
            int64_t ties = 0;
            for (int64_t i = 0; i < sp; i++) ties += x[r * sp + i] == n->out[r];
            for (int64_t i = 0; i < sp; i++)
                dx[r * sp + i] = x[r * sp + i] == n->out[r] ? n->grad[r] / (float)ties : 0.0f;
            continue;
        }
        for (int64_t i = 0; i < sp; i++) dx[r * sp + i] = n->grad[r] * inv;
    }
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void gap_release(bk_node *n, bk_model *m)
{
    (void)m;
    free(n->st);
    n->st = NULL;
}

const bk_layer_class bk_class_gap1d = {"GlobalAveragePooling1D", gap1_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
const bk_layer_class bk_class_gap2d = {"GlobalAveragePooling2D", gap2_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
const bk_layer_class bk_class_gap3d = {"GlobalAveragePooling3D", gap3_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
const bk_layer_class bk_class_gmp1d = {"GlobalMaxPooling1D", gmp1_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
const bk_layer_class bk_class_gmp2d = {"GlobalMaxPooling2D", gmp2_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
const bk_layer_class bk_class_gmp3d = {"GlobalMaxPooling3D", gmp3_parse, gap_infer, NULL, gap_forward, gap_backward, gap_release};
