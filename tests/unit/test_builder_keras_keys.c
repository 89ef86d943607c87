/* The builder accepts the bookkeeping keys of real Keras 3 exports on
 * every layer (dtype policies, ragged, sparse, batch_size, build_config,
 * registered_name, module, null regularizers and constraints), reads
 * weight regularizers into the parameters, and refuses activity
 * regularizers, constraints and unknown regularizers with a placed message. */
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "testutil.h"

#define DTYPE "{\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}"
#define INIT(c) "{\"module\": \"keras.initializers\", \"class_name\": \"" c "\", \"config\": {\"seed\": null}, \"registered_name\": null}"

/* A Keras 3 Sequential whose Dense carries `dense_extra` after every other key. */
static bk_status build(bk_model *m, bk_json_doc *doc, const char *dense_extra)
{
    char net[8192];
    snprintf(net, sizeof net,
             "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"registered_name\": null,"
             " \"build_config\": {\"input_shape\": [null, 6]}, \"compile_config\": null,"
             " \"config\": {\"name\": \"s\", \"trainable\": true, \"dtype\": " DTYPE ", \"layers\": ["
             "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"registered_name\": null,"
             " \"config\": {\"batch_shape\": [null, 6], \"dtype\": \"float32\", \"sparse\": false, \"ragged\": false,"
             " \"batch_size\": null, \"name\": \"in\"}},"
             "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"registered_name\": null,"
             " \"build_config\": {\"input_shape\": [null, 6]},"
             " \"config\": {\"name\": \"d\", \"trainable\": true, \"dtype\": " DTYPE ", \"units\": 4,"
             " \"activation\": \"relu\", \"use_bias\": true, \"kernel_initializer\": " INIT("GlorotUniform") ","
             " \"bias_initializer\": " INIT("Zeros") ", \"lora_rank\": null%s}},"
             "{\"module\": \"keras.layers\", \"class_name\": \"PReLU\", \"registered_name\": null,"
             " \"config\": {\"name\": \"p\", \"trainable\": true, \"dtype\": " DTYPE ","
             " \"alpha_initializer\": " INIT("Zeros") ", \"alpha_regularizer\": null, \"alpha_constraint\": null,"
             " \"shared_axes\": null}}]}}",
             dense_extra);
    bk_status st = bk_json_load_string(doc, net, "net.json");
    if (st) return st;
    return bk_build_keras(m, doc, doc->root, "", 1, NULL);
}

static bk_param *param(bk_model *m, const char *name)
{
    for (int k = 0; k < m->n_params; k++)
        if (!strcmp(m->params[k].name, name)) return &m->params[k];
    return NULL;
}

static void test_all_keys(void)
{
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(build(&m, &doc,
                   ", \"kernel_regularizer\": {\"module\": \"keras.regularizers\", \"class_name\": \"L1L2\","
                   " \"config\": {\"l1\": 0.001, \"l2\": 0.02}, \"registered_name\": null},"
                   " \"bias_regularizer\": {\"module\": \"keras.regularizers\", \"class_name\": \"L2\","
                   " \"config\": {\"l2\": 0.5}, \"registered_name\": null},"
                   " \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null,"
                   " \"ragged\": false, \"sparse\": false, \"batch_size\": null"));
    /* Dense 6x4 + 4, PReLU alpha (4): Keras counts 32 */
    CHECK(m.param_count == 6 * 4 + 4 + 4);
    bk_param *w = param(&m, "d.weight"), *b = param(&m, "d.bias"), *a = param(&m, "p.weight");
    CHECK(w && b && a);
    if (w && b && a) {
        CHECK(w->l1 == 0.001f && w->l2 == 0.02f);
        CHECK(b->l1 == 0 && b->l2 == 0.5f);
        CHECK(a->l1 == 0 && a->l2 == 0 && a->shape.ndim == 1 && a->shape.dims[0] == 4);
    }
    bk_model_free(&m);
    bk_json_free(&doc);
}

/* The error names the key's JSON path and says what to do. */
static void expect_error(const char *extra, const char *want1, const char *want2)
{
    bk_json_doc doc;
    bk_model m;
    bk_status st = build(&m, &doc, extra);
    CHECK(st == BK_ERR_UNSUPPORTED);
    const char *msg = bk_last_error();
    CHECK(strstr(msg, want1) != NULL);
    CHECK(strstr(msg, want2) != NULL);
    if (!strstr(msg, want1) || !strstr(msg, want2)) fprintf(stderr, "  message: %s\n", msg);
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_refused(void)
{
    expect_error(", \"activity_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.01}}",
                 "layers[1].config.activity_regularizer", "set it to null");
    expect_error(", \"kernel_constraint\": {\"module\": \"keras.constraints\", \"class_name\": \"MaxNorm\","
                 " \"config\": {\"max_value\": 2, \"axis\": 0}, \"registered_name\": null}",
                 "layers[1].config.kernel_constraint", "MaxNorm");
    expect_error(", \"kernel_regularizer\": {\"class_name\": \"OrthogonalRegularizer\", \"config\": {}}",
                 "layers[1].config.kernel_regularizer", "OrthogonalRegularizer");
}

int main(void)
{
    test_all_keys();
    test_refused();
    return bk_test_finish("test_builder_keras_keys");
}
