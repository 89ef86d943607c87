/* SeparableConv1D / SeparableConv2D (Keras): a depthwise convolution
 * (groups = input channels, depth_multiplier outputs each, no bias) with
 * the layer's strides, padding and dilation, then a pointwise 1x1
 * convolution to `filters` channels, then the bias.
 *   x [N, Cin, S...] -> mid [N, Cin*dm, S'...] -> y [N, filters, S'...]
 *   depthwise.weight [Cin*dm, 1, k...], pointwise.weight [filters, Cin*dm, 1...],
 *   bias [filters].
 * One node, so the summary counts the layer's parameters together as Keras
 * does; it keeps mid (and its gradient) for the backward pass. */
#include <stdlib.h>
#include "layer_conv.h"

typedef struct {
    bk_conv_cfg c;
    int64_t filters, depth_multiplier;
    bk_init dinit, pinit, binit;
    bk_conv_desc dw, pw;
    bk_plan_cache dw_plans, pw_plans;
    float *mid, *dmid;        /* [rows, Cin*dm, S'...], owned */
    int64_t mid_rows;         /* rows they hold */
} sep_st;

static bk_status sep_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd)
{
    sep_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    bk_status st = bk_conv_cfg_parse(n, doc, cfg, path, nd, &s->c);
    if (!st && s->c.pad_mode == 2) {
        char kp[1024];
        bk_json_child_path(kp, sizeof kp, path, "padding");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "a separable convolution takes padding \"valid\" or \"same\"");
    }
    if (!st) st = bk_cfg_positive_int(doc, cfg, path, "filters", 0, &s->filters);
    if (!st) st = bk_cfg_positive_int(doc, cfg, path, "depth_multiplier", 1, &s->depth_multiplier);
    if (!st) st = bk_init_parse(doc, cfg, path, "depthwise_initializer", &bk_init_glorot_uniform, &s->dinit);
    if (!st) st = bk_init_parse(doc, cfg, path, "pointwise_initializer", &bk_init_glorot_uniform, &s->pinit);
    if (!st) st = bk_init_parse(doc, cfg, path, "bias_initializer", &bk_init_zeros, &s->binit);
    return st;
}

static bk_status sep1_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return sep_parse(n, d, c, p, 1); }
static bk_status sep2_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return sep_parse(n, d, c, p, 2); }

static bk_status sep_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    sep_st *s = n->st;
    int nd = s->c.nd;
    char b[64];
    bk_shape kin = bk_internal_to_keras(in);
    if (in->ndim != nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels (rank %d without batch), got shape %s",
                        n->name, nd, nd + 1, bk_shape_str(&kin, b, sizeof b));
    int64_t cin = in->dims[0], cmid = cin * s->depth_multiplier;
    bk_status st = bk_conv_cfg_desc(&s->c, in, &s->dw);
    if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
    s->dw.cout = cmid;
    s->dw.groups = cin;
    s->dw.has_bias = 0;
    bk_conv_desc *pw = &s->pw;
    *pw = (bk_conv_desc){.nd = nd, .cin = cmid, .cout = s->filters, .groups = 1, .has_bias = s->c.use_bias};
    bk_shape out = {.ndim = nd + 1, .dims = {s->filters}};
    bk_shape dws = {.ndim = nd + 2, .dims = {cmid, 1}}, pws = {.ndim = nd + 2, .dims = {s->filters, cmid}};
    for (int i = 0; i < nd; i++) {
        pw->in[i] = pw->out[i] = out.dims[1 + i] = s->dw.out[i];
        pw->k[i] = pw->stride[i] = pw->dil[i] = 1;
        dws.dims[2 + i] = s->c.k[i];
        pws.dims[2 + i] = 1;
    }
    n->out_shape = out;
    if (bk_node_param(m, n, "depthwise.weight", &dws, 0) < 0) return BK_ERR_NOMEM;
    if (bk_node_param(m, n, "pointwise.weight", &pws, 0) < 0) return BK_ERR_NOMEM;
    if (s->c.use_bias) {
        bk_shape bs = {.ndim = 1, .dims = {s->filters}};
        if (bk_node_param(m, n, "bias", &bs, 0) < 0) return BK_ERR_NOMEM;
    }
    return BK_OK;
}

static void sep_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    sep_st *s = n->st;
    double rf = bk_conv_cfg_rf(&s->c), cmid = (double)s->pw.cin;
    /* Keras' fans of its kernels: depthwise (k..., Cin, dm), pointwise (1..., Cin*dm, filters) */
    bk_fans fd = {(double)s->dw.cin * rf, (double)s->depth_multiplier * rf};
    bk_fans fp = {cmid, (double)s->filters};
    bk_param *dw = bk_node_p(m, n, 0), *pw = bk_node_p(m, n, 1);
    bk_init_fill(&s->dinit, dw->data, bk_shape_numel(&dw->shape), fd, rng);
    bk_init_fill(&s->pinit, pw->data, bk_shape_numel(&pw->shape), fp, rng);
    if (s->c.use_bias) bk_init_fill(&s->binit, bk_node_p(m, n, 2)->data, s->filters, fp, rng);
}

/* The plans for this batch size and mid buffers at least that many rows long. */
static bk_status sep_prepare(bk_node *n, bk_model *m, bk_plan **dwp, bk_plan **pwp)
{
    sep_st *s = n->st;
    bk_status st = bk_conv_plan_get(&s->dw_plans, m, &s->dw, m->be->conv_plan, dwp);
    if (!st) st = bk_conv_plan_get(&s->pw_plans, m, &s->pw, m->be->conv_plan, pwp);
    if (st) return bk_error_context(st, "layer \"%s\": ", n->name);
    if (m->batch > s->mid_rows) {
        int64_t per = s->pw.cin;
        for (int i = 0; i < s->pw.nd; i++) per *= s->pw.in[i];
        free(s->mid);
        free(s->dmid);
        s->mid = malloc((size_t)(m->batch * per) * sizeof(float));
        s->dmid = malloc((size_t)(m->batch * per) * sizeof(float));
        s->mid_rows = s->mid && s->dmid ? m->batch : 0;
        if (!s->mid_rows) return bk_error(BK_ERR_NOMEM, "layer \"%s\": out of memory for its depthwise output", n->name);
    }
    return BK_OK;
}

static bk_status sep_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    sep_st *s = n->st;
    bk_plan *dwp, *pwp;
    bk_status st = sep_prepare(n, m, &dwp, &pwp);
    if (!st) st = m->be->conv_forward(dwp, bk_node_in(m, n, 0), bk_node_p(m, n, 0)->data, NULL, s->mid);
    if (!st) st = m->be->conv_forward(pwp, s->mid, bk_node_p(m, n, 1)->data,
                                      s->c.use_bias ? bk_node_p(m, n, 2)->data : NULL, n->out);
    return st;
}

static bk_status sep_backward(bk_node *n, bk_model *m)
{
    sep_st *s = n->st;
    bk_plan *dwp, *pwp;
    bk_status st = sep_prepare(n, m, &dwp, &pwp);
    if (st) return st;
    bk_param *dw = bk_node_p(m, n, 0), *pw = bk_node_p(m, n, 1);
    float *dx = bk_grad_dst(m, n, 0);
    int need_dmid = !dw->frozen || dx; /* the depthwise step needs the middle's gradient */
    st = m->be->conv_backward(pwp, s->mid, pw->data, n->grad, need_dmid ? s->dmid : NULL, pw->frozen ? NULL : pw->grad,
                              !pw->frozen && s->c.use_bias ? bk_node_p(m, n, 2)->grad : NULL);
    if (st || !need_dmid) return st;
    st = m->be->conv_backward(dwp, bk_node_in(m, n, 0), dw->data, s->dmid, dx, dw->frozen ? NULL : dw->grad, NULL);
    if (!st && dx) bk_grad_commit(m, n, 0);
    return st;
}

static void sep_release(bk_node *n, bk_model *m)
{
    sep_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->dw_plans, m->be);
    bk_plan_cache_clear(&s->pw_plans, m->be);
    free(s->mid);
    free(s->dmid);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_sepconv1d = {"SeparableConv1D", sep1_parse, sep_infer, sep_init, sep_forward, sep_backward, sep_release};
const bk_layer_class bk_class_sepconv2d = {"SeparableConv2D", sep2_parse, sep_infer, sep_init, sep_forward, sep_backward, sep_release};
