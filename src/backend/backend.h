/* The compute seam: a table of function pointers that layers call for
 * every heavy op. The CPU backend (oneDNN + OpenMP) fills it today; a CUDA
 * backend can fill the same table later without touching the layers.
 *
 * A "plan" is what a backend builds once per shape (oneDNN primitives and
 * their memory descriptors) and reuses for every step with that shape.
 * All tensors are dense float32, channel-first (NCW / NCHW / NCDHW), and
 * either plain or channel-blocked: a tensor of C channels with block B
 * (C divisible by B) is stored [n][C/B][spatial...][B], the layout the
 * backend's convolution kernels compute in (oneDNN's nChw16c and kin).
 * Ops that take a block field read and write in it; 0 means plain.
 * Element-wise ops never care: both layouts hold the same values in the
 * same number of floats, only in another order. */
#ifndef BK_BACKEND_H
#define BK_BACKEND_H

#include <stdint.h>
#include "brisk/status.h"
#include "brisk/tensor.h"

typedef enum {
    BK_ACT_LINEAR = 0,
    BK_ACT_RELU,       /* alpha: negative slope (0 = plain ReLU) */
    BK_ACT_ELU,        /* alpha */
    BK_ACT_SIGMOID,
    BK_ACT_TANH,
    BK_ACT_SWISH,      /* x * sigmoid(x) */
    BK_ACT_GELU,       /* erf form, as Keras' default */
    BK_ACT_SOFTMAX,    /* over the channel axis */
    BK_ACT_LOG_SOFTMAX,
    BK_ACT_SOFTPLUS,   /* log(1 + e^x) */
    BK_ACT_SOFTSIGN,   /* x / (1 + |x|) */
    BK_ACT_HARD_SIGMOID, /* clip(alpha x + 0.5, 0, 1): alpha 1/6 in Keras 3, 0.2 in Keras 2 */
    BK_ACT_SELU,
    BK_ACT_EXPONENTIAL,
    BK_ACT_RELU6       /* min(max(x, 0), 6) */
} bk_act;

/* Activations whose derivative is a function of their output: ReLU and
 * leaky ReLU (slope alpha >= 0 keeps the sign), sigmoid (y (1 - y)), tanh
 * (1 - y^2). Their backward needs only the output, so they may run in
 * place over their input. */
static inline int bk_act_backward_from_output(bk_act act, float alpha)
{
    return (act == BK_ACT_RELU && alpha >= 0) || act == BK_ACT_SIGMOID || act == BK_ACT_TANH;
}

typedef struct {
    int nd;                          /* spatial dims: 1, 2 or 3 */
    int64_t n, cin, cout, groups;
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad_l[3], pad_r[3];
    int has_bias;
    int post_relu;                   /* forward applies ReLU to its output */
    int src_block, dst_block;        /* channel blocks of x/dx and y/dy; 0: plain */
    int wei_block;                   /* w and dw stored blocked (weights_convert); 0: plain */
} bk_conv_desc;

typedef struct {
    int nd;
    int64_t n, c;
    int64_t in[3], out[3], k[3], stride[3], pad_l[3], pad_r[3];
    int is_max;                      /* else average, padding excluded (Keras) */
    int block;                       /* channel block of x and y; 0: plain */
} bk_pool_desc;

typedef struct {
    int64_t n, c, spatial;           /* data viewed as [n, c, spatial] */
    float eps;
    int block;                       /* channel block of the data; 0: plain */
} bk_bn_desc;

/* `batch` independent products C_i = op(A_i) op(B_i), each row-major:
 * op(A_i) is m x k, op(B_i) k x n, C_i m x n; op(X) = X^T where trans_x is
 * set (X then stored k x m or n x k); ld* are the stored rows' lengths and
 * stride_* the floats from one matrix of the batch to the next. */
typedef struct {
    int64_t batch, m, n, k;
    int trans_a, trans_b;
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;
    int bias;                /* adds a bias[n] to every row of every C_i */
} bk_matmul_desc;

typedef struct bk_plan bk_plan;

typedef struct bk_backend {
    const char *name;
    void (*plan_destroy)(bk_plan *p);

    /* Convolution. Weights [cout, cin/groups, k...], bias [cout].
     * y = conv(x, w) + b. backward writes dx (overwrites) unless it is
     * NULL, and dw (and db when not NULL) unless dw is NULL; asking for both
     * at once lets a backend share work between them. */
    bk_status (*conv_plan)(bk_plan **out, const bk_conv_desc *d);
    bk_status (*conv_forward)(bk_plan *p, const float *x, const float *w, const float *b, float *y);
    bk_status (*conv_backward)(bk_plan *p, const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db);
    /* Transposed convolution (Keras ConvNDTranspose, PyTorch ConvTransposeNd),
     * groups 1. d->in is the input's spatial size, d->out the output's;
     * weights [cin, cout, k...] (PyTorch layout), bias [cout]. The output is
     * the full transposed result ((in-1)*stride + (k-1)*dil + 1 long) with
     * pad_l cut from the start and pad_r from the end; a negative pad_r
     * appends outputs no input reaches (bias only), as Keras does when the
     * stride exceeds the kernel or with output_padding. The plan runs through
     * conv_forward and conv_backward. */
    bk_status (*deconv_plan)(bk_plan **out, const bk_conv_desc *d);

    /* Pooling; the plan keeps the max-pooling workspace of the last
     * training forward for the backward. */
    bk_status (*pool_plan)(bk_plan **out, const bk_pool_desc *d);
    bk_status (*pool_forward)(bk_plan *p, const float *x, float *y, int training);
    bk_status (*pool_backward)(bk_plan *p, const float *dy, float *dx);

    /* Batch normalization over [n, c, spatial]. Training: computes the batch
     * mean and biased variance into mean/var and normalises with them;
     * inference: uses mean/var as given. */
    bk_status (*bn_plan)(bk_plan **out, const bk_bn_desc *d);
    bk_status (*bn_forward)(bk_plan *p, int training, const float *x, const float *gamma,
                            const float *beta, float *mean, float *var, float *y);
    bk_status (*bn_backward)(bk_plan *p, const float *x, const float *dy, const float *gamma,
                             const float *mean, const float *var, float *dx, float *dgamma,
                             float *dbeta);

    /* Element-wise activations over `count` floats (softmax kinds excluded). */
    bk_status (*act_plan)(bk_plan **out, bk_act act, float alpha, int64_t count);
    bk_status (*act_forward)(bk_plan *p, const float *x, float *y);
    /* x: the forward input, y: its output. Where
     * bk_act_backward_from_output holds, only y is read (x may be NULL or
     * overwritten by y: the activation ran in place). */
    bk_status (*act_backward)(bk_plan *p, const float *x, const float *y, const float *dy, float *dx);

    /* Softmax / log-softmax over the middle axis of [outer, axis, inner]. */
    bk_status (*softmax_plan)(bk_plan **out, int64_t outer, int64_t axis, int64_t inner, int log);
    bk_status (*softmax_forward)(bk_plan *p, const float *x, float *y);
    bk_status (*softmax_backward)(bk_plan *p, const float *y, const float *dy, float *dx);

    /* The channel block the convolution kernels prefer on this machine (16
     * with AVX-512, 8 with AVX2), 0 when plain is as fast. */
    int (*channel_block)(void);
    /* Converts [n, c, spatial] between plain and blocked by `block`:
     * to_blocked 1 reads plain x and writes blocked y, 0 the reverse. */
    bk_status (*layout_plan)(bk_plan **out, int64_t n, int64_t c, int64_t spatial, int block);
    bk_status (*layout_convert)(bk_plan *p, const float *x, float *y, int to_blocked);
    /* Converts convolution weights [cout, cin, k...] (groups 1, both
     * channel counts divisible by block) between PyTorch's layout and the
     * blocked one the convolution kernels read, [cout/B][cin/B][k...][B
     * of cin][B of cout]: training then reads and updates them where they
     * are instead of reordering them twice a step. */
    bk_status (*weights_convert)(const bk_shape *shape, int block, const float *src, float *dst, int to_blocked);

    /* Matrix products, batched or not (Dense, Dot, attention),
     * bk_matmul_desc; c is overwritten; bias is read where d->bias. */
    bk_status (*matmul_plan)(bk_plan **out, const bk_matmul_desc *d);
    bk_status (*matmul)(bk_plan *p, const float *a, const float *b, const float *bias, float *c);
} bk_backend;

/* The CPU backend (oneDNN, OpenMP). Never NULL. */
const bk_backend *bk_backend_cpu(void);

#endif
