/* Gradient checks of networks whose activations run channel-blocked
 * (src/nn/layout.c): 16 channels, so every convolution, batch norm,
 * pooling, activation and Add between them computes in the backend's
 * blocked layout, with layout conversions where plain readers (Flatten,
 * GlobalAveragePooling, the outputs) or a plain input (an Add's second
 * input) meet them. test_layout checks that the layout pass chose those
 * layouts; these check the gradients through them. See gc_harness.h. */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define C16(name, cfg, in) GC_F(name, "Conv2D", ", 'filters': 16" cfg, GC_IN(in))

static const gc_case cases[] = {
    /* conv -> BN -> ReLU -> max pool -> conv -> Add(the input, converted) -> Flatten */
    {"blocked_conv_bn_pool_add",
     GC_FUNC("4, 4, 16", "['fc', 0, 0]",
             C16("c1", ", 'kernel_size': 3, 'padding': 'same', 'use_bias': false", "in") ", "
             GC_F("bn", "BatchNormalization", "", GC_IN("c1")) ", "
             GC_F("r", "Activation", ", 'activation': 'relu'", GC_IN("bn")) ", "
             GC_F("pool", "MaxPooling2D", ", 'pool_size': 2", GC_IN("r")) ", "
             C16("c2", ", 'kernel_size': 3, 'padding': 'same', 'activation': 'tanh'", "pool") ", "
             GC_F("small", "AveragePooling2D", ", 'pool_size': 2", GC_IN("in")) ", "
             GC_F("add", "Add", "", GC_IN("c2") ", " GC_IN("small")) ", "
             GC_F("flat", "Flatten", "", GC_IN("add")) ", "
             GC_F("fc", "Dense", ", 'units': 3", GC_IN("flat"))),
     {.batch = 2, .kinks = 1}},
    /* a fused ReLU, a frozen BN, leaky ReLU, a transposed conv, GAP */
    {"blocked_frozen_bn_deconv_gap",
     GC_FUNC("3, 3, 4", "['head', 0, 0]",
             C16("c1", ", 'kernel_size': 2, 'padding': 'same', 'activation': 'relu'", "in") ", "
             GC_F("bn", "BatchNormalization", ", 'trainable': false", GC_IN("c1")) ", "
             GC_F("lr", "LeakyReLU", ", 'alpha': 0.2", GC_IN("bn")) ", "
             GC_F("up", "Conv2DTranspose", ", 'filters': 16, 'kernel_size': 2, 'strides': 2, 'activation': 'sigmoid'", GC_IN("lr")) ", "
             C16("c2", ", 'kernel_size': 3", "up") ", "
             GC_F("gap", "GlobalAveragePooling2D", "", GC_IN("c2")) ", "
             GC_F("head", "Dense", ", 'units': 2", GC_IN("gap"))),
     {.batch = 2, .kinks = 1}},
    /* CookieNetAE's tail: a stride-1 transposed conv (run as a convolution)
     * and a strided head to 2 channels from blocked input (the
     * narrow-output loops); smooth activations keep the check tight (the
     * fused ReLUs: test_deconv_forward, test_conv_narrow, the CookieNetAE
     * parity case) */
    {"blocked_deconv_s1_narrow_head",
     GC_FUNC("5, 4, 3", "['flat', 0, 0]",
             C16("c1", ", 'kernel_size': 3, 'padding': 'same'", "in") ", "
             GC_F("t", "Conv2DTranspose", ", 'filters': 16, 'kernel_size': 3, 'padding': 'same', 'activation': 'tanh'", GC_IN("c1")) ", "
             GC_F("head", "Conv2D", ", 'filters': 2, 'kernel_size': 3, 'strides': 2, 'padding': 'same', 'activation': 'tanh'", GC_IN("t")) ", "
             GC_F("flat", "Flatten", "", GC_IN("head"))),
     {.batch = 2}},
    /* a blocked tensor read by two followers and a conv (gradients summed
     * in the blocked layout), 1D and 3D convolutions */
    {"blocked_fanout_conv1d",
     GC_FUNC("6, 3", "['flat', 0, 0]",
             GC_F("c", "Conv1D", ", 'filters': 16, 'kernel_size': 3, 'padding': 'same'", GC_IN("in")) ", "
             GC_F("t", "Activation", ", 'activation': 'tanh'", GC_IN("c")) ", "
             GC_F("s", "Activation", ", 'activation': 'swish'", GC_IN("c")) ", "
             GC_F("d", "Conv1D", ", 'filters': 16, 'kernel_size': 1", GC_IN("c")) ", "
             GC_F("add", "Add", "", GC_IN("t") ", " GC_IN("s") ", " GC_IN("d")) ", "
             GC_F("flat", "Flatten", "", GC_IN("add"))),
     {.batch = 2}},
    {"blocked_conv3d_pool",
     GC_FUNC("4, 4, 2, 2", "['flat', 0, 0]",
             GC_F("c", "Conv3D", ", 'filters': 16, 'kernel_size': 2, 'padding': 'same', 'use_bias': false", GC_IN("in")) ", "
             GC_F("bn", "BatchNormalization", "", GC_IN("c")) ", "
             GC_F("p", "AveragePooling3D", ", 'pool_size': 2", GC_IN("bn")) ", "
             GC_F("flat", "Flatten", "", GC_IN("p"))),
     {.batch = 3}},
};

int main(void)
{
    /* this machine's block, then the other one (BRISK_CHANNEL_BLOCK, read
     * when each network is built): AVX2 machines compute in blocks of 8 */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) setenv("BRISK_CHANNEL_BLOCK", bk_backend_cpu()->channel_block() == 8 ? "16" : "8", 1);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) gc_check(cases[i].name, cases[i].json, &cases[i].o);
    }
    unsetenv("BRISK_CHANNEL_BLOCK");
    gc_summary("gradcheck_layout");
    return bk_test_finish("test_gradcheck_layout");
}
