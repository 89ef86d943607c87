/* Conv1D / Conv2D / Conv3D and DepthwiseConv1D / 2D / 3D (Keras), through
 * the backend's convolution. A depthwise convolution is a grouped one with
 * groups = input channels and depth_multiplier outputs per group (output
 * channel c*dm + j, as TensorFlow orders them).
 *   x [N, Cin, S...] -> y [N, Cout, S'...]; w [Cout, Cin/groups, k...], b [Cout]
 *   Conv: Cout = filters; Depthwise: Cout = Cin * depth_multiplier, groups = Cin. */
#include <stdlib.h>
#include "layer_conv.h"

bk_status bk_cfg_positive_int(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                              int64_t def, int64_t *out)
{
    bk_status st = bk_json_get_int(doc, cfg, path, key, def, out);
    if (st || *out >= 1) return st;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, key);
    return bk_json_error_at(doc, kp, BK_ERR_INVALID, "%s must be a positive integer%s", key,
                            def ? "" : " (it is required)");
}

bk_status bk_conv_cfg_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd,
                            bk_conv_cfg *c)
{
    c->nd = nd;
    int cf;
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (!st && cf) {
        char fp[1024];
        bk_json_child_path(fp, sizeof fp, path, "data_format");
        st = bk_json_error_at(doc, fp, BK_ERR_UNSUPPORTED,
                              "data_format channels_first is not supported; export the model with channels_last");
    }
    if (!st) st = bk_cfg_ints(doc, cfg, path, "kernel_size", nd, 0, c->k);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "strides", nd, 1, c->stride);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "dilation_rate", nd, 1, c->dil);
    if (!st) st = bk_cfg_padding(doc, cfg, path, nd, &c->pad_mode, c->pad);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "use_bias", 1, &c->use_bias);
    if (!st) st = bk_cfg_activation(doc, cfg, path, "activation", &n->post_act, &n->post_alpha);
    static const char *const keys[] = {"kernel_size", "strides", "dilation_rate"};
    const int64_t *vals[] = {c->k, c->stride, c->dil};
    for (int j = 0; j < 3 && !st; j++)
        for (int i = 0; i < nd && !st; i++)
            if (vals[j][i] <= 0) {
                char kp[1024];
                bk_json_child_path(kp, sizeof kp, path, keys[j]);
                st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "%s must be given as positive integers", keys[j]);
            }
    return st;
}

bk_status bk_conv_cfg_desc(const bk_conv_cfg *c, const bk_shape *in, bk_conv_desc *d)
{
    d->nd = c->nd;
    d->cin = in->dims[0];
    d->has_bias = c->use_bias;
    for (int i = 0; i < c->nd; i++) {
        d->in[i] = in->dims[1 + i];
        d->k[i] = c->k[i];
        d->stride[i] = c->stride[i];
        d->dil[i] = c->dil[i];
        bk_status st = bk_conv_axis(d->in[i], c->k[i], c->stride[i], c->dil[i], c->pad_mode, c->pad[i],
                                    &d->out[i], &d->pad_l[i], &d->pad_r[i]);
        if (st) return st;
    }
    return BK_OK;
}

double bk_conv_cfg_rf(const bk_conv_cfg *c)
{
    double rf = 1;
    for (int i = 0; i < c->nd; i++) rf *= (double)c->k[i];
    return rf;
}

bk_status bk_conv_plan_get(bk_plan_cache *cache, const bk_model *m, const bk_conv_desc *desc,
                           bk_status (*make)(bk_plan **, const bk_conv_desc *), bk_plan **p)
{
    *p = bk_plan_cache_get(cache, m->batch);
    if (*p) return BK_OK;
    bk_conv_desc d = *desc;
    d.n = m->batch;
    bk_status st = make(p, &d);
    if (st) return st;
    bk_plan_cache_put(cache, m->be, m->batch, *p);
    return BK_OK;
}

/* The plan of desc as node n runs it: with its fused ReLU and the layouts
 * of its input, output and weights. */
static bk_status node_plan(bk_node *n, bk_model *m, bk_plan_cache *cache, const bk_conv_desc *desc,
                           bk_conv_plan_fn make, bk_plan **p)
{
    bk_conv_desc d = *desc;
    d.post_relu = n->relu_fused;
    d.src_block = m->nodes[n->in[0]].block;
    d.dst_block = n->block;
    d.wei_block = bk_node_p(m, n, 0)->block;
    return bk_conv_plan_get(cache, m, &d, make, p);
}

bk_status bk_conv_node_forward(bk_node *n, bk_model *m, bk_plan_cache *cache, const bk_conv_desc *desc,
                               bk_conv_plan_fn make, int use_bias)
{
    bk_plan *p;
    bk_status st = node_plan(n, m, cache, desc, make, &p);
    if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
    return m->be->conv_forward(p, bk_node_in(m, n, 0), bk_node_p(m, n, 0)->data,
                               use_bias ? bk_node_p(m, n, 1)->data : NULL, n->out);
}

bk_status bk_conv_node_backward(bk_node *n, bk_model *m, bk_plan_cache *cache, const bk_conv_desc *desc,
                                bk_conv_plan_fn make, int use_bias)
{
    bk_plan *p;
    bk_status st = node_plan(n, m, cache, desc, make, &p);
    if (st) return st;
    bk_param *w = bk_node_p(m, n, 0);
    float *dx = bk_grad_dst(m, n, 0);
    st = m->be->conv_backward(p, bk_node_in(m, n, 0), w->data, n->grad, dx, w->frozen ? NULL : w->grad,
                              !w->frozen && use_bias ? bk_node_p(m, n, 1)->grad : NULL);
    if (!st && dx) bk_grad_commit(m, n, 0);
    return st;
}

typedef struct {
    bk_conv_cfg c;
    int depthwise;
    int64_t filters, groups, depth_multiplier;
    bk_init kinit, binit;
    bk_conv_desc desc;        /* n set per plan */
    bk_plan_cache plans;
} conv_st;

static bk_status conv_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd,
                            int depthwise)
{
    conv_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->depthwise = depthwise;
    bk_status st = bk_conv_cfg_parse(n, doc, cfg, path, nd, &s->c);
    if (st) return st;
    if (depthwise) {
        /* groups and filters follow from the input channels (infer) */
        st = bk_cfg_positive_int(doc, cfg, path, "depth_multiplier", 1, &s->depth_multiplier);
        if (!st) st = bk_init_parse(doc, cfg, path, "depthwise_initializer", &bk_init_glorot_uniform, &s->kinit);
    } else {
        st = bk_cfg_positive_int(doc, cfg, path, "filters", 0, &s->filters);
        if (!st) st = bk_cfg_positive_int(doc, cfg, path, "groups", 1, &s->groups);
        if (!st && s->filters % s->groups) {
            char gp[1024];
            bk_json_child_path(gp, sizeof gp, path, "groups");
            st = bk_json_error_at(doc, gp, BK_ERR_INVALID,
                                  "groups %lld does not divide filters %lld; set groups to a divisor of filters",
                                  (long long)s->groups, (long long)s->filters);
        }
        if (!st) st = bk_init_parse(doc, cfg, path, "kernel_initializer", &bk_init_glorot_uniform, &s->kinit);
    }
    if (!st) st = bk_init_parse(doc, cfg, path, "bias_initializer", &bk_init_zeros, &s->binit);
    return st;
}

static bk_status conv1_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 1, 0); }
static bk_status conv2_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 2, 0); }
static bk_status conv3_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 3, 0); }
static bk_status dw1_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 1, 1); }
static bk_status dw2_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 2, 1); }
static bk_status dw3_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return conv_parse(n, d, c, p, 3, 1); }

static bk_status conv_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    n->backward_ignores_out = 1; /* backward reads the input and the gradient */
    n->can_fuse_relu = 1;
    n->layout_role = BK_LAYOUT_ANY;
    conv_st *s = n->st;
    int nd = s->c.nd;
    char b[64];
    bk_shape kin = bk_internal_to_keras(in);
    if (in->ndim != nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels (rank %d without batch), got shape %s",
                        n->name, nd, nd + 1, bk_shape_str(&kin, b, sizeof b));
    int64_t cin = in->dims[0];
    if (s->depthwise) {
        s->groups = cin;
        s->filters = cin * s->depth_multiplier;
    } else if (cin % s->groups) {
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": its input has %lld channels, which \"groups\": %lld does not divide; "
                        "set groups to a divisor of %lld", n->name, (long long)cin, (long long)s->groups, (long long)cin);
    }
    bk_conv_desc *d = &s->desc;
    bk_status st = bk_conv_cfg_desc(&s->c, in, d);
    if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
    d->cout = s->filters;
    d->groups = s->groups;
    n->weights_blockable = s->groups == 1;
    bk_shape out = {.ndim = nd + 1};
    out.dims[0] = s->filters;
    for (int i = 0; i < nd; i++) out.dims[1 + i] = d->out[i];
    n->out_shape = out;
    bk_shape w = {.ndim = 2 + nd, .dims = {s->filters, cin / s->groups}};
    for (int i = 0; i < nd; i++) w.dims[2 + i] = s->c.k[i];
    if (bk_node_param(m, n, "weight", &w, 0) < 0) return BK_ERR_NOMEM;
    if (s->c.use_bias) {
        bk_shape bs = {.ndim = 1, .dims = {s->filters}};
        if (bk_node_param(m, n, "bias", &bs, 0) < 0) return BK_ERR_NOMEM;
    }
    return BK_OK;
}

static void conv_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    conv_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    double rf = bk_conv_cfg_rf(&s->c);
    /* Keras' fans of its kernel shape (k..., in, out): a Conv kernel is
     * (k..., Cin/groups, filters), a depthwise one (k..., Cin, dm) */
    bk_fans f = s->depthwise ? (bk_fans){(double)s->desc.cin * rf, (double)s->depth_multiplier * rf}
                             : (bk_fans){(double)(s->desc.cin / s->groups) * rf, (double)s->filters * rf};
    bk_init_fill(&s->kinit, w->data, bk_shape_numel(&w->shape), f, rng);
    if (s->c.use_bias) {
        bk_param *b = bk_node_p(m, n, 1);
        bk_init_fill(&s->binit, b->data, s->filters, f, rng);
    }
}

static bk_status conv_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    conv_st *s = n->st;
    return bk_conv_node_forward(n, m, &s->plans, &s->desc, m->be->conv_plan, s->c.use_bias);
}

static bk_status conv_backward(bk_node *n, bk_model *m)
{
    conv_st *s = n->st;
    return bk_conv_node_backward(n, m, &s->plans, &s->desc, m->be->conv_plan, s->c.use_bias);
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
const bk_layer_class bk_class_dwconv1d = {"DepthwiseConv1D", dw1_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
const bk_layer_class bk_class_dwconv2d = {"DepthwiseConv2D", dw2_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
const bk_layer_class bk_class_dwconv3d = {"DepthwiseConv3D", dw3_parse, conv_infer, conv_init, conv_forward, conv_backward, conv_release};
