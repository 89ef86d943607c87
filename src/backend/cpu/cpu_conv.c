/* Convolution through oneDNN: forward, backward data, backward weights,
 * all three built once per shape and kept in the plan. Plain activations
 * and the weights are declared with format "any" so oneDNN picks its
 * blocked-layout kernels, and the ops reorder at their edges (dnnl_op.h);
 * channel-blocked activations (backend.h) go in and out as they are. */
#include <stdio.h>
#include <string.h>
#include "cpu_plan.h"

/* Plain dims of src, weights, bias and dst. */
typedef struct { int64_t src[5], wei[6], bias[1], dst[5]; int ns, nw; } conv_dims;

static void conv_dims_of(const bk_conv_desc *d, conv_dims *c)
{
    c->ns = 2 + d->nd;
    c->src[0] = c->dst[0] = d->n;
    c->src[1] = d->cin;
    c->dst[1] = d->cout;
    for (int i = 0; i < d->nd; i++) {
        c->src[2 + i] = d->in[i];
        c->dst[2 + i] = d->out[i];
    }
    int g = d->groups > 1, o = 0;
    if (g) c->wei[o++] = d->groups;
    c->wei[o++] = d->cout / (g ? d->groups : 1);
    c->wei[o++] = d->cin / (g ? d->groups : 1);
    for (int i = 0; i < d->nd; i++) c->wei[o++] = d->k[i];
    c->nw = o;
    c->bias[0] = d->cout;
}

/* The forward op's ports, in the order of bk_cpu_conv_forward's pointers. */
static void forward_specs(bk_dnnl_port_spec fs[4], const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *wei,
                          const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst)
{
    fs[0] = (bk_dnnl_port_spec){DNNL_ARG_SRC, src, 0};
    fs[1] = (bk_dnnl_port_spec){DNNL_ARG_WEIGHTS, wei, 0};
    fs[2] = (bk_dnnl_port_spec){DNNL_ARG_DST, dst, 1};
    fs[3] = (bk_dnnl_port_spec){DNNL_ARG_BIAS, bias, 0};
}

bk_status bk_cpu_conv_ops(bk_plan *p, const_dnnl_primitive_desc_t fpd, const_dnnl_primitive_desc_t bpd,
                          const_dnnl_primitive_desc_t wpd, const dnnl_memory_desc_t *src,
                          const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *bias,
                          const dnnl_memory_desc_t *dst, const char *what)
{
    char w[3][96];
    snprintf(w[0], sizeof w[0], "%s forward", what);
    snprintf(w[1], sizeof w[1], "%s backward data", what);
    snprintf(w[2], sizeof w[2], "%s backward weights", what);
    int nb = p->has_bias ? 4 : 3;
    bk_dnnl_port_spec fs[4];
    forward_specs(fs, src, wei, bias, dst);
    bk_dnnl_port_spec bs[3] = {{DNNL_ARG_WEIGHTS, wei, 0}, {DNNL_ARG_DIFF_DST, dst, 0},
                               {DNNL_ARG_DIFF_SRC, src, 1}};
    bk_dnnl_port_spec ws[4] = {{DNNL_ARG_SRC, src, 0}, {DNNL_ARG_DIFF_DST, dst, 0},
                               {DNNL_ARG_DIFF_WEIGHTS, wei, 1}, {DNNL_ARG_DIFF_BIAS, bias, 1}};
    /* a transposed convolution run as a convolution has no forward op */
    bk_status st = p->deconv_fwd ? BK_OK : bk_dnnl_op_create(&p->op[BK_OP_FWD], fpd, fs, nb, w[0]);
    if (!st) st = bk_dnnl_op_create(&p->op[BK_OP_BWD_DATA], bpd, bs, 3, w[1]);
    if (!st) st = bk_dnnl_op_create(&p->op[BK_OP_BWD_W], wpd, ws, nb, w[2]);
    return st;
}

/* What the three passes' descriptors are built from. */
typedef struct {
    dnnl_memory_desc_t src, wei, bias, dst; /* the tensors as the caller stores them */
    dnnl_memory_desc_t asrc, awei, adst;    /* as the primitives are asked to take them */
    dnnl_dims_t strides, dil, pl, pr;
} conv_setup;

/* The forward primitive descriptor of d (caller destroys it) and what the
 * backward ones need. */
static bk_status conv_forward_pd(const bk_conv_desc *d, conv_setup *s, dnnl_primitive_desc_t *fpd)
{
    conv_dims c;
    conv_dims_of(d, &c);
    s->src = bk_dnnl_act_md(c.ns, c.src, d->src_block);
    s->dst = bk_dnnl_act_md(c.ns, c.dst, d->dst_block);
    s->wei = bk_dnnl_wei_md(c.nw, c.wei, d->groups > 1 ? 0 : d->wei_block);
    s->bias = bk_dnnl_plain_md(1, c.bias);
    /* a blocked tensor is given to the primitives as it is, so they compute
     * in it without reorders; plain ones leave the choice to oneDNN */
    s->asrc = d->src_block ? s->src : bk_dnnl_any_md(c.ns, c.src);
    s->adst = d->dst_block ? s->dst : bk_dnnl_any_md(c.ns, c.dst);
    s->awei = bk_dnnl_any_md(c.nw, c.wei);
    for (int i = 0; i < d->nd; i++) {
        s->strides[i] = d->stride[i];
        s->dil[i] = d->dil[i] - 1; /* oneDNN counts dilation from 0 */
        s->pl[i] = d->pad_l[i];
        s->pr[i] = d->pad_r[i];
    }
    dnnl_convolution_desc_t fd;
    bk_status st = bk_dnnl_check(dnnl_dilated_convolution_forward_desc_init(
        &fd, dnnl_forward_training, dnnl_convolution_direct, &s->asrc, &s->awei, d->has_bias ? &s->bias : NULL,
        &s->adst, s->strides, s->dil, s->pl, s->pr), "convolution forward descriptor");
    return st ? st : bk_dnnl_pd_post(fpd, &fd, NULL, d->post_relu, "convolution forward");
}

bk_status bk_cpu_conv_forward_op(bk_dnnl_op **op, const bk_conv_desc *d)
{
    conv_setup s;
    dnnl_primitive_desc_t fpd = NULL;
    bk_status st = conv_forward_pd(d, &s, &fpd);
    bk_dnnl_port_spec fs[4];
    forward_specs(fs, &s.src, &s.wei, &s.bias, &s.dst);
    if (!st) st = bk_dnnl_op_create(op, fpd, fs, d->has_bias ? 4 : 3, "convolution forward");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    return st;
}

bk_status bk_cpu_conv_plan(bk_plan **out, const bk_conv_desc *d)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a convolution plan");
    p->has_bias = d->has_bias;
    if (bk_cpu_narrow_conv_fits(d)) {
        bk_status st = bk_cpu_narrow_conv_create(&p->narrow, d);
        if (st) bk_cpu_plan_destroy(p);
        else *out = p;
        return st;
    }
    conv_setup s;
    const dnnl_memory_desc_t *bias_md = d->has_bias ? &s.bias : NULL;
    dnnl_convolution_desc_t bd, wd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL, wpd = NULL;
    bk_status st = conv_forward_pd(d, &s, &fpd);
    if (!st) st = bk_dnnl_check(dnnl_dilated_convolution_backward_data_desc_init(
        &bd, dnnl_convolution_direct, &s.asrc, &s.awei, &s.adst, s.strides, s.dil, s.pl, s.pr),
        "convolution backward-data descriptor");
    if (!st) st = bk_dnnl_pd(&bpd, &bd, fpd, "convolution backward data");
    if (!st) st = bk_dnnl_check(dnnl_dilated_convolution_backward_weights_desc_init(
        &wd, dnnl_convolution_direct, &s.asrc, &s.awei, bias_md, &s.adst, s.strides, s.dil, s.pl, s.pr),
        "convolution backward-weights descriptor");
    if (!st) st = bk_dnnl_pd(&wpd, &wd, fpd, "convolution backward weights");
    if (!st) st = bk_cpu_conv_ops(p, fpd, bpd, wpd, &s.src, &s.wei, &s.bias, &s.dst, "convolution");
    dnnl_primitive_desc_t pds[3] = {fpd, bpd, wpd};
    for (int i = 0; i < 3; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_conv_forward(bk_plan *p, const float *x, const float *w, const float *b, float *y)
{
    if (p->deconv_fwd) return bk_cpu_deconv_fwd_run(p->deconv_fwd, x, w, b, y);
    if (p->narrow) return bk_cpu_narrow_conv_forward(p->narrow, x, w, b, y);
    const void *ptrs[4] = {x, w, y, b};
    bk_status st = bk_dnnl_op_run(p->op[BK_OP_FWD], ptrs, "convolution forward");
    if (st || !p->relu_after) return st;
#pragma omp parallel for if (p->relu_after > 65536)
    for (int64_t i = 0; i < p->relu_after; i++) y[i] = y[i] > 0 ? y[i] : 0;
    return BK_OK;
}

bk_status bk_cpu_conv_backward(bk_plan *p, const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db)
{
    if (dw && p->has_bias && !db) return bk_error(BK_ERR_INTERNAL, "convolution backward: bias gradient buffer missing");
    if (p->narrow) return bk_cpu_narrow_conv_backward(p->narrow, x, w, dy, dx, dw, db);
    const void *wp[4] = {x, dy, dw, db}, *dp[3] = {w, dy, dx};
    if (dw && dx)
        return bk_dnnl_op_run_pair(p->op[BK_OP_BWD_W], wp, p->op[BK_OP_BWD_DATA], dp, DNNL_ARG_DIFF_DST,
                                   "convolution backward weights", "convolution backward data");
    if (dw) return bk_dnnl_op_run(p->op[BK_OP_BWD_W], wp, "convolution backward weights");
    return dx ? bk_dnnl_op_run(p->op[BK_OP_BWD_DATA], dp, "convolution backward data") : BK_OK;
}
