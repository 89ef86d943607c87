/* Free input sizes and model variants (graph.h): a network declared
 * [null, null, null, 3] builds for any size given; a variant at another
 * size shares the model's weight and gradient buffers (not a copy: a later
 * change of the weights shows through it) and computes what a model built
 * fresh at that size with those weights computes; a Dense layer after
 * Flatten, or weights stored in another layout, are refused by name. */
#include <stdlib.h>
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "testutil.h"


/* A small UNet-like net: convolutions with 16 channels (blocked weights
 * and activations where the backend blocks), batch norm, pooling,
 * upsampling and a skip concatenation; its weights do not depend on size. */
static const char *k_fcn =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"fcn\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"img\", \"config\": {\"name\": \"img\", "
    "\"batch_input_shape\": [null, null, null, 3]}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c1\", \"config\": {\"name\": \"c1\", \"filters\": 16, \"kernel_size\": 3, "
    "\"padding\": \"same\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"img\", 0, 0, {}]]]},"
    "{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"name\": \"bn\", \"axis\": [3]}, "
    "\"inbound_nodes\": [[[\"c1\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c2\", \"config\": {\"name\": \"c2\", \"filters\": 16, \"kernel_size\": 3, "
    "\"padding\": \"same\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"bn\", 0, 0, {}]]]},"
    "{\"class_name\": \"MaxPooling2D\", \"name\": \"p\", \"config\": {\"name\": \"p\", \"pool_size\": 2}, "
    "\"inbound_nodes\": [[[\"c2\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c3\", \"config\": {\"name\": \"c3\", \"filters\": 16, \"kernel_size\": 3, "
    "\"padding\": \"same\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"p\", 0, 0, {}]]]},"
    "{\"class_name\": \"UpSampling2D\", \"name\": \"u\", \"config\": {\"name\": \"u\", \"size\": 2}, "
    "\"inbound_nodes\": [[[\"c3\", 0, 0, {}]]]},"
    "{\"class_name\": \"Concatenate\", \"name\": \"cat\", \"config\": {\"name\": \"cat\", \"axis\": -1}, "
    "\"inbound_nodes\": [[[\"c2\", 0, 0, {}], [\"u\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"out\", \"config\": {\"name\": \"out\", \"filters\": 2, \"kernel_size\": 1}, "
    "\"inbound_nodes\": [[[\"cat\", 0, 0, {}]]]}],"
    "\"input_layers\": [[\"img\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}";

static const char *k_flat =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"flat\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 8, 8, 1]}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv\", \"filters\": 4, \"kernel_size\": 3}},"
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flat\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"fc\", \"units\": 3}}]}}";

static bk_shape chw(int64_t c, int64_t h, int64_t w) { return (bk_shape){.ndim = 3, .dims = {c, h, w}}; }

static bk_status build_at(bk_model *m, const bk_json_doc *doc, const bk_shape *shape)
{
    bk_build_opts o = {.seed = 3, .shapes = shape, .n_shapes = shape ? 1 : 0};
    return bk_build_keras_opts(m, doc, doc->root, "", &o);
}

/* Deterministic non-trivial weights (running variances kept positive). */
static void set_weights(bk_model *m, float scale)
{
    for (int k = 0; k < m->n_params; k++) {
        bk_param *p = &m->params[k];
        int64_t n = bk_shape_numel(&p->shape);
        int var = strstr(p->name, "running_var") != NULL;
        for (int64_t i = 0; i < n; i++) {
            float v = scale * (float)(((i * 7919 + k * 104729) % 2001) - 1000) / 4000.0f;
            p->data[i] = var ? 0.5f + fabsf(v) : v;
        }
    }
}

static void fill_input(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 23) / 11.0f - 1.0f;
}

static float max_diff(const float *a, const float *b, int64_t n)
{
    float d = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > d) d = fabsf(a[i] - b[i]);
    return d;
}

static void test_free_dims(void)
{
    bk_json_doc doc;
    CHECK_OK(bk_json_load_string(&doc, k_fcn, "fcn.json"));
    bk_model probe, m;
    CHECK_OK(bk_keras_inputs(&probe, &doc, doc.root, ""));
    CHECK(probe.n_inputs == 1 && probe.n_nodes == 1);
    CHECK(probe.declared[0].ndim == 3 && probe.declared[0].dims[0] == 3 && probe.declared[0].dims[1] == -1 &&
          probe.declared[0].dims[2] == -1);
    bk_model_free(&probe);
    /* free dims with no size to take: an error that says so */
    bk_status st = build_at(&m, &doc, NULL);
    CHECK(st == BK_ERR_INVALID && strstr(bk_last_error(), "free") && strstr(bk_last_error(), "NonexNonex3"));
    bk_model_free(&m);
    /* another channel count than declared is refused by the builder too */
    bk_shape four = chw(4, 8, 8);
    st = build_at(&m, &doc, &four);
    CHECK(st == BK_ERR_SHAPE && strstr(bk_last_error(), "channel count"));
    bk_model_free(&m);
    bk_shape s = chw(3, 12, 10);
    CHECK_OK(build_at(&m, &doc, &s));
    const bk_shape *out = &m.nodes[m.outputs[0]].out_shape;
    CHECK(out->ndim == 3 && out->dims[0] == 2 && out->dims[1] == 12 && out->dims[2] == 10);
    bk_model_free(&m);
    bk_json_free(&doc);

    /* a null channel dim: the weights' shapes would be unknown */
    const char *nullc = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Conv2D\", "
                        "\"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": 3, "
                        "\"batch_input_shape\": [null, 8, 8, null]}}]}}";
    CHECK_OK(bk_json_load_string(&doc, nullc, "nullc.json"));
    st = bk_build_keras(&m, &doc, doc.root, "", 1, NULL);
    CHECK(st == BK_ERR_INVALID && strstr(bk_last_error(), "channel dimension (the last) is null"));
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_variant_shares_weights(void)
{
    bk_json_doc doc;
    CHECK_OK(bk_json_load_string(&doc, k_fcn, "fcn.json"));
    bk_model m, v, f;
    bk_shape s8 = chw(3, 8, 8), s12 = chw(3, 12, 10);
    CHECK_OK(build_at(&m, &doc, &s8));
    set_weights(&m, 1.0f);
    CHECK_OK(bk_model_variant(&v, &m, &s12));
    CHECK(v.shares_params && v.param_data == m.param_data && v.param_grad == m.param_grad);
    int same_ptrs = v.n_params == m.n_params;
    for (int k = 0; k < v.n_params && same_ptrs; k++)
        same_ptrs = v.params[k].data == m.params[k].data && v.params[k].grad == m.params[k].grad &&
                    v.params[k].block == m.params[k].block;
    CHECK(same_ptrs);
    CHECK_OK(build_at(&f, &doc, &s12)); /* fresh at 12x10, loaded with m's weights */
    CHECK(f.param_count == m.param_count);

    enum { N = 2 };
    int64_t in_n = N * 3 * 12 * 10, out_n = N * 2 * 12 * 10;
    float *x = malloc(sizeof(float) * (size_t)in_n), *keep = malloc(sizeof(float) * (size_t)out_n);
    CHECK(x && keep);
    if (!x || !keep) return;
    fill_input(x, in_n);
    const float *xs = x, *ov, *of;
    for (int round = 0; round < 2; round++) {
        /* round 1: the weights change after the variant was made; it must see the change */
        if (round == 1) set_weights(&m, -0.7f);
        memcpy(f.param_data, m.param_data, sizeof(float) * (size_t)m.param_count);
        CHECK_OK(bk_model_infer(&v, &xs, N, &ov));
        CHECK_OK(bk_model_infer(&f, &xs, N, &of));
        CHECK(max_diff(ov, of, out_n) <= 1e-5f);
        if (round == 0) memcpy(keep, ov, sizeof(float) * (size_t)out_n);
        else CHECK(max_diff(ov, keep, out_n) > 1e-3f); /* not stale */
    }

    /* a training pass through the variant writes the model's gradients */
    memset(m.param_grad, 0, sizeof(float) * (size_t)m.param_count);
    CHECK_OK(bk_model_forward(&v, &xs, N, 1));
    bk_model_begin_backward(&v);
    bk_node *o = &v.nodes[v.outputs[0]];
    for (int64_t i = 0; i < out_n; i++) o->grad[i] = 1.0f / (float)out_n;
    o->grad_written = 1;
    CHECK_OK(bk_model_backward(&v));
    double g = 0;
    for (int64_t i = 0; i < m.param_count; i++) g += fabs(m.param_grad[i]);
    CHECK(g > 0);
    free(x);
    free(keep);
    bk_model_free(&v);
    CHECK(m.param_data && m.params[0].data[0] == m.params[0].data[0]); /* still m's: readable under ASan */
    bk_model_free(&f);
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_variant_refusals(void)
{
    bk_json_doc doc;
    bk_model m, v;
    CHECK_OK(bk_json_load_string(&doc, k_flat, "flat.json"));
    CHECK_OK(build_at(&m, &doc, NULL));
    bk_shape s10 = chw(1, 10, 10);
    bk_status st = bk_model_variant(&v, &m, &s10);
    const char *e = bk_last_error();
    CHECK(st == BK_ERR_SHAPE && strstr(e, "layer \"fc\" (Dense)") && strstr(e, "10x10x1") && strstr(e, "8x8x1") &&
          strstr(e, "[3, 256]") && strstr(e, "[3, 144]"));
    bk_model_free(&v);
    bk_model *vp = NULL;
    st = bk_model_at_shapes(&m, &s10, &vp);
    CHECK(st == BK_ERR_SHAPE && vp == NULL);
    bk_model_free(&m);
    bk_json_free(&doc);

    /* weights stored in another layout at the other size must not be shared */
    CHECK_OK(bk_json_load_string(&doc, k_fcn, "fcn.json"));
    bk_shape s8 = chw(3, 8, 8), s12 = chw(3, 12, 10);
    CHECK_OK(build_at(&m, &doc, &s8));
    int k = 0;
    while (k < m.n_params && strcmp(m.params[k].name, "c2.weight")) k++;
    CHECK(k < m.n_params);
    if (k < m.n_params) {
        int was = m.params[k].block;
        m.params[k].block = was ? 0 : 8;
        st = bk_model_variant(&v, &m, &s12);
        CHECK(st == BK_ERR_INTERNAL && strstr(bk_last_error(), "c2.weight") && strstr(bk_last_error(), "layout"));
        bk_model_free(&v);
        m.params[k].block = was;
    }
    bk_model_free(&m);
    bk_json_free(&doc);
}

static void test_variant_cache(void)
{
    bk_json_doc doc;
    bk_model m, *a = NULL, *b = NULL, *own = NULL;
    CHECK_OK(bk_json_load_string(&doc, k_fcn, "fcn.json"));
    bk_shape s8 = chw(3, 8, 8), s12 = chw(3, 12, 10);
    CHECK_OK(build_at(&m, &doc, &s8));
    CHECK_OK(bk_model_at_shapes(&m, &s8, &own));
    CHECK(own == &m);
    CHECK_OK(bk_model_at_shapes(&m, &s12, &a));
    CHECK_OK(bk_model_at_shapes(&m, &s12, &b));
    CHECK(a && a == b && a != &m);
    /* more sizes than slots: the least recently used goes, the others stay */
    float x[3 * 16 * 16];
    fill_input(x, 3 * 16 * 16);
    const float *xs = x, *o;
    for (int64_t h = 2; h <= 2 * (BK_VARIANT_SLOTS + 1); h += 2) {
        bk_shape s = chw(3, h, 16), *want = &s;
        bk_model *p = NULL;
        CHECK_OK(bk_model_at_shapes(&m, want, &p));
        CHECK(p && bk_shape_equal(&p->nodes[p->inputs[0]].out_shape, want));
        if (p) CHECK_OK(bk_model_infer(p, &xs, 1, &o));
        CHECK_OK(bk_model_at_shapes(&m, &s12, &b)); /* kept in use: never the one dropped */
        CHECK(b == a);
    }
    bk_model_free(&m); /* frees the cached variants (ASan: no leak, no double free) */
    bk_json_free(&doc);
}

int main(void)
{
    test_free_dims();
    test_variant_shares_weights();
    test_variant_refusals();
    test_variant_cache();
    return bk_test_finish("test_variant");
}
