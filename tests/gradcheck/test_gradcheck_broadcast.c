/* Gradient checks of Keras size-1 broadcasting in the element-wise merge
 * layers (Add, Subtract, Multiply, Average, Maximum, Minimum): a
 * squeeze-and-excitation gate (1, 1, C), a one-channel map (H, W, 1), a
 * lower-rank input (C) against (H, W, C), two inputs that both broadcast
 * ((4, 1, C) + (1, 5, C) -> (4, 5, C)), (4, 1, 1), rank-2 (T, C) tensors, three
 * inputs, one input used twice, and the broadcast input first. Also: the
 * output shapes, and the error for incompatible shapes. See gc_harness.h. */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

#define D(name, units, from) GC_F(name, "Dense", ", 'units': " #units, GC_IN(from))
#define C2(name, filters, from) GC_F(name, "Conv2D", ", 'filters': " #filters ", 'kernel_size': [1, 1]", GC_IN(from))
#define RS(name, shape, from) GC_F(name, "Reshape", ", 'target_shape': [" shape "]", GC_IN(from))
#define GAP(name, from) GC_F(name, "GlobalAveragePooling2D", "", GC_IN(from))
#define M2(cls, a, b) GC_F("m", cls, "", GC_IN(a) ", " GC_IN(b))
#define M3(cls, a, b, c) GC_F("m", cls, "", GC_IN(a) ", " GC_IN(b) ", " GC_IN(c))
#define OUT "['m', 0, 0]"

/* in (4, 5, 2) -> a (4, 5, 3) [, g: the SE gate (1, 1, 3)] [, o: (4, 5, 1)] */
#define FA C2("a", 3, "in") ", "
#define SE GAP("p", "a") ", " D("d", 3, "p") ", " RS("g", "1, 1, 3", "d") ", "
#define ONE C2("o", 1, "in") ", "
#define VEC GAP("p", "a") ", " D("v", 3, "p") ", "
/* (4, 1, 3) and (1, 5, 3) from the input's pooled features */
#define ROWCOL GAP("p", "in") ", " D("r", 12, "p") ", " RS("R", "4, 1, 3", "r") ", " D("c", 15, "p") ", " RS("C", "1, 5, 3", "c") ", "
/* rank-2 (T, C) = (4, 3), (4, 1) and (1, 3) from a Dense on a vector input */
#define TT D("t", 12, "in") ", " RS("T", "4, 3", "t") ", "
#define TU D("u", 4, "in") ", " RS("U", "4, 1", "u") ", "
#define TW D("w", 3, "in") ", " RS("W", "1, 3", "w") ", "

static const gc_case cases[] = {
    {"se_multiply", GC_FUNC("4, 5, 2", OUT, FA SE M2("Multiply", "a", "g")), {0}},
    {"se_multiply_gate_first", GC_FUNC("4, 5, 2", OUT, FA SE M2("Multiply", "g", "a")), {0}},
    {"add_hw1", GC_FUNC("4, 5, 2", OUT, FA ONE M2("Add", "a", "o")), {0}},
    {"subtract_hw1_first", GC_FUNC("4, 5, 2", OUT, FA ONE M2("Subtract", "o", "a")), {0}},
    {"subtract_se", GC_FUNC("4, 5, 2", OUT, FA SE M2("Subtract", "a", "g")), {0}},
    {"average_three", GC_FUNC("4, 5, 2", OUT, FA SE ONE M3("Average", "a", "g", "o")), {0}},
    {"multiply_three", GC_FUNC("4, 5, 2", OUT, FA SE ONE M3("Multiply", "o", "a", "g")), {0}},
    {"multiply_rank1_vector", GC_FUNC("4, 5, 2", OUT, FA VEC M2("Multiply", "a", "v")), {0}},
    {"add_rank1_vector_first", GC_FUNC("4, 5, 2", OUT, FA VEC M2("Add", "v", "a")), {0}},
    {"add_both_broadcast", GC_FUNC("4, 5, 2", OUT, ROWCOL M2("Add", "R", "C")), {0}},
    {"multiply_both_broadcast", GC_FUNC("4, 5, 2", OUT, ROWCOL M2("Multiply", "C", "R")), {0}},
    {"maximum_se", GC_FUNC("4, 5, 2", OUT, FA SE M2("Maximum", "a", "g")), {.kinks = 1}},
    {"minimum_hw1", GC_FUNC("4, 5, 2", OUT, FA ONE M2("Minimum", "o", "a")), {.kinks = 1}},
    {"maximum_three_both", GC_FUNC("4, 5, 2", OUT, ROWCOL FA M3("Maximum", "R", "a", "C")), {.kinks = 1}},
    /* (4, 1, 1): repeated along both an outer and the innermost axis */
    {"multiply_h11", GC_FUNC("4, 5, 2", OUT, FA GAP("p", "in") ", " D("h", 4, "p") ", " RS("H", "4, 1, 1", "h") ", "
                                M2("Multiply", "a", "H")), {0}},
    {"multiply_rank2_t1", GC_FUNC("5", OUT, TT TU M2("Multiply", "T", "U")), {.batch = 3}},
    {"subtract_rank2_1c", GC_FUNC("5", OUT, TT TW M2("Subtract", "W", "T")), {.batch = 3}},
    {"add_rank2_outer", GC_FUNC("5", OUT, TU TW M2("Add", "U", "W")), {.batch = 3}},
    /* one node feeding two broadcast slots: both gradients land on it */
    {"multiply_gate_twice", GC_FUNC("4, 5, 2", OUT, FA SE M3("Multiply", "g", "a", "g")), {0}},
    {"se_multiply_prebatch", GC_FUNC("4, 5, 2", OUT, FA SE M2("Multiply", "a", "g")), {.batch = 2, .prebatch = 5}},
};

/* Builds json (single-quoted) and returns the status; *out: node "m"'s Keras shape. */
static bk_status build(const char *json_sq, bk_shape *kout)
{
    char *json = strdup(json_sq);
    for (char *c = json; *c; c++)
        if (*c == '\'') *c = '"';
    bk_json_doc doc;
    bk_model m;
    memset(&doc, 0, sizeof doc);
    memset(&m, 0, sizeof m);
    bk_status st = bk_json_load_string(&doc, json, "bcast");
    if (!st) st = bk_build_keras(&m, &doc, doc.root, "", 1, NULL);
    if (!st) *kout = bk_internal_to_keras(&m.nodes[m.outputs[0]].out_shape);
    bk_model_free(&m); /* a failed build leaves a partial model to free too */
    bk_json_free(&doc);
    free(json);
    return st;
}

static void shapes_and_errors(void)
{
    printf("shapes_and_errors\n");
    bk_shape k;
    CHECK_OK(build(GC_FUNC("4, 5, 2", OUT, ROWCOL M2("Add", "R", "C")), &k));
    CHECK(k.ndim == 3 && k.dims[0] == 4 && k.dims[1] == 5 && k.dims[2] == 3);
    CHECK_OK(build(GC_FUNC("4, 5, 2", OUT, FA VEC M2("Multiply", "v", "a")), &k));
    CHECK(k.ndim == 3 && k.dims[0] == 4 && k.dims[1] == 5 && k.dims[2] == 3);
    CHECK_OK(build(GC_FUNC("5", OUT, TU TW M2("Add", "U", "W")), &k));
    CHECK(k.ndim == 2 && k.dims[0] == 4 && k.dims[1] == 3);
    /* (4, 5, 3) against (4, 5, 2): neither is 1 on the channel axis */
    bk_status st = build(GC_FUNC("4, 5, 2", OUT, FA M2("Multiply", "a", "in")), &k);
    CHECK(st == BK_ERR_SHAPE);
    const char *msg = bk_last_error();
    CHECK(strstr(msg, "\"m\"") && strstr(msg, "[4, 5, 3]") && strstr(msg, "[4, 5, 2]"));
    if (!strstr(msg, "[4, 5, 2]")) fprintf(stderr, "  message: %s\n", msg);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) gc_check(cases[i].name, cases[i].json, &cases[i].o);
    shapes_and_errors();
    gc_summary("gradcheck_broadcast");
    return bk_test_finish("test_gradcheck_broadcast");
}
