/* The CPU backend's plan: oneDNN primitives and the memory objects they
 * read and write, built once per shape. Unused slots stay NULL. */
#ifndef BK_CPU_PLAN_H
#define BK_CPU_PLAN_H
#include "backend/backend.h"
#include "dnnl_op.h"

enum { BK_M_SRC, BK_M_DST, BK_M_W, BK_M_B, BK_M_DSRC, BK_M_DDST, BK_M_DW, BK_M_DB,
       BK_M_MEAN, BK_M_VAR, BK_M_WS, BK_M_COUNT };

/* Slots of bk_plan.op: a convolution's (or transposed convolution's) three
 * passes; softmax uses the first two for forward and backward. */
enum { BK_OP_FWD, BK_OP_BWD_DATA, BK_OP_BWD_W };

typedef struct bk_deconv_fwd bk_deconv_fwd;
typedef struct bk_narrow_conv bk_narrow_conv;

/* Loops of our own are built for AVX-512 and AVX2 as well as the baseline
 * and picked at load time by the CPU (the build itself targets plain
 * x86-64): 16 floats per instruction instead of 4. */
#define BK_WIDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

struct bk_plan {
    dnnl_primitive_t fwd, fwd_infer, bwd_data, bwd_weights;
    dnnl_memory_t mem[BK_M_COUNT];
    /* layout-adapting ops for primitives that prefer other layouts
     * (BK_OP_*); NULL where unused */
    bk_dnnl_op *op[3];
    bk_deconv_fwd *deconv_fwd; /* a transposed convolution's forward as a convolution
                                * (cpu_deconv_fwd.c); NULL: op[BK_OP_FWD] runs it */
    bk_narrow_conv *narrow;    /* a convolution to few channels (cpu_conv_narrow.c);
                                * no oneDNN primitives then */
    int64_t relu_after;        /* floats of the output a ReLU passes over after
                                * op[BK_OP_FWD] (a fused ReLU it cannot apply) */
    void *workspace;      /* pooling workspace, owned */
    int has_bias;
    int loop_act;         /* an activation computed by cpu_act_loop.c (no primitives) */
    int loop_softmax;     /* a softmax over a strided axis, cpu_softmax_loop.c: count
                           * outer slices of [loop_axis, loop_inner] */
    int64_t loop_axis, loop_inner;
    bk_act act;
    float alpha;
    int64_t count;
};

bk_plan *bk_cpu_plan_new(void);
void bk_cpu_plan_destroy(bk_plan *p);

bk_status bk_cpu_conv_plan(bk_plan **out, const bk_conv_desc *d);
/* Creates the three layout-adapting ops of a (transposed) convolution plan
 * from its primitive descriptors; the plain descriptors are the caller's
 * buffers' layouts. */
bk_status bk_cpu_conv_ops(bk_plan *p, const_dnnl_primitive_desc_t fpd, const_dnnl_primitive_desc_t bpd,
                          const_dnnl_primitive_desc_t wpd, const dnnl_memory_desc_t *src,
                          const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *bias,
                          const dnnl_memory_desc_t *dst, const char *what);
bk_status bk_cpu_conv_forward(bk_plan *p, const float *x, const float *w, const float *b, float *y);
bk_status bk_cpu_conv_backward(bk_plan *p, const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db);
/* Convolutions to at most 4 channels from channel-blocked input
 * (cpu_conv_narrow.c), which oneDNN would pad to 16. */
int bk_cpu_narrow_conv_fits(const bk_conv_desc *d);
bk_status bk_cpu_narrow_conv_create(bk_narrow_conv **out, const bk_conv_desc *d);
bk_status bk_cpu_narrow_conv_forward(bk_narrow_conv *c, const float *x, const float *w, const float *b, float *y);
bk_status bk_cpu_narrow_conv_backward(bk_narrow_conv *c, const float *x, const float *w, const float *dy, float *dx,
                                      float *dw, float *db);
void bk_cpu_narrow_conv_destroy(bk_narrow_conv *c);
/* The forward pass of d alone: an op over (src, weights, dst[, bias]) in
 * d's layouts. */
bk_status bk_cpu_conv_forward_op(bk_dnnl_op **op, const bk_conv_desc *d);
/* Transposed convolution; runs through the conv_* functions above. */
bk_status bk_cpu_deconv_plan(bk_plan **out, const bk_conv_desc *d);
/* The forward of transposed convolution d as a convolution (cpu_deconv_fwd.c);
 * *out stays NULL where that is not exact. wei: the weights as stored. */
bk_status bk_cpu_deconv_fwd_create(bk_deconv_fwd **out, const bk_conv_desc *d, const dnnl_memory_desc_t *wei);
bk_status bk_cpu_deconv_fwd_run(bk_deconv_fwd *f, const float *x, const float *w, const float *b, float *y);
void bk_cpu_deconv_fwd_destroy(bk_deconv_fwd *f);

bk_status bk_cpu_pool_plan(bk_plan **out, const bk_pool_desc *d);
bk_status bk_cpu_pool_forward(bk_plan *p, const float *x, float *y, int training);
bk_status bk_cpu_pool_backward(bk_plan *p, const float *dy, float *dx);

bk_status bk_cpu_bn_plan(bk_plan **out, const bk_bn_desc *d);
bk_status bk_cpu_bn_forward(bk_plan *p, int training, const float *x, const float *gamma,
                            const float *beta, float *mean, float *var, float *y);
bk_status bk_cpu_bn_backward(bk_plan *p, const float *x, const float *dy, const float *gamma,
                             const float *mean, const float *var, float *dx, float *dgamma,
                             float *dbeta);

bk_status bk_cpu_act_plan(bk_plan **out, bk_act act, float alpha, int64_t count);
bk_status bk_cpu_act_forward(bk_plan *p, const float *x, float *y);
bk_status bk_cpu_act_backward(bk_plan *p, const float *x, const float *y, const float *dy, float *dx);

/* Activations oneDNN 2.6 lacks, as plain loops (cpu_act_loop.c). */
int bk_cpu_act_is_loop(bk_act act);
void bk_cpu_act_loop_forward(const bk_plan *p, const float *x, float *y);
void bk_cpu_act_loop_backward(const bk_plan *p, const float *x, const float *dy, float *dx);

int bk_cpu_channel_block(void);
bk_status bk_cpu_layout_plan(bk_plan **out, int64_t n, int64_t c, int64_t spatial, int block);
bk_status bk_cpu_weights_convert(const bk_shape *shape, int block, const float *src, float *dst, int to_blocked);
bk_status bk_cpu_layout_convert(bk_plan *p, const float *x, float *y, int to_blocked);

bk_status bk_cpu_softmax_plan(bk_plan **out, int64_t outer, int64_t axis, int64_t inner, int log);
bk_status bk_cpu_softmax_forward(bk_plan *p, const float *x, float *y);
bk_status bk_cpu_softmax_loop_forward(const bk_plan *p, const float *x, float *y);
bk_status bk_cpu_softmax_loop_backward(const bk_plan *p, const float *y, const float *dy, float *dx);
bk_status bk_cpu_softmax_backward(bk_plan *p, const float *y, const float *dy, float *dx);
/* Matrix products as oneDNN matmul primitives (cpu_matmul.c). */
bk_status bk_cpu_matmul_plan(bk_plan **out, const bk_matmul_desc *d);
bk_status bk_cpu_matmul(bk_plan *p, const float *a, const float *b, const float *bias, float *c);
#endif
