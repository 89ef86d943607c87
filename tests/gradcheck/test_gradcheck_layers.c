/* Gradient checks of the compute layers: Conv1D/2D/3D (padding, strides,
 * dilation, groups, bias), Dense, every activation (as the `activation` key
 * and as Activation / ReLU / LeakyReLU / ELU / Softmax layers), max and
 * average pooling 1D-3D and global average pooling. See gc_harness.h. */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define CONV2(cfg) GC_L("Conv2D", "'name': 'c', 'filters': 3, " cfg)
#define CONV1(cfg) GC_L("Conv1D", "'name': 'c', 'filters': 3, " cfg)
#define CONV3(cfg) GC_L("Conv3D", "'name': 'c', 'filters': 2, " cfg)
/* a 1x1 convolution in front of layers without parameters, so a parameter
 * gradient flows through them as well as the input gradient */
#define PRE1 GC_L("Conv1D", "'name': 'p', 'filters': 2, 'kernel_size': 1") ", "
#define PRE2 GC_L("Conv2D", "'name': 'p', 'filters': 2, 'kernel_size': [1, 1]") ", "
#define PRE3 GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': [1, 1, 1]") ", "

static const gc_case conv_cases[] = {
    /* Conv2D */
    {"conv2d_valid", GC_SEQ("5, 6, 2", CONV2("'kernel_size': [3, 3]")), {0}},
    {"conv2d_same_s2", GC_SEQ("7, 6, 2", CONV2("'kernel_size': [3, 3], 'strides': [2, 2], 'padding': 'same'")), {0}},
    {"conv2d_valid_s2", GC_SEQ("7, 8, 2", CONV2("'kernel_size': [3, 2], 'strides': 2, 'padding': 'valid'")), {0}},
    {"conv2d_same_k4", GC_SEQ("5, 6, 2", CONV2("'kernel_size': [4, 2], 'padding': 'same'")), {0}},
    {"conv2d_pad_int", GC_SEQ("4, 5, 2", CONV2("'kernel_size': [3, 3], 'padding': 1")), {0}},
    {"conv2d_pad_int_s2", GC_SEQ("6, 5, 2", CONV2("'kernel_size': 3, 'padding': [2, 1], 'strides': [2, 1]")), {0}},
    {"conv2d_dil2", GC_SEQ("7, 6, 2", CONV2("'kernel_size': [3, 2], 'dilation_rate': [2, 2]")), {0}},
    {"conv2d_dil2_same", GC_SEQ("5, 6, 2", CONV2("'kernel_size': [3, 3], 'dilation_rate': 2, 'padding': 'same'")), {0}},
    {"conv2d_groups2",
     GC_SEQ("5, 5, 4", GC_L("Conv2D", "'name': 'c', 'filters': 6, 'groups': 2, 'kernel_size': [3, 3], 'padding': 'same'")),
     {0}},
    {"conv2d_nobias", GC_SEQ("5, 5, 2", CONV2("'kernel_size': [3, 3], 'use_bias': false")), {0}},
    {"conv2d_x2", GC_SEQ("6, 6, 2", CONV2("'kernel_size': [3, 3], 'activation': 'tanh'") ", "
                         GC_L("Conv2D", "'name': 'c2', 'filters': 2, 'kernel_size': [2, 2], 'strides': 2")), {0}},
    /* Conv1D */
    {"conv1d_valid", GC_SEQ("9, 2", CONV1("'kernel_size': 3")), {0}},
    {"conv1d_same_s2", GC_SEQ("9, 2", CONV1("'kernel_size': [3], 'strides': [2], 'padding': 'same'")), {0}},
    {"conv1d_valid_s2", GC_SEQ("10, 2", CONV1("'kernel_size': 4, 'strides': 2")), {0}},
    {"conv1d_pad_int", GC_SEQ("6, 2", CONV1("'kernel_size': 3, 'padding': 2")), {0}},
    {"conv1d_dil2", GC_SEQ("9, 2", CONV1("'kernel_size': 3, 'dilation_rate': 2")), {0}},
    {"conv1d_dil2_same", GC_SEQ("8, 2", CONV1("'kernel_size': 3, 'dilation_rate': 2, 'padding': 'same'")), {0}},
    {"conv1d_groups2", GC_SEQ("7, 4", GC_L("Conv1D", "'name': 'c', 'filters': 4, 'groups': 2, 'kernel_size': 3")), {0}},
    {"conv1d_nobias", GC_SEQ("7, 2", CONV1("'kernel_size': 2, 'use_bias': false")), {0}},
    /* Conv3D */
    {"conv3d_valid", GC_SEQ("4, 4, 5, 2", CONV3("'kernel_size': [2, 3, 2]")), {0}},
    {"conv3d_same_s2", GC_SEQ("5, 4, 5, 2", CONV3("'kernel_size': 3, 'strides': 2, 'padding': 'same'")), {0}},
    {"conv3d_valid_s2", GC_SEQ("5, 5, 4, 1", CONV3("'kernel_size': [3, 3, 2], 'strides': [2, 2, 1]")), {0}},
    {"conv3d_pad_int", GC_SEQ("3, 4, 3, 2", CONV3("'kernel_size': 3, 'padding': 1")), {0}},
    {"conv3d_dil2", GC_SEQ("5, 5, 5, 1", CONV3("'kernel_size': 2, 'dilation_rate': 2")), {0}},
    {"conv3d_dil2_same", GC_SEQ("4, 4, 4, 2", CONV3("'kernel_size': [2, 2, 2], 'dilation_rate': [2, 1, 2], 'padding': 'same'")), {0}},
    {"conv3d_groups2",
     GC_SEQ("4, 3, 4, 4", GC_L("Conv3D", "'name': 'c', 'filters': 4, 'groups': 2, 'kernel_size': 2")), {0}},
    {"conv3d_nobias", GC_SEQ("4, 4, 4, 2", CONV3("'kernel_size': 2, 'use_bias': false")), {0}},
    /* Dense */
    {"dense", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 4")), {.batch = 3}},
    {"dense_nobias", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 4, 'use_bias': false")), {.batch = 3}},
    {"dense_x2", GC_SEQ("5", GC_L("Dense", "'name': 'd', 'units': 7, 'activation': 'sigmoid'") ", "
                         GC_L("Dense", "'name': 'd2', 'units': 3")), {.batch = 3}},
};

static const char *const acts[] = {"relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax",
                                   "log_softmax", "swish", "gelu", "linear"};
#define N_ACTS ((int)(sizeof acts / sizeof acts[0]))

static const gc_case act_layer_cases[] = {
    {"relu_layer", GC_SEQ("4, 5, 2", PRE2 GC_L("ReLU", "'name': 'r'")), {.kinks = 1}},
    {"relu_slope", GC_SEQ("4, 5, 2", PRE2 GC_L("ReLU", "'name': 'r', 'negative_slope': 0.1")), {.kinks = 1}},
    {"leakyrelu_alpha", GC_SEQ("7", GC_L("Dense", "'name': 'd', 'units': 6") ", "
                                GC_L("LeakyReLU", "'name': 'r', 'alpha': 0.25")), {.batch = 3, .kinks = 1}},
    {"leakyrelu_default", GC_SEQ("9, 2", PRE1 GC_L("LeakyReLU", "'name': 'r'")), {.kinks = 1}},
    {"leakyrelu_k3", GC_SEQ("9, 2", PRE1 GC_L("LeakyReLU", "'name': 'r', 'negative_slope': 0.05")), {.kinks = 1}},
    /* alpha != 1: the slope jumps from alpha to 1 at 0, a kink */
    {"elu_layer", GC_SEQ("4, 5, 2", PRE2 GC_L("ELU", "'name': 'e', 'alpha': 0.7")), {.kinks = 1}},
    {"elu_layer_default", GC_SEQ("7", GC_L("Dense", "'name': 'd', 'units': 5") ", " GC_L("ELU", "'name': 'e'")),
     {.batch = 3}},
    {"softmax_layer_4d", GC_SEQ("3, 4, 4", PRE2 GC_L("Softmax", "'name': 's', 'axis': -1")), {0}},
    {"softmax_layer_dense", GC_SEQ("5", GC_L("Dense", "'name': 'd', 'units': 6") ", " GC_L("Softmax", "'name': 's'")),
     {.batch = 3}},
    {"softmax_act_conv1d", GC_SEQ("6, 2", GC_L("Conv1D", "'name': 'c', 'filters': 4, 'kernel_size': 2, "
                                                  "'activation': 'softmax'")), {0}},
    {"log_softmax_act_conv3d", GC_SEQ("3, 2, 3, 2", GC_L("Conv3D", "'name': 'c', 'filters': 3, 'kernel_size': 1, "
                                                           "'activation': 'log_softmax'")), {0}},
    {"gelu_act_conv2d", GC_SEQ("4, 4, 2", CONV2("'kernel_size': 2, 'activation': 'gelu'")), {0}},
    {"relu_act_conv2d", GC_SEQ("4, 4, 2", CONV2("'kernel_size': 2, 'activation': 'relu'")), {.kinks = 1}},
    {"silu_act_conv1d", GC_SEQ("6, 2", CONV1("'kernel_size': 2, 'activation': 'silu'")), {0}},
};

#define POOL(cls, cfg) GC_L(cls, "'name': 'pool', " cfg)
static const gc_case pool_cases[] = {
    {"maxpool1d_valid", GC_SEQ("7, 2", PRE1 POOL("MaxPooling1D", "'pool_size': 2, 'padding': 'valid'")), {.kinks = 1}},
    {"maxpool1d_same", GC_SEQ("7, 2", PRE1 POOL("MaxPooling1D", "'pool_size': 2, 'padding': 'same'")), {.kinks = 1}},
    {"maxpool1d_k3s2_same", GC_SEQ("8, 2", PRE1 POOL("MaxPooling1D", "'pool_size': 3, 'strides': 2, 'padding': 'same'")), {.kinks = 1}},
    {"avgpool1d_valid", GC_SEQ("7, 2", PRE1 POOL("AveragePooling1D", "'pool_size': 2")), {0}},
    {"avgpool1d_same", GC_SEQ("7, 2", PRE1 POOL("AveragePooling1D", "'pool_size': [2], 'padding': 'same'")), {0}},
    {"avgpool1d_k3s2_same", GC_SEQ("8, 2", PRE1 POOL("AveragePooling1D", "'pool_size': 3, 'strides': 2, 'padding': 'same'")), {0}},
    {"maxpool2d_valid", GC_SEQ("5, 7, 2", PRE2 POOL("MaxPooling2D", "'pool_size': [2, 2], 'padding': 'valid'")), {.kinks = 1}},
    {"maxpool2d_same", GC_SEQ("5, 7, 2", PRE2 POOL("MaxPooling2D", "'pool_size': [2, 2], 'padding': 'same'")), {.kinks = 1}},
    {"maxpool2d_k3s2_valid", GC_SEQ("7, 6, 2", PRE2 POOL("MaxPooling2D", "'pool_size': 3, 'strides': 2")), {.kinks = 1}},
    {"maxpool2d_k3s2_same", GC_SEQ("6, 5, 2", PRE2 POOL("MaxPooling2D", "'pool_size': [3, 2], 'strides': [2, 1], 'padding': 'same'")), {.kinks = 1}},
    {"avgpool2d_valid", GC_SEQ("5, 7, 2", PRE2 POOL("AveragePooling2D", "'pool_size': [2, 2]")), {0}},
    {"avgpool2d_same", GC_SEQ("5, 7, 2", PRE2 POOL("AveragePooling2D", "'pool_size': [2, 2], 'padding': 'same'")), {0}},
    {"avgpool2d_k3s2_valid", GC_SEQ("7, 6, 2", PRE2 POOL("AveragePooling2D", "'pool_size': 3, 'strides': 2")), {0}},
    {"avgpool2d_k3s2_same", GC_SEQ("6, 5, 2", PRE2 POOL("AveragePooling2D", "'pool_size': [3, 2], 'strides': [2, 1], 'padding': 'same'")), {0}},
    {"maxpool3d_valid", GC_SEQ("5, 3, 4, 2", PRE3 POOL("MaxPooling3D", "'pool_size': 2")), {.kinks = 1}},
    {"maxpool3d_same", GC_SEQ("5, 3, 4, 2", PRE3 POOL("MaxPooling3D", "'pool_size': [2, 2, 2], 'padding': 'same'")), {.kinks = 1}},
    {"avgpool3d_valid", GC_SEQ("5, 3, 4, 2", PRE3 POOL("AveragePooling3D", "'pool_size': 2")), {0}},
    {"avgpool3d_same", GC_SEQ("5, 3, 4, 2", PRE3 POOL("AveragePooling3D", "'pool_size': [2, 2, 2], 'padding': 'same'")), {0}},
    {"avgpool3d_k3s2_same", GC_SEQ("5, 4, 3, 1", PRE3 POOL("AveragePooling3D", "'pool_size': 3, 'strides': [2, 2, 1], 'padding': 'same'")), {0}},
    {"gap1d", GC_SEQ("7, 3", PRE1 GC_L("GlobalAveragePooling1D", "'name': 'g'")), {0}},
    {"gap1d_keepdims", GC_SEQ("7, 3", PRE1 GC_L("GlobalAveragePooling1D", "'name': 'g', 'keepdims': true")), {0}},
    {"gap2d", GC_SEQ("4, 5, 3", PRE2 GC_L("GlobalAveragePooling2D", "'name': 'g', 'keepdims': false")), {0}},
    {"gap2d_keepdims", GC_SEQ("4, 5, 3", PRE2 GC_L("GlobalAveragePooling2D", "'name': 'g', 'keepdims': true")), {0}},
    {"gap3d", GC_SEQ("3, 4, 2, 3", PRE3 GC_L("GlobalAveragePooling3D", "'name': 'g'")), {0}},
    {"gap3d_keepdims", GC_SEQ("3, 4, 2, 3", PRE3 GC_L("GlobalAveragePooling3D", "'name': 'g', 'keepdims': true")), {0}},
    {"gap2d_dense", GC_SEQ("4, 4, 3", PRE2 GC_L("GlobalAveragePooling2D", "'name': 'g'") ", "
                           GC_L("Dense", "'name': 'd', 'units': 3")), {.batch = 3}},
};

static void run_cases(const gc_case *c, int n)
{
    for (int i = 0; i < n; i++) gc_check(c[i].name, c[i].json, &c[i].o);
}

int main(void)
{
    run_cases(conv_cases, (int)(sizeof conv_cases / sizeof conv_cases[0]));

    /* every activation through the `activation` key (Dense, then a 4D
     * Conv2D so softmax runs over channels at every pixel) and through an
     * Activation layer */
    for (int i = 0; i < N_ACTS; i++) {
        char name[64], json[2048];
        int kinks = !strcmp(acts[i], "relu") || !strcmp(acts[i], "leaky_relu");
        gc_opts o = {.batch = 3, .kinks = kinks};
        snprintf(name, sizeof name, "dense_act_%s", acts[i]);
        snprintf(json, sizeof json, GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': '%s'")), acts[i]);
        gc_check(name, json, &o);
        snprintf(name, sizeof name, "conv2d_act_%s", acts[i]);
        snprintf(json, sizeof json, GC_SEQ("3, 4, 2", CONV2("'kernel_size': [2, 2], 'activation': '%s'")), acts[i]);
        o.batch = 2;
        gc_check(name, json, &o);
        snprintf(name, sizeof name, "activation_%s", acts[i]);
        snprintf(json, sizeof json,
                 GC_SEQ("3, 3, 2", PRE2 GC_L("Activation", "'name': 'a', 'activation': '%s'")), acts[i]);
        gc_check(name, json, &o);
    }
    run_cases(act_layer_cases, (int)(sizeof act_layer_cases / sizeof act_layer_cases[0]));
    run_cases(pool_cases, (int)(sizeof pool_cases / sizeof pool_cases[0]));

    gc_summary("gradcheck_layers");
    return bk_test_finish("test_gradcheck_layers");
}
