/* The forward pass of a transposed convolution run as a convolution, where
 * one computes exactly the same thing. oneDNN 2.6 runs a deconvolution's
 * forward on its convolution-backward-data kernels at a quarter to a half
 * of the convolution rate (CookieNetAE's 2x2 stride-2 layer at batch 32:
 * 29.5 ms, against 6.3 ms as a 1x1 convolution plus 2.3 ms to move the
 * results into place; its 3x3 stride-1 layer 35 ms, against 14 ms as a
 * convolution), while the backward passes run at the convolution rate, so
 * only the forward changes:
 *  - kernel == stride, no padding or dilation: each input position writes
 *    its own k^d block of outputs, so the layer is a 1x1 convolution to
 *    k^d * cout channels, then a reorder from channels to space;
 *  - stride 1: a convolution with the kernel flipped in space and its in
 *    and out axes swapped, padded by dilation * (k - 1) - padding.
 * Either fuses a following ReLU, which oneDNN 2.6's deconvolution cannot.
 * BRISK_DECONV_DIRECT=1 in the environment keeps oneDNN's deconvolution
 * forward (for comparing the two). */
#include <stdlib.h>
#include <string.h>
#include "cpu_plan.h"

enum { AS_1X1 = 1, AS_FLIPPED };

struct bk_deconv_fwd {
    int kind;
    bk_dnnl_op *conv;
    int64_t cin, cout, taps;                        /* taps: kernel positions */
    dnnl_primitive_t wei_shuffle, out_shuffle;      /* AS_1X1 */
    dnnl_memory_t wei_from, wei_to, out_from, out_to;
    size_t wei_bytes, bias_bytes, mid_bytes;        /* own temporaries, 64-byte multiples */
};

static size_t rounded(int64_t floats) { return ((size_t)floats * sizeof(float) + 63) / 64 * 64; }

static int kind_of(const bk_conv_desc *d)
{
    const char *direct = getenv("BRISK_DECONV_DIRECT");
    if ((direct && *direct && strcmp(direct, "0")) || d->groups != 1 || d->wei_block) return 0;
    int as_1x1 = 1, flipped = 1;
    for (int i = 0; i < d->nd; i++) {
        int64_t span = d->dil[i] * (d->k[i] - 1);
        if (d->k[i] != d->stride[i] || d->pad_l[i] || d->pad_r[i] || d->dil[i] != 1 || d->out[i] != d->in[i] * d->k[i])
            as_1x1 = 0;
        if (d->stride[i] != 1 || d->pad_l[i] < 0 || d->pad_r[i] < 0 || d->pad_l[i] > span || d->pad_r[i] > span ||
            d->out[i] != d->in[i] + span - d->pad_l[i] - d->pad_r[i])
            flipped = 0;
    }
    /* the 1x1 convolution's channels are blocked as the output's are */
    if (d->dst_block && d->cout % d->dst_block) as_1x1 = 0;
    return flipped ? AS_FLIPPED : as_1x1 ? AS_1X1 : 0;
}

/* A view of ndim dims with the given strides. */
static dnnl_memory_desc_t strided_md(int ndim, const int64_t *dims, const int64_t *strides)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d, s;
    memset(&md, 0, sizeof md);
    for (int i = 0; i < ndim; i++) d[i] = dims[i], s[i] = strides[i];
    dnnl_memory_desc_init_by_strides(&md, ndim, d, dnnl_f32, s);
    return md;
}

static bk_status make_reorder(dnnl_primitive_t *r, dnnl_memory_t *from, dnnl_memory_t *to,
                              const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b, const char *what)
{
    bk_status st = bk_dnnl_reorder(r, a, b, what);
    if (!st) st = bk_dnnl_mem(from, a);
    if (!st) st = bk_dnnl_mem(to, b);
    return st;
}

/* AS_1X1: the deconvolution weights (logical {cout, cin, k...}, stored as
 * `wei`) to the 1x1 convolution's plain [taps * cout, cin] with channel
 * tap * cout + o; and the 1x1 convolution's output, channel tap * cout + o
 * at input position p, to output position p * k + tap. */
static bk_status make_shuffles(bk_deconv_fwd *f, const bk_conv_desc *d, const dnnl_memory_desc_t *wei)
{
    int nd = d->nd;
    int64_t wdims[5] = {d->cout, d->cin}, wstr[5] = {d->cin, 1}, tap_weights = d->cout * d->cin;
    for (int i = nd - 1; i >= 0; i--) {
        wdims[2 + i] = d->k[i];
        wstr[2 + i] = tap_weights;
        tap_weights *= d->k[i];
    }
    dnnl_memory_desc_t wto = strided_md(2 + nd, wdims, wstr);
    bk_status st = make_reorder(&f->wei_shuffle, &f->wei_from, &f->wei_to, wei, &wto,
                                "transposed convolution forward (weights)");
    if (st) return st;
    /* dims {n, k..., cout / b, in..., b}: b the channel block, 1 when plain */
    int64_t b = d->dst_block ? d->dst_block : 1, ob = d->cout / b, in_n = 1, out_n = 1;
    for (int i = 0; i < nd; i++) in_n *= d->in[i], out_n *= d->out[i];
    int nv = 2 * nd + 3;
    int64_t dims[9], mid[9], out[9];
    dims[0] = d->n, dims[1 + nd] = ob, dims[nv - 1] = b;
    mid[0] = f->taps * ob * in_n * b, out[0] = ob * out_n * b;
    mid[1 + nd] = in_n * b, out[1 + nd] = out_n * b;
    mid[nv - 1] = out[nv - 1] = 1;
    int64_t tap_stride = ob * in_n * b, in_stride = b, out_stride = b;
    for (int i = nd - 1; i >= 0; i--) {
        dims[1 + i] = d->k[i];
        dims[2 + nd + i] = d->in[i];
        mid[1 + i] = tap_stride;
        mid[2 + nd + i] = in_stride;
        out[1 + i] = out_stride;              /* the tap moves one output position */
        out[2 + nd + i] = out_stride * d->k[i]; /* the input position k of them */
        tap_stride *= d->k[i], in_stride *= d->in[i], out_stride *= d->out[i];
    }
    dnnl_memory_desc_t from = strided_md(nv, dims, mid), to = strided_md(nv, dims, out);
    return make_reorder(&f->out_shuffle, &f->out_from, &f->out_to, &from, &to,
                        "transposed convolution forward (channels to space)");
}

bk_status bk_cpu_deconv_fwd_create(bk_deconv_fwd **out, const bk_conv_desc *d, const dnnl_memory_desc_t *wei)
{
    *out = NULL;
    int kind = kind_of(d);
    if (!kind) return BK_OK;
    bk_deconv_fwd *f = calloc(1, sizeof *f);
    if (!f) return bk_error(BK_ERR_NOMEM, "out of memory building a transposed-convolution plan");
    f->kind = kind;
    f->cin = d->cin, f->cout = d->cout, f->taps = 1;
    for (int i = 0; i < d->nd; i++) f->taps *= d->k[i];
    bk_conv_desc c = *d;
    bk_status st = BK_OK;
    if (kind == AS_FLIPPED) {
        for (int i = 0; i < d->nd; i++) {
            int64_t span = d->dil[i] * (d->k[i] - 1);
            c.pad_l[i] = span - d->pad_l[i];
            c.pad_r[i] = span - d->pad_r[i];
        }
    } else {
        c.cout = f->taps * d->cout;
        for (int i = 0; i < d->nd; i++) c.k[i] = c.stride[i] = 1, c.out[i] = d->in[i];
        f->bias_bytes = d->has_bias ? rounded(c.cout) : 0;
        int64_t mid = d->n * c.cout;
        for (int i = 0; i < d->nd; i++) mid *= d->in[i];
        f->mid_bytes = rounded(mid);
        st = make_shuffles(f, d, wei);
    }
    f->wei_bytes = rounded(f->taps * d->cout * d->cin);
    if (!st) st = bk_cpu_conv_forward_op(&f->conv, &c);
    if (st) {
        bk_cpu_deconv_fwd_destroy(f);
        return st;
    }
    *out = f;
    return BK_OK;
}

bk_status bk_cpu_deconv_fwd_run(bk_deconv_fwd *f, const float *x, const float *w, const float *b, float *y)
{
    static const char what[] = "transposed convolution forward";
    size_t own = f->wei_bytes + f->bias_bytes + f->mid_bytes;
    char *scratch = bk_dnnl_scratch(own + f->conv->scratch_bytes);
    if (!scratch) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes of scratch", what,
                                  own + f->conv->scratch_bytes);
    float *wt = (float *)scratch, *bias = (float *)(scratch + f->wei_bytes);
    float *mid = (float *)(scratch + f->wei_bytes + f->bias_bytes);
    int64_t T = f->taps;
    if (f->kind == AS_FLIPPED) {
        /* PyTorch's [cin, cout, taps] to [cout, cin, taps], reversed in
         * every spatial axis, which reverses the flat tap index */
        for (int64_t o = 0; o < f->cout; o++)
            for (int64_t i = 0; i < f->cin; i++) {
                const float *src = w + (i * f->cout + o) * T;
                float *dst = wt + (o * f->cin + i) * T;
                for (int64_t t = 0; t < T; t++) dst[t] = src[T - 1 - t];
            }
        const void *ptrs[4] = {x, wt, y, b};
        return bk_dnnl_op_run_at(f->conv, ptrs, scratch + own, what);
    }
    bk_dnnl_arg wa[2] = {{DNNL_ARG_FROM, f->wei_from, w}, {DNNL_ARG_TO, f->wei_to, wt}};
    bk_status st = bk_dnnl_run(f->wei_shuffle, wa, 2, what);
    if (st) return st;
    if (b)
        for (int64_t t = 0; t < T; t++) memcpy(bias + t * f->cout, b, sizeof(float) * (size_t)f->cout);
    const void *ptrs[4] = {x, wt, mid, bias};
    st = bk_dnnl_op_run_at(f->conv, ptrs, scratch + own, what);
    bk_dnnl_arg oa[2] = {{DNNL_ARG_FROM, f->out_from, mid}, {DNNL_ARG_TO, f->out_to, y}};
    return st ? st : bk_dnnl_run(f->out_shuffle, oa, 2, what);
}

void bk_cpu_deconv_fwd_destroy(bk_deconv_fwd *f)
{
    if (!f) return;
    bk_dnnl_op_destroy(f->conv);
    dnnl_primitive_t prims[2] = {f->wei_shuffle, f->out_shuffle};
    dnnl_memory_t mems[4] = {f->wei_from, f->wei_to, f->out_from, f->out_to};
    for (int i = 0; i < 2; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    for (int i = 0; i < 4; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(f);
}
