/* Keras Dot: a per-sample (batched) matrix product contracting one axis of
 * each input, optionally of L2-normalised inputs (normalize: true gives
 * cosine similarities). Inputs are Keras rank 2 or 3 tensors (rank 1 or 2
 * per sample); the output holds the free axes of input 0, then those of
 * input 1 (a lone (1) when none is left), as keras.backend.batch_dot.
 *
 * Layout: a Keras per-sample matrix K (p, q) is stored channel-first, i.e.
 * as K^T (q rows of p). For input i let E_i (free x k) be the matrix whose
 * rows are its free index and columns the contracted one: E_i is the stored
 * buffer X_i when the contracted Keras axis is the first (t_i = 0), or X_i^T
 * (t_i = 1). The Keras output C = E_0 E_1^T (f0 x f1) is stored as
 * C^T = E_1 E_0^T (f1 rows of f0), one GEMM per sample, no copies:
 *   forward   C^T  = op(X_1) op(X_0)^T
 *   backward  dE_0 = dC E_1 = (C^T)'^T E_1,  dE_1 = C^T' E_0
 * and dX_i is dE_i (t_i = 0) or its transpose (t_i = 1). Each of the three
 * runs as one batched product (backend matmul) over the whole batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    int64_t axes[2];       /* Keras axes (with the batch axis), as given */
    int normalize;
    /* per input: stored rows/cols, transposed flag, free size, contracted size */
    int64_t rows[2], cols[2], free_[2], k;
    int t[2];
    /* normalize: the normalised inputs and 1/norm of each contracted vector */
    float *xn[2], *inv[2];
    int64_t cap_rows;      /* batch rows the buffers hold */
    bk_plan_cache plans[3]; /* per batch size: DOT_FWD, DOT_DX0, DOT_DX1 */
} dot_st;

enum { DOT_FWD, DOT_DX0, DOT_DX1 };

static bk_status dot_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    dot_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    char ap[1024];
    bk_json_child_path(ap, sizeof ap, path, "axes");
    json_t *a = json_object_get(cfg, "axes");
    if (json_is_integer(a)) {
        s->axes[0] = s->axes[1] = json_integer_value(a);
    } else if (json_is_array(a) && json_array_size(a) == 2 && json_is_integer(json_array_get(a, 0)) &&
               json_is_integer(json_array_get(a, 1))) {
        s->axes[0] = json_integer_value(json_array_get(a, 0));
        s->axes[1] = json_integer_value(json_array_get(a, 1));
    } else {
        return bk_json_error_at(doc, ap, BK_ERR_INVALID, "expected an integer or a pair of integers");
    }
    return bk_json_get_bool(doc, cfg, path, "normalize", 0, &s->normalize);
}

static bk_status dot_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)in;
    dot_st *s = n->st;
    if (n->n_in != 2)
        return bk_error(BK_ERR_INVALID, "layer \"%s\": Dot needs exactly two inputs, got %d", n->name, n->n_in);
    bk_shape kout = {0};
    int64_t kdim[2];
    for (int i = 0; i < 2; i++) {
        const bk_shape *sh = bk_node_in_shape(m, n, i);
        int r = sh->ndim; /* per-sample Keras rank */
        if (r < 1 || r > 2)
            return bk_error(BK_ERR_UNSUPPORTED, "layer \"%s\": Dot takes Keras tensors of rank 2 or 3 (with the batch "
                            "axis); input %d (\"%s\") has rank %d", n->name, i, m->nodes[n->in[i]].name, r + 1);
        int64_t ax = s->axes[i] < 0 ? s->axes[i] + r + 1 : s->axes[i];
        if (ax < 1 || ax > r)
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": axis %lld is out of range for input %d of rank %d "
                            "(axis 0 is the batch)", n->name, (long long)s->axes[i], i, r + 1);
        bk_shape k = bk_internal_to_keras(sh);
        if (r == 1) { /* a vector: one row, contracted along it */
            s->rows[i] = 1;
            s->cols[i] = k.dims[0];
            s->t[i] = 0;
            s->free_[i] = 1;
        } else {
            /* stored K^T: rows = Keras axis 2 (q), cols = Keras axis 1 (p) */
            s->rows[i] = k.dims[1];
            s->cols[i] = k.dims[0];
            s->t[i] = ax == 2;
            s->free_[i] = ax == 1 ? k.dims[1] : k.dims[0];
            kout.dims[kout.ndim++] = s->free_[i];
        }
        kdim[i] = k.dims[ax - 1];
    }
    if (kdim[0] != kdim[1]) {
        char a[64], b[64];
        bk_shape ka = bk_internal_to_keras(bk_node_in_shape(m, n, 0)), kb = bk_internal_to_keras(bk_node_in_shape(m, n, 1));
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": cannot contract axis %lld of %s with axis %lld of %s (%lld vs %lld)",
                        n->name, (long long)s->axes[0], bk_shape_str(&ka, a, sizeof a), (long long)s->axes[1],
                        bk_shape_str(&kb, b, sizeof b), (long long)kdim[0], (long long)kdim[1]);
    }
    s->k = kdim[0];
    if (kout.ndim == 0) kout = (bk_shape){.ndim = 1, .dims = {1}};
    n->out_shape = bk_keras_to_internal(&kout);
    n->keras_rank = kout.ndim;
    return BK_OK;
}

/* Pointer to element (free f, contracted j) of E_i within one sample's X_i. */
static int64_t e_index(const dot_st *s, int i, int64_t f, int64_t j)
{
    return s->t[i] ? j * s->cols[i] + f : f * s->cols[i] + j;
}

/* Normalises each contracted vector of input i (all rows of the batch). */
static void normalize_input(const dot_st *s, int i, const float *x, int64_t batch)
{
    int64_t per = s->rows[i] * s->cols[i];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t f = 0; f < s->free_[i]; f++) {
            double ss = 0;
            for (int64_t j = 0; j < s->k; j++) {
                double v = x[b * per + e_index(s, i, f, j)];
                ss += v * v;
            }
            /* tf.nn.l2_normalize: x * rsqrt(max(sum x^2, 1e-12)) */
            float inv = (float)(1.0 / sqrt(ss > 1e-12 ? ss : 1e-12));
            s->inv[i][b * s->free_[i] + f] = ss > 1e-12 ? inv : -inv; /* sign marks a clamped norm */
            for (int64_t j = 0; j < s->k; j++) {
                int64_t e = b * per + e_index(s, i, f, j);
                s->xn[i][e] = x[e] * inv;
            }
        }
}

static bk_status dot_buffers(dot_st *s, int64_t batch)
{
    if (!s->normalize || batch <= s->cap_rows) return BK_OK;
    for (int i = 0; i < 2; i++) {
        free(s->xn[i]);
        free(s->inv[i]);
        s->xn[i] = malloc((size_t)(batch * s->rows[i] * s->cols[i]) * sizeof(float));
        s->inv[i] = malloc((size_t)(batch * s->free_[i]) * sizeof(float));
        if (!s->xn[i] || !s->inv[i]) return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    s->cap_rows = batch;
    return BK_OK;
}

static const float *dot_operand(bk_node *n, bk_model *m, int i)
{
    dot_st *s = n->st;
    return s->normalize ? s->xn[i] : bk_node_in(m, n, i);
}

/* C_b = op(A_b) op(B_b) for every sample b (operands as for gemm, sample
 * b starting s* floats after sample b-1), through the node's cached plan
 * `which` for this batch size. */
static bk_status dot_gemm(bk_node *n, bk_model *m, int which, int ta, int tb, int64_t rows, int64_t cols,
                          int64_t k, const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb,
                          int64_t sb, float *c, int64_t ldc, int64_t sc)
{
    dot_st *s = n->st;
    bk_matmul_desc d = {m->batch, rows, cols, k, ta, tb, lda, ldb, ldc, sa, sb, sc, 0};
    return bk_matmul_cached(&s->plans[which], m, &d, a, b, NULL, c);
}

static bk_status dot_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    dot_st *s = n->st;
    bk_status st = dot_buffers(s, m->batch);
    if (st) return st;
    if (s->normalize)
        for (int i = 0; i < 2; i++) normalize_input(s, i, bk_node_in(m, n, i), m->batch);
    const float *x0 = dot_operand(n, m, 0), *x1 = dot_operand(n, m, 1);
    int64_t p0 = s->rows[0] * s->cols[0], p1 = s->rows[1] * s->cols[1], po = s->free_[0] * s->free_[1];
    return dot_gemm(n, m, DOT_FWD, s->t[1], !s->t[0], s->free_[1], s->free_[0], s->k, x1, s->cols[1], p1, x0,
                    s->cols[0], p0, n->out, s->free_[0], po);
}

/* Turns the gradient w.r.t. the normalised input i (in dx) into the
 * gradient w.r.t. the input: d = (g - y (g . y)) / |x|, or g / sqrt(eps)
 * where the norm was clamped. */
static void normalize_backward(const dot_st *s, int i, float *dx, int64_t batch)
{
    int64_t per = s->rows[i] * s->cols[i];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t f = 0; f < s->free_[i]; f++) {
            float inv = s->inv[i][b * s->free_[i] + f];
            double gy = 0;
            if (inv > 0)
                for (int64_t j = 0; j < s->k; j++) {
                    int64_t e = b * per + e_index(s, i, f, j);
                    gy += (double)dx[e] * s->xn[i][e];
                }
            float a = fabsf(inv);
            for (int64_t j = 0; j < s->k; j++) {
                int64_t e = b * per + e_index(s, i, f, j);
                dx[e] = (float)((dx[e] - gy * s->xn[i][e]) * a);
            }
        }
}

static bk_status dot_backward(bk_node *n, bk_model *m)
{
    dot_st *s = n->st;
    const float *x0 = dot_operand(n, m, 0), *x1 = dot_operand(n, m, 1);
    int64_t p0 = s->rows[0] * s->cols[0], p1 = s->rows[1] * s->cols[1], po = s->free_[0] * s->free_[1];
    const float *g = n->grad; /* C^T: free_1 rows of free_0 */
    bk_status st = BK_OK;
    float *dx = bk_grad_dst(m, n, 0);
    if (dx) {
        if (s->t[0]) /* X_0 = E_0^T = E_1^T C^T' : (k x f0) */
            st = dot_gemm(n, m, DOT_DX0, !s->t[1], 0, s->k, s->free_[0], s->free_[1], x1, s->cols[1], p1, g,
                          s->free_[0], po, dx, s->cols[0], p0);
        else /* X_0 = E_0 = C^T'^T E_1 : (f0 x k) */
            st = dot_gemm(n, m, DOT_DX0, 1, s->t[1], s->free_[0], s->k, s->free_[1], g, s->free_[0], po, x1,
                          s->cols[1], p1, dx, s->cols[0], p0);
        if (st) return st;
        if (s->normalize) normalize_backward(s, 0, dx, m->batch);
        bk_grad_commit(m, n, 0);
    }
    dx = bk_grad_dst(m, n, 1);
    if (dx) {
        if (s->t[1]) /* X_1 = E_1^T = E_0^T C^T'^T : (k x f1) */
            st = dot_gemm(n, m, DOT_DX1, !s->t[0], 1, s->k, s->free_[1], s->free_[0], x0, s->cols[0], p0, g,
                          s->free_[0], po, dx, s->cols[1], p1);
        else /* X_1 = E_1 = C^T' E_0 : (f1 x k) */
            st = dot_gemm(n, m, DOT_DX1, 0, s->t[0], s->free_[1], s->k, s->free_[0], g, s->free_[0], po, x0,
                          s->cols[0], p0, dx, s->cols[1], p1);
        if (st) return st;
        if (s->normalize) normalize_backward(s, 1, dx, m->batch);
        bk_grad_commit(m, n, 1);
    }
    return BK_OK;
}

static void dot_release(bk_node *n, bk_model *m)
{
    dot_st *s = n->st;
    if (!s) return;
    for (int i = 0; i < 3; i++) bk_plan_cache_clear(&s->plans[i], m->be);
    for (int i = 0; i < 2; i++) {
        free(s->xn[i]);
        free(s->inv[i]);
    }
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_dot = {"Dot", dot_parse, dot_infer, NULL, dot_forward, dot_backward, dot_release};
