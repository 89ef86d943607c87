/* Layers that only move elements: InputLayer, Flatten, Reshape, Dropout.
 * Flatten and Reshape follow Keras' element order (channels_last), so a
 * Dense after a Flatten sees features in the order a Keras model would;
 * the move is a precomputed gather index per shape. */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

/* ---- InputLayer: its output is filled by bk_model_forward. ---- */
static bk_status input_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    (void)n; (void)doc; (void)cfg; (void)path;
    return BK_OK; /* the builder reads batch_input_shape for every layer */
}
static bk_status input_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    n->out_shape = *in;
    return BK_OK;
}
const bk_layer_class bk_class_input = {"InputLayer", input_parse, input_infer, NULL, NULL, NULL, NULL};

/* ---- Flatten / Reshape ---- */
typedef struct {
    int is_flatten;
    bk_shape target;   /* Keras target_shape (may hold one -1) */
    int32_t *gather;   /* out[i] = in[gather[i]] within one sample */
    int identity;      /* gather[i] == i: the move is a copy (a reshape that keeps
                        * the channel axis, as (9, 9, 32) -> (81, 32)) */
} move_st;

static bk_status flatten_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    move_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->is_flatten = 1;
    int cf;
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (!st && cf) st = bk_error(BK_ERR_UNSUPPORTED, "%s: data_format channels_first is not supported", path);
    return st;
}

static bk_status reshape_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    move_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    char tp[1024];
    bk_json_child_path(tp, sizeof tp, path, "target_shape");
    json_t *t = json_object_get(cfg, "target_shape");
    if (!json_is_array(t) || json_array_size(t) < 1 || json_array_size(t) > BK_MAX_DIMS)
        return bk_json_error_at(doc, tp, BK_ERR_INVALID, "expected a list of 1 to %d integers", BK_MAX_DIMS);
    s->target.ndim = (int)json_array_size(t);
    int unknown = 0;
    for (int i = 0; i < s->target.ndim; i++) {
        json_t *e = json_array_get(t, (size_t)i);
        if (!json_is_integer(e) || (json_integer_value(e) <= 0 && json_integer_value(e) != -1))
            return bk_json_error_at(doc, tp, BK_ERR_INVALID, "element %d must be a positive integer or -1", i);
        s->target.dims[i] = json_integer_value(e);
        if (s->target.dims[i] == -1 && unknown++)
            return bk_json_error_at(doc, tp, BK_ERR_INVALID, "only one element may be -1");
    }
    return BK_OK;
}

/* Index of element i (internal order) in Keras order, for one sample. */
static int64_t keras_index(const bk_shape *s, int64_t i)
{
    if (s->ndim < 2) return i;
    int64_t c = s->dims[0], sp = bk_shape_numel(s) / c;
    return (i % sp) * c + i / sp;
}

static bk_status move_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    move_st *s = n->st;
    int64_t count = bk_shape_numel(in);
    bk_shape kout;
    if (s->is_flatten) {
        kout = (bk_shape){.ndim = 1, .dims = {count}};
    } else {
        kout = s->target;
        int64_t known = 1;
        int unknown_at = -1;
        for (int i = 0; i < kout.ndim; i++) {
            if (kout.dims[i] == -1) unknown_at = i;
            else known *= kout.dims[i];
        }
        if (unknown_at >= 0 && known > 0 && count % known == 0) kout.dims[unknown_at] = count / known;
        if (bk_shape_numel(&kout) != count) {
            char a[64], b[64];
            bk_shape kin = bk_internal_to_keras(in);
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": cannot reshape %s (%lld values) to target_shape %s",
                            n->name, bk_shape_str(&kin, a, sizeof a), (long long)count,
                            bk_shape_str(&s->target, b, sizeof b));
        }
    }
    n->out_shape = bk_keras_to_internal(&kout);
    n->keras_rank = kout.ndim;
    s->gather = malloc((size_t)count * sizeof *s->gather);
    if (!s->gather) return bk_error(BK_ERR_NOMEM, "out of memory");
    /* out internal i -> Keras flat index k (same in input and output) -> input internal j */
    int32_t *inv = malloc((size_t)count * sizeof *inv);
    if (!inv) return bk_error(BK_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < count; j++) inv[keras_index(in, j)] = (int32_t)j;
    s->identity = 1;
    for (int64_t i = 0; i < count; i++) {
        s->gather[i] = inv[keras_index(&n->out_shape, i)];
        s->identity &= s->gather[i] == i;
    }
    free(inv);
    /* a copy may share its input's buffer (graph.c), and its gradient the
     * input's gradient; backward reads neither */
    n->may_overwrite_input = s->identity;
    n->backward_copies = s->identity;
    return BK_OK;
}

static bk_status move_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    move_st *s = n->st;
    int64_t per = bk_shape_numel(&n->out_shape);
    const float *x = bk_node_in(m, n, 0);
    if (s->identity) {
        if (x != n->out) memcpy(n->out, x, sizeof(float) * (size_t)(m->batch * per));
        return BK_OK;
    }
#pragma omp parallel for if (m->batch * per > 65536)
    for (int64_t b = 0; b < m->batch; b++)
        for (int64_t i = 0; i < per; i++) n->out[b * per + i] = x[b * per + s->gather[i]];
    return BK_OK;
}

static bk_status move_backward(bk_node *n, bk_model *m)
{
    move_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    int64_t per = bk_shape_numel(&n->out_shape);
    if (s->identity) {
        if (dx != n->grad) memcpy(dx, n->grad, sizeof(float) * (size_t)(m->batch * per));
    } else {
#pragma omp parallel for if (m->batch * per > 65536)
        for (int64_t b = 0; b < m->batch; b++)
            for (int64_t i = 0; i < per; i++) dx[b * per + s->gather[i]] = n->grad[b * per + i];
    }
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void move_release(bk_node *n, bk_model *m)
{
    (void)m;
    move_st *s = n->st;
    if (!s) return;
    free(s->gather);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_flatten = {"Flatten", flatten_parse, move_infer, NULL, move_forward, move_backward, move_release};
const bk_layer_class bk_class_reshape = {"Reshape", reshape_parse, move_infer, NULL, move_forward, move_backward, move_release};

/* ---- Dropout: inverted dropout with a mask drawn from (seed, step, layer). ---- */
typedef struct {
    double rate;
    float *mask;
    int64_t mask_len;
} drop_st;

static bk_status dropout_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    drop_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    bk_status st = bk_json_get_double(doc, cfg, path, "rate", 0.5, &s->rate);
    if (!st && (s->rate < 0 || s->rate >= 1)) {
        char rp[1024];
        bk_json_child_path(rp, sizeof rp, path, "rate");
        st = bk_json_error_at(doc, rp, BK_ERR_INVALID, "rate %g must be in [0, 1)", s->rate);
    }
    return st;
}

static bk_status dropout_forward(bk_node *n, bk_model *m, int training)
{
    drop_st *s = n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    const float *x = bk_node_in(m, n, 0);
    if (!training || s->rate == 0) {
        memcpy(n->out, x, (size_t)count * sizeof(float));
        return BK_OK;
    }
    if (s->mask_len < count) {
        free(s->mask);
        s->mask = malloc((size_t)count * sizeof(float));
        if (!s->mask) return bk_error(BK_ERR_NOMEM, "out of memory for a dropout mask");
        s->mask_len = count;
    }
    bk_rng r;
    bk_node_rng(m, n, 0xD0u + m->step * 0x10000u, &r);
    /* rows before ours in the global batch: 2 draws per element */
    bk_rng_advance(&r, 2 * (uint64_t)m->row_offset * (uint64_t)bk_shape_numel(&n->out_shape));
    float keep = (float)(1.0 - s->rate), scale = 1.0f / keep;
    for (int64_t i = 0; i < count; i++) {
        s->mask[i] = bk_rng_uniform(&r) < keep ? scale : 0.0f;
        n->out[i] = x[i] * s->mask[i];
    }
    return BK_OK;
}

static bk_status dropout_backward(bk_node *n, bk_model *m)
{
    drop_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    if (s->rate == 0) memcpy(dx, n->grad, (size_t)count * sizeof(float));
    else
        for (int64_t i = 0; i < count; i++) dx[i] = n->grad[i] * s->mask[i];
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static bk_status same_shape_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    n->out_shape = *in;
    return BK_OK;
}

static void dropout_release(bk_node *n, bk_model *m)
{
    (void)m;
    drop_st *s = n->st;
    if (!s) return;
    free(s->mask);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_dropout = {"Dropout", dropout_parse, same_shape_infer, NULL, dropout_forward, dropout_backward, dropout_release};
