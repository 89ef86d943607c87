/* BatchNormalization (Keras) over the channel axis, through the backend.
 * Parameters: weight (gamma), bias (beta), running_mean, running_var.
 * Running statistics follow PyTorch (the parity oracle and the reference
 * CLI's engine): unbiased batch variance, momentum m meaning
 * running = m * running + (1 - m) * batch, with Keras' default m = 0.99.
 * A frozen layer ("trainable": false) always normalises with its running
 * statistics, as Keras does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    double momentum, eps;
    int center, scale;
    int64_t c, spatial;
    float *batch_mean, *batch_var, *ones, *zeros, *dummy;
    bk_init ginit, binit, minit, vinit;
    bk_plan_cache plans;
} bn_st;

static bk_status bn_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    bn_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    json_t *axis = json_object_get(cfg, "axis");
    if (axis) {
        json_int_t a = json_is_integer(axis) ? json_integer_value(axis)
                     : (json_is_array(axis) && json_array_size(axis) == 1 &&
                        json_is_integer(json_array_get(axis, 0))) ? json_integer_value(json_array_get(axis, 0))
                     : 0;
        if (a != -1 && a != 3 && a != 2 && a != 1 && a != 4) {
            char ap[1024];
            bk_json_child_path(ap, sizeof ap, path, "axis");
            return bk_json_error_at(doc, ap, BK_ERR_UNSUPPORTED, "only the channel axis (-1) is supported");
        }
        /* positive axes are checked against the input rank in infer */
    }
    bk_status st = bk_json_get_double(doc, cfg, path, "momentum", 0.99, &s->momentum);
    if (!st) st = bk_json_get_double(doc, cfg, path, "epsilon", 1e-3, &s->eps);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "center", 1, &s->center);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "scale", 1, &s->scale);
    if (!st) st = bk_init_parse(doc, cfg, path, "gamma_initializer", &bk_init_ones, &s->ginit);
    if (!st) st = bk_init_parse(doc, cfg, path, "beta_initializer", &bk_init_zeros, &s->binit);
    if (!st) st = bk_init_parse(doc, cfg, path, "moving_mean_initializer", &bk_init_zeros, &s->minit);
    if (!st) st = bk_init_parse(doc, cfg, path, "moving_variance_initializer", &bk_init_ones, &s->vinit);
    if (!st && axis && json_is_integer(axis) && json_integer_value(axis) > 0)
        n->keras_rank = -(int)json_integer_value(axis); /* remembered for infer's check */
    return st;
}

static bk_status bn_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    bn_st *s = n->st;
    if (n->keras_rank < 0 && -n->keras_rank != in->ndim)
        return bk_error(BK_ERR_UNSUPPORTED, "layer \"%s\": axis %d is not the channel axis of a rank-%d input; only the channel axis is supported",
                        n->name, -n->keras_rank, in->ndim + 1);
    s->c = in->dims[0];
    s->spatial = bk_shape_numel(in) / s->c;
    n->out_shape = *in;
    size_t bytes = (size_t)s->c * sizeof(float);
    s->batch_mean = calloc(1, bytes);
    s->batch_var = calloc(1, bytes);
    s->ones = malloc(bytes);
    s->zeros = calloc(1, bytes);
    s->dummy = calloc(2, bytes); /* sinks for the grads of absent gamma/beta */
    if (!s->batch_mean || !s->batch_var || !s->ones || !s->zeros || !s->dummy)
        return bk_error(BK_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < s->c; i++) s->ones[i] = 1.0f;
    bk_shape v = {.ndim = 1, .dims = {s->c}};
    if (s->scale && bk_node_param(m, n, "weight", &v, 0) < 0) return BK_ERR_NOMEM;
    if (s->center && bk_node_param(m, n, "bias", &v, 0) < 0) return BK_ERR_NOMEM;
    if (bk_node_param(m, n, "running_mean", &v, 1) < 0) return BK_ERR_NOMEM;
    if (bk_node_param(m, n, "running_var", &v, 1) < 0) return BK_ERR_NOMEM;
    return BK_OK;
}

/* Parameter slots depend on center/scale; these find them. */
static bk_param *p_gamma(bk_node *n, bk_model *m) { bn_st *s = n->st; return s->scale ? bk_node_p(m, n, 0) : NULL; }
static bk_param *p_beta(bk_node *n, bk_model *m) { bn_st *s = n->st; return s->center ? bk_node_p(m, n, s->scale) : NULL; }
static bk_param *p_mean(bk_node *n, bk_model *m) { return bk_node_p(m, n, n->n_params - 2); }
static bk_param *p_var(bk_node *n, bk_model *m) { return bk_node_p(m, n, n->n_params - 1); }

static void bn_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    bn_st *s = n->st;
    bk_fans f = {(double)s->c, (double)s->c};
    if (p_gamma(n, m)) bk_init_fill(&s->ginit, p_gamma(n, m)->data, s->c, f, rng);
    if (p_beta(n, m)) bk_init_fill(&s->binit, p_beta(n, m)->data, s->c, f, rng);
    bk_init_fill(&s->minit, p_mean(n, m)->data, s->c, f, rng);
    bk_init_fill(&s->vinit, p_var(n, m)->data, s->c, f, rng);
}

static bk_status bn_get_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    bn_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    bk_bn_desc d = {.n = m->batch, .c = s->c, .spatial = s->spatial, .eps = (float)s->eps};
    bk_status st = m->be->bn_plan(p, &d);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static bk_status bn_forward(bk_node *n, bk_model *m, int training)
{
    bn_st *s = n->st;
    bk_plan *p;
    bk_status st = bn_get_plan(n, m, &p);
    if (st) return st;
    const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
    const float *beta = p_beta(n, m) ? p_beta(n, m)->data : s->zeros;
    float *rm = p_mean(n, m)->data, *rv = p_var(n, m)->data;
    int use_batch = training && n->trainable;
    if (!use_batch) return m->be->bn_forward(p, 0, bk_node_in(m, n, 0), gamma, beta, rm, rv, n->out);
    st = m->be->bn_forward(p, 1, bk_node_in(m, n, 0), gamma, beta, s->batch_mean, s->batch_var, n->out);
    if (st) return st;
    double count = (double)(m->batch * s->spatial);
    double unbias = count > 1 ? count / (count - 1) : 1.0;
    float mom = (float)s->momentum;
    for (int64_t c = 0; c < s->c; c++) {
        rm[c] = mom * rm[c] + (1 - mom) * s->batch_mean[c];
        rv[c] = mom * rv[c] + (1 - mom) * (float)(s->batch_var[c] * unbias);
    }
    return BK_OK;
}

static bk_status bn_backward(bk_node *n, bk_model *m)
{
    bn_st *s = n->st;
    bk_plan *p;
    bk_status st = bn_get_plan(n, m, &p);
    if (st) return st;
    if (!n->trainable) {
        /* frozen: y = x * gamma / sqrt(var + eps) + beta with fixed statistics */
        float *dx = bk_grad_dst(m, n, 0);
        if (!dx) return BK_OK;
        const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
        const float *rv = p_var(n, m)->data;
        for (int64_t b = 0; b < m->batch; b++)
            for (int64_t c = 0; c < s->c; c++) {
                float k = gamma[c] / sqrtf(rv[c] + (float)s->eps);
                int64_t base = (b * s->c + c) * s->spatial;
                for (int64_t i = 0; i < s->spatial; i++) dx[base + i] = n->grad[base + i] * k;
            }
        bk_grad_commit(m, n, 0);
        return BK_OK;
    }
    float *dx = bk_grad_dst(m, n, 0);
    float *dxbuf = dx ? dx : m->scratch; /* oneDNN computes dx with the parameter grads */
    const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
    float *dgamma = p_gamma(n, m) ? p_gamma(n, m)->grad : s->dummy;
    float *dbeta = p_beta(n, m) ? p_beta(n, m)->grad : s->dummy + s->c;
    st = m->be->bn_backward(p, bk_node_in(m, n, 0), n->grad, gamma, s->batch_mean, s->batch_var,
                            dxbuf, dgamma, dbeta);
    if (st) return st;
    if (dx) bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void bn_release(bk_node *n, bk_model *m)
{
    bn_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s->batch_mean);
    free(s->batch_var);
    free(s->ones);
    free(s->zeros);
    free(s->dummy);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_batchnorm = {"BatchNormalization", bn_parse, bn_infer, bn_init, bn_forward, bn_backward, bn_release};
