/* The Keras Softmax layer over any axis or list of axes (Keras axes count
 * the batch axis as 0 and the channels-last tensor's order). Internally a
 * sample is channel-first, so Keras axis -1 is internal axis 0 and Keras
 * axis a < rank is internal axis a. When the reduced internal axes are
 * adjacent, the data already is [outer, reduced, inner] and goes straight
 * to the backend's softmax; otherwise the kept axes are gathered in front
 * of the reduced ones first (and the result scattered back). */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    int n_axes;
    int64_t axes[BK_MAX_DIMS];   /* Keras axes as given */
    int reduce[BK_MAX_DIMS];     /* internal axis d is reduced */
    int64_t outer, len, inner;   /* per sample */
    int32_t *gather;             /* permuted i <- internal gather[i]; NULL when adjacent */
    float *px, *py, *pg;         /* permuted input, output and gradient, [batch, numel] */
    int64_t cap_rows;
    bk_plan_cache plans;
} sm_st;

static bk_status softmax_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    sm_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    char ap[1024];
    bk_json_child_path(ap, sizeof ap, path, "axis");
    json_t *a = json_object_get(cfg, "axis");
    if (!a || json_is_null(a)) {
        s->n_axes = 1;
        s->axes[0] = -1;
    } else if (json_is_integer(a)) {
        s->n_axes = 1;
        s->axes[0] = json_integer_value(a);
    } else if (json_is_array(a) && json_array_size(a) >= 1 && json_array_size(a) <= BK_MAX_DIMS) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *e = json_array_get(a, i);
            if (!json_is_integer(e)) return bk_json_error_at(doc, ap, BK_ERR_INVALID, "element %zu is not an integer", i);
            s->axes[s->n_axes++] = json_integer_value(e);
        }
    } else {
        return bk_json_error_at(doc, ap, BK_ERR_INVALID, "expected an integer or a list of integers");
    }
    return BK_OK;
}

static bk_status softmax_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    sm_st *s = n->st;
    int r = in->ndim;
    memset(s->reduce, 0, sizeof s->reduce);
    for (int i = 0; i < s->n_axes; i++) {
        int64_t a = s->axes[i] < 0 ? s->axes[i] + r + 1 : s->axes[i];
        if (a < 1 || a > r)
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": softmax axis %lld is out of range for a tensor of rank %d "
                            "(axis 0 is the batch)", n->name, (long long)s->axes[i], r + 1);
        s->reduce[(a == r || r < 2) ? 0 : a] = 1;
    }
    n->out_shape = *in;
    int lo = -1, hi = -1, adjacent = 1;
    for (int d = 0; d < r; d++)
        if (s->reduce[d]) {
            if (lo < 0) lo = d;
            else if (d != hi + 1) adjacent = 0;
            hi = d;
        }
    s->outer = s->len = s->inner = 1;
    if (adjacent) {
        for (int d = 0; d < r; d++) *(d < lo ? &s->outer : d > hi ? &s->inner : &s->len) *= in->dims[d];
        return BK_OK;
    }
    /* kept axes first, then the reduced ones, each group in internal order */
    bk_shape perm = {.ndim = r};
    int order[BK_MAX_DIMS], k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < r; d++)
            if (s->reduce[d] == pass) {
                order[k] = d;
                perm.dims[k++] = in->dims[d];
                *(pass ? &s->len : &s->outer) *= in->dims[d];
            }
    int64_t count = bk_shape_numel(in);
    s->gather = malloc((size_t)count * sizeof *s->gather);
    if (!s->gather) return bk_error(BK_ERR_NOMEM, "out of memory");
    int64_t stride[BK_MAX_DIMS];
    stride[r - 1] = 1;
    for (int d = r - 2; d >= 0; d--) stride[d] = stride[d + 1] * in->dims[d + 1];
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, src = 0;
        for (int j = r - 1; j >= 0; j--) {
            src += (rest % perm.dims[j]) * stride[order[j]];
            rest /= perm.dims[j];
        }
        s->gather[i] = (int32_t)src;
    }
    return BK_OK;
}

static bk_status sm_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    sm_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    /* the buffers first: a cached plan implies buffers for its batch */
    if (s->gather && m->batch > s->cap_rows) {
        int64_t count = m->batch * bk_shape_numel(&n->out_shape);
        float **bufs[] = {&s->px, &s->py, &s->pg};
        for (int i = 0; i < 3; i++) {
            free(*bufs[i]);
            *bufs[i] = malloc((size_t)count * sizeof(float));
            if (!*bufs[i]) return bk_error(BK_ERR_NOMEM, "out of memory");
        }
        s->cap_rows = m->batch;
    }
    bk_status st = m->be->softmax_plan(p, m->batch * s->outer, s->len, s->inner, 0);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static void permute(const sm_st *s, const float *src, float *dst, int64_t batch, int64_t per, int scatter)
{
#pragma omp parallel for if (batch * per > 65536)
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < per; i++) {
            if (scatter) dst[b * per + s->gather[i]] = src[b * per + i];
            else dst[b * per + i] = src[b * per + s->gather[i]];
        }
}

static bk_status softmax_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    sm_st *s = n->st;
    bk_plan *p;
    bk_status st = sm_plan(n, m, &p);
    if (st) return st;
    const float *x = bk_node_in(m, n, 0);
    if (!s->gather) return m->be->softmax_forward(p, x, n->out);
    int64_t per = bk_shape_numel(&n->out_shape);
    permute(s, x, s->px, m->batch, per, 0);
    st = m->be->softmax_forward(p, s->px, s->py);
    if (!st) permute(s, s->py, n->out, m->batch, per, 1);
    return st;
}

static bk_status softmax_backward(bk_node *n, bk_model *m)
{
    sm_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    bk_plan *p;
    bk_status st = sm_plan(n, m, &p);
    if (st) return st;
    if (!s->gather) {
        st = m->be->softmax_backward(p, n->out, n->grad, dx);
    } else {
        /* py still holds the permuted output of the forward */
        int64_t per = bk_shape_numel(&n->out_shape);
        permute(s, n->grad, s->px, m->batch, per, 0);
        st = m->be->softmax_backward(p, s->py, s->px, s->pg);
        if (!st) permute(s, s->pg, dx, m->batch, per, 1);
    }
    if (!st) bk_grad_commit(m, n, 0);
    return st;
}

static void softmax_release(bk_node *n, bk_model *m)
{
    sm_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s->gather);
    free(s->px);
    free(s->py);
    free(s->pg);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_softmax = {"Softmax", softmax_parse, softmax_infer, NULL, softmax_forward, softmax_backward, softmax_release};
