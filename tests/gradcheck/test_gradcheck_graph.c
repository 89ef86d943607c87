/* Gradient checks of BatchNormalization (training, center/scale off, and
 * frozen with running statistics), Dropout (training, fixed step so the
 * mask is fixed), Flatten, Reshape, and the merge layers Add and
 * Concatenate in Functional graphs, including nodes feeding two consumers
 * (gradient accumulation into one node). See gc_harness.h. */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define PRE2 GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2]") ", "
/* before a training-mode BN a bias has an exactly zero gradient (the mean
 * is subtracted): a check of it could not fail, so those convs have none */
#define PRE2NB GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2], 'use_bias': false") ", "
#define BN(cfg) GC_L("BatchNormalization", "'name': 'bn'" cfg)

static const gc_case bn_cases[] = {
    {"bn_conv2d", GC_SEQ("4, 4, 2", PRE2NB BN("")), {.batch = 3}},
    {"bn_axis3_eps", GC_SEQ("4, 4, 2", PRE2NB BN(", 'axis': 3, 'epsilon': 0.01, 'momentum': 0.9")), {.batch = 2}},
    {"bn_center_false", GC_SEQ("4, 4, 2", PRE2NB BN(", 'center': false")), {.batch = 3}},
    {"bn_scale_false", GC_SEQ("4, 4, 2", PRE2NB BN(", 'scale': false")), {.batch = 3}},
    {"bn_center_scale_false", GC_SEQ("4, 4, 2", PRE2NB BN(", 'center': false, 'scale': false")), {.batch = 3}},
    {"bn_dense", GC_SEQ("5", GC_L("Dense", "'name': 'd', 'units': 4, 'use_bias': false") ", " BN(", 'axis': -1")), {.batch = 6}},
    {"bn_conv1d", GC_SEQ("6, 2", GC_L("Conv1D", "'name': 'p', 'filters': 3, 'kernel_size': 2, 'use_bias': false") ", " BN("")),
     {.batch = 2}},
    {"bn_conv3d", GC_SEQ("3, 3, 2, 2", GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': 1, 'use_bias': false") ", " BN("")),
     {.batch = 2}},
    /* the production path where the layer before gets no dx: BN first */
    {"bn_first_no_dx", GC_SEQ("4, 3, 3", BN("") ", " GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': 2")),
     {.batch = 3, .no_input_grad = 1}},
    {"bn_then_conv", GC_SEQ("5, 5, 2", PRE2NB BN("") ", " GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': 2, 'activation': 'tanh'")),
     {.batch = 2}},
    /* frozen: normalises with running statistics; only dx flows */
    {"bn_frozen", GC_SEQ("4, 4, 2", PRE2 BN(", 'trainable': false")), {.batch = 3}},
    {"bn_frozen_scale_false", GC_SEQ("4, 4, 2", PRE2 BN(", 'trainable': false, 'scale': false")), {.batch = 2}},
    {"bn_frozen_dense", GC_SEQ("5", GC_L("Dense", "'name': 'd', 'units': 4") ", " BN(", 'trainable': false") ", "
                               GC_L("Dense", "'name': 'd2', 'units': 3")), {.batch = 3}},
};

static const gc_case shape_cases[] = {
    {"dropout_dense", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 8") ", " GC_L("Dropout", "'name': 'drop', 'rate': 0.4") ", "
                              GC_L("Dense", "'name': 'd2', 'units': 3")), {.batch = 3}},
    {"dropout_conv2d", GC_SEQ("4, 4, 2", PRE2 GC_L("Dropout", "'name': 'drop', 'rate': 0.5")), {.batch = 2}},
    {"dropout_rate0", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 4") ", " GC_L("Dropout", "'name': 'drop', 'rate': 0.0")),
     {.batch = 2}},
    {"flatten_conv2d", GC_SEQ("4, 5, 2", PRE2 GC_L("Flatten", "'name': 'f'") ", " GC_L("Dense", "'name': 'd', 'units': 3")),
     {.batch = 2}},
    {"flatten_conv3d", GC_SEQ("3, 2, 3, 2", GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': 1") ", "
                               GC_L("Flatten", "'name': 'f'") ", " GC_L("Dense", "'name': 'd', 'units': 3")), {.batch = 2}},
    {"flatten_conv1d", GC_SEQ("5, 3", GC_L("Conv1D", "'name': 'p', 'filters': 2, 'kernel_size': 2") ", "
                               GC_L("Flatten", "'name': 'f'")), {.batch = 2}},
    {"reshape_to_1d", GC_SEQ("12", GC_L("Dense", "'name': 'd', 'units': 12") ", " GC_L("Reshape", "'name': 'r', 'target_shape': [4, 3]") ", "
                              GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
    {"reshape_minus1_2d", GC_SEQ("12", GC_L("Dense", "'name': 'd', 'units': 12") ", " GC_L("Reshape", "'name': 'r', 'target_shape': [2, -1, 3]") ", "
                                  GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': [1, 2]")), {.batch = 2}},
    {"reshape_to_volume", GC_SEQ("12", GC_L("Dense", "'name': 'd', 'units': 24") ", " GC_L("Reshape", "'name': 'r', 'target_shape': [2, 3, -1, 2]") ", "
                                 GC_L("Conv3D", "'name': 'c', 'filters': 2, 'kernel_size': [2, 2, 1]")), {.batch = 2}},
    {"reshape_4d_to_flat", GC_SEQ("3, 4, 2", PRE2 GC_L("Reshape", "'name': 'r', 'target_shape': [-1]") ", "
                                  GC_L("Dense", "'name': 'd', 'units': 3")), {.batch = 2}},
    {"reshape_4d_to_3d", GC_SEQ("4, 4, 2", PRE2 GC_L("Reshape", "'name': 'r', 'target_shape': [-1, 9]") ", "
                                 GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
    /* reshapes that keep the channel axis are copies that share their
     * input's buffer (layer_shape.c): both directions */
    {"reshape_keeps_channels", GC_SEQ("4, 4, 2", PRE2 GC_L("Reshape", "'name': 'r', 'target_shape': [9, 3]") ", "
                                      GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
    {"reshape_keeps_channels_up", GC_SEQ("6, 2", GC_L("Conv1D", "'name': 'p', 'filters': 4, 'kernel_size': 1") ", "
                                         GC_L("Reshape", "'name': 'r', 'target_shape': [2, 3, 4]") ", "
                                         GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
};

/* Functional graphs. */
#define C2(name, cfg, from) GC_F(name, "Conv2D", ", 'filters': 3, " cfg, GC_IN(from))
static const gc_case merge_cases[] = {
    /* c1 feeds a and b: its gradient is the sum of two consumers' dx */
    {"add_two_consumers",
     GC_FUNC("4, 5, 2", "['add', 0, 0]",
             C2("c1", "'kernel_size': [3, 3], 'padding': 'same'", "in") ", "
             C2("a", "'kernel_size': [1, 1]", "c1") ", "
             C2("b", "'kernel_size': [3, 3], 'padding': 'same', 'activation': 'tanh'", "c1") ", "
             GC_F("add", "Add", "", GC_IN("a") ", " GC_IN("b"))), {.batch = 2}},
    /* the input feeds the conv and the Add: a residual block */
    {"add_residual",
     GC_FUNC("4, 4, 3", "['add', 0, 0]",
             C2("c", "'kernel_size': [3, 3], 'padding': 'same', 'activation': 'sigmoid'", "in") ", "
             GC_F("add", "Add", "", GC_IN("in") ", " GC_IN("c"))), {.batch = 2}},
    {"add_three",
     GC_FUNC("6", "['add', 0, 0]",
             GC_F("a", "Dense", ", 'units': 4", GC_IN("in")) ", "
             GC_F("b", "Dense", ", 'units': 4, 'activation': 'elu'", GC_IN("in")) ", "
             GC_F("c", "Dense", ", 'units': 4, 'use_bias': false", GC_IN("in")) ", "
             GC_F("add", "Add", "", GC_IN("a") ", " GC_IN("b") ", " GC_IN("c"))), {.batch = 3}},
    {"add_same_twice",
     GC_FUNC("5", "['add', 0, 0]",
             GC_F("a", "Dense", ", 'units': 4", GC_IN("in")) ", "
             GC_F("add", "Add", "", GC_IN("a") ", " GC_IN("a"))), {.batch = 3}},
    /* a node consumed by an Add, a Concatenate and a Dense */
    {"three_consumers",
     GC_FUNC("5", "['cat', 0, 0]",
             GC_F("a", "Dense", ", 'units': 4, 'activation': 'tanh'", GC_IN("in")) ", "
             GC_F("b", "Dense", ", 'units': 4", GC_IN("a")) ", "
             GC_F("add", "Add", "", GC_IN("a") ", " GC_IN("b")) ", "
             GC_F("cat", "Concatenate", ", 'axis': -1", GC_IN("add") ", " GC_IN("a"))), {.batch = 3}},
    {"concat_channels",
     GC_FUNC("4, 4, 2", "['c', 0, 0]",
             GC_F("a", "Conv2D", ", 'filters': 2, 'kernel_size': [1, 1]", GC_IN("in")) ", "
             GC_F("b", "Conv2D", ", 'filters': 3, 'kernel_size': [3, 3], 'padding': 'same'", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': -1", GC_IN("a") ", " GC_IN("b")) ", "
             GC_F("c", "Conv2D", ", 'filters': 2, 'kernel_size': [2, 2]", GC_IN("cat"))), {.batch = 2}},
    /* along H: a is one row shorter than b */
    {"concat_axis1",
     GC_FUNC("5, 4, 2", "['c', 0, 0]",
             GC_F("a", "Conv2D", ", 'filters': 2, 'kernel_size': [2, 1]", GC_IN("in")) ", "
             GC_F("b", "Conv2D", ", 'filters': 2, 'kernel_size': [3, 3], 'padding': 'same'", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': 1", GC_IN("a") ", " GC_IN("b")) ", "
             GC_F("c", "Conv2D", ", 'filters': 2, 'kernel_size': [3, 2]", GC_IN("cat"))), {.batch = 2}},
    /* along W (axis -2 = 2) with three inputs */
    {"concat_axis_w",
     GC_FUNC("4, 5, 2", "['cat', 0, 0]",
             GC_F("a", "Conv2D", ", 'filters': 2, 'kernel_size': [1, 2]", GC_IN("in")) ", "
             GC_F("b", "Conv2D", ", 'filters': 2, 'kernel_size': [1, 1]", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': -2", GC_IN("a") ", " GC_IN("b") ", " GC_IN("a"))), {.batch = 2}},
    {"concat_conv1d_time",
     GC_FUNC("6, 2", "['c', 0, 0]",
             GC_F("a", "Conv1D", ", 'filters': 3, 'kernel_size': 3", GC_IN("in")) ", "
             GC_F("b", "Conv1D", ", 'filters': 3, 'kernel_size': 2, 'strides': 2", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': 1", GC_IN("a") ", " GC_IN("b")) ", "
             GC_F("c", "Conv1D", ", 'filters': 2, 'kernel_size': 2", GC_IN("cat"))), {.batch = 2}},
    {"concat_conv3d_axis3",
     GC_FUNC("3, 2, 4, 2", "['cat', 0, 0]",
             GC_F("a", "Conv3D", ", 'filters': 2, 'kernel_size': [1, 1, 2]", GC_IN("in")) ", "
             GC_F("b", "Conv3D", ", 'filters': 2, 'kernel_size': 1", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': 3", GC_IN("a") ", " GC_IN("b"))), {.batch = 2}},
    {"concat_dense",
     GC_FUNC("5", "['d', 0, 0]",
             GC_F("a", "Dense", ", 'units': 3", GC_IN("in")) ", "
             GC_F("b", "Dense", ", 'units': 2, 'activation': 'swish'", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", "", GC_IN("a") ", " GC_IN("b") ", " GC_IN("in")) ", "
             GC_F("d", "Dense", ", 'units': 3", GC_IN("cat"))), {.batch = 3}},
    {"concat_same_twice",
     GC_FUNC("4, 3, 2", "['cat', 0, 0]",
             GC_F("a", "Conv2D", ", 'filters': 2, 'kernel_size': [2, 2], 'padding': 'same'", GC_IN("in")) ", "
             GC_F("cat", "Concatenate", ", 'axis': -1", GC_IN("a") ", " GC_IN("a"))), {.batch = 2}},
    /* frozen layers ("trainable": false): no parameter gradient, dx still flows */
    {"conv_frozen_middle",
     GC_FUNC("5, 5, 2", "['c3', 0, 0]",
             GC_F("c1", "Conv2D", ", 'filters': 3, 'kernel_size': [2, 2]", GC_IN("in")) ", "
             GC_F("c2", "Conv2D", ", 'filters': 3, 'kernel_size': [2, 2], 'trainable': false, 'activation': 'tanh'", GC_IN("c1")) ", "
             GC_F("c3", "Conv2D", ", 'filters': 2, 'kernel_size': [2, 2]", GC_IN("c2"))), {.batch = 2}},
    {"dense_frozen_first",
     GC_FUNC("6", "['d2', 0, 0]",
             GC_F("d1", "Dense", ", 'units': 5, 'trainable': false", GC_IN("in")) ", "
             GC_F("d2", "Dense", ", 'units': 3", GC_IN("d1"))), {.batch = 3}},
    /* the input needs no gradient: Add and Concatenate skip that input */
    {"merge_no_input_dx",
     GC_FUNC("5", "['cat', 0, 0]",
             GC_F("a", "Dense", ", 'units': 5", GC_IN("in")) ", "
             GC_F("add", "Add", "", GC_IN("in") ", " GC_IN("a")) ", "
             GC_F("cat", "Concatenate", "", GC_IN("in") ", " GC_IN("add"))), {.batch = 3, .no_input_grad = 1}},
    /* an output that also feeds another output: its gradient is R plus b's dx */
    {"output_also_consumed",
     GC_FUNC("5", "['a', 0, 0], ['b', 0, 0]",
             GC_F("a", "Dense", ", 'units': 4, 'activation': 'sigmoid'", GC_IN("in")) ", "
             GC_F("b", "Dense", ", 'units': 2", GC_IN("a"))), {.batch = 3}},
    /* two outputs: L sums over both */
    {"two_outputs",
     GC_FUNC("5", "['a', 0, 0], ['b', 0, 0]",
             GC_F("h", "Dense", ", 'units': 4, 'activation': 'tanh'", GC_IN("in")) ", "
             GC_F("a", "Dense", ", 'units': 3", GC_IN("h")) ", "
             GC_F("b", "Dense", ", 'units': 2", GC_IN("h"))), {.batch = 3}},
    /* a block with everything: conv, BN, ReLU, pool, residual, dropout, dense */
    {"small_net",
     GC_FUNC("6, 6, 2", "['out', 0, 0]",
             GC_F("c1", "Conv2D", ", 'filters': 4, 'kernel_size': [3, 3], 'padding': 'same', 'use_bias': false", GC_IN("in")) ", "
             GC_F("bn", "BatchNormalization", "", GC_IN("c1")) ", "
             GC_F("act", "Activation", ", 'activation': 'tanh'", GC_IN("bn")) ", "
             GC_F("c2", "Conv2D", ", 'filters': 4, 'kernel_size': [3, 3], 'padding': 'same'", GC_IN("act")) ", "
             GC_F("res", "Add", "", GC_IN("act") ", " GC_IN("c2")) ", "
             GC_F("pool", "AveragePooling2D", ", 'pool_size': [2, 2]", GC_IN("res")) ", "
             GC_F("flat", "Flatten", "", GC_IN("pool")) ", "
             GC_F("drop", "Dropout", ", 'rate': 0.3", GC_IN("flat")) ", "
             GC_F("out", "Dense", ", 'units': 3, 'activation': 'log_softmax'", GC_IN("drop"))),
     /* tanh, not ELU: ELU's second derivative jumps at 0, and with
      * hundreds of units some sit within a step of it, which makes the
      * differences' error O(eps) instead of O(eps^2) */
     {.batch = 3}},
};

/* After a step with a bigger batch, as a last partial batch follows full
 * ones: plans, dropout masks and pooling workspaces exist for both sizes. */
static const gc_case prebatch_cases[] = {
    {"prebatch_bn", GC_SEQ("4, 4, 2", PRE2NB BN("")), {.batch = 3, .prebatch = 5}},
    {"prebatch_bn_frozen", GC_SEQ("4, 4, 2", PRE2 BN(", 'trainable': false")), {.batch = 2, .prebatch = 4}},
    {"prebatch_dropout", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 8") ", " GC_L("Dropout", "'name': 'drop', 'rate': 0.4")),
     {.batch = 2, .prebatch = 5}},
    {"prebatch_maxpool", GC_SEQ("5, 5, 2", PRE2 GC_L("MaxPooling2D", "'name': 'pool', 'pool_size': 2, 'padding': 'same'")),
     {.batch = 2, .prebatch = 4, .kinks = 1}},
    {"prebatch_small_grow", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'softmax'")), {.batch = 4, .prebatch = 2}},
};

static void run_cases(const gc_case *c, int n)
{
    for (int i = 0; i < n; i++) gc_check(c[i].name, c[i].json, &c[i].o);
}

/* The dropout checks above mean something only when the mask drops and
 * scales, and stays fixed for a fixed step. */
static void dropout_mask_is_live(void)
{
    char json[] = GC_SEQ("40", GC_L("Dropout", "'name': 'drop', 'rate': 0.4"));
    for (char *c = json; *c; c++)
        if (*c == '\'') *c = '"';
    bk_json_doc doc;
    bk_model m;
    memset(&doc, 0, sizeof doc);
    memset(&m, 0, sizeof m);
    CHECK_OK(bk_json_load_string(&doc, json, "dropout"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 5, NULL));
    float x[80], first[80];
    for (int i = 0; i < 80; i++) x[i] = 1.0f + 0.01f * (float)i;
    const float *xp = x;
    bk_node *out = &m.nodes[m.outputs[0]];
    CHECK_OK(bk_model_forward(&m, &xp, 2, 1));
    int dropped = 0, kept = 0;
    for (int i = 0; i < 80; i++) {
        first[i] = out->out[i];
        if (out->out[i] == 0.0f) dropped++;
        else if (fabsf(out->out[i] - x[i] / 0.6f) < 1e-5f) kept++;
    }
    CHECK(dropped > 10 && dropped < 55);
    CHECK(dropped + kept == 80);
    CHECK_OK(bk_model_forward(&m, &xp, 2, 1));
    CHECK(memcmp(first, out->out, sizeof first) == 0);
    bk_model_free(&m);
    bk_json_free(&doc);
}

int main(void)
{
    dropout_mask_is_live();
    run_cases(bn_cases, (int)(sizeof bn_cases / sizeof bn_cases[0]));
    run_cases(shape_cases, (int)(sizeof shape_cases / sizeof shape_cases[0]));
    run_cases(merge_cases, (int)(sizeof merge_cases / sizeof merge_cases[0]));
    run_cases(prebatch_cases, (int)(sizeof prebatch_cases / sizeof prebatch_cases[0]));
    gc_summary("gradcheck_graph");
    return bk_test_finish("test_gradcheck_graph");
}
