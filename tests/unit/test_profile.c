/* The per-layer profile (BRISK_PROFILE, src/nn/profile.c): it stays off
 * unless asked for, leaves the first pass out, times every layer that ran,
 * counts a convolution's FLOPs as the benchmark does, and prints one row
 * per layer, slowest first, with a total. */
#include <stdlib.h>
#include <string.h>
#include "nn/builder.h"
#include "nn/profile.h"
#include "testutil.h"

static const char *NET =
    "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
    "{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 12, 12, 3]}}, "
    "{'class_name': 'Conv2D', 'config': {'name': 'conv', 'filters': 8, 'kernel_size': 3, 'activation': 'relu'}}, "
    "{'class_name': 'Conv2DTranspose', 'config': {'name': 'up', 'filters': 4, 'kernel_size': 2, 'strides': 2}}, "
    "{'class_name': 'Flatten', 'config': {'name': 'flat'}}, "
    "{'class_name': 'Dense', 'config': {'name': 'fc', 'units': 5}}]}}";

static int build(bk_model *m)
{
    char *json = strdup(NET);
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    bk_json_doc doc;
    memset(m, 0, sizeof *m);
    bk_status st = bk_json_load_string(&doc, json, "profile.json");
    if (!st) {
        st = bk_build_keras(m, &doc, doc.root, "", 5, NULL);
        bk_json_free(&doc);
    }
    free(json);
    CHECK_OK(st);
    return st == BK_OK;
}

static bk_node *node(bk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return NULL;
}

/* `passes` training steps at batch 4. */
static void train(bk_model *m, int passes)
{
    static float x[4 * 12 * 12 * 3];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = (float)(i % 7) - 3;
    const float *xs = x;
    bk_node *out = &m->nodes[m->outputs[0]];
    for (int s = 0; s < passes; s++) {
        CHECK_OK(bk_model_forward(m, &xs, 4, 1));
        bk_model_begin_backward(m);
        for (int64_t i = 0; i < 4 * 5; i++) out->grad[i] = 0.1f;
        out->grad_written = 1;
        CHECK_OK(bk_model_backward(m));
    }
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

int main(void)
{
    bk_model m;
    unsetenv("BRISK_PROFILE");
    if (!build(&m)) return bk_test_finish("test_profile");
    train(&m, 2);
    CHECK(m.prof == NULL); /* off unless asked for */
    bk_model_free(&m);

    setenv("BRISK_PROFILE", "0", 1);
    if (!build(&m)) return bk_test_finish("test_profile");
    train(&m, 2);
    CHECK(m.prof == NULL);
    bk_model_free(&m);

    setenv("BRISK_PROFILE", "1", 1);
    if (!build(&m)) return bk_test_finish("test_profile");
    train(&m, 4);
    CHECK(m.prof != NULL);
    if (m.prof) {
        CHECK(m.prof->fwd_passes == 3 && m.prof->bwd_passes == 3); /* the first builds the plans */
        CHECK(m.prof->batch == 4);
        bk_node *conv = node(&m, "conv"), *up = node(&m, "up"), *fc = node(&m, "fc");
        CHECK(conv && up && fc);
        if (conv && up && fc) {
            CHECK(m.prof->fwd_s[conv->index] > 0 && m.prof->bwd_s[conv->index] > 0);
            CHECK(m.prof->fwd_s[up->index] > 0 && m.prof->bwd_s[fc->index] > 0);
            /* 2 * 8 * 3 * 3 * 3 weights-uses per output position, 10 x 10 positions */
            CHECK_NEAR(bk_node_forward_flops(&m, conv), 2.0 * 8 * 3 * 9 * 100, 0);
            /* a transposed convolution applies each weight once per input position */
            CHECK_NEAR(bk_node_forward_flops(&m, up), 2.0 * 8 * 4 * 4 * 100, 0);
            CHECK_NEAR(bk_node_forward_flops(&m, fc), 2.0 * 20 * 20 * 4 * 5, 0);
        }
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        bk_profile_print(&m, f);
        fclose(f);
        CHECK(text && strstr(text, "3 forward and 3 backward passes of 4 samples"));
        CHECK(text && strstr(text, "\nconv ") && strstr(text, "\nup ") && strstr(text, "\nfc "));
        CHECK(text && strstr(text, "\nall layers "));
        /* heading, column names, one row per layer that ran (conv, its
         * fused ReLU's node, up, flat, fc), the total */
        CHECK(text && count_lines(text) == 2 + 5 + 1);
        free(text);
        bk_profile_reset(&m);
        CHECK(m.prof->fwd_passes == 0);
        f = open_memstream(&text, &len);
        bk_profile_print(&m, f); /* nothing recorded: nothing printed */
        fclose(f);
        CHECK(len == 0);
        free(text);
    }
    bk_model_free(&m);
    unsetenv("BRISK_PROFILE");
    return bk_test_finish("test_profile");
}
