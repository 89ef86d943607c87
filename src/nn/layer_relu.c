/* Keras ReLU (negative_slope, threshold, max_value) and PReLU.
 *
 * ReLU follows keras.activations.relu term by term:
 *   pos = x > threshold ? x : 0        (relu(x) when threshold is 0)
 *   pos = clip(pos, 0, max_value)      (when max_value is set)
 *   y   = pos - slope * relu(threshold - x)
 * so below the threshold y = slope * (x - threshold), and max_value caps
 * only the positive part.
 *
 * PReLU: y = x for x >= 0, alpha * x below, with one alpha per element of
 * the Keras input shape except along shared_axes (size 1 there); the
 * parameter is stored channel-first like the activations (Keras alpha
 * (H, W, C) -> (C, H, W)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "init.h"
#include "layer_util.h"

typedef struct {
    float slope, threshold, max_value;
    int has_max;
} relu_st;

static bk_status relu_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    relu_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    double slope, thr, mv = 0;
    bk_status st = bk_json_get_double(doc, cfg, path, "negative_slope", 0.0, &slope);
    if (!st) st = bk_json_get_double(doc, cfg, path, "threshold", 0.0, &thr);
    json_t *v = json_object_get(cfg, "max_value");
    s->has_max = v && !json_is_null(v);
    if (!st && s->has_max) st = bk_json_get_double(doc, cfg, path, "max_value", 0.0, &mv);
    if (st) return st;
    char kp[1024];
    if (s->has_max && mv < 0) {
        bk_json_child_path(kp, sizeof kp, path, "max_value");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "max_value %g must be >= 0 (or null)", mv);
    }
    if (slope < 0) {
        bk_json_child_path(kp, sizeof kp, path, "negative_slope");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "negative_slope %g must be >= 0", slope);
    }
    s->slope = (float)slope;
    s->threshold = (float)thr;
    s->max_value = (float)mv;
    return BK_OK;
}

static bk_status relu_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    n->out_shape = *in;
    n->layout_role = BK_LAYOUT_FOLLOW; /* element-wise */
    return BK_OK;
}

static bk_status relu_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    const relu_st *s = n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    const float *x = bk_node_in(m, n, 0);
    float *y = n->out;
#pragma omp parallel for if (count > 65536)
    for (int64_t k = 0; k < count; k++) {
        float v = x[k], pos = v > s->threshold ? v : 0.0f;
        if (s->has_max) pos = pos < 0 ? 0 : pos > s->max_value ? s->max_value : pos;
        y[k] = pos - (v < s->threshold ? s->slope * (s->threshold - v) : 0.0f);
    }
    return BK_OK;
}

static bk_status relu_backward(bk_node *n, bk_model *m)
{
    const relu_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    const float *x = bk_node_in(m, n, 0), *g = n->grad;
#pragma omp parallel for if (count > 65536)
    for (int64_t k = 0; k < count; k++) {
        float v = x[k], d = 0.0f;
        /* the clip passes the gradient strictly inside (0, max_value), as relu6 */
        if (v > s->threshold && (!s->has_max || (v > 0 && v < s->max_value))) d = 1.0f;
        if (v < s->threshold) d += s->slope;
        dx[k] = d * g[k];
    }
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void free_release(bk_node *n, bk_model *m)
{
    (void)m;
    free(n->st);
    n->st = NULL;
}

const bk_layer_class bk_class_relu = {"ReLU", relu_parse, relu_infer, NULL, relu_forward, relu_backward, free_release};

/* ---- PReLU ---- */
typedef struct {
    bk_init init;
    int n_shared;
    int64_t shared[BK_MAX_DIMS];  /* Keras axes (batch = 0) */
    bk_shape keras_alpha;
    int32_t *aidx;                /* per sample element: its alpha */
} prelu_st;

static bk_status prelu_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    prelu_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    bk_status st = bk_init_parse(doc, cfg, path, "alpha_initializer", &bk_init_zeros, &s->init);
    if (st) return st;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, "shared_axes");
    json_t *v = json_object_get(cfg, "shared_axes");
    if (!v || json_is_null(v)) return BK_OK;
    if (json_is_integer(v)) {
        s->shared[s->n_shared++] = json_integer_value(v);
        return BK_OK;
    }
    if (!json_is_array(v) || json_array_size(v) > BK_MAX_DIMS)
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "expected null, an integer or a list of integers");
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e)) return bk_json_error_at(doc, kp, BK_ERR_INVALID, "element %zu is not an integer", i);
        s->shared[s->n_shared++] = json_integer_value(e);
    }
    return BK_OK;
}

static bk_status prelu_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    prelu_st *s = n->st;
    bk_shape ka = bk_internal_to_keras(in);
    for (int i = 0; i < s->n_shared; i++) {
        if (s->shared[i] < 1 || s->shared[i] > ka.ndim)
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": shared axis %lld is out of range 1..%d (axis 0 is the batch)",
                            n->name, (long long)s->shared[i], ka.ndim);
        ka.dims[s->shared[i] - 1] = 1;
    }
    s->keras_alpha = ka;
    bk_shape a = bk_keras_to_internal(&ka);
    n->out_shape = *in;
    if (bk_node_param(m, n, "weight", &a, 0) < 0) return BK_ERR_NOMEM;
    int64_t count = bk_shape_numel(in);
    s->aidx = malloc((size_t)count * sizeof *s->aidx);
    if (!s->aidx) return bk_error(BK_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, idx = 0, stride = 1;
        for (int d = in->ndim - 1; d >= 0; d--) {
            int64_t c = rest % in->dims[d];
            rest /= in->dims[d];
            if (a.dims[d] > 1) idx += c * stride;
            stride *= a.dims[d];
        }
        s->aidx[i] = (int32_t)idx;
    }
    return BK_OK;
}

static void prelu_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    prelu_st *s = n->st;
    bk_param *p = bk_node_p(m, n, 0);
    /* Keras' compute_fans of the alpha shape */
    const bk_shape *k = &s->keras_alpha;
    bk_fans f = {1, 1};
    if (k->ndim == 1) f.fan_in = f.fan_out = (double)k->dims[0];
    else if (k->ndim >= 2) {
        double rf = 1;
        for (int d = 0; d < k->ndim - 2; d++) rf *= (double)k->dims[d];
        f.fan_in = (double)k->dims[k->ndim - 2] * rf;
        f.fan_out = (double)k->dims[k->ndim - 1] * rf;
    }
    bk_init_fill(&s->init, p->data, bk_shape_numel(&p->shape), f, rng);
}

static bk_status prelu_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    const prelu_st *s = n->st;
    const float *a = bk_node_p(m, n, 0)->data, *x = bk_node_in(m, n, 0);
    int64_t per = bk_shape_numel(&n->out_shape);
#pragma omp parallel for if (m->batch * per > 65536)
    for (int64_t b = 0; b < m->batch; b++)
        for (int64_t i = 0; i < per; i++) {
            float v = x[b * per + i];
            n->out[b * per + i] = v >= 0 ? v : a[s->aidx[i]] * v;
        }
    return BK_OK;
}

static bk_status prelu_backward(bk_node *n, bk_model *m)
{
    const prelu_st *s = n->st;
    bk_param *p = bk_node_p(m, n, 0);
    const float *x = bk_node_in(m, n, 0), *g = n->grad;
    int64_t per = bk_shape_numel(&n->out_shape);
    if (!p->frozen) {
        memset(p->grad, 0, (size_t)bk_shape_numel(&p->shape) * sizeof(float));
        for (int64_t b = 0; b < m->batch; b++)
            for (int64_t i = 0; i < per; i++) {
                float v = x[b * per + i];
                if (v < 0) p->grad[s->aidx[i]] += g[b * per + i] * v;
            }
    }
    float *dx = bk_grad_dst(m, n, 0);
    if (dx) {
#pragma omp parallel for if (m->batch * per > 65536)
        for (int64_t b = 0; b < m->batch; b++)
            for (int64_t i = 0; i < per; i++)
                dx[b * per + i] = x[b * per + i] >= 0 ? g[b * per + i] : p->data[s->aidx[i]] * g[b * per + i];
        bk_grad_commit(m, n, 0);
    }
    return BK_OK;
}

static void prelu_release(bk_node *n, bk_model *m)
{
    (void)m;
    prelu_st *s = n->st;
    if (!s) return;
    free(s->aidx);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_prelu = {"PReLU", prelu_parse, prelu_infer, prelu_init, prelu_forward, prelu_backward, prelu_release};
