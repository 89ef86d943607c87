/* Gradient checks of the convolution family beyond plain Conv: grouped
 * convolutions with strides and dilation, Conv1D/2D/3DTranspose (valid and
 * same, output_padding, a stride larger than the kernel, dilation, no
 * bias), DepthwiseConv1D/2D/3D (depth_multiplier, strides, dilation) and
 * SeparableConv1D/2D. Every case checks d/d(input) and every parameter
 * (see gc_harness.h). */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define CT1(cfg) GC_L("Conv1DTranspose", "'name': 't', 'filters': 3, " cfg)
#define CT2(cfg) GC_L("Conv2DTranspose", "'name': 't', 'filters': 3, " cfg)
#define CT3(cfg) GC_L("Conv3DTranspose", "'name': 't', 'filters': 2, " cfg)
#define DW1(cfg) GC_L("DepthwiseConv1D", "'name': 'dw', " cfg)
#define DW2(cfg) GC_L("DepthwiseConv2D", "'name': 'dw', " cfg)
#define DW3(cfg) GC_L("DepthwiseConv3D", "'name': 'dw', " cfg)
#define SEP1(cfg) GC_L("SeparableConv1D", "'name': 's', 'filters': 3, " cfg)
#define SEP2(cfg) GC_L("SeparableConv2D", "'name': 's', 'filters': 3, " cfg)

static const gc_case cases[] = {
    /* grouped Conv with the other options */
    {"conv2d_groups3_s2_same", GC_SEQ("5, 6, 6", GC_L("Conv2D", "'name': 'c', 'filters': 3, 'groups': 3, "
                                                     "'kernel_size': 3, 'strides': 2, 'padding': 'same'")), {0}},
    {"conv2d_groups2_dil2", GC_SEQ("6, 6, 4", GC_L("Conv2D", "'name': 'c', 'filters': 6, 'groups': 2, "
                                                  "'kernel_size': [2, 3], 'dilation_rate': 2, 'use_bias': false")), {0}},
    {"conv1d_groups4_s2", GC_SEQ("9, 4", GC_L("Conv1D", "'name': 'c', 'filters': 8, 'groups': 4, 'kernel_size': 3, 'strides': 2")), {0}},
    {"conv3d_groups2_same", GC_SEQ("3, 4, 3, 2", GC_L("Conv3D", "'name': 'c', 'filters': 4, 'groups': 2, "
                                                    "'kernel_size': 2, 'padding': 'same'")), {0}},
    /* Conv2DTranspose: CookieNetAE's two kinds first */
    {"convt2d_k2s2_valid", GC_SEQ("3, 4, 2", CT2("'kernel_size': [2, 2], 'strides': [2, 2], 'padding': 'valid'")), {0}},
    {"convt2d_k3_same", GC_SEQ("4, 3, 2", CT2("'kernel_size': 3, 'padding': 'same'")), {0}},
    {"convt2d_k3s2_same", GC_SEQ("3, 3, 2", CT2("'kernel_size': 3, 'strides': 2, 'padding': 'same'")), {0}},
    {"convt2d_k4s2_same", GC_SEQ("3, 2, 2", CT2("'kernel_size': [4, 3], 'strides': 2, 'padding': 'same'")), {0}},
    {"convt2d_k3s2_valid", GC_SEQ("3, 3, 2", CT2("'kernel_size': 3, 'strides': 2")), {0}},
    /* a stride larger than the kernel: outputs past the full result (bias only) */
    {"convt2d_k1s3_valid", GC_SEQ("3, 2, 2", CT2("'kernel_size': [1, 2], 'strides': 3")), {0}},
    {"convt2d_outpad_valid", GC_SEQ("3, 3, 2", CT2("'kernel_size': 2, 'strides': 3, 'output_padding': [1, 2]")), {0}},
    {"convt2d_outpad_same", GC_SEQ("3, 3, 2", CT2("'kernel_size': 3, 'strides': 2, 'padding': 'same', 'output_padding': 1")), {0}},
    {"convt2d_outpad0_same", GC_SEQ("3, 3, 2", CT2("'kernel_size': 4, 'strides': 2, 'padding': 'same', 'output_padding': [0, 1]")), {0}},
    {"convt2d_dil2", GC_SEQ("3, 4, 2", CT2("'kernel_size': [2, 3], 'dilation_rate': 2")), {0}},
    {"convt2d_dil2_same", GC_SEQ("4, 3, 2", CT2("'kernel_size': 3, 'dilation_rate': [2, 1], 'padding': 'same'")), {0}},
    {"convt2d_nobias_act", GC_SEQ("3, 3, 2", CT2("'kernel_size': 2, 'strides': 2, 'use_bias': false, 'activation': 'tanh'")), {0}},
    {"convt2d_x2", GC_SEQ("2, 2, 3", CT2("'kernel_size': 2, 'strides': 2") ", "
                          GC_L("Conv2DTranspose", "'name': 't2', 'filters': 2, 'kernel_size': 3, 'padding': 'same'")),
     {.prebatch = 3}},
    /* Conv1DTranspose */
    {"convt1d_k3s2_valid", GC_SEQ("5, 2", CT1("'kernel_size': 3, 'strides': 2")), {0}},
    {"convt1d_k2s3_same_op", GC_SEQ("4, 2", CT1("'kernel_size': 2, 'strides': 3, 'padding': 'same', 'output_padding': 2")), {0}},
    {"convt1d_dil3_same", GC_SEQ("5, 3", CT1("'kernel_size': 3, 'dilation_rate': 3, 'padding': 'same'")), {0}},
    /* Conv3DTranspose */
    {"convt3d_k2s2_valid", GC_SEQ("2, 3, 2, 2", CT3("'kernel_size': 2, 'strides': 2")), {0}},
    {"convt3d_same_op", GC_SEQ("2, 3, 2, 2", CT3("'kernel_size': 3, 'strides': [2, 1, 2], 'padding': 'same', "
                                                 "'output_padding': [1, 0, 0]")), {0}},
    /* DepthwiseConv */
    {"dw2d_valid", GC_SEQ("5, 4, 3", DW2("'kernel_size': 3")), {0}},
    {"dw2d_dm2_same_s2", GC_SEQ("5, 6, 2", DW2("'kernel_size': [3, 2], 'strides': 2, 'padding': 'same', 'depth_multiplier': 2")), {0}},
    {"dw2d_dil2_nobias", GC_SEQ("6, 6, 2", DW2("'kernel_size': 2, 'dilation_rate': 2, 'use_bias': false, 'depth_multiplier': 3")), {0}},
    {"dw1d_dm3_s2_same", GC_SEQ("9, 2", DW1("'kernel_size': 3, 'strides': 2, 'padding': 'same', 'depth_multiplier': 3")), {0}},
    {"dw1d_dil2", GC_SEQ("9, 3", DW1("'kernel_size': 2, 'dilation_rate': 2, 'activation': 'sigmoid'")), {0}},
    {"dw3d_dm2", GC_SEQ("3, 4, 3, 2", DW3("'kernel_size': [2, 2, 2], 'depth_multiplier': 2")), {0}},
    /* SeparableConv */
    {"sep2d_valid", GC_SEQ("5, 4, 2", SEP2("'kernel_size': 3")), {0}},
    {"sep2d_dm2_same_s2", GC_SEQ("5, 6, 2", SEP2("'kernel_size': 3, 'strides': 2, 'padding': 'same', 'depth_multiplier': 2")),
     {.prebatch = 1}},
    {"sep2d_dil2_nobias", GC_SEQ("6, 5, 3", SEP2("'kernel_size': [2, 2], 'dilation_rate': 2, 'use_bias': false")), {0}},
    {"sep1d_dm2_same", GC_SEQ("8, 2", SEP1("'kernel_size': 3, 'padding': 'same', 'depth_multiplier': 2, 'activation': 'tanh'")), {0}},
    {"sep1d_s2", GC_SEQ("11, 3", SEP1("'kernel_size': 2, 'strides': 2")), {.prebatch = 3}},
    {"sep1d_dil2_valid", GC_SEQ("9, 2", SEP1("'kernel_size': 3, 'dilation_rate': 2, 'depth_multiplier': 2")), {0}},
};

int main(void)
{
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) gc_check(cases[i].name, cases[i].json, &cases[i].o);
    gc_summary("gradcheck_conv_family");
    return bk_test_finish("test_gradcheck_conv_family");
}
