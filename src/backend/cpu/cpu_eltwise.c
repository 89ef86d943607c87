/* Activations and softmax through oneDNN eltwise / softmax / logsoftmax. */
#include "cpu_plan.h"

static bk_status act_alg(bk_act act, float *alpha, dnnl_alg_kind_t *alg)
{
    switch (act) {
    /* the _use_dst_for_bwd forms where bk_act_backward_from_output holds */
    case BK_ACT_RELU: *alg = *alpha >= 0 ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu; return BK_OK;
    case BK_ACT_ELU: *alg = dnnl_eltwise_elu; return BK_OK;
    case BK_ACT_SIGMOID: *alg = dnnl_eltwise_logistic_use_dst_for_bwd; return BK_OK;
    case BK_ACT_TANH: *alg = dnnl_eltwise_tanh_use_dst_for_bwd; return BK_OK;
    case BK_ACT_SWISH: *alg = dnnl_eltwise_swish; *alpha = 1.0f; return BK_OK;
    case BK_ACT_GELU: *alg = dnnl_eltwise_gelu_erf; return BK_OK;
    case BK_ACT_LINEAR: *alg = dnnl_eltwise_linear; *alpha = 1.0f; return BK_OK;
    default: return bk_error(BK_ERR_INTERNAL, "activation %d is not element-wise", (int)act);
    }
}

bk_status bk_cpu_act_plan(bk_plan **out, bk_act act, float alpha, int64_t count)
{
    *out = NULL;
    if (bk_cpu_act_is_loop(act)) {
        bk_plan *p = bk_cpu_plan_new();
        if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building an activation plan");
        p->loop_act = 1;
        p->act = act;
        p->alpha = alpha;
        p->count = count;
        *out = p;
        return BK_OK;
    }
    dnnl_alg_kind_t alg = dnnl_eltwise_relu;
    float dnnl_alpha = alpha;
    bk_status st = act_alg(act, &dnnl_alpha, &alg);
    if (st) return st;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building an activation plan");
    p->act = act;
    p->alpha = alpha;
    dnnl_memory_desc_t md = bk_dnnl_plain_md(1, &count);
    dnnl_eltwise_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL;
    st = bk_dnnl_check(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &md,
                                                      dnnl_alpha, 0.0f), "activation descriptor");
    if (!st) st = bk_dnnl_primitive(&p->fwd, &fpd, &fd, NULL, "activation forward");
    if (!st) st = bk_dnnl_check(dnnl_eltwise_backward_desc_init(&bd, alg, &md, &md, dnnl_alpha, 0.0f),
                                "activation backward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->bwd_data, NULL, &bd, fpd, "activation backward");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    int slots[] = {BK_M_SRC, BK_M_DST, BK_M_DSRC, BK_M_DDST};
    for (int i = 0; i < 4 && !st; i++) st = bk_dnnl_mem(&p->mem[slots[i]], &md);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_act_forward(bk_plan *p, const float *x, float *y)
{
    if (p->loop_act) {
        bk_cpu_act_loop_forward(p, x, y);
        return BK_OK;
    }
    bk_dnnl_arg a[2] = {{DNNL_ARG_SRC, p->mem[BK_M_SRC], x}, {DNNL_ARG_DST, p->mem[BK_M_DST], y}};
    return bk_dnnl_run(p->fwd, a, 2, "activation forward");
}

bk_status bk_cpu_act_backward(bk_plan *p, const float *x, const float *y, const float *dy, float *dx)
{
    if (p->loop_act) {
        bk_cpu_act_loop_backward(p, x, dy, dx);
        return BK_OK;
    }
    int from_y = bk_act_backward_from_output(p->act, p->alpha);
    bk_dnnl_arg a[3] = {from_y ? (bk_dnnl_arg){DNNL_ARG_DST, p->mem[BK_M_DST], y}
                               : (bk_dnnl_arg){DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_DIFF_DST, p->mem[BK_M_DDST], dy},
                        {DNNL_ARG_DIFF_SRC, p->mem[BK_M_DSRC], dx}};
    return bk_dnnl_run(p->bwd_data, a, 3, "activation backward");
}

/* Softmax over the middle axis of [outer, axis, inner]. oneDNN 2.6 has
 * vectorised kernels only where the axis is the innermost dimension in
 * memory; over a strided axis (inner > 1: per-pixel class scores, Keras
 * softmax over a non-last axis) it falls back to a reference loop about
 * 50x slower, and transposing around it cost more than the softmax, so
 * that case runs as loops (cpu_softmax_loop.c). */
bk_status bk_cpu_softmax_plan(bk_plan **out, int64_t outer, int64_t axis, int64_t inner, int log)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a softmax plan");
    p->act = log ? BK_ACT_LOG_SOFTMAX : BK_ACT_SOFTMAX;
    if (inner > 1) {
        p->loop_softmax = 1;
        p->count = outer;
        p->loop_axis = axis;
        p->loop_inner = inner;
        *out = p;
        return BK_OK;
    }
    int64_t dims[3] = {outer, axis, inner};
    dnnl_memory_desc_t plain = bk_dnnl_plain_md(3, dims), md = plain;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    bk_status st;
    if (log) {
        dnnl_logsoftmax_desc_t fd, bd;
        st = bk_dnnl_check(dnnl_logsoftmax_forward_desc_init(&fd, dnnl_forward_training, &md, 1),
                           "log-softmax descriptor");
        if (!st) st = bk_dnnl_pd(&fpd, &fd, NULL, "log-softmax forward");
        if (!st) st = bk_dnnl_check(dnnl_logsoftmax_backward_desc_init(&bd, &md, &md, 1),
                                    "log-softmax backward descriptor");
        if (!st) st = bk_dnnl_pd(&bpd, &bd, fpd, "log-softmax backward");
    } else {
        dnnl_softmax_desc_t fd, bd;
        st = bk_dnnl_check(dnnl_softmax_forward_desc_init(&fd, dnnl_forward_training, &md, 1),
                           "softmax descriptor");
        if (!st) st = bk_dnnl_pd(&fpd, &fd, NULL, "softmax forward");
        if (!st) st = bk_dnnl_check(dnnl_softmax_backward_desc_init(&bd, &md, &md, 1),
                                    "softmax backward descriptor");
        if (!st) st = bk_dnnl_pd(&bpd, &bd, fpd, "softmax backward");
    }
    bk_dnnl_port_spec fs[2] = {{DNNL_ARG_SRC, &plain, 0}, {DNNL_ARG_DST, &plain, 1}};
    bk_dnnl_port_spec bs[3] = {{DNNL_ARG_DST, &plain, 0}, {DNNL_ARG_DIFF_DST, &plain, 0},
                               {DNNL_ARG_DIFF_SRC, &plain, 1}};
    if (!st) st = bk_dnnl_op_create(&p->op[BK_OP_FWD], fpd, fs, 2, "softmax forward");
    if (!st) st = bk_dnnl_op_create(&p->op[BK_OP_BWD_DATA], bpd, bs, 3, "softmax backward");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_softmax_forward(bk_plan *p, const float *x, float *y)
{
    if (p->loop_softmax) return bk_cpu_softmax_loop_forward(p, x, y);
    const void *ptrs[2] = {x, y};
    return bk_dnnl_op_run(p->op[BK_OP_FWD], ptrs, "softmax forward");
}

bk_status bk_cpu_softmax_backward(bk_plan *p, const float *y, const float *dy, float *dx)
{
    if (p->loop_softmax) return bk_cpu_softmax_loop_backward(p, y, dy, dx);
    const void *ptrs[3] = {y, dy, dx};
    return bk_dnnl_op_run(p->op[BK_OP_BWD_DATA], ptrs, "softmax backward");
}
