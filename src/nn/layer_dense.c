/* Dense (Keras) as three matrix products (backend matmul, plans cached per
 * batch size): y[N, units] = x[N, in] @ w[units, in]^T + b[units],
 * dw = dy^T @ x, dx = dy @ w. */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    int64_t units;
    int use_bias;
    bk_init kinit, binit;
    bk_plan_cache plans[3]; /* DENSE_FWD, DENSE_DW, DENSE_DX */
} dense_st;

enum { DENSE_FWD, DENSE_DW, DENSE_DX };

static bk_status dense_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    dense_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    bk_status st = bk_json_get_int(doc, cfg, path, "units", 0, &s->units);
    if (!st && s->units <= 0) {
        char up[1024];
        bk_json_child_path(up, sizeof up, path, "units");
        st = bk_json_error_at(doc, up, BK_ERR_INVALID, "units must be a positive integer");
    }
    if (!st) st = bk_json_get_bool(doc, cfg, path, "use_bias", 1, &s->use_bias);
    if (!st) st = bk_init_parse(doc, cfg, path, "kernel_initializer", &bk_init_glorot_uniform, &s->kinit);
    if (!st) st = bk_init_parse(doc, cfg, path, "bias_initializer", &bk_init_zeros, &s->binit);
    if (!st) st = bk_cfg_activation(doc, cfg, path, "activation", &n->post_act, &n->post_alpha);
    return st;
}

static bk_status dense_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    n->backward_ignores_out = 1; /* backward reads the input and the gradient */
    dense_st *s = n->st;
    if (in->ndim != 1) {
        char b[64];
        bk_shape k = bk_internal_to_keras(in);
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": Dense takes a flat input, got shape %s; put a Flatten layer before it",
                        n->name, bk_shape_str(&k, b, sizeof b));
    }
    n->out_shape = (bk_shape){.ndim = 1, .dims = {s->units}};
    bk_shape w = {.ndim = 2, .dims = {s->units, in->dims[0]}};
    if (bk_node_param(m, n, "weight", &w, 0) < 0) return BK_ERR_NOMEM;
    if (s->use_bias) {
        bk_shape b = {.ndim = 1, .dims = {s->units}};
        if (bk_node_param(m, n, "bias", &b, 0) < 0) return BK_ERR_NOMEM;
    }
    return BK_OK;
}

static void dense_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    dense_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    bk_fans f = {(double)w->shape.dims[1], (double)s->units};
    bk_init_fill(&s->kinit, w->data, bk_shape_numel(&w->shape), f, rng);
    if (s->use_bias) bk_init_fill(&s->binit, bk_node_p(m, n, 1)->data, s->units, f, rng);
}

static bk_status dense_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    dense_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    int64_t in = w->shape.dims[1], N = m->batch, u = s->units;
    bk_matmul_desc d = {1, N, u, in, 0, 1, in, in, u, 0, 0, 0, s->use_bias};
    return bk_matmul_cached(&s->plans[DENSE_FWD], m, &d, bk_node_in(m, n, 0), w->data,
                            s->use_bias ? bk_node_p(m, n, 1)->data : NULL, n->out);
}

static bk_status dense_backward(bk_node *n, bk_model *m)
{
    dense_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    int64_t in = w->shape.dims[1], N = m->batch, u = s->units;
    const float *dy = n->grad;
    bk_status st;
    if (!w->frozen) {
        bk_matmul_desc d = {1, u, in, N, 1, 0, u, in, in, 0, 0, 0, 0};
        if ((st = bk_matmul_cached(&s->plans[DENSE_DW], m, &d, dy, bk_node_in(m, n, 0), NULL, w->grad))) return st;
        if (s->use_bias) {
            float *db = bk_node_p(m, n, 1)->grad;
            memset(db, 0, (size_t)u * sizeof(float));
            for (int64_t r = 0; r < N; r++)
                for (int64_t o = 0; o < u; o++) db[o] += dy[r * u + o];
        }
    }
    float *dx = bk_grad_dst(m, n, 0);
    if (dx) {
        bk_matmul_desc d = {1, N, in, u, 0, 0, u, in, in, 0, 0, 0, 0};
        if ((st = bk_matmul_cached(&s->plans[DENSE_DX], m, &d, dy, w->data, NULL, dx))) return st;
        bk_grad_commit(m, n, 0);
    }
    return BK_OK;
}

static void dense_release(bk_node *n, bk_model *m)
{
    dense_st *s = n->st;
    if (s)
        for (int i = 0; i < 3; i++) bk_plan_cache_clear(&s->plans[i], m->be);
    free(n->st);
    n->st = NULL;
}

const bk_layer_class bk_class_dense = {"Dense", dense_parse, dense_infer, dense_init, dense_forward, dense_backward, dense_release};
