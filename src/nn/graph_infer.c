/* Inference passes in a liveness-planned arena (see bk_model_infer).
 *
 * Nodes run in index order, so a node's output is dead once the highest-
 * indexed node reading it has run. Offsets are assigned first-fit over the
 * live blocks, once per batch size: an output is placed while its inputs
 * are still live (they must not overlap), then the inputs whose last reader
 * it was are released. Model outputs stay live to the end. When the plan
 * fits in the training arena it lives there (evaluation runs between
 * training steps, whose activations are dead by then). */
#include <stdlib.h>
#include <string.h>
#include "graph.h"

typedef struct { int64_t off, len; int node; } block;

/* First free offset of len floats among the live blocks (sorted by offset). */
static int64_t first_fit(const block *live, int n, int64_t len)
{
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (live[i].off - at >= len) return at;
        if (live[i].off + live[i].len > at) at = live[i].off + live[i].len;
    }
    return at;
}

static void insert_sorted(block *live, int *n, block b)
{
    int i = *n;
    while (i > 0 && live[i - 1].off > b.off) {
        live[i] = live[i - 1];
        i--;
    }
    live[i] = b;
    (*n)++;
}

static bk_status plan_infer(bk_model *m, int64_t batch)
{
    int nn = m->n_nodes;
    int *last = malloc(sizeof *last * (size_t)nn);
    int64_t *off = malloc(sizeof *off * (size_t)nn);
    block *live = malloc(sizeof *live * (size_t)(nn + 1));
    if (!last || !off || !live) {
        free(last), free(off), free(live);
        return bk_error(BK_ERR_NOMEM, "out of memory planning an inference pass");
    }
    for (int i = 0; i < nn; i++) last[i] = i;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++)
            if (last[m->nodes[i].in[k]] < i) last[m->nodes[i].in[k]] = i;
    for (int k = 0; k < m->n_outputs; k++) last[m->outputs[k]] = nn;
    int n_live = 0;
    int64_t total = 0;
    for (int i = 0; i < nn; i++) {
        int64_t len = (batch * bk_shape_numel(&m->nodes[i].out_shape) + 15) & ~(int64_t)15;
        off[i] = first_fit(live, n_live, len);
        if (off[i] + len > total) total = off[i] + len;
        insert_sorted(live, &n_live, (block){off[i], len, i});
        int j = 0; /* release the blocks whose last reader was node i */
        for (int k = 0; k < n_live; k++)
            if (last[live[k].node] > i) live[j++] = live[k];
        n_live = j;
    }
    free(last);
    free(live);
    bk_free(m->infer_arena);
    m->infer_arena = NULL;
    free(m->infer_off);
    m->infer_off = off;
    m->infer_batch = batch;
    if (m->arena && total + 16 <= m->arena_floats) return BK_OK; /* fits in the training arena */
    float *arena = bk_alloc((size_t)(total + 16) * sizeof(float));
    if (!arena) {
        m->infer_batch = 0;
        return bk_error(BK_ERR_NOMEM, "out of memory for an inference batch of %lld (%.1f MiB); lower "
                        "test_batch_size", (long long)batch, (double)total * 4 / 1048576.0);
    }
    m->infer_arena = arena;
    return BK_OK;
}

bk_status bk_model_infer(bk_model *m, const float *const *x, int64_t batch, const float **outs)
{
    if (batch != m->infer_batch) {
        bk_status st = plan_infer(m, batch);
        if (st) return st;
    }
    float *base = m->infer_arena ? m->infer_arena : m->arena;
    float **saved = malloc(sizeof *saved * (size_t)m->n_nodes);
    if (!saved) return bk_error(BK_ERR_NOMEM, "out of memory starting an inference pass");
    for (int i = 0; i < m->n_nodes; i++) {
        saved[i] = m->nodes[i].out;
        m->nodes[i].out = base + m->infer_off[i];
    }
    int64_t trained_rows = m->batch;
    m->batch = batch;
    bk_status st = BK_OK;
    for (int i = 0; i < m->n_inputs; i++) {
        bk_node *n = &m->nodes[m->inputs[i]];
        memcpy(n->out, x[i], (size_t)(batch * bk_shape_numel(&n->out_shape)) * sizeof(float));
    }
    for (int i = 0; i < m->n_nodes && !st; i++) {
        bk_node *n = &m->nodes[i];
        if (!n->cls->forward) continue;
        st = n->cls->forward(n, m, 0);
        if (st) st = bk_error_context(st, "layer \"%s\" (%s) forward: ", n->name, n->class_name);
    }
    for (int k = 0; k < m->n_outputs && !st; k++) outs[k] = m->nodes[m->outputs[k]].out;
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].out = saved[i];
    m->batch = trained_rows;
    free(saved);
    return st;
}
