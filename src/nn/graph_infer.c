/* Inference passes in a liveness-planned arena (see bk_model_infer).
 *
 * Nodes run in index order, so a node's output is dead once the highest-
 * indexed node reading it has run: its lifetime runs from its own step to
 * its last reader's (both included, so an output never overlaps its
 * inputs), and liveness.c places the buffers once per batch size. Model
 * outputs stay live to the end. When the plan fits in the training arena
 * it lives there (evaluation runs between training steps, whose
 * activations are dead by then). */
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "liveness.h"

static bk_status plan_infer(bk_model *m, int64_t batch)
{
    bk_model_fuse(m);
    int nn = m->n_nodes;
    bk_lifetime *life = calloc((size_t)nn, sizeof *life);
    int64_t *off = malloc(sizeof *off * (size_t)nn), total = 0;
    int *readers = bk_model_readers(m), *home = malloc(sizeof *home * (size_t)nn);
    if (!life || !off || !readers || !home) {
        free(life), free(off), free(readers), free(home);
        return bk_error(BK_ERR_NOMEM, "out of memory planning an inference pass");
    }
    /* an activation that may overwrite its input and is its only reader
     * runs in place: it shares (and extends) its input's buffer */
    for (int i = 0; i < nn; i++) {
        const bk_node *n = &m->nodes[i];
        home[i] = n->may_overwrite_input && n->n_in && readers[n->in[0]] == 1 ? home[n->in[0]] : i;
        life[i] = (bk_lifetime){home[i] == i ? batch * bk_shape_numel(&n->out_shape) : 0, i, i};
    }
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++)
            if (life[home[m->nodes[i].in[k]]].last < i) life[home[m->nodes[i].in[k]]].last = i;
    for (int k = 0; k < m->n_outputs; k++) life[home[m->outputs[k]]].last = nn;
    bk_status st = bk_place_lifetimes(life, nn, off, &total);
    for (int i = 0; i < nn && !st; i++) off[i] = off[home[i]];
    free(readers), free(home), free(life);
    if (st) {
        free(off);
        return st;
    }
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
    int max_threads = bk_threads_begin(m, m->batch);
    for (int i = 0; i < m->n_nodes && !st; i++) {
        bk_node *n = &m->nodes[i];
        if (!n->cls->forward) continue;
        st = n->cls->forward(n, m, 0);
        if (st) st = bk_error_context(st, "layer \"%s\" (%s) forward: ", n->name, n->class_name);
    }
    bk_threads_end(max_threads);
    for (int k = 0; k < m->n_outputs && !st; k++) outs[k] = m->nodes[m->outputs[k]].out;
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].out = saved[i];
    m->batch = trained_rows;
    free(saved);
    return st;
}
