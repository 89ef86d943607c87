/* The channel-blocked layout (backend.h): which block oneDNN's convolution
 * kernels want on this machine, and conversions to and from plain. */
#include <pthread.h>
#include "cpu_plan.h"

static int g_block;
static pthread_once_t g_block_once = PTHREAD_ONCE_INIT;

/* Asks oneDNN what layout it picks for a typical 3x3 convolution's input:
 * that is the layout its fastest kernels compute in on this CPU. */
static void find_block(void)
{
    int64_t sd[4] = {32, 64, 28, 28}, wd[4] = {64, 64, 3, 3};
    dnnl_memory_desc_t src = bk_dnnl_any_md(4, sd), dst = bk_dnnl_any_md(4, sd), wei = bk_dnnl_any_md(4, wd);
    dnnl_dims_t strides = {1, 1}, dil = {0, 0}, pad = {1, 1};
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_engine_t eng = bk_dnnl_engine();
    if (!eng || dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src,
                                                           &wei, NULL, &dst, strides, dil, pad, pad) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL) != dnnl_success)
        return;
    const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    static const int blocks[] = {16, 8};
    for (int i = 0; i < 2 && chosen; i++) {
        dnnl_memory_desc_t md = bk_dnnl_act_md(4, sd, blocks[i]);
        if (dnnl_memory_desc_equal(chosen, &md)) g_block = blocks[i];
    }
    dnnl_primitive_desc_destroy(pd);
}

int bk_cpu_channel_block(void)
{
    pthread_once(&g_block_once, find_block);
    return g_block;
}

bk_status bk_cpu_layout_plan(bk_plan **out, int64_t n, int64_t c, int64_t spatial, int block)
{
    *out = NULL;
    bk_plan *p = bk_cpu_plan_new();
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory building a layout conversion");
    int64_t dims[3] = {n, c, spatial};
    dnnl_memory_desc_t plain = bk_dnnl_plain_md(3, dims), blocked = bk_dnnl_act_md(3, dims, block);
    bk_status st = bk_dnnl_mem(&p->mem[BK_M_SRC], &plain);
    if (!st) st = bk_dnnl_mem(&p->mem[BK_M_DST], &blocked);
    if (!st) st = bk_dnnl_reorder(&p->fwd, &plain, &blocked, "layout reorder");
    if (!st) st = bk_dnnl_reorder(&p->bwd_data, &blocked, &plain, "layout reorder");
    if (st) {
        bk_cpu_plan_destroy(p);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_cpu_weights_convert(const bk_shape *shape, int block, const float *src, float *dst, int to_blocked)
{
    int64_t dims[5];
    for (int i = 0; i < shape->ndim && i < 5; i++) dims[i] = shape->dims[i];
    dnnl_memory_desc_t plain = bk_dnnl_plain_md(shape->ndim, dims), blocked = bk_dnnl_wei_md(shape->ndim, dims, block);
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_primitive_t r = NULL;
    bk_status st = bk_dnnl_mem(&from, to_blocked ? &plain : &blocked);
    if (!st) st = bk_dnnl_mem(&to, to_blocked ? &blocked : &plain);
    if (!st) st = bk_dnnl_reorder(&r, to_blocked ? &plain : &blocked, to_blocked ? &blocked : &plain, "weights reorder");
    bk_dnnl_arg a[2] = {{DNNL_ARG_FROM, from, src}, {DNNL_ARG_TO, to, dst}};
    if (!st) st = bk_dnnl_run(r, a, 2, "weights reorder");
    if (r) dnnl_primitive_destroy(r);
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    return st;
}

bk_status bk_cpu_layout_convert(bk_plan *p, const float *x, float *y, int to_blocked)
{
    bk_dnnl_arg a[2] = {{DNNL_ARG_FROM, p->mem[to_blocked ? BK_M_SRC : BK_M_DST], x},
                        {DNNL_ARG_TO, p->mem[to_blocked ? BK_M_DST : BK_M_SRC], y}};
    return bk_dnnl_run(to_blocked ? p->fwd : p->bwd_data, a, 2, "layout reorder");
}
