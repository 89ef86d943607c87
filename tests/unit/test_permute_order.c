/* Permute and Reshape give Keras' element order: brisk's outputs, read
 * back in Keras (channels_last) order, equal numpy.transpose / reshape of
 * the Keras input tensor, including rank-2 tensors such as BraggNN's
 * non-local block: (9, 9, 32) -> Reshape (81, 32) -> Permute (2, 1) ->
 * (32, 81). The reference below is numpy.transpose written out over
 * row-major Keras arrays, independent of brisk's internal layout. */
#include <stdlib.h>
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "testutil.h"

/* numpy.transpose(x, axes) of a row-major array x of shape dims[0..r). */
static void np_transpose(const float *x, float *y, const int64_t *dims, int r, const int *axes)
{
    int64_t n = 1, od[8], in_stride[8];
    for (int a = r - 1, s = 1; a >= 0; a--) {
        in_stride[a] = s;
        s *= (int)dims[a];
    }
    for (int j = 0; j < r; j++) od[j] = dims[axes[j]], n *= dims[j];
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, src = 0;
        for (int j = r - 1; j >= 0; j--) {
            src += (rem % od[j]) * in_stride[axes[j]];
            rem /= od[j];
        }
        y[i] = x[src];
    }
}

/* Sequential "Input(shape) -> layers"; runs one sample given in Keras order
 * and returns the output in Keras order (malloc'd) and its Keras shape. */
static float *run(const char *shape, const char *layers, const float *xk, bk_shape *kout)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %s], \"name\": \"in\"}}, %s]}}",
             shape, layers);
    bk_json_doc doc;
    bk_model m;
    float *yk = NULL;
    bk_status st = bk_json_load_string(&doc, json, "net.json");
    if (!st) st = bk_build_keras(&m, &doc, doc.root, "", 1, NULL);
    CHECK_OK(st);
    if (st) return NULL;
    const bk_shape *in = &m.nodes[m.inputs[0]].out_shape;
    const bk_node *out = &m.nodes[m.outputs[0]];
    float *x = malloc((size_t)bk_shape_numel(in) * sizeof(float));
    yk = malloc((size_t)bk_shape_numel(&out->out_shape) * sizeof(float));
    bk_from_keras_order(xk, x, 1, in);
    const float *xs = x;
    CHECK_OK(bk_model_forward(&m, &xs, 1, 0));
    bk_to_keras_order(out->out, yk, 1, &out->out_shape);
    *kout = bk_internal_to_keras(&out->out_shape);
    free(x);
    bk_model_free(&m);
    bk_json_free(&doc);
    return yk;
}

/* flat: the layers end in a flattening Reshape (the output is the
 * transpose, flattened) */
static void check_permute(const char *shape, const int64_t *dims, int r, const char *layers, const int *axes, int flat)
{
    int64_t n = 1;
    for (int a = 0; a < r; a++) n *= dims[a];
    float *x = malloc((size_t)n * sizeof(float)), *ref = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = (float)i;
    np_transpose(x, ref, dims, r, axes);
    bk_shape ko;
    float *y = run(shape, layers, x, &ko);
    if (y) {
        CHECK(ko.ndim == (flat ? 1 : r) && bk_shape_numel(&ko) == n);
        for (int j = 0; j < r && ko.ndim == r; j++) CHECK(ko.dims[j] == dims[axes[j]]);
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++) bad += y[i] != ref[i];
        if (bad) fprintf(stderr, "%s: %s: %lld of %lld values out of place\n", shape, layers, (long long)bad, (long long)n);
        CHECK(bad == 0);
    }
    free(x);
    free(ref);
    free(y);
}

#define PERMUTE(d) "{\"class_name\": \"Permute\", \"config\": {\"name\": \"p\", \"dims\": " d "}}"
#define RESHAPE(t) "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"r\", \"target_shape\": " t "}}"

int main(void)
{
    /* rank 2: (81, 32) -> (32, 81) */
    check_permute("81, 32", (int64_t[]){81, 32}, 2, PERMUTE("[2, 1]"), (int[]){1, 0}, 0);
    /* BraggNN: a (9, 9, 32) map reshaped to (81, 32) (row-major, as numpy) then transposed */
    check_permute("9, 9, 32", (int64_t[]){81, 32}, 2, RESHAPE("[81, 32]") ", " PERMUTE("[2, 1]"), (int[]){1, 0}, 0);
    /* then flattened: the transpose in row-major order */
    check_permute("9, 9, 32", (int64_t[]){81, 32}, 2, RESHAPE("[81, 32]") ", " PERMUTE("[2, 1]") ", "
                  "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"r2\", \"target_shape\": [2592]}}", (int[]){1, 0}, 1);
    /* rank 3 and 4, every kind of move */
    check_permute("2, 3, 4", (int64_t[]){2, 3, 4}, 3, PERMUTE("[3, 1, 2]"), (int[]){2, 0, 1}, 0);
    check_permute("2, 3, 4", (int64_t[]){2, 3, 4}, 3, PERMUTE("[2, 1, 3]"), (int[]){1, 0, 2}, 0);
    check_permute("2, 3, 4", (int64_t[]){2, 3, 4}, 3, PERMUTE("[1, 3, 2]"), (int[]){0, 2, 1}, 0);
    check_permute("2, 3, 4", (int64_t[]){2, 3, 4}, 3, PERMUTE("[1, 2, 3]"), (int[]){0, 1, 2}, 0);
    check_permute("2, 3, 4, 5", (int64_t[]){2, 3, 4, 5}, 4, PERMUTE("[4, 2, 1, 3]"), (int[]){3, 1, 0, 2}, 0);
    /* Reshape of a rank-3 tensor to rank 2 is numpy's row-major reshape (identity transpose) */
    check_permute("4, 3, 2", (int64_t[]){12, 2}, 2, RESHAPE("[12, 2]"), (int[]){0, 1}, 0);
    check_permute("4, 3, 2", (int64_t[]){4, 6}, 2, RESHAPE("[4, 6]"), (int[]){0, 1}, 0);
    return bk_test_finish("test_permute_order");
}
