/* The CPU backend table: oneDNN for conv/pool/norm/eltwise/softmax and
 * matrix products, loops where oneDNN 2.6 is slow or lacks an op. */
#include <stdlib.h>
#include "cpu_plan.h"

bk_plan *bk_cpu_plan_new(void) { return calloc(1, sizeof(bk_plan)); }

void bk_cpu_plan_destroy(bk_plan *p)
{
    if (!p) return;
    dnnl_primitive_t prims[4] = {p->fwd, p->fwd_infer, p->bwd_data, p->bwd_weights};
    for (int i = 0; i < 4; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    for (int i = 0; i < BK_M_COUNT; i++)
        if (p->mem[i]) dnnl_memory_destroy(p->mem[i]);
    for (int i = 0; i < 3; i++) bk_dnnl_op_destroy(p->op[i]);
    bk_cpu_deconv_fwd_destroy(p->deconv_fwd);
    bk_cpu_narrow_conv_destroy(p->narrow);
    free(p->workspace);
    free(p);
}

static const bk_backend g_cpu = {
    .name = "cpu",
    .plan_destroy = bk_cpu_plan_destroy,
    .conv_plan = bk_cpu_conv_plan,
    .conv_forward = bk_cpu_conv_forward,
    .conv_backward = bk_cpu_conv_backward,
    .deconv_plan = bk_cpu_deconv_plan,
    .pool_plan = bk_cpu_pool_plan,
    .pool_forward = bk_cpu_pool_forward,
    .pool_backward = bk_cpu_pool_backward,
    .bn_plan = bk_cpu_bn_plan,
    .bn_forward = bk_cpu_bn_forward,
    .bn_backward = bk_cpu_bn_backward,
    .act_plan = bk_cpu_act_plan,
    .act_forward = bk_cpu_act_forward,
    .act_backward = bk_cpu_act_backward,
    .softmax_plan = bk_cpu_softmax_plan,
    .softmax_forward = bk_cpu_softmax_forward,
    .softmax_backward = bk_cpu_softmax_backward,
    .channel_block = bk_cpu_channel_block,
    .layout_plan = bk_cpu_layout_plan,
    .layout_convert = bk_cpu_layout_convert,
    .weights_convert = bk_cpu_weights_convert,
    .matmul_plan = bk_cpu_matmul_plan,
    .matmul = bk_cpu_matmul,
};

const bk_backend *bk_backend_cpu(void) { return &g_cpu; }
