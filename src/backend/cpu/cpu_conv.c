/* Convolution through oneDNN: forward, backward data, backward weights,
 * all three built once per shape and kept in the plan. */
#include <string.h>
#include "cpu_plan.h"

static void conv_mds(const bk_conv_desc *d, dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei,
                     dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst)
{
    int64_t sd[5] = {d->n, d->cin}, dd[5] = {d->n, d->cout}, wd[6];
    for (int i = 0; i < d->nd; i++) {
        sd[2 + i] = d->in[i];
        dd[2 + i] = d->out[i];
    }
    *src = bk_dnnl_plain_md(2 + d->nd, sd);
    *dst = bk_dnnl_plain_md(2 + d->nd, dd);
    if (d->groups > 1) {
        wd[0] = d->groups;
        wd[1] = d->cout / d->groups;
        wd[2] = d->cin / d->groups;
        for (int i = 0; i < d->nd; i++) wd[3 + i] = d->k[i];
        *wei = bk_dnnl_plain_md(3 + d->nd, wd);
    } else {
        wd[0] = d->cout;
        wd[1] = d->cin;
        for (int i = 0; i < d->nd; i++) wd[2 + i] = d->k[i];
        *wei = bk_dnnl_plain_md(2 + d->nd, wd);
    }
    int64_t bd[1] = {d->cout};
    *bias = bk_dnnl_plain_md(1, bd);
}

bk_status bk_cpu_conv_plan(bk_plan **out, const bk_conv_desc *d)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a convolution plan");
    dnnl_memory_desc_t src, wei, bias, dst;
    conv_mds(d, &src, &wei, &bias, &dst);
    dnnl_dims_t strides, dil, pl, pr;
    for (int i = 0; i < d->nd; i++) {
        strides[i] = d->stride[i];
        dil[i] = d->dil[i] - 1; /* oneDNN counts dilation from 0 */
        pl[i] = d->pad_l[i];
        pr[i] = d->pad_r[i];
    }
    p->has_bias = d->has_bias;
    const dnnl_memory_desc_t *bias_md = d->has_bias ? &bias : NULL;
    dnnl_convolution_desc_t fd, bd, wd;
    dnnl_primitive_desc_t fpd = NULL;
    bk_status st = bk_dnnl_check(dnnl_dilated_convolution_forward_desc_init(
        &fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, bias_md, &dst,
        strides, dil, pl, pr), "convolution forward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->fwd, &fpd, &fd, NULL, "convolution forward");
    if (!st) st = bk_dnnl_check(dnnl_dilated_convolution_backward_data_desc_init(
        &bd, dnnl_convolution_direct, &src, &wei, &dst, strides, dil, pl, pr),
        "convolution backward-data descriptor");
    if (!st) st = bk_dnnl_primitive(&p->bwd_data, NULL, &bd, fpd, "convolution backward data");
    if (!st) st = bk_dnnl_check(dnnl_dilated_convolution_backward_weights_desc_init(
        &wd, dnnl_convolution_direct, &src, &wei, bias_md, &dst, strides, dil, pl, pr),
        "convolution backward-weights descriptor");
    if (!st) st = bk_dnnl_primitive(&p->bwd_weights, NULL, &wd, fpd, "convolution backward weights");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    const dnnl_memory_desc_t *mds[BK_M_COUNT] = {
        [BK_M_SRC] = &src, [BK_M_DST] = &dst, [BK_M_W] = &wei, [BK_M_B] = &bias,
        [BK_M_DSRC] = &src, [BK_M_DDST] = &dst, [BK_M_DW] = &wei, [BK_M_DB] = &bias};
    for (int i = 0; i < BK_M_COUNT && !st; i++)
        if (mds[i]) st = bk_dnnl_mem(&p->mem[i], mds[i]);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_conv_forward(bk_plan *p, const float *x, const float *w, const float *b, float *y)
{
    bk_dnnl_arg a[4] = {{DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_WEIGHTS, p->mem[BK_M_W], w},
                        {DNNL_ARG_DST, p->mem[BK_M_DST], y},
                        {DNNL_ARG_BIAS, p->mem[BK_M_B], b}};
    return bk_dnnl_run(p->fwd, a, p->has_bias ? 4 : 3, "convolution forward");
}

bk_status bk_cpu_conv_backward_data(bk_plan *p, const float *w, const float *dy, float *dx)
{
    bk_dnnl_arg a[3] = {{DNNL_ARG_WEIGHTS, p->mem[BK_M_W], w},
                        {DNNL_ARG_DIFF_DST, p->mem[BK_M_DDST], dy},
                        {DNNL_ARG_DIFF_SRC, p->mem[BK_M_DSRC], dx}};
    return bk_dnnl_run(p->bwd_data, a, 3, "convolution backward data");
}

bk_status bk_cpu_conv_backward_weights(bk_plan *p, const float *x, const float *dy, float *dw,
                                       float *db)
{
    /* oneDNN computes the bias gradient together with the weights gradient;
     * when the caller does not want it we still need somewhere to put it */
    bk_dnnl_arg a[4] = {{DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_DIFF_DST, p->mem[BK_M_DDST], dy},
                        {DNNL_ARG_DIFF_WEIGHTS, p->mem[BK_M_DW], dw},
                        {DNNL_ARG_DIFF_BIAS, p->mem[BK_M_DB], db}};
    if (p->has_bias && !db) return bk_error(BK_ERR_INTERNAL, "convolution backward: bias gradient buffer missing");
    return bk_dnnl_run(p->bwd_weights, a, p->has_bias ? 4 : 3, "convolution backward weights");
}
