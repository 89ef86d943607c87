/* Transposed convolution through oneDNN's deconvolution primitives
 * (forward, backward data, backward weights), built once per shape. The
 * plan has the convolution plan's shape, so bk_cpu_conv_forward and the two
 * backward functions run it. */
#include "cpu_plan.h"

/* oneDNN names deconvolution weights {out, in, k...}; PyTorch stores them
 * [in, out, k...], so the in axis gets the outermost stride. */
static dnnl_memory_desc_t weights_md(const bk_conv_desc *d)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t dims, strides;
    int64_t ksize = 1;
    for (int i = d->nd - 1; i >= 0; i--) {
        dims[2 + i] = d->k[i];
        strides[2 + i] = ksize;
        ksize *= d->k[i];
    }
    dims[0] = d->cout;
    dims[1] = d->cin;
    strides[0] = ksize;
    strides[1] = d->cout * ksize;
    dnnl_memory_desc_init_by_strides(&md, 2 + d->nd, dims, dnnl_f32, strides);
    return md;
}

bk_status bk_cpu_deconv_plan(bk_plan **out, const bk_conv_desc *d)
{
    *out = NULL;
    if (d->groups != 1)
        return bk_error(BK_ERR_UNSUPPORTED, "transposed convolution with groups %lld (only 1 is supported)",
                        (long long)d->groups);
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a transposed-convolution plan");
    int64_t sd[5] = {d->n, d->cin}, dd[5] = {d->n, d->cout}, bd[1] = {d->cout};
    dnnl_dims_t strides, dil, pl, pr;
    for (int i = 0; i < d->nd; i++) {
        sd[2 + i] = d->in[i];
        dd[2 + i] = d->out[i];
        strides[i] = d->stride[i];
        dil[i] = d->dil[i] - 1; /* oneDNN counts dilation from 0 */
        pl[i] = d->pad_l[i];
        pr[i] = d->pad_r[i];
    }
    dnnl_memory_desc_t src = bk_dnnl_act_md(2 + d->nd, sd, d->src_block), dst = bk_dnnl_act_md(2 + d->nd, dd, d->dst_block);
    dnnl_memory_desc_t wei = weights_md(d), bias = bk_dnnl_plain_md(1, bd);
    /* the primitives pick their own (blocked) layouts; see cpu_conv.c */
    int64_t wdims[5] = {d->cout, d->cin};
    for (int i = 0; i < d->nd; i++) wdims[2 + i] = d->k[i];
    dnnl_memory_desc_t asrc = d->src_block ? src : bk_dnnl_any_md(2 + d->nd, sd),
                       adst = d->dst_block ? dst : bk_dnnl_any_md(2 + d->nd, dd), awei = bk_dnnl_any_md(2 + d->nd, wdims);
    p->has_bias = d->has_bias;
    const dnnl_memory_desc_t *bias_md = d->has_bias ? &bias : NULL;
    dnnl_deconvolution_desc_t fd, bdd, wd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL, wpd = NULL;
    bk_status st = bk_dnnl_check(dnnl_dilated_deconvolution_forward_desc_init(
        &fd, dnnl_forward_training, dnnl_deconvolution_direct, &asrc, &awei, bias_md, &adst,
        strides, dil, pl, pr), "transposed convolution forward descriptor");
    if (!st) st = bk_dnnl_pd(&fpd, &fd, NULL, "transposed convolution forward");
    if (!st) st = bk_dnnl_check(dnnl_dilated_deconvolution_backward_data_desc_init(
        &bdd, dnnl_deconvolution_direct, &asrc, &awei, &adst, strides, dil, pl, pr),
        "transposed convolution backward-data descriptor");
    if (!st) st = bk_dnnl_pd(&bpd, &bdd, fpd, "transposed convolution backward data");
    if (!st) st = bk_dnnl_check(dnnl_dilated_deconvolution_backward_weights_desc_init(
        &wd, dnnl_deconvolution_direct, &asrc, &awei, bias_md, &adst, strides, dil, pl, pr),
        "transposed convolution backward-weights descriptor");
    if (!st) st = bk_dnnl_pd(&wpd, &wd, fpd, "transposed convolution backward weights");
    if (!st) st = bk_cpu_deconv_fwd_create(&p->deconv_fwd, d, &wei);
    if (!st && d->post_relu && !p->deconv_fwd) {
        /* oneDNN's deconvolution takes a ReLU post-op, but its strided
         * forward then ran 5x slower (BENCHMARKS.md): a pass after it */
        p->relu_after = d->n * d->cout;
        for (int i = 0; i < d->nd; i++) p->relu_after *= d->out[i];
    }
    if (!st) st = bk_cpu_conv_ops(p, fpd, bpd, wpd, &src, &wei, &bias, &dst, "transposed convolution");
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
