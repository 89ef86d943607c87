/* Batch normalization through oneDNN, with scale and shift. */
#include "cpu_plan.h"

bk_status bk_cpu_bn_plan(bk_plan **out, const bk_bn_desc *d)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a batch-norm plan");
    int64_t dims[4] = {d->n, d->c, d->spatial, 1}, cd[1] = {d->c};
    /* [n, c, spatial, 1]: blocked, the spatial axes flattened keep their order */
    dnnl_memory_desc_t data = bk_dnnl_act_md(4, dims, d->block), vec = bk_dnnl_plain_md(1, cd);
    unsigned flags = dnnl_use_scale | dnnl_use_shift;
    dnnl_batch_normalization_desc_t fd, id, bd;
    dnnl_primitive_desc_t fpd = NULL;
    bk_status st = bk_dnnl_check(dnnl_batch_normalization_forward_desc_init(
        &fd, dnnl_forward_training, &data, d->eps, flags), "batch-norm forward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->fwd, &fpd, &fd, NULL, "batch-norm forward");
    if (!st) st = bk_dnnl_check(dnnl_batch_normalization_forward_desc_init(
        &id, dnnl_forward_inference, &data, d->eps, flags | dnnl_use_global_stats),
        "batch-norm inference descriptor");
    if (!st) st = bk_dnnl_primitive(&p->fwd_infer, NULL, &id, NULL, "batch-norm inference");
    if (!st) st = bk_dnnl_check(dnnl_batch_normalization_backward_desc_init(
        &bd, dnnl_backward, &data, &data, d->eps, flags), "batch-norm backward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->bwd_data, NULL, &bd, fpd, "batch-norm backward");
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    int data_slots[] = {BK_M_SRC, BK_M_DST, BK_M_DSRC, BK_M_DDST};
    int vec_slots[] = {BK_M_W, BK_M_B, BK_M_DW, BK_M_DB, BK_M_MEAN, BK_M_VAR};
    for (int i = 0; i < 4 && !st; i++) st = bk_dnnl_mem(&p->mem[data_slots[i]], &data);
    for (int i = 0; i < 6 && !st; i++) st = bk_dnnl_mem(&p->mem[vec_slots[i]], &vec);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_bn_forward(bk_plan *p, int training, const float *x, const float *gamma,
                            const float *beta, float *mean, float *var, float *y)
{
    bk_dnnl_arg a[6] = {{DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_DST, p->mem[BK_M_DST], y},
                        {DNNL_ARG_SCALE, p->mem[BK_M_W], gamma},
                        {DNNL_ARG_SHIFT, p->mem[BK_M_B], beta},
                        {DNNL_ARG_MEAN, p->mem[BK_M_MEAN], mean},
                        {DNNL_ARG_VARIANCE, p->mem[BK_M_VAR], var}};
    return bk_dnnl_run(training ? p->fwd : p->fwd_infer, a, 6, "batch-norm forward");
}

bk_status bk_cpu_bn_backward(bk_plan *p, const float *x, const float *dy, const float *gamma,
                             const float *mean, const float *var, float *dx, float *dgamma,
                             float *dbeta)
{
    /* oneDNN 2.6 rejects the call without a shift argument, though the
     * backward pass never reads it; hand it the gamma buffer */
    bk_dnnl_arg a[9] = {{DNNL_ARG_SHIFT, p->mem[BK_M_B], gamma},{DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_DIFF_DST, p->mem[BK_M_DDST], dy},
                        {DNNL_ARG_SCALE, p->mem[BK_M_W], gamma},
                        {DNNL_ARG_MEAN, p->mem[BK_M_MEAN], mean},
                        {DNNL_ARG_VARIANCE, p->mem[BK_M_VAR], var},
                        {DNNL_ARG_DIFF_SRC, p->mem[BK_M_DSRC], dx},
                        {DNNL_ARG_DIFF_SCALE, p->mem[BK_M_DW], dgamma},
                        {DNNL_ARG_DIFF_SHIFT, p->mem[BK_M_DB], dbeta}};
    return bk_dnnl_run(p->bwd_data, a, 9, "batch-norm backward");
}
