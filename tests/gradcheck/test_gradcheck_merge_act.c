/* Gradient checks of the element-wise merge layers (Subtract, Multiply,
 * Average, Maximum, Minimum), Concatenate on spatial axes of Keras rank-3
 * tensors, Dot (every axes form, normalize, mixed ranks, BraggNN's
 * non-local attention block), Softmax over any axes, ReLU's options,
 * PReLU, the activations added with them, GlobalMaxPooling and keepdims,
 * and the weight regularizers' penalty gradient. See gc_harness.h. */
#include "gc_harness.h"
#include "train/regularizer.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define D(name, units, from) GC_F(name, "Dense", ", 'units': " #units, GC_IN(from))
#define C2(name, filters, from) GC_F(name, "Conv2D", ", 'filters': " #filters ", 'kernel_size': [1, 1]", GC_IN(from))
#define RS(name, shape, from) GC_F(name, "Reshape", ", 'target_shape': [" shape "]", GC_IN(from))

static const gc_case merge_cases[] = {
    {"subtract", GC_FUNC("5", "['s', 0, 0]", D("a", 4, "in") ", " D("b", 4, "in") ", "
                         GC_F("s", "Subtract", "", GC_IN("a") ", " GC_IN("b"))), {.batch = 3}},
    {"subtract_input", GC_FUNC("4, 3, 2", "['s', 0, 0]", C2("a", 2, "in") ", "
                               GC_F("s", "Subtract", "", GC_IN("in") ", " GC_IN("a"))), {.batch = 2}},
    {"multiply_three", GC_FUNC("5", "['m', 0, 0]", D("a", 4, "in") ", " D("b", 4, "in") ", " D("c", 4, "in") ", "
                               GC_F("m", "Multiply", "", GC_IN("a") ", " GC_IN("b") ", " GC_IN("c"))), {.batch = 3}},
    /* x * x: both inputs' gradients land on one node */
    {"multiply_same_twice", GC_FUNC("5", "['m', 0, 0]", D("a", 4, "in") ", "
                                    GC_F("m", "Multiply", "", GC_IN("a") ", " GC_IN("a"))), {.batch = 3}},
    {"average_three", GC_FUNC("4, 3, 2", "['v', 0, 0]", C2("a", 3, "in") ", " C2("b", 3, "in") ", " C2("c", 3, "in") ", "
                              GC_F("v", "Average", "", GC_IN("a") ", " GC_IN("b") ", " GC_IN("c"))), {.batch = 2}},
    {"maximum_three", GC_FUNC("6", "['x', 0, 0]", D("a", 5, "in") ", " D("b", 5, "in") ", " D("c", 5, "in") ", "
                              GC_F("x", "Maximum", "", GC_IN("a") ", " GC_IN("b") ", " GC_IN("c"))), {.batch = 3, .kinks = 1}},
    {"minimum_conv", GC_FUNC("4, 3, 2", "['x', 0, 0]", C2("a", 3, "in") ", " C2("b", 3, "in") ", "
                             GC_F("x", "Minimum", "", GC_IN("a") ", " GC_IN("b"))), {.batch = 2, .kinks = 1}},
    /* every element a tie: the gradient must reach a exactly once */
    {"maximum_same_twice", GC_FUNC("5", "['x', 0, 0]", D("a", 4, "in") ", "
                                   GC_F("x", "Maximum", "", GC_IN("a") ", " GC_IN("a"))), {.batch = 3}},
    /* Keras rank-3 tensors (batch, 4, 3): along the rows and the columns */
    {"concat_rank3_axis1", GC_FUNC("6", "['c', 0, 0]", D("a", 12, "in") ", " D("b", 6, "in") ", "
                                   RS("ra", "4, 3", "a") ", " RS("rb", "2, 3", "b") ", "
                                   GC_F("c", "Concatenate", ", 'axis': 1", GC_IN("ra") ", " GC_IN("rb"))), {.batch = 2}},
    {"concat_rank3_axis2", GC_FUNC("6", "['c', 0, 0]", D("a", 12, "in") ", " D("b", 8, "in") ", "
                                   RS("ra", "4, 3", "a") ", " RS("rb", "4, 2", "b") ", "
                                   GC_F("c", "Concatenate", ", 'axis': 2", GC_IN("ra") ", " GC_IN("rb"))), {.batch = 2}},
    {"concat_rank4_axis_m3", GC_FUNC("3, 4, 2", "['c', 0, 0]", C2("a", 2, "in") ", "
                                     GC_F("c", "Concatenate", ", 'axis': -3", GC_IN("a") ", " GC_IN("in"))), {.batch = 2}},
};

/* Keras (4, 3), (4, 3), (4, 2) and (3, 2) tensors from Dense + Reshape. */
#define MA D("a", 12, "in") ", " RS("A", "4, 3", "a") ", "
#define MB D("b", 12, "in") ", " RS("B", "4, 3", "b") ", "
#define MC D("c", 8, "in") ", " RS("C", "4, 2", "c") ", "
#define ME D("e", 6, "in") ", " RS("E", "3, 2", "e") ", "
#define DOT(cfg, x, y) GC_F("dot", "Dot", ", " cfg, GC_IN(x) ", " GC_IN(y))
static const gc_case dot_cases[] = {
    /* (4,3).(4,3) over the last axis -> (4,4): theta phi^T */
    {"dot_axes2", GC_FUNC("5", "['dot', 0, 0]", MA MB DOT("'axes': 2", "A", "B")), {.batch = 2}},
    {"dot_axes_m1", GC_FUNC("5", "['dot', 0, 0]", MA MB DOT("'axes': -1", "A", "B")), {.batch = 2}},
    /* over the first axis -> (3,3) */
    {"dot_axes1", GC_FUNC("5", "['dot', 0, 0]", MA MB DOT("'axes': 1", "A", "B")), {.batch = 2}},
    /* a plain matmul (4,3).(3,2) -> (4,2) */
    {"dot_axes_2_1", GC_FUNC("5", "['dot', 0, 0]", MA ME DOT("'axes': [2, 1]", "A", "E")), {.batch = 2}},
    /* (4,3) axis 1 with (4,2) axis 1 -> (3,2) */
    {"dot_axes_1_1_diff", GC_FUNC("5", "['dot', 0, 0]", MA MC DOT("'axes': [1, 1]", "A", "C")), {.batch = 2}},
    /* E (3,2) axis 1 with A (4,3) axis 2: both of size 3 -> (2,4) */
    {"dot_axes_1_2", GC_FUNC("5", "['dot', 0, 0]", ME MA DOT("'axes': [1, 2]", "E", "A")), {.batch = 2}},
    {"dot_same_input", GC_FUNC("5", "['dot', 0, 0]", MA DOT("'axes': 2", "A", "A")), {.batch = 2}},
    {"dot_normalize_axes2", GC_FUNC("5", "['dot', 0, 0]", MA MB DOT("'axes': 2, 'normalize': true", "A", "B")), {.batch = 2}},
    {"dot_normalize_axes_1_2", GC_FUNC("5", "['dot', 0, 0]", ME MA DOT("'axes': [1, 2], 'normalize': true", "E", "A")),
     {.batch = 2}},
    /* rank-2 Keras tensors: (batch, 4).(batch, 4) -> (batch, 1) */
    {"dot_vectors", GC_FUNC("5", "['dot', 0, 0]", D("a", 4, "in") ", " D("b", 4, "in") ", " DOT("'axes': 1", "a", "b")),
     {.batch = 3}},
    {"dot_vectors_normalize", GC_FUNC("5", "['dot', 0, 0]", D("a", 4, "in") ", " D("b", 4, "in") ", "
                                      DOT("'axes': -1, 'normalize': true", "a", "b")), {.batch = 3}},
    /* mixed ranks: (4,3) axis 2 with (3) -> (4); (3) with (4,3) axis 2 -> (4) */
    {"dot_matrix_vector", GC_FUNC("5", "['dot', 0, 0]", MA D("v", 3, "in") ", " DOT("'axes': [2, 1]", "A", "v")),
     {.batch = 2}},
    {"dot_vector_matrix", GC_FUNC("5", "['dot', 0, 0]", MA D("v", 4, "in") ", " DOT("'axes': [1, 1]", "v", "A")),
     {.batch = 2}},
    /* BraggNN's non-local block in small: 1x1 convs theta, phi, g on a
     * 3x3x4 map, reshaped to (9, 2); Dot(axes=2) -> (9, 9) -> Softmax ->
     * Dot(axes=[2, 1]) with g -> (9, 2) -> back to 3x3x2 -> 1x1 conv + input
     * (phi has no bias: theta . b is constant along the softmax axis) */
    {"nonlocal_block",
     GC_FUNC("3, 3, 4", "['out', 0, 0]",
             C2("theta", 2, "in") ", " GC_F("phi", "Conv2D", ", 'filters': 2, 'kernel_size': [1, 1], 'use_bias': false", GC_IN("in")) ", " C2("g", 2, "in") ", "
             RS("t", "9, 2", "theta") ", " RS("p", "9, 2", "phi") ", " RS("gr", "9, 2", "g") ", "
             GC_F("tp", "Dot", ", 'axes': 2", GC_IN("t") ", " GC_IN("p")) ", "
             GC_F("sm", "Softmax", ", 'axis': -1", GC_IN("tp")) ", "
             GC_F("y", "Dot", ", 'axes': [2, 1]", GC_IN("sm") ", " GC_IN("gr")) ", "
             RS("yr", "3, 3, 2", "y") ", " C2("w", 4, "yr") ", "
             GC_F("out", "Add", "", GC_IN("in") ", " GC_IN("w"))), {.batch = 2}},
};

#define PRE2 GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2]") ", "
#define SM(cfg) GC_L("Softmax", "'name': 's', " cfg)
/* a softmax over spatial axes only is blind to a per-channel bias (its
 * gradient is exactly 0, a check that cannot fail): no bias there */
#define PRE2NB GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2], 'use_bias': false") ", "
static const gc_case softmax_cases[] = {
    /* Keras (H, W, C) = (4, 5, 3) after the conv: sizes differ, so a
     * permutation mixed up with its inverse shows */
    {"softmax_axis_m1", GC_SEQ("5, 6, 2", PRE2 SM("'axis': -1")), {.batch = 2}},
    {"softmax_axis1", GC_SEQ("5, 6, 2", PRE2NB SM("'axis': 1")), {.batch = 2}},
    {"softmax_axis_m2", GC_SEQ("5, 6, 2", PRE2NB SM("'axis': -2")), {.batch = 2}},
    {"softmax_axes_1_2", GC_SEQ("5, 6, 2", PRE2NB SM("'axis': [1, 2]")), {.batch = 2}},
    /* W and C: internal axes 2 and 0, not adjacent (the permuted path) */
    {"softmax_axes_2_3", GC_SEQ("5, 6, 2", PRE2 SM("'axis': [2, 3]")), {.batch = 2}},
    {"softmax_axes_1_3", GC_SEQ("5, 6, 2", PRE2 SM("'axis': [1, 3]")), {.batch = 2}},
    {"softmax_axes_all", GC_SEQ("5, 6, 2", PRE2 SM("'axis': [1, 2, 3]")), {.batch = 2}},
    {"softmax_rank3_axis1", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 12") ", "
                                   GC_L("Reshape", "'name': 'r', 'target_shape': [4, 3]") ", " SM("'axis': 1")), {.batch = 2}},
    {"softmax_prebatch_permuted", GC_SEQ("5, 6, 2", PRE2 SM("'axis': [2, 3]")), {.batch = 2, .prebatch = 5}},
};

#define RELU(cfg) GC_L("ReLU", "'name': 'r', " cfg)
#define PRELU(cfg) GC_L("PReLU", "'name': 'pr'" cfg)
static const gc_case act_cases[] = {
    /* inputs of scale 2 so that the caps are reached */
    {"relu_max_value", GC_SEQ("4, 5, 2", PRE2 RELU("'max_value': 0.6")), {.kinks = 1, .in_scale = 2}},
    {"relu6", GC_SEQ("9", GC_L("Dense", "'name': 'd', 'units': 8, 'kernel_initializer': {'class_name': 'Constant', 'config': {'value': 1.0}}") ", "
                      RELU("'max_value': 6.0")), {.batch = 3, .kinks = 1, .in_scale = 1.2}},
    {"relu_threshold", GC_SEQ("4, 5, 2", PRE2 RELU("'threshold': 0.3")), {.kinks = 1}},
    {"relu_negative_threshold", GC_SEQ("4, 5, 2", PRE2 RELU("'threshold': -0.3")), {.kinks = 1}},
    {"relu_all_options", GC_SEQ("4, 5, 2", PRE2 RELU("'max_value': 0.8, 'threshold': 0.2, 'negative_slope': 0.3")),
     {.kinks = 1, .in_scale = 2}},
    {"relu_neg_threshold_max", GC_SEQ("4, 5, 2", PRE2 RELU("'max_value': 0.8, 'threshold': -0.2, 'negative_slope': 0.2")),
     {.kinks = 1, .in_scale = 2}},
    {"prelu_dense", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5") ", " PRELU("")), {.batch = 3, .kinks = 1}},
    {"prelu_full", GC_SEQ("4, 5, 2", PRE2 PRELU("")), {.kinks = 1}},
    {"prelu_shared_hw", GC_SEQ("4, 5, 2", PRE2 PRELU(", 'shared_axes': [1, 2]")), {.kinks = 1}},
    {"prelu_shared_h", GC_SEQ("4, 5, 2", PRE2 PRELU(", 'shared_axes': [1], 'alpha_initializer': {'class_name': 'Constant', 'config': {'value': 0.25}}")),
     {.kinks = 1}},
    {"prelu_shared_c", GC_SEQ("4, 5, 2", PRE2 PRELU(", 'shared_axes': 3")), {.kinks = 1}},
    {"elu_alpha_1", GC_SEQ("4, 5, 2", PRE2 GC_L("ELU", "'name': 'e'")), {0}},
    {"act_softplus", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'softplus'")), {.batch = 3}},
    {"act_softsign", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'softsign'")), {.batch = 3, .kinks = 1}},
    {"act_hard_sigmoid", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'hard_sigmoid'")),
     {.batch = 3, .kinks = 1, .in_scale = 4}},
    {"act_selu", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'selu'")), {.batch = 3, .kinks = 1}},
    {"act_exponential", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'exponential'")), {.batch = 3}},
    {"act_relu6", GC_SEQ("4, 5, 2", PRE2 GC_L("Activation", "'name': 'a', 'activation': 'relu6'")), {.kinks = 1, .in_scale = 8}},
    {"act_layer_softplus_conv", GC_SEQ("4, 5, 2", PRE2 GC_L("Activation", "'name': 'a', 'activation': 'softplus'")), {0}},
};

#define GMP(cls, cfg) GC_L(cls, "'name': 'g'" cfg)
static const gc_case pool_cases[] = {
    {"gmp1d", GC_SEQ("7, 3", GC_L("Conv1D", "'name': 'p', 'filters': 3, 'kernel_size': 2") ", " GMP("GlobalMaxPooling1D", "")),
     {.kinks = 1}},
    {"gmp2d", GC_SEQ("4, 5, 2", PRE2 GMP("GlobalMaxPooling2D", "")), {.kinks = 1}},
    {"gmp2d_keepdims", GC_SEQ("4, 5, 2", PRE2 GMP("GlobalMaxPooling2D", ", 'keepdims': true") ", "
                               GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': 1")), {.kinks = 1}},
    {"gmp3d", GC_SEQ("3, 4, 2, 2", GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': 1") ", " GMP("GlobalMaxPooling3D", "")),
     {.kinks = 1}},
    {"gmp3d_keepdims", GC_SEQ("3, 4, 2, 2", GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': 1") ", "
                               GMP("GlobalMaxPooling3D", ", 'keepdims': true")), {.kinks = 1}},
    {"gmp2d_dense", GC_SEQ("4, 4, 3", PRE2 GMP("GlobalMaxPooling2D", "") ", " GC_L("Dense", "'name': 'd', 'units': 3")),
     {.batch = 3, .kinks = 1}},
};

/* The regularizer penalty's gradient against central differences of the
 * penalty (it is a function of the weights alone). */
static void regularizer_gradient(void)
{
    const char *net =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"r\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 5, 2], \"name\": \"in\"}},"
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 3, \"kernel_size\": 2,"
        " \"kernel_regularizer\": {\"module\": \"keras.regularizers\", \"class_name\": \"L1\", \"config\": {\"l1\": 0.03}, \"registered_name\": null}}},"
        "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 4,"
        " \"kernel_regularizer\": {\"class_name\": \"L1L2\", \"config\": {\"l1\": 0.01, \"l2\": 0.05}},"
        " \"bias_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.2}}}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 2, \"trainable\": false,"
        " \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}}}]}}";
    printf("regularizer_gradient\n");
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(bk_json_load_string(&doc, net, "reg.json"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 3, NULL));
    bk_rng r;
    bk_rng_seed(&r, 5, 1);
    double expect = 0;
    for (int k = 0; k < m.n_params; k++) {
        bk_param *p = &m.params[k];
        for (int64_t i = 0; i < bk_shape_numel(&p->shape); i++) {
            /* away from |w|'s kink at 0 by more than the step */
            double v = gc_uniform(&r, 0.05, 0.6);
            p->data[i] = (float)(bk_rng_below(&r, 2) ? v : -v);
        }
        float l1 = !strcmp(p->name, "c.weight") ? 0.03f : !strcmp(p->name, "d.weight") ? 0.01f : 0;
        float l2 = !strcmp(p->name, "d.weight") ? 0.05f : !strcmp(p->name, "d.bias") ? 0.2f : 0;
        CHECK(p->l1 == l1 && p->l2 == (!strcmp(p->name, "e.weight") ? 0.5f : l2));
        for (int64_t i = 0; i < bk_shape_numel(&p->shape); i++)
            expect += l1 * fabs((double)p->data[i]) + l2 * (double)p->data[i] * p->data[i];
    }
    memset(m.param_grad, 0, (size_t)m.param_count * sizeof(float));
    double pen = bk_regularizer_add_grad(&m);
    /* the frozen layer e carries no penalty and gets no gradient, as in Keras 3 */
    CHECK(fabs(pen - expect) <= 1e-6 * expect);
    int bad = 0, sensitive = 0;
    double worst = 0;
    const float h = 1e-3f;
    for (int k = 0; k < m.n_params; k++) {
        bk_param *p = &m.params[k];
        for (int64_t i = 0; i < bk_shape_numel(&p->shape); i++) {
            float w = p->data[i];
            p->data[i] = w + h;
            double lp = bk_regularizer_penalty(&m);
            p->data[i] = w - h;
            double lm = bk_regularizer_penalty(&m);
            p->data[i] = w;
            double num = (lp - lm) / ((double)(w + h) - (double)(w - h)), a = p->grad[i];
            double e = gc_rel(a, num, 1e-4);
            worst = fmax(worst, e);
            bad += e > 1e-3;
            sensitive += gc_rel(1.1 * a, num, 1e-4) > 1e-3;
            if (p->frozen) bad += a != 0;
        }
    }
    CHECK(bad == 0);
    CHECK(sensitive > 0);
    printf("regularizer_gradient: worst relative error %.3g\n", worst);
    bk_model_free(&m);
    bk_json_free(&doc);
}

/* Ties, where differences cannot look (the function has a corner there):
 * GlobalMaxPooling shares the gradient equally among tied maxima (as
 * TensorFlow's reduce_max); Maximum/Minimum give it to the first input
 * holding the extreme (TensorFlow's maximum folded left). */
static void ties(void)
{
    printf("ties\n");
    const char *net =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"t\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_shape\": [null, 2, 2, 1], \"name\": \"in\"}, \"inbound_nodes\": []},"
        "{\"class_name\": \"Conv2D\", \"name\": \"c\", \"config\": {\"name\": \"c\", \"filters\": 1, \"kernel_size\": 1, \"use_bias\": false,"
        " \"kernel_initializer\": {\"class_name\": \"Ones\", \"config\": {}}}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
        "{\"class_name\": \"Maximum\", \"name\": \"mx\", \"config\": {\"name\": \"mx\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"c\", 0, 0, {}]]]},"
        "{\"class_name\": \"GlobalMaxPooling2D\", \"name\": \"g\", \"config\": {\"name\": \"g\"}, \"inbound_nodes\": [[[\"mx\", 0, 0, {}]]]}],"
        " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"g\", 0, 0]]}}";
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(bk_json_load_string(&doc, net, "ties.json"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 3, NULL));
    m.nodes[m.inputs[0]].needs_grad = 1;
    for (int k = 0; k < m.n_nodes; k++) m.nodes[k].needs_grad = 1;
    float x[4] = {0.5f, 2.0f, -1.0f, 2.0f}; /* c = x (unit kernel): every element of mx a tie */
    const float *xp = x;
    CHECK_OK(bk_model_forward(&m, &xp, 1, 1));
    bk_node *out = &m.nodes[m.outputs[0]], *mx = NULL, *c = NULL;
    for (int k = 0; k < m.n_nodes; k++) {
        if (!strcmp(m.nodes[k].name, "mx")) mx = &m.nodes[k];
        if (!strcmp(m.nodes[k].name, "c")) c = &m.nodes[k];
    }
    CHECK(out->out[0] == 2.0f && mx && c);
    bk_model_begin_backward(&m);
    out->grad[0] = 1.0f;
    out->grad_written = 1;
    CHECK_OK(bk_model_backward(&m));
    if (mx && c) {
        /* the two maxima share the gradient; all of it goes to input 0 of mx */
        CHECK(mx->grad[0] == 0 && mx->grad[1] == 0.5f && mx->grad[2] == 0 && mx->grad[3] == 0.5f);
        CHECK(c->grad[1] == 0 && c->grad[3] == 0);
        /* "in" gets mx's gradient directly and c's (zero) through the conv */
        const float *gi = m.nodes[m.inputs[0]].grad;
        CHECK(gi[0] == 0 && gi[1] == 0.5f && gi[2] == 0 && gi[3] == 0.5f);
    }
    bk_model_free(&m);
    bk_json_free(&doc);
}

/* Softmax's values over Keras axes (not only its gradient): for an input
 * of Keras shape (3, 4, 2) each axis set is reduced in Keras element order. */
static void softmax_values(void)
{
    static const struct { const char *axis; int red[3]; } cases[] = {
        {"-1", {0, 0, 1}}, {"1", {1, 0, 0}}, {"-2", {0, 1, 0}}, {"[1, 2]", {1, 1, 0}},
        {"[2, 3]", {0, 1, 1}}, {"[1, 3]", {1, 0, 1}}, {"[3, 1, 2]", {1, 1, 1}}};
    printf("softmax_values\n");
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char net[1024];
        snprintf(net, sizeof net,
                 "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                 "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 4, 2], \"name\": \"in\"}},"
                 "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"s\", \"axis\": %s}}]}}", cases[c].axis);
        bk_json_doc doc;
        bk_model m;
        CHECK_OK(bk_json_load_string(&doc, net, "sm.json"));
        CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 1, NULL));
        float xk[2 * 24], x[2 * 24], yk[2 * 24];
        for (int i = 0; i < 48; i++) xk[i] = (float)((i * 7) % 11) * 0.3f - 1.5f;
        const bk_shape *in = &m.nodes[m.inputs[0]].out_shape;
        bk_from_keras_order(xk, x, 2, in);
        const float *xp = x;
        CHECK_OK(bk_model_forward(&m, &xp, 2, 0));
        bk_to_keras_order(m.nodes[m.outputs[0]].out, yk, 2, in);
        double worst = 0;
        for (int b = 0; b < 2; b++)
            for (int64_t i = 0; i < 24; i++) {
                int64_t co[3] = {i / 8, (i / 2) % 4, i % 2};
                double den = 0;
                for (int64_t j = 0; j < 24; j++) {
                    int64_t cj[3] = {j / 8, (j / 2) % 4, j % 2};
                    int same = 1;
                    for (int d = 0; d < 3; d++)
                        if (!cases[c].red[d] && cj[d] != co[d]) same = 0;
                    if (same) den += exp((double)xk[b * 24 + j]);
                }
                worst = fmax(worst, fabs(exp((double)xk[b * 24 + i]) / den - yk[b * 24 + i]));
            }
        CHECK(worst < 1e-6);
        if (worst >= 1e-6) fprintf(stderr, "  softmax axis %s: off by %g\n", cases[c].axis, worst);
        bk_model_free(&m);
        bk_json_free(&doc);
    }
}

static void run_cases(const gc_case *c, int n)
{
    for (int i = 0; i < n; i++) gc_check(c[i].name, c[i].json, &c[i].o);
}

int main(void)
{
    run_cases(merge_cases, (int)(sizeof merge_cases / sizeof merge_cases[0]));
    run_cases(dot_cases, (int)(sizeof dot_cases / sizeof dot_cases[0]));
    run_cases(softmax_cases, (int)(sizeof softmax_cases / sizeof softmax_cases[0]));
    run_cases(act_cases, (int)(sizeof act_cases / sizeof act_cases[0]));
    run_cases(pool_cases, (int)(sizeof pool_cases / sizeof pool_cases[0]));
    regularizer_gradient();
    ties();
    softmax_values();
    gc_summary("gradcheck_merge_act");
    return bk_test_finish("test_gradcheck_merge_act");
}
