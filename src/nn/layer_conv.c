/* Conv1D / Conv2D / Conv3D (Keras), through the backend's convolution.
 *   x [N, Cin, S...] -> y [N, filters, S'...]; w [filters, Cin/groups, k...], b [filters]. */
#include <stdlib.h>
#include "layer_util.h"

typedef struct {
    int nd, pad_mode, use_bias;
    int64_t filters, groups, k[3], stride[3], dil[3], pad[3];
    bk_init kinit, binit;
    bk_conv_desc desc;        /* for batch 1; n set per plan */
    bk_plan_cache plans;
} conv_st;

static bk_status conv_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd)
{
    conv_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->nd = nd;
    int cf;
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (!st && cf) st = bk_error(BK_ERR_UNSUPPORTED, "%s: data_format channels_first is not supported; export the model with channels_last", path);
    if (!st) st = bk_json_get_int(doc, cfg, path, "filters", 0, &s->filters);
    if (!st && s->filters <= 0) {
        char fp[1024];
        bk_json_child_path(fp, sizeof fp, path, "filters");
        st = bk_json_error_at(doc, fp, BK_ERR_INVALID, "filters must be a positive integer");
    }
    if (!st) st = bk_json_get_int(doc, cfg, path, "groups", 1, &s->groups);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "kernel_size", nd, 0, s->k);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "strides", nd, 1, s->stride);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "dilation_rate", nd, 1, s->dil);
    if (!st) st = bk_cfg_padding(doc, cfg, path, nd, &s->pad_mode, s->pad);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "use_bias", 1, &s->use_bias);
    if (!st) st = bk_init_parse(doc, cfg, path, "kernel_initializer", &bk_init_glorot_uniform, &s->kinit);
    if (!st) st = bk_init_parse(doc, cfg, path, "bias_initializer", &bk_init_zeros, &s->binit);
    if (!st) st = bk_cfg_activation(doc, cfg, path, "activation", &n->post_act, &n->post_alpha);
    for (int i = 0; i < nd && !st; i++)
        if (s->k[i] <= 0) {
            char kp[1024];
            bk_json_child_path(kp, sizeof kp, path, "kernel_size");
            st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "kernel_size must be given and positive");
        }
    return st;
}

static bk_status conv1_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 1); }
static bk_status conv2_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 2); }
static bk_status conv3_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 3); }

static bk_status conv_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    conv_st *s = n->st;
    char b[64];
    bk_shape kin = bk_internal_to_keras(in);
    if (in->ndim != s->nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels (rank %d without batch), got shape %s",
                        n->name, s->nd, s->nd + 1, bk_shape_str(&kin, b, sizeof b));
    int64_t cin = in->dims[0];
    if (s->groups < 1 || cin % s->groups || s->filters % s->groups)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": groups %lld must divide input channels %lld and filters %lld",
                        n->name, (long long)s->groups, (long long)cin, (long long)s->filters);
    bk_conv_desc *d = &s->desc;
    d->nd = s->nd;
    d->cin = cin;
    d->cout = s->filters;
    d->groups = s->groups;
    d->has_bias = s->use_bias;
    bk_shape out = {.ndim = s->nd + 1};
    out.dims[0] = s->filters;
    for (int i = 0; i < s->nd; i++) {
        d->in[i] = in->dims[1 + i];
        d->k[i] = s->k[i];
        d->stride[i] = s->stride[i];
        d->dil[i] = s->dil[i];
        bk_status st = bk_conv_axis(d->in[i], s->k[i], s->stride[i], s->dil[i], s->pad_mode, s->pad[i],
                                    &d->out[i], &d->pad_l[i], &d->pad_r[i]);
        if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
        out.dims[1 + i] = d->out[i];
    }
    n->out_shape = out;
    bk_shape w = {.ndim = 2 + s->nd, .dims = {s->filters, cin / s->groups}};
    for (int i = 0; i < s->nd; i++) w.dims[2 + i] = s->k[i];
    if (bk_node_param(m, n, "weight", &w, 0) < 0) return BK_ERR_NOMEM;
    if (s->use_bias) {
        bk_shape bs = {.ndim = 1, .dims = {s->filters}};
        if (bk_node_param(m, n, "bias", &bs, 0) < 0) return BK_ERR_NOMEM;
    }
    return BK_OK;
}

static void conv_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    conv_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    double rf = 1;
    for (int i = 0; i < s->nd; i++) rf *= (double)s->k[i];
    bk_fans f = {(double)(s->desc.cin / s->groups) * rf, (double)s->filters * rf};
    bk_init_fill(&s->kinit, w->data, bk_shape_numel(&w->shape), f, rng);
    if (s->use_bias) {
        bk_param *b = bk_node_p(m, n, 1);
        bk_init_fill(&s->binit, b->data, s->filters, f, rng);
    }
}

static bk_status conv_get_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    conv_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    bk_conv_desc d = s->desc;
    d.n = m->batch;
    bk_status st = m->be->conv_plan(p, &d);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static bk_status conv_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    conv_st *s = n->st;
    bk_plan *p;
    bk_status st = conv_get_plan(n, m, &p);
    if (st) return st;
    return m->be->conv_forward(p, bk_node_in(m, n, 0), bk_node_p(m, n, 0)->data,
                               s->use_bias ? bk_node_p(m, n, 1)->data : NULL, n->out);
}

static bk_status conv_backward(bk_node *n, bk_model *m)
{
    conv_st *s = n->st;
    bk_plan *p;
    bk_status st = conv_get_plan(n, m, &p);
    if (st) return st;
    bk_param *w = bk_node_p(m, n, 0);
    if (!w->frozen) {
        st = m->be->conv_backward_weights(p, bk_node_in(m, n, 0), n->grad, w->grad,
                                          s->use_bias ? bk_node_p(m, n, 1)->grad : NULL);
        if (st) return st;
    }
    float *dx = bk_grad_dst(m, n, 0);
    if (dx) {
        st = m->be->conv_backward_data(p, w->data, n->grad, dx);
        if (st) return st;
        bk_grad_commit(m, n, 0);
    }
    return BK_OK;
}

static void conv_release(bk_node *n, bk_model *m)
{
    conv_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_conv1d = {"Conv1D", conv1_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
const bk_layer_class bk_class_conv2d = {"Conv2D", conv2_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
const bk_layer_class bk_class_conv3d = {"Conv3D", conv3_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
