/* Max and average pooling through oneDNN. Average pooling excludes the
 * padding from the count, as Keras' 'same' padding does. */
#include <stdlib.h>
#include "cpu_plan.h"

bk_status bk_cpu_pool_plan(bk_plan **out, const bk_pool_desc *d)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a pooling plan");
    int64_t sd[5] = {d->n, d->c}, dd[5] = {d->n, d->c};
    dnnl_dims_t strides, kernel, dil, pl, pr;
    for (int i = 0; i < d->nd; i++) {
        sd[2 + i] = d->in[i];
        dd[2 + i] = d->out[i];
        strides[i] = d->stride[i];
        kernel[i] = d->k[i];
        dil[i] = 0;
        pl[i] = d->pad_l[i];
        pr[i] = d->pad_r[i];
    }
    dnnl_memory_desc_t src = bk_dnnl_act_md(2 + d->nd, sd, d->block), dst = bk_dnnl_act_md(2 + d->nd, dd, d->block);
    dnnl_alg_kind_t alg = d->is_max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
    dnnl_pooling_v2_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL;
    bk_status st = bk_dnnl_check(dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, alg,
        &src, &dst, strides, kernel, dil, pl, pr), "pooling forward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->fwd, &fpd, &fd, NULL, "pooling forward");
    if (!st) st = bk_dnnl_check(dnnl_pooling_v2_backward_desc_init(&bd, alg, &src, &dst, strides,
        kernel, dil, pl, pr), "pooling backward descriptor");
    if (!st) st = bk_dnnl_primitive(&p->bwd_data, NULL, &bd, fpd, "pooling backward");
    if (!st) st = bk_dnnl_mem(&p->mem[BK_M_SRC], &src);
    if (!st) st = bk_dnnl_mem(&p->mem[BK_M_DST], &dst);
    if (!st) st = bk_dnnl_mem(&p->mem[BK_M_DSRC], &src);
    if (!st) st = bk_dnnl_mem(&p->mem[BK_M_DDST], &dst);
    if (!st && d->is_max) {
        const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        size_t bytes = ws ? dnnl_memory_desc_get_size(ws) : 0;
        if (bytes) {
            p->workspace = malloc(bytes);
            if (!p->workspace) st = bk_error(BK_ERR_NOMEM, "out of memory for a pooling workspace");
            if (!st) st = bk_dnnl_mem(&p->mem[BK_M_WS], ws);
        }
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_pool_forward(bk_plan *p, const float *x, float *y, int training)
{
    (void)training; /* the workspace is cheap; always keep it for a backward */
    bk_dnnl_arg a[3] = {{DNNL_ARG_SRC, p->mem[BK_M_SRC], x},
                        {DNNL_ARG_DST, p->mem[BK_M_DST], y},
                        {DNNL_ARG_WORKSPACE, p->mem[BK_M_WS], p->workspace}};
    return bk_dnnl_run(p->fwd, a, p->workspace ? 3 : 2, "pooling forward");
}

bk_status bk_cpu_pool_backward(bk_plan *p, const float *dy, float *dx)
{
    bk_dnnl_arg a[3] = {{DNNL_ARG_DIFF_DST, p->mem[BK_M_DDST], dy},
                        {DNNL_ARG_DIFF_SRC, p->mem[BK_M_DSRC], dx},
                        {DNNL_ARG_WORKSPACE, p->mem[BK_M_WS], p->workspace}};
    return bk_dnnl_run(p->bwd_data, a, p->workspace ? 3 : 2, "pooling backward");
}
