/* Element-wise Keras merge layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum. y[k] = op(x_0[k], x_1[k], ...).
 *
 * Inputs of equal shapes take the direct loops. Inputs whose shapes differ
 * where one has size 1 (Keras broadcasting, broadcast.h: (H, W, C) * (1, 1,
 * C) after a squeeze-and-excitation Reshape, (H, W, C) + (H, W, 1), or a
 * lower rank) are first expanded to the output's shape in a scratch
 * buffer; their gradient is the full-size one summed over the repeated
 * axes.
 *
 * Maximum/Minimum fold left (y = max(max(x0, x1), x2) ...), as Keras does
 * with TensorFlow's maximum, whose gradient goes to its first argument on a
 * tie: the gradient goes to the first input holding the extreme value. */
#include <stdlib.h>
#include <string.h>
#include "broadcast.h"
#include "layer_util.h"

typedef enum { EW_ADD, EW_SUB, EW_MUL, EW_AVG, EW_MAX, EW_MIN } ew_op;

typedef struct {
    ew_op op;
    int bcast;              /* some input's shape differs from the output's */
    float *a, *b;           /* scratch, `cap` floats each (broadcast path only; see ew_scratch) */
    unsigned char *win;     /* Maximum/Minimum: the winning input per element */
    int64_t cap;
} ew_st;

static bk_status ew_parse(bk_node *n, ew_op op)
{
    ew_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    s->op = op;
    n->st = s;
    return BK_OK;
}

#define EW_PARSE(fn, op) \
    static bk_status fn(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { (void)d; (void)c; (void)p; return ew_parse(n, op); }
EW_PARSE(add_parse, EW_ADD)
EW_PARSE(sub_parse, EW_SUB)
EW_PARSE(mul_parse, EW_MUL)
EW_PARSE(avg_parse, EW_AVG)
EW_PARSE(max_parse, EW_MAX)
EW_PARSE(min_parse, EW_MIN)

static bk_status ew_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    ew_st *s = n->st;
    if (s->op == EW_SUB ? n->n_in != 2 : n->n_in < 2)
        return bk_error(BK_ERR_INVALID, "layer \"%s\": %s needs %s two inputs, got %d", n->name, n->class_name,
                        s->op == EW_SUB ? "exactly" : "at least", n->n_in);
    bk_shape out = *in;
    s->bcast = 0;
    for (int i = 1; i < n->n_in; i++) {
        const bk_shape *o = bk_node_in_shape(m, n, i);
        if (bk_shape_equal(o, &out)) continue;
        if (!bk_bcast_shape(&out, o, &out)) {
            char a[64], b[64];
            bk_shape ka = bk_internal_to_keras(in), kb = bk_internal_to_keras(o);
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": input 0 (\"%s\") has shape %s but input %d (\"%s\") has %s; %s "
                            "needs equal shapes, or sizes of 1 where they differ (broadcasting)",
                            n->name, m->nodes[n->in[0]].name, bk_shape_str(&ka, a, sizeof a), i,
                            m->nodes[n->in[i]].name, bk_shape_str(&kb, b, sizeof b), n->class_name);
        }
        s->bcast = 1;
    }
    n->out_shape = out;
    n->keras_rank = out.ndim;
    /* element-wise unless broadcasting, which indexes plain tensors */
    n->layout_role = s->bcast ? BK_LAYOUT_PLAIN : BK_LAYOUT_FOLLOW;
    /* Maximum/Minimum find the winning input by comparing with the output */
    n->backward_ignores_out = s->op != EW_MAX && s->op != EW_MIN;
    return BK_OK;
}

#define EW_LOOP(body)                                          \
    do {                                                       \
        _Pragma("omp parallel for if (count > 65536)")         \
        for (int64_t k = 0; k < count; k++) body;              \
    } while (0)

/* y[k] = op(y[k], x[k]); one loop per op, so each stays a plain loop */
static void ew_apply(ew_op op, float *y, const float *x, int64_t count)
{
    switch (op) {
    case EW_ADD: case EW_AVG: EW_LOOP(y[k] += x[k]); break;
    case EW_SUB: EW_LOOP(y[k] -= x[k]); break;
    case EW_MUL: EW_LOOP(y[k] *= x[k]); break;
    case EW_MAX: EW_LOOP(if (x[k] > y[k]) y[k] = x[k]); break;
    case EW_MIN: EW_LOOP(if (x[k] < y[k]) y[k] = x[k]); break;
    }
}

/* Broadcast path: scratch of `count` floats in a (b: Multiply, Maximum and
 * Minimum, which expand a second input in backward; win: the last two). */
static bk_status ew_scratch(ew_st *s, int64_t count)
{
    if (count <= s->cap) return BK_OK;
    int extremes = s->op == EW_MAX || s->op == EW_MIN;
    free(s->a);
    free(s->b);
    free(s->win);
    s->a = malloc((size_t)count * sizeof(float));
    s->b = s->op == EW_MUL || extremes ? malloc((size_t)count * sizeof(float)) : NULL;
    s->win = extremes ? malloc((size_t)count) : NULL;
    int ok = s->a && (s->b || !(s->op == EW_MUL || extremes)) && (s->win || !extremes);
    s->cap = ok ? count : 0;
    return ok ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory");
}

/* Input i at the output's shape: its own buffer, or expanded into buf. */
static const float *ew_input(bk_node *n, bk_model *m, int i, float *buf)
{
    const bk_shape *sh = bk_node_in_shape(m, n, i);
    if (bk_shape_equal(sh, &n->out_shape)) return bk_node_in(m, n, i);
    bk_bcast p;
    bk_bcast_plan(&p, sh, &n->out_shape, m->batch);
    bk_bcast_expand(&p, bk_node_in(m, n, i), buf);
    return buf;
}

static bk_status ew_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    ew_st *s = n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    float *y = n->out;
    bk_status st = s->bcast ? ew_scratch(s, count) : BK_OK;
    if (st) return st;
    if (s->bcast) {
        const float *x0 = ew_input(n, m, 0, y);
        if (x0 != y) memcpy(y, x0, (size_t)count * sizeof(float));
    } else {
        memcpy(y, bk_node_in(m, n, 0), (size_t)count * sizeof(float));
    }
    for (int i = 1; i < n->n_in; i++)
        ew_apply(s->op, y, s->bcast ? ew_input(n, m, i, s->a) : bk_node_in(m, n, i), count);
    if (s->op == EW_AVG) {
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

/* Equal shapes: each input's gradient written straight into its buffer. */
static void ew_backward_direct(bk_node *n, bk_model *m, ew_op op, int i, float *dx, int64_t count)
{
    const float *g = n->grad;
    if (op == EW_ADD) {
        memcpy(dx, g, (size_t)count * sizeof(float));
    } else if (op == EW_SUB || op == EW_AVG) {
        float c = op == EW_AVG ? 1.0f / (float)n->n_in : i == 0 ? 1.0f : -1.0f;
        for (int64_t k = 0; k < count; k++) dx[k] = c * g[k];
    } else if (op == EW_MUL) {
        /* the product of the other inputs (not y / x_i: x_i may be 0) */
        memcpy(dx, g, (size_t)count * sizeof(float));
        for (int j = 0; j < n->n_in; j++) {
            if (j == i) continue;
            const float *x = bk_node_in(m, n, j);
            for (int64_t k = 0; k < count; k++) dx[k] *= x[k];
        }
    } else {
#pragma omp parallel for if (count > 65536)
        for (int64_t k = 0; k < count; k++) dx[k] = winner(n, m, k) == i ? g[k] : 0.0f;
    }
}

/* Broadcast path: input i's output-sized gradient in s->a (s->b: scratch),
 * then summed over its repeated axes into dx. */
static void ew_backward_bcast(bk_node *n, bk_model *m, ew_st *s, int i, float *dx, int64_t count)
{
    const float *g = n->grad;
    float *full = s->a;
    if (s->op == EW_MUL) {
        memcpy(full, g, (size_t)count * sizeof(float));
        for (int j = 0; j < n->n_in; j++)
            if (j != i) ew_apply(EW_MUL, full, ew_input(n, m, j, s->b), count);
    } else if (s->op == EW_MAX || s->op == EW_MIN) {
        for (int64_t k = 0; k < count; k++) full[k] = s->win[k] == i ? g[k] : 0.0f;
    } else {
        float c = s->op == EW_AVG ? 1.0f / (float)n->n_in : s->op == EW_SUB && i == 1 ? -1.0f : 1.0f;
        for (int64_t k = 0; k < count; k++) full[k] = c * g[k];
    }
    const bk_shape *sh = bk_node_in_shape(m, n, i);
    if (bk_shape_equal(sh, &n->out_shape)) {
        memcpy(dx, full, (size_t)count * sizeof(float));
        return;
    }
    bk_bcast p;
    bk_bcast_plan(&p, sh, &n->out_shape, m->batch);
    bk_bcast_reduce(&p, full, dx);
}

/* s->win[k] := the first input equal to y[k] (Maximum/Minimum, broadcast path). */
static void ew_winners(bk_node *n, bk_model *m, ew_st *s, int64_t count)
{
    memset(s->win, 0xff, (size_t)count);
    for (int j = 0; j < n->n_in; j++) {
        const float *x = ew_input(n, m, j, s->b);
        for (int64_t k = 0; k < count; k++)
            if (s->win[k] == 0xff && x[k] == n->out[k]) s->win[k] = (unsigned char)j;
    }
}

static bk_status ew_backward(bk_node *n, bk_model *m)
{
    ew_st *s = n->st;
    int64_t count = m->batch * bk_shape_numel(&n->out_shape);
    if (s->bcast) {
        bk_status st = ew_scratch(s, count);
        if (st) return st;
        if (s->op == EW_MAX || s->op == EW_MIN) ew_winners(n, m, s, count);
    }
    for (int i = 0; i < n->n_in; i++) {
        float *dx = bk_grad_dst(m, n, i);
        if (!dx) continue;
        if (s->bcast) ew_backward_bcast(n, m, s, i, dx, count);
        else ew_backward_direct(n, m, s->op, i, dx, count);
        bk_grad_commit(m, n, i);
    }
    return BK_OK;
}

static void ew_release(bk_node *n, bk_model *m)
{
    (void)m;
    ew_st *s = n->st;
    if (!s) return;
    free(s->a);
    free(s->b);
    free(s->win);
    free(s);
    n->st = NULL;
}

#define EW_CLASS(var, name, parse) \
    const bk_layer_class var = {name, parse, ew_infer, NULL, ew_forward, ew_backward, ew_release};
EW_CLASS(bk_class_add, "Add", add_parse)
EW_CLASS(bk_class_subtract, "Subtract", sub_parse)
EW_CLASS(bk_class_multiply, "Multiply", mul_parse)
EW_CLASS(bk_class_average, "Average", avg_parse)
EW_CLASS(bk_class_maximum, "Maximum", max_parse)
EW_CLASS(bk_class_minimum, "Minimum", min_parse)
