/* Element-wise Keras merge layers besides Add: Subtract, Multiply, Average,
 * Maximum, Minimum. Inputs have equal shapes; y[k] = op(x_0[k], x_1[k], ...).
 * Maximum/Minimum fold left (y = max(max(x0, x1), x2) ...), as Keras does
 * with TensorFlow's maximum, whose gradient goes to its first argument on a
 * tie: the gradient goes to the first input holding the extreme value. */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef enum { EW_SUB, EW_MUL, EW_AVG, EW_MAX, EW_MIN } ew_op;

static bk_status ew_parse(bk_node *n, ew_op op)
{
    ew_op *s = malloc(sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    *s = op;
    n->st = s;
    return BK_OK;
}

#define EW_PARSE(fn, op) \
    static bk_status fn(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { (void)d; (void)c; (void)p; return ew_parse(n, op); }
EW_PARSE(sub_parse, EW_SUB)
EW_PARSE(mul_parse, EW_MUL)
EW_PARSE(avg_parse, EW_AVG)
EW_PARSE(max_parse, EW_MAX)
EW_PARSE(min_parse, EW_MIN)

static bk_status ew_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    ew_op op = *(ew_op *)n->st;
    if (op == EW_SUB ? n->n_in != 2 : n->n_in < 2)
        return bk_error(BK_ERR_INVALID, "layer \"%s\": %s needs %s two inputs, got %d", n->name, n->class_name,
                        op == EW_SUB ? "exactly" : "at least", n->n_in);
    for (int i = 1; i < n->n_in; i++) {
        const bk_shape *o = bk_node_in_shape(m, n, i);
        if (!bk_shape_equal(o, in)) {
            char a[64], b[64];
            bk_shape ka = bk_internal_to_keras(in), kb = bk_internal_to_keras(o);
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": input 0 (\"%s\") has shape %s but input %d (\"%s\") has %s; %s needs equal shapes",
                            n->name, m->nodes[n->in[0]].name, bk_shape_str(&ka, a, sizeof a), i,
                            m->nodes[n->in[i]].name, bk_shape_str(&kb, b, sizeof b), n->class_name);
        }
    }
    n->out_shape = *in;
    return BK_OK;
}

static bk_status ew_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    ew_op op = *(ew_op *)n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    float *y = n->out;
    memcpy(y, bk_node_in(m, n, 0), (size_t)count * sizeof(float));
    for (int i = 1; i < n->n_in; i++) {
        const float *x = bk_node_in(m, n, i);
#pragma omp parallel for if (count > 65536)
        for (int64_t k = 0; k < count; k++) {
            switch (op) {
            case EW_SUB: y[k] -= x[k]; break;
            case EW_MUL: y[k] *= x[k]; break;
            case EW_AVG: y[k] += x[k]; break;
            case EW_MAX: if (x[k] > y[k]) y[k] = x[k]; break;
            case EW_MIN: if (x[k] < y[k]) y[k] = x[k]; break;
            }
        }
    }
    if (op == EW_AVG) {
        float inv = 1.0f / (float)n->n_in;
        for (int64_t k = 0; k < count; k++) y[k] *= inv;
    }
    return BK_OK;
}

/* The input that holds the extreme at element k: the first one equal to it. */
static int winner(bk_node *n, bk_model *m, int64_t k)
{
    for (int j = 0; j < n->n_in; j++)
        if (bk_node_in(m, n, j)[k] == n->out[k]) return j;
    return 0;
}

static bk_status ew_backward(bk_node *n, bk_model *m)
{
    ew_op op = *(ew_op *)n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    const float *g = n->grad;
    for (int i = 0; i < n->n_in; i++) {
        float *dx = bk_grad_dst(m, n, i);
        if (!dx) continue;
        if (op == EW_SUB || op == EW_AVG) {
            float c = op == EW_AVG ? 1.0f / (float)n->n_in : i == 0 ? 1.0f : -1.0f;
            for (int64_t k = 0; k < count; k++) dx[k] = c * g[k];
        } else if (op == EW_MUL) {
            /* the product of the other inputs (not y / x_i: x_i may be 0) */
            for (int64_t k = 0; k < count; k++) dx[k] = g[k];
            for (int j = 0; j < n->n_in; j++) {
                if (j == i) continue;
                const float *x = bk_node_in(m, n, j);
                for (int64_t k = 0; k < count; k++) dx[k] *= x[k];
            }
        } else {
#pragma omp parallel for if (count > 65536)
            for (int64_t k = 0; k < count; k++) dx[k] = winner(n, m, k) == i ? g[k] : 0.0f;
        }
        bk_grad_commit(m, n, i);
    }
    return BK_OK;
}

static void ew_release(bk_node *n, bk_model *m)
{
    (void)m;
    free(n->st);
    n->st = NULL;
}

#define EW_CLASS(var, name, parse) \
    const bk_layer_class var = {name, parse, ew_infer, NULL, ew_forward, ew_backward, ew_release};
EW_CLASS(bk_class_subtract, "Subtract", sub_parse)
EW_CLASS(bk_class_multiply, "Multiply", mul_parse)
EW_CLASS(bk_class_average, "Average", avg_parse)
EW_CLASS(bk_class_maximum, "Maximum", max_parse)
EW_CLASS(bk_class_minimum, "Minimum", min_parse)
