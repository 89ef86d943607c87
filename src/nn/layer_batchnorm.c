/* BatchNormalization (Keras) over any axes. On the channel axis (Keras'
 * default -1) it runs through the backend (oneDNN); on other axes, or a
 * list of axes, through norm_core.h with statistics pooled over the batch
 * and every axis not listed.
 * Parameters: weight (gamma), bias (beta), running_mean, running_var,
 * shaped like the listed axes.
 * Running statistics follow PyTorch (the parity oracle and the reference
 * CLI's engine): unbiased batch variance, momentum m meaning
 * running = m * running + (1 - m) * batch, with Keras' default m = 0.99.
 * A frozen layer ("trainable": false) always normalises with its running
 * statistics, as Keras does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "batchnorm_sync.h"
#include "elem_map.h"
#include "layer_util.h"
#include "norm_core.h"

typedef struct {
    double momentum, eps;
    int center, scale;
    int64_t c, spatial;
    float *batch_mean, *batch_var, *ones, *zeros, *dummy;
    bk_init ginit, binit, minit, vinit;
    bk_plan_cache plans;
    int64_t axes[BK_MAX_DIMS];
    int n_axes;
    int generic;              /* not the channel axis: norm_core */
    double sync_count;        /* values per channel over the job (sync_batchnorm) */
    bk_norm core;
} bn_st;

static bk_status bn_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    bn_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    char ap[1024];
    bk_json_child_path(ap, sizeof ap, path, "axis");
    json_t *axis = json_object_get(cfg, "axis");
    s->n_axes = 1;
    s->axes[0] = -1;
    if (axis && json_is_integer(axis)) {
        s->axes[0] = json_integer_value(axis);
    } else if (axis && json_is_array(axis) && json_array_size(axis) >= 1 && json_array_size(axis) <= BK_MAX_DIMS) {
        s->n_axes = (int)json_array_size(axis);
        for (int i = 0; i < s->n_axes; i++) {
            if (!json_is_integer(json_array_get(axis, (size_t)i)))
                return bk_json_error_at(doc, ap, BK_ERR_INVALID, "element %d is not an integer", i);
            s->axes[i] = json_integer_value(json_array_get(axis, (size_t)i));
        }
    } else if (axis) {
        return bk_json_error_at(doc, ap, BK_ERR_INVALID, "expected an integer or a list of integers (-1: the channels)");
    }
    bk_status st = bk_json_get_double(doc, cfg, path, "momentum", 0.99, &s->momentum);
    if (!st) st = bk_json_get_double(doc, cfg, path, "epsilon", 1e-3, &s->eps);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "center", 1, &s->center);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "scale", 1, &s->scale);
    if (!st) st = bk_init_parse(doc, cfg, path, "gamma_initializer", &bk_init_ones, &s->ginit);
    if (!st) st = bk_init_parse(doc, cfg, path, "beta_initializer", &bk_init_zeros, &s->binit);
    if (!st) st = bk_init_parse(doc, cfg, path, "moving_mean_initializer", &bk_init_zeros, &s->minit);
    if (!st) st = bk_init_parse(doc, cfg, path, "moving_variance_initializer", &bk_init_ones, &s->vinit);
    return st;
}

static bk_status bn_declare_params(bk_node *n, bk_model *m, const bk_shape *v)
{
    bn_st *s = n->st;
    if (s->scale && bk_node_param(m, n, "weight", v, 0) < 0) return BK_ERR_NOMEM;
    if (s->center && bk_node_param(m, n, "bias", v, 0) < 0) return BK_ERR_NOMEM;
    if (bk_node_param(m, n, "running_mean", v, 1) < 0) return BK_ERR_NOMEM;
    if (bk_node_param(m, n, "running_var", v, 1) < 0) return BK_ERR_NOMEM;
    return BK_OK;
}

/* Sets up norm_core for axes other than the channel axis (mask: the
 * listed 0-based Keras axes); parameters are shaped like those axes. */
static bk_status bn_generic_setup(bk_node *n, bk_model *m, const bk_shape *in, const int *mask)
{
    bn_st *s = n->st;
    bk_shape k = bk_internal_to_keras(in);
    s->generic = 1;
    s->core.per_batch = 1;
    s->core.eps = s->eps;
    bk_status st = bk_norm_setup(&s->core, in, mask, mask, -1, 1);
    if (st) return st;
    s->c = s->core.n_param;
    n->out_shape = *in;
    bk_shape v = {.ndim = 0};
    for (int a = 0; a < k.ndim; a++)
        if (mask[a]) v.dims[v.ndim++] = k.dims[a];
    return bn_declare_params(n, m, &v);
}

static bk_status bn_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    n->backward_ignores_out = 1; /* backward reads the input and the gradient */
    bn_st *s = n->st;
    int r = in->ndim, mask[BK_MAX_DIMS] = {0};
    for (int i = 0; i < s->n_axes; i++) {
        int a = bk_keras_axis(s->axes[i], r);
        if (a < 0 || mask[a]) {
            char b[64];
            bk_shape k = bk_internal_to_keras(in);
            return bk_error(BK_ERR_INVALID, "layer \"%s\" (BatchNormalization): axis %lld is %s for its input %s; "
                            "use axes 1..%d (-1: the channels), each once", n->name, (long long)s->axes[i],
                            a < 0 ? "out of range" : "listed twice", bk_shape_str(&k, b, sizeof b), r);
        }
        mask[a] = 1;
    }
    if (!(s->n_axes == 1 && mask[r - 1])) return bn_generic_setup(n, m, in, mask);
    s->c = in->dims[0];
    s->spatial = bk_shape_numel(in) / s->c;
    n->out_shape = *in;
    n->layout_role = BK_LAYOUT_FOLLOW; /* the channel-axis case runs in oneDNN, in either layout */
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
    return bn_declare_params(n, m, &v);
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
    bk_bn_desc d = {.n = m->batch, .c = s->c, .spatial = s->spatial, .eps = (float)s->eps, .block = n->block};
    bk_status st = m->be->bn_plan(p, &d);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

/* Moves the running statistics towards the batch's (unbiased variance). */
static void bn_update_running(bn_st *s, bk_node *n, bk_model *m, const float *mean, const float *var, double count)
{
    float *rm = p_mean(n, m)->data, *rv = p_var(n, m)->data;
    double unbias = count > 1 ? count / (count - 1) : 1.0;
    float mom = (float)s->momentum;
    for (int64_t c = 0; c < s->c; c++) {
        rm[c] = mom * rm[c] + (1 - mom) * mean[c];
        rv[c] = mom * rv[c] + (1 - mom) * (float)(var[c] * unbias);
    }
}

static bk_status bn_generic_forward(bn_st *s, bk_node *n, bk_model *m, int use_batch)
{
    const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : NULL;
    const float *beta = p_beta(n, m) ? p_beta(n, m)->data : NULL;
    const float *x = bk_node_in(m, n, 0);
    if (!use_batch)
        return bk_norm_forward(&s->core, x, gamma, beta, p_mean(n, m)->data, p_var(n, m)->data, n->out, m->batch);
    bk_status st = bk_norm_forward(&s->core, x, gamma, beta, NULL, NULL, n->out, m->batch);
    if (!st) bn_update_running(s, n, m, s->core.mean, s->core.var, (double)(m->batch * s->core.per / s->c));
    return st;
}

static bk_bn_sync sync_desc(const bn_st *s, const bk_node *n, const bk_model *m)
{
    return (bk_bn_sync){.batch = m->batch, .c = s->c, .spatial = s->spatial, .block = n->block ? n->block : 1,
                        .eps = s->eps, .sum = m->sum_doubles};
}

static bk_status bn_forward(bk_node *n, bk_model *m, int training)
{
    bn_st *s = n->st;
    int sync = m->sum_doubles && training && n->trainable;
    if (sync && s->generic)
        return bk_error(BK_ERR_UNSUPPORTED, "layer \"%s\" (BatchNormalization): sync_batchnorm pools statistics over "
                        "the channel axis only, and this layer normalizes over other axes; turn sync_batchnorm off",
                        n->name);
    if (s->generic) return bn_generic_forward(s, n, m, training && n->trainable);
    bk_plan *p;
    bk_status st = bn_get_plan(n, m, &p);
    if (st) return st;
    const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
    const float *beta = p_beta(n, m) ? p_beta(n, m)->data : s->zeros;
    float *rm = p_mean(n, m)->data, *rv = p_var(n, m)->data;
    int use_batch = training && n->trainable;
    if (!use_batch) return m->be->bn_forward(p, 0, bk_node_in(m, n, 0), gamma, beta, rm, rv, n->out);
    if (sync) {
        /* the job's statistics, then normalize with them as given */
        bk_bn_sync d = sync_desc(s, n, m);
        st = bk_bn_sync_stats(&d, bk_node_in(m, n, 0), s->batch_mean, s->batch_var, &s->sync_count);
        if (!st) st = m->be->bn_forward(p, 0, bk_node_in(m, n, 0), gamma, beta, s->batch_mean, s->batch_var, n->out);
        if (!st) bn_update_running(s, n, m, s->batch_mean, s->batch_var, s->sync_count);
        return st;
    }
    st = m->be->bn_forward(p, 1, bk_node_in(m, n, 0), gamma, beta, s->batch_mean, s->batch_var, n->out);
    if (st) return st;
    bn_update_running(s, n, m, s->batch_mean, s->batch_var, (double)(m->batch * s->spatial));
    return BK_OK;
}

static bk_status bn_backward(bk_node *n, bk_model *m)
{
    bn_st *s = n->st;
    if (s->generic) {
        /* the statistics of the last forward: the batch's, or the running ones */
        float *dx = bk_grad_dst(m, n, 0);
        int pg = n->trainable; /* frozen parameters get no gradient */
        bk_norm_backward(&s->core, bk_node_in(m, n, 0), n->grad, p_gamma(n, m) ? p_gamma(n, m)->data : NULL, dx,
                         pg && p_gamma(n, m) ? p_gamma(n, m)->grad : NULL, pg && p_beta(n, m) ? p_beta(n, m)->grad : NULL,
                         m->batch);
        if (dx) bk_grad_commit(m, n, 0);
        return BK_OK;
    }
    bk_plan *p;
    bk_status st = bn_get_plan(n, m, &p);
    if (st) return st;
    if (!n->trainable) {
        /* frozen: y = x * gamma / sqrt(var + eps) + beta with fixed statistics */
        float *dx = bk_grad_dst(m, n, 0);
        if (!dx) return BK_OK;
        const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
        const float *rv = p_var(n, m)->data;
        /* plain is the block of 1: [batch][c / B][spatial][B] */
        int64_t B = n->block ? n->block : 1;
        for (int64_t b = 0; b < m->batch; b++)
            for (int64_t c = 0; c < s->c; c++) {
                float k = gamma[c] / sqrtf(rv[c] + (float)s->eps);
                int64_t base = (b * (s->c / B) + c / B) * s->spatial * B + c % B;
                for (int64_t i = 0; i < s->spatial; i++) dx[base + i * B] = n->grad[base + i * B] * k;
            }
        bk_grad_commit(m, n, 0);
        return BK_OK;
    }
    float *dx = bk_grad_dst(m, n, 0);
    float *dxbuf = dx ? dx : m->scratch; /* oneDNN computes dx with the parameter grads */
    const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
    float *dgamma = p_gamma(n, m) ? p_gamma(n, m)->grad : s->dummy;
    float *dbeta = p_beta(n, m) ? p_beta(n, m)->grad : s->dummy + s->c;
    if (m->sum_doubles) {
        bk_bn_sync d = sync_desc(s, n, m);
        st = bk_bn_sync_backward(&d, bk_node_in(m, n, 0), n->grad, gamma, s->batch_mean, s->batch_var, s->sync_count,
                                 dx, dgamma, dbeta);
        if (!st && dx) bk_grad_commit(m, n, 0);
        return st;
    }
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
    bk_norm_free(&s->core);
    free(s->batch_mean);
    free(s->batch_var);
    free(s->ones);
    free(s->zeros);
    free(s->dummy);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_batchnorm = {"BatchNormalization", bn_parse, bn_infer, bn_init, bn_forward, bn_backward, bn_release};

/* Mirrors, with zero rows, the sums bn_forward and bn_backward make in a
 * training pass: the same layers in the same order. */
bk_status bk_batchnorm_sync_idle(bk_model *m)
{
    if (!m->sum_doubles) return BK_OK;
    int64_t rows = m->batch;
    m->batch = 0;
    bk_status st = BK_OK;
    for (int i = 0; i < m->n_nodes && !st; i++) {
        bk_node *n = &m->nodes[i];
        bn_st *s = n->st;
        if (n->cls != &bk_class_batchnorm || !n->trainable || s->generic) continue;
        bk_bn_sync d = sync_desc(s, n, m);
        st = bk_bn_sync_stats(&d, NULL, s->batch_mean, s->batch_var, &s->sync_count);
        if (!st) bn_update_running(s, n, m, s->batch_mean, s->batch_var, s->sync_count);
    }
    for (int i = m->n_nodes - 1; i >= 0 && !st; i--) {
        bk_node *n = &m->nodes[i];
        bn_st *s = n->st;
        if (n->cls != &bk_class_batchnorm || !n->trainable || s->generic || !bk_node_runs_backward(m, n)) continue;
        bk_bn_sync d = sync_desc(s, n, m);
        float *dgamma = p_gamma(n, m) ? p_gamma(n, m)->grad : s->dummy;
        float *dbeta = p_beta(n, m) ? p_beta(n, m)->grad : s->dummy + s->c;
        const float *gamma = p_gamma(n, m) ? p_gamma(n, m)->data : s->ones;
        st = bk_bn_sync_backward(&d, NULL, NULL, gamma, s->batch_mean, s->batch_var, s->sync_count, NULL, dgamma,
                                 dbeta);
    }
    m->batch = rows;
    return st;
}
