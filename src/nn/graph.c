#include "graph.h"
#include "liveness.h"
#include "variant.h"
#include "profile.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bk_model_add_node(bk_model *m, const char *name, const bk_layer_class *cls)
{
    if (m->n_nodes == m->cap_nodes) {
        int cap = m->cap_nodes ? m->cap_nodes * 2 : 32;
        bk_node *nn = realloc(m->nodes, (size_t)cap * sizeof *nn);
        if (!nn) {
            bk_error(BK_ERR_NOMEM, "out of memory adding layer \"%s\"", name);
            return -1;
        }
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    bk_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->cls = cls;
    n->trainable = 1;
    n->index = n->stream = m->n_nodes;
    return m->n_nodes++;
}

int bk_node_param(bk_model *m, bk_node *n, const char *suffix, const bk_shape *shape, int is_buffer)
{
    if (n->n_params == BK_MAX_PARAMS) {
        bk_error(BK_ERR_INTERNAL, "layer \"%s\": too many parameters", n->name);
        return -1;
    }
    if (m->n_params == m->cap_params) {
        int cap = m->cap_params ? m->cap_params * 2 : 64;
        bk_param *np = realloc(m->params, (size_t)cap * sizeof *np);
        if (!np) {
            bk_error(BK_ERR_NOMEM, "out of memory adding parameters of \"%s\"", n->name);
            return -1;
        }
        m->params = np;
        m->cap_params = cap;
    }
    bk_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", n->name, suffix);
    p->shape = *shape;
    p->is_buffer = is_buffer;
    p->frozen = !n->trainable;
    p->node = n->index;
    p->offset = m->param_count;
    m->param_count += bk_shape_numel(shape);
    n->param[n->n_params++] = m->n_params;
    return m->n_params++;
}

bk_param *bk_node_p(bk_model *m, bk_node *n, int k) { return &m->params[n->param[k]]; }

const float *bk_node_in(bk_model *m, bk_node *n, int i) { return m->nodes[n->in[i]].out; }

const bk_shape *bk_node_in_shape(bk_model *m, bk_node *n, int i)
{
    return &m->nodes[n->in[i]].out_shape;
}

float *bk_grad_dst(bk_model *m, bk_node *n, int i)
{
    bk_node *src = &m->nodes[n->in[i]];
    if (!src->needs_grad) return NULL;
    return src->grad_written ? m->scratch : src->grad;
}

void bk_grad_commit(bk_model *m, bk_node *n, int i)
{
    bk_node *src = &m->nodes[n->in[i]];
    if (!src->needs_grad) return;
    if (!src->grad_written) {
        src->grad_written = 1;
        return;
    }
    int64_t count = m->batch * bk_shape_numel(&src->out_shape);
    float *g = src->grad;
    const float *s = m->scratch;
#pragma omp parallel for if (count > 65536)
    for (int64_t k = 0; k < count; k++) g[k] += s[k];
}

bk_status bk_model_alloc_params(bk_model *m)
{
    size_t count = (size_t)(m->param_count ? m->param_count : 1);
    m->param_data = bk_alloc(count * sizeof(float));
    m->param_grad = bk_alloc(count * sizeof(float));
    if (!m->param_data || !m->param_grad)
        return bk_error(BK_ERR_NOMEM, "out of memory for %lld parameters", (long long)m->param_count);
    memset(m->param_data, 0, count * sizeof(float));
    memset(m->param_grad, 0, count * sizeof(float));
    for (int i = 0; i < m->n_params; i++) {
        m->params[i].data = m->param_data + m->params[i].offset;
        m->params[i].grad = m->param_grad + m->params[i].offset;
    }
    return BK_OK;
}

/* The training plan, once per batch size.
 *
 * Activations: every node's output keeps its own buffer from the forward
 * pass to the backward pass, except that an activation which may overwrite
 * its input (ReLU, sigmoid, tanh: their backward reads only the output)
 * takes over its input's buffer when it is that input's only reader, the
 * input is not a model output and the input's own backward never reads it
 * (convolutions, dense, batch normalization): as PyTorch's in-place ReLU,
 * one buffer where there were two.
 *
 * Gradients: the backward pass visits the nodes from the last to the first.
 * A node's gradient is first written by its highest-indexed reader (model
 * outputs: by the loss, before the pass) and last read by its own backward,
 * so the gradients are placed by liveness (liveness.c) and most share
 * memory with gradients that died earlier in the pass. */
int *bk_model_readers(const bk_model *m)
{
    int *readers = calloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof *readers);
    if (!readers) return NULL;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) readers[m->nodes[i].in[k]]++;
    for (int k = 0; k < m->n_outputs; k++) readers[m->outputs[k]] += 2;
    return readers;
}

static bk_status plan_training(bk_model *m, int64_t batch, int64_t *act_off, bk_lifetime *grads,
                               int64_t *grad_off, int64_t *act_total, int64_t *grad_total)
{
    int nn = m->n_nodes;
    int *readers = bk_model_readers(m), *last_reader = malloc(sizeof *last_reader * (size_t)nn);
    if (!readers || !last_reader) {
        free(readers), free(last_reader);
        return bk_error(BK_ERR_NOMEM, "out of memory planning a training pass");
    }
    for (int i = 0; i < nn; i++) last_reader[i] = i;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) last_reader[m->nodes[i].in[k]] = i;
    for (int k = 0; k < m->n_outputs; k++) last_reader[m->outputs[k]] = nn;
    *act_total = 0;
    for (int i = 0; i < nn; i++) {
        const bk_node *n = &m->nodes[i];
        int64_t len = (batch * bk_shape_numel(&n->out_shape) + 15) & ~(int64_t)15;
        int src = n->n_in ? n->in[0] : -1;
        if (n->may_overwrite_input && src >= 0 && readers[src] == 1 && m->nodes[src].backward_ignores_out) {
            act_off[i] = act_off[src];
        } else {
            act_off[i] = *act_total;
            *act_total += len;
        }
        grads[i] = (bk_lifetime){n->needs_grad ? batch * bk_shape_numel(&n->out_shape) : 0,
                                 nn - 1 - last_reader[i], nn - 1 - i};
    }
    /* A node whose backward copies its gradient into its input's, that
     * input's only reader, shares the input's gradient buffer: one buffer
     * alive from the node's first gradient write to the input's backward,
     * and the copy vanishes (BraggNN's identity Reshapes: 1.3 ms a step).
     * shared[i]: the node whose buffer i uses, i itself when none. */
    int *shared = last_reader; /* no longer needed as such */
    for (int i = 0; i < nn; i++) {
        const bk_node *n = &m->nodes[i];
        int src = n->n_in ? n->in[0] : -1;
        shared[i] = i;
        if (!n->backward_copies || src < 0 || readers[src] != 1 || !n->needs_grad || !m->nodes[src].needs_grad)
            continue;
        shared[i] = shared[src];
        bk_lifetime *to = &grads[shared[i]];
        if (grads[i].first < to->first) to->first = grads[i].first;
        grads[i].len = 0;
    }
    bk_status st = bk_place_lifetimes(grads, nn, grad_off, grad_total);
    for (int i = 0; i < nn && !st; i++) grad_off[i] = grad_off[shared[i]];
    free(readers), free(last_reader);
    return st;
}

void bk_model_fuse(bk_model *m)
{
    int nn = m->n_nodes;
    int *readers = bk_model_readers(m);
    for (int i = 0; i < nn; i++) m->nodes[i].relu_fused = 0;
    if (!readers) return; /* nothing fused: slower, still right */
    for (int i = 0; i < nn; i++) {
        const bk_node *n = &m->nodes[i];
        if (!n->is_plain_relu || !n->n_in) continue;
        bk_node *src = &m->nodes[n->in[0]];
        src->relu_fused = src->can_fuse_relu && readers[src->index] == 1;
    }
    free(readers);
}

bk_status bk_model_plan(bk_model *m, int64_t batch)
{
    if (batch <= m->planned_batch && m->arena) return BK_OK;
    bk_status pst = bk_profile_attach_if_wanted(m); /* read once per plan, not per pass */
    if (pst) return pst;
    bk_model_fuse(m);
    int nn = m->n_nodes;
    int64_t *act_off = malloc(sizeof *act_off * (size_t)(nn + 1)), *grad_off = malloc(sizeof *grad_off * (size_t)(nn + 1));
    bk_lifetime *grads = malloc(sizeof *grads * (size_t)(nn + 1));
    int64_t act_total = 0, grad_total = 0, biggest = 0;
    bk_status st = act_off && grad_off && grads ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory planning a training pass");
    if (!st) st = plan_training(m, batch, act_off, grads, grad_off, &act_total, &grad_total);
    for (int i = 0; i < nn; i++) {
        int64_t per = batch * bk_shape_numel(&m->nodes[i].out_shape);
        if (per > biggest) biggest = per;
    }
    float *arena = NULL;
    if (!st) {
        arena = bk_alloc((size_t)(act_total + grad_total + biggest + 16) * sizeof(float));
        if (!arena)
            st = bk_error(BK_ERR_NOMEM, "out of memory planning activations for batch %lld (%.1f MiB); lower batch_size",
                          (long long)batch, (double)(act_total + grad_total + biggest) * 4 / 1048576.0);
    }
    if (st) {
        free(act_off), free(grad_off), free(grads);
        return st;
    }
    bk_free(m->arena);
    m->arena = arena;
    m->arena_floats = act_total + grad_total + biggest + 16;
    m->infer_batch = 0; /* an inference plan may have lived in the old arena */
    for (int i = 0; i < nn; i++) {
        bk_node *n = &m->nodes[i];
        n->out = arena + act_off[i];
        n->grad = grad_off[i] >= 0 ? arena + act_total + grad_off[i] : NULL;
    }
    m->scratch = arena + act_total + grad_total;
    m->scratch_floats = biggest;
    m->planned_batch = batch;
    free(act_off), free(grad_off), free(grads);
    return BK_OK;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bk_status bk_model_forward(bk_model *m, const float *const *x, int64_t batch, int training)
{
    bk_status st = bk_model_plan(m, batch);
    if (st) return st;
    m->batch = batch;
    for (int i = 0; i < m->n_inputs; i++) {
        bk_node *n = &m->nodes[m->inputs[i]];
        memcpy(n->out, x[i], (size_t)(batch * bk_shape_numel(&n->out_shape)) * sizeof(float));
    }
    int timed = m->prof && training;
    int max_threads = bk_threads_begin(m, m->batch);
    for (int i = 0; i < m->n_nodes && !st; i++) {
        bk_node *n = &m->nodes[i];
        if (!n->cls->forward) continue;
        double t = timed ? seconds_now() : 0;
        st = n->cls->forward(n, m, training);
        if (st) st = bk_error_context(st, "layer \"%s\" (%s) forward: ", n->name, n->class_name);
        if (timed) bk_profile_add(m, i, 0, seconds_now() - t);
    }
    bk_threads_end(max_threads);
    if (timed && !st) bk_profile_pass_done(m, 0, batch);
    return st;
}

void bk_model_begin_backward(bk_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].grad_written = 0;
}

int bk_node_runs_backward(const bk_model *m, const bk_node *n)
{
    if (!n->cls->backward) return 0;
    for (int k = 0; k < n->n_params; k++) {
        const bk_param *p = &m->params[n->param[k]];
        if (!p->is_buffer && !p->frozen) return 1;
    }
    for (int k = 0; k < n->n_in; k++)
        if (m->nodes[n->in[k]].needs_grad) return 1;
    return 0;
}

bk_status bk_model_backward(bk_model *m)
{
    int max_threads = bk_threads_begin(m, m->batch);
    bk_status st = BK_OK;
    for (int i = m->n_nodes - 1; i >= 0 && !st; i--) {
        bk_node *n = &m->nodes[i];
        if (!bk_node_runs_backward(m, n)) {
            if (m->grad_hook) st = m->grad_hook(m->grad_hook_ctx, i);
            continue;
        }
        if (!n->grad_written) {
            /* no consumer produced a gradient (a dead branch): it is zero */
            memset(n->grad, 0, (size_t)(m->batch * bk_shape_numel(&n->out_shape)) * sizeof(float));
            n->grad_written = 1;
        }
        double t = m->prof ? seconds_now() : 0;
        st = n->cls->backward(n, m);
        if (st) st = bk_error_context(st, "layer \"%s\" (%s) backward: ", n->name, n->class_name);
        if (m->prof) bk_profile_add(m, i, 1, seconds_now() - t);
        if (!st && m->grad_hook) st = m->grad_hook(m->grad_hook_ctx, i);
    }
    bk_threads_end(max_threads);
    if (m->prof && !st) bk_profile_pass_done(m, 1, m->batch);
    return st;
}

void bk_model_free(bk_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].cls && m->nodes[i].cls->release) m->nodes[i].cls->release(&m->nodes[i], m);
    bk_variants_free(m); /* before the buffers its variants point into */
    free(m->nodes);
    free(m->params);
    if (!m->shares_params) {
        bk_free(m->param_data);
        bk_free(m->param_grad);
    }
    json_decref(m->src_net);
    bk_free(m->arena);
    bk_free(m->infer_arena);
    free(m->infer_off);
    bk_profile_free(m);
    memset(m, 0, sizeof *m);
}

void bk_node_rng(bk_model *m, bk_node *n, uint64_t purpose, bk_rng *r)
{
    bk_rng_seed(r, bk_rng_mix(m->seed, purpose), (uint64_t)n->stream);
}
