/* The Keras JSON graph builder: Sequential with batch_input_shape on the
 * first layer, Keras 3 Functional inbound_nodes, shapes and parameter
 * counts, Flatten's Keras element order, and errors naming the place. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "testutil.h"

static bk_status build(bk_model *m, bk_json_doc *doc, const char *text)
{
    bk_status st = bk_json_load_string(doc, text, "net.json");
    if (st) return st;
    return bk_build_keras(m, doc, doc->root, "", 1, NULL);
}

static void test_sequential_first_layer_shape(void)
{
    const char *net = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                      "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 4, \"kernel_size\": [3, 3],"
                      " \"strides\": 2, \"padding\": \"same\", \"batch_input_shape\": [null, 9, 7, 2], \"activation\": \"relu\"}},"
                      "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}},"
                      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 3}}]}}";
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(build(&m, &doc, net));
    CHECK(m.n_inputs == 1);
    const bk_shape *in = &m.nodes[m.inputs[0]].out_shape;
    CHECK(in->ndim == 3 && in->dims[0] == 2 && in->dims[1] == 9 && in->dims[2] == 7);
    /* same padding, stride 2: ceil(9/2)=5, ceil(7/2)=4 */
    const bk_node *out = &m.nodes[m.outputs[0]];
    CHECK(out->out_shape.ndim == 1 && out->out_shape.dims[0] == 3);
    CHECK(m.param_count == 4 * 2 * 9 + 4 + (4 * 5 * 4) * 3 + 3);

    /* Flatten follows Keras' (H, W, C) order: out[(h*W + w)*C + c] = in[c][h][w] */
    const bk_node *conv_act = NULL, *flat = NULL;
    for (int i = 0; i < m.n_nodes; i++) {
        if (!strcmp(m.nodes[i].class_name, "Flatten")) flat = &m.nodes[i];
        if (m.nodes[i].hidden && m.nodes[i].n_in == 1 && strstr(m.nodes[i].name, "relu")) conv_act = &m.nodes[i];
    }
    CHECK(flat && conv_act);
    float x[2 * 9 * 7];
    for (int i = 0; i < 126; i++) x[i] = (float)((i * 37) % 11) - 5.0f;
    const float *xs = x;
    CHECK_OK(bk_model_forward(&m, &xs, 1, 0));
    if (flat && conv_act) {
        int ok = 1;
        for (int c = 0; c < 4; c++)
            for (int h = 0; h < 5; h++)
                for (int w = 0; w < 4; w++)
                    if (flat->out[(h * 4 + w) * 4 + c] != conv_act->out[(c * 5 + h) * 4 + w]) ok = 0;
        CHECK(ok);
    }
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_functional_keras3(void)
{
    /* Keras 3 writes inbound tensors as keras_history and a single output as ["name", 0, 0] */
    const char *net =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"inp\", \"config\": {\"batch_shape\": [null, 6], \"name\": \"inp\"}, \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 5}, \"inbound_nodes\": [{\"args\": ["
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 6], \"keras_history\": [\"inp\", 0, 0]}}], \"kwargs\": {}}]},"
        "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 5}, \"inbound_nodes\": [{\"args\": ["
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 6], \"keras_history\": [\"inp\", 0, 0]}}], \"kwargs\": {}}]},"
        "{\"class_name\": \"Concatenate\", \"name\": \"cat\", \"config\": {\"name\": \"cat\", \"axis\": -1}, \"inbound_nodes\": [{\"args\": [["
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"a\", 0, 0]}},"
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"b\", 0, 0]}}]], \"kwargs\": {}}]}],"
        "\"input_layers\": [\"inp\", 0, 0], \"output_layers\": [\"cat\", 0, 0]}}";
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(build(&m, &doc, net));
    const bk_node *out = &m.nodes[m.outputs[0]];
    CHECK(!strcmp(out->name, "cat"));
    CHECK(out->out_shape.ndim == 1 && out->out_shape.dims[0] == 10);
    CHECK(out->n_in == 2);
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_errors(void)
{
    bk_json_doc doc;
    bk_model m;
    /* an input that is used before it is defined */
    const char *bad_order =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": [\n"
        "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}},\n"
        "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 2}, \"inbound_nodes\": [[[\"b\", 0, 0, {}]]]}]}}";
    CHECK(build(&m, &doc, bad_order) == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "net.json:3:1") && strstr(bk_last_error(), "\"b\", which is not defined"));
    bk_model_free(&m);
    bk_json_free(&doc);
    /* Dense after a 2D feature map without Flatten */
    const char *no_flatten =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4, 1], \"name\": \"in\"}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}}]}}";
    CHECK(build(&m, &doc, no_flatten) == BK_ERR_SHAPE);
    CHECK(strstr(bk_last_error(), "\"d\"") && strstr(bk_last_error(), "[4, 4, 1]") && strstr(bk_last_error(), "Flatten"));
    bk_model_free(&m);
    bk_json_free(&doc);
    /* no input shape anywhere */
    const char *no_shape = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}}]}}";
    CHECK(build(&m, &doc, no_shape) == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "batch_input_shape") != NULL);
    bk_model_free(&m);
    bk_json_free(&doc);
    /* a misspelt class late in the registry is still suggested (the
     * suggestion list once stopped at 64 of the ~70 classes) */
    const char *typo = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                       "{\"class_name\": \"Swsh\", \"config\": {\"name\": \"a\", \"batch_input_shape\": [null, 4]}}]}}";
    CHECK(build(&m, &doc, typo) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "did you mean \"Swish\"") != NULL);
    if (!strstr(bk_last_error(), "did you mean \"Swish\"")) fprintf(stderr, "got: %s\n", bk_last_error());
    bk_model_free(&m);
    bk_json_free(&doc);
}

/* The training CLI's activation classes Sigmoid, Tanh, Swish and
 * log_softmax, against their closed forms. */
static void test_cli_activation_classes(void)
{
    const char *net = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                      "{\"class_name\": \"%s\", \"config\": {\"name\": \"a\", \"trainable\": true, \"dtype\": \"float32\","
                      " \"batch_input_shape\": [null, 5]}}]}}";
    const char *classes[] = {"Sigmoid", "Tanh", "Swish", "log_softmax"};
    float x[5] = {-2.0f, -0.5f, 0.0f, 0.7f, 3.0f};
    double lse = 0;
    for (int i = 0; i < 5; i++) lse += exp(x[i]);
    lse = log(lse);
    for (int k = 0; k < 4; k++) {
        char text[512];
        snprintf(text, sizeof text, net, classes[k]);
        bk_json_doc doc;
        bk_model m;
        CHECK_OK(build(&m, &doc, text));
        const float *xs = x;
        CHECK_OK(bk_model_forward(&m, &xs, 1, 0));
        const float *y = m.nodes[m.outputs[0]].out;
        double worst = 0;
        for (int i = 0; i < 5; i++) {
            double s = 1.0 / (1.0 + exp(-x[i]));
            double want = k == 0 ? s : k == 1 ? tanh(x[i]) : k == 2 ? x[i] * s : x[i] - lse;
            worst = fmax(worst, fabs(y[i] - want));
        }
        CHECK(worst < 1e-5);
        if (worst >= 1e-5) fprintf(stderr, "%s: off by %g\n", classes[k], worst);
        bk_model_free(&m);
        bk_json_free(&doc);
    }
}

/* The reference CLI's networks write InstanceNormalization in PyTorch's
 * form ({"affine": false, "track_running_stats": false, "epsilon": 1e-5}):
 * each channel of each sample normalized over its spatial axes, with no
 * parameters when affine is false. It was read as keras-contrib's form
 * (one scalar gamma and beta, statistics over the whole sample). */
static void test_instancenorm_torch_form(void)
{
    const char *net = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                      "{\"class_name\": \"InstanceNormalization\", \"config\": {\"name\": \"in1\", "
                      "\"batch_input_shape\": [null, 3, 4, 2], \"affine\": false, \"track_running_stats\": false, "
                      "\"momentum\": 0.1, \"epsilon\": 1e-05}}]}}";
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(build(&m, &doc, net));
    CHECK(m.param_count == 0);
    float x[2 * 2 * 3 * 4]; /* 2 samples, channel-first [2, 3, 4] */
    for (int i = 0; i < 48; i++) x[i] = (float)((i * 7) % 13) * (i < 12 ? 1.0f : 3.0f) + (float)(i / 12);
    const float *xs = x;
    CHECK_OK(bk_model_forward(&m, &xs, 2, 0));
    const float *y = m.nodes[m.outputs[0]].out;
    for (int sc = 0; sc < 4; sc++) { /* each (sample, channel) plane of 12 values */
        double mean = 0, var = 0, xm = 0, xv = 0;
        for (int i = 0; i < 12; i++) xm += x[sc * 12 + i] / 12.0;
        for (int i = 0; i < 12; i++) xv += (x[sc * 12 + i] - xm) * (x[sc * 12 + i] - xm) / 12.0;
        for (int i = 0; i < 12; i++) mean += y[sc * 12 + i] / 12.0;
        for (int i = 0; i < 12; i++) var += (y[sc * 12 + i] - mean) * (y[sc * 12 + i] - mean) / 12.0;
        CHECK_NEAR(mean, 0.0, 1e-5);
        CHECK_NEAR(var, xv / (xv + 1e-5), 1e-4);
        CHECK_NEAR(y[sc * 12], (x[sc * 12] - xm) / sqrt(xv + 1e-5), 1e-4);
    }
    bk_model_free(&m);
    bk_json_free(&doc);

    /* affine true: one weight and bias per channel, as PyTorch */
    const char *net2 = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"InstanceNormalization\", \"config\": {\"name\": \"in2\", "
                       "\"batch_input_shape\": [null, 3, 4, 5], \"affine\": true}}]}}";
    CHECK_OK(build(&m, &doc, net2));
    CHECK(m.param_count == 10);
    bk_model_free(&m);
    bk_json_free(&doc);

    /* running statistics are not kept by brisk's instance norm: a clear error */
    const char *net3 = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"InstanceNormalization\", \"config\": {\"name\": \"in3\", "
                       "\"batch_input_shape\": [null, 3, 4, 5], \"track_running_stats\": true}}]}}";
    CHECK(build(&m, &doc, net3) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "track_running_stats") != NULL);
    bk_model_free(&m);
    bk_json_free(&doc);
}

/* TensorFlow exports Keras' log_softmax activation as "log_softmax_v2" */
static void test_log_softmax_v2(void)
{
    bk_json_doc doc;
    bk_model m;
    const char *net4 = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Activation\", "
                       "\"config\": {\"name\": \"ls\", \"activation\": \"log_softmax_v2\", \"batch_input_shape\": [null, 3]}}]}}";
    CHECK_OK(build(&m, &doc, net4));
    float x[3] = {1.0f, 2.0f, 4.0f};
    const float *xs = x;
    CHECK_OK(bk_model_forward(&m, &xs, 1, 0));
    double lse = log(exp(1.0) + exp(2.0) + exp(4.0));
    CHECK_NEAR(m.nodes[m.outputs[0]].out[0], 1.0 - lse, 1e-5);
    bk_model_free(&m);
    bk_json_free(&doc);
}

int main(void)
{
    test_cli_activation_classes();
    test_sequential_first_layer_shape();
    test_functional_keras3();
    test_errors();
    test_instancenorm_torch_form();
    test_log_softmax_v2();
    return bk_test_finish("test_builder");
}
