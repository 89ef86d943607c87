/* Activation layouts: the pass that gives each node's output a layout
 * (graph.h, bk_model_layout) and the hidden node that converts between
 * plain and channel-blocked where a reader needs the other. */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct { bk_plan_cache plans; } layout_st;

static bk_status layout_get_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    layout_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    const bk_node *src = &m->nodes[n->in[0]];
    int64_t c = n->out_shape.dims[0];
    bk_status st = m->be->layout_plan(p, m->batch, c, bk_shape_numel(&n->out_shape) / c,
                                      n->block ? n->block : src->block);
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static bk_status layout_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    bk_plan *p;
    bk_status st = layout_get_plan(n, m, &p);
    return st ? st : m->be->layout_convert(p, bk_node_in(m, n, 0), n->out, n->block != 0);
}

static bk_status layout_backward(bk_node *n, bk_model *m)
{
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    bk_plan *p;
    bk_status st = layout_get_plan(n, m, &p);
    if (!st) st = m->be->layout_convert(p, n->grad, dx, n->block == 0);
    if (!st) bk_grad_commit(m, n, 0);
    return st;
}

static void layout_release(bk_node *n, bk_model *m)
{
    layout_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s);
    n->st = NULL;
}

static const bk_layer_class layout_class = {"Layout", NULL, NULL, NULL, layout_forward, layout_backward, layout_release};

/* The block to compute in: the backend's, none with BRISK_PLAIN_LAYOUT=1,
 * or BRISK_CHANNEL_BLOCK=8 or 16 (another machine's choice, so that its
 * layouts can be tested here; oneDNN runs both blocks on any x86-64). */
static bk_status chosen_block(const bk_model *m, int *block)
{
    const char *plain = getenv("BRISK_PLAIN_LAYOUT"), *forced = getenv("BRISK_CHANNEL_BLOCK");
    *block = 0;
    if (!m->be->channel_block || (plain && *plain && strcmp(plain, "0") != 0)) return BK_OK;
    if (forced && *forced) {
        if (strcmp(forced, "8") && strcmp(forced, "16"))
            return bk_error(BK_ERR_INVALID, "BRISK_CHANNEL_BLOCK=%s: the block must be 8 or 16; unset it to use "
                            "this machine's (%d)", forced, m->be->channel_block());
        *block = atoi(forced);
        return BK_OK;
    }
    *block = m->be->channel_block();
    return BK_OK;
}

/* The layout reader j wants for its input slot k. */
static int wanted_block(const bk_model *m, const bk_node *j, int k)
{
    if (j->layout_role == BK_LAYOUT_ANY && k == 0) return m->nodes[j->in[0]].block;
    return j->layout_role == BK_LAYOUT_FOLLOW ? j->block : 0;
}

/* Picks every node's block in execution order (inputs before readers). */
static void choose_blocks(bk_model *m, int block, const char *is_output, const char *blocked_reader)
{
    for (int i = 0; i < m->n_nodes; i++) {
        bk_node *n = &m->nodes[i];
        const bk_shape *sh = &n->out_shape;
        n->block = 0;
        if (is_output[i] || sh->ndim < 2 || sh->ndim > 4 || sh->dims[0] % block) continue;
        int blocked = 0;
        if (n->layout_role == BK_LAYOUT_ANY) blocked = blocked_reader[i];
        if (n->layout_role == BK_LAYOUT_FOLLOW)
            for (int k = 0; k < n->n_in; k++) blocked |= m->nodes[n->in[k]].block != 0;
        n->block = blocked ? block : 0;
    }
}

/* Rebuilds the node list with a conversion node right after each node in
 * `convert`, and points the readers that need it there. */
static bk_status insert_conversions(bk_model *m, const char *convert, int block)
{
    int nn = m->n_nodes, added = 0;
    for (int i = 0; i < nn; i++) added += convert[i];
    if (!added) return BK_OK;
    bk_node *nodes = calloc((size_t)(nn + added), sizeof *nodes);
    int *at = malloc(sizeof *at * (size_t)nn);
    layout_st **states = calloc((size_t)added, sizeof *states);
    int ok = nodes && at && states;
    for (int k = 0; k < added && ok; k++) ok = (states[k] = calloc(1, sizeof **states)) != NULL;
    if (!ok) {
        for (int k = 0; states && k < added; k++) free(states[k]);
        free(nodes), free(at), free(states);
        return bk_error(BK_ERR_NOMEM, "out of memory planning activation layouts");
    }
    int w = 0, used = 0;
    for (int i = 0; i < nn; i++) {
        at[i] = w;
        nodes[w++] = m->nodes[i];
        if (!convert[i]) continue;
        const bk_node *src = &m->nodes[i];
        bk_node *c = &nodes[w++];
        snprintf(c->name, sizeof c->name, "%.100s/layout", src->name);
        snprintf(c->class_name, sizeof c->class_name, "Layout");
        c->cls = &layout_class;
        c->hidden = 1;
        c->n_in = 1;
        c->in[0] = at[i];
        c->index = w - 1;
        c->out_shape = src->out_shape;
        c->keras_rank = src->keras_rank;
        c->needs_grad = src->needs_grad;
        c->trainable = 1;
        c->backward_ignores_out = 1;
        c->layout_role = BK_LAYOUT_PLAIN;
        c->block = src->block ? 0 : block;
        c->st = states[used++];
    }
    /* readers: to the conversion where the layout differs, else the moved node */
    for (int i = 0; i < nn; i++) {
        bk_node *j = &nodes[at[i]];
        for (int k = 0; k < j->n_in; k++) {
            int s = j->in[k];
            int differs = wanted_block(m, &m->nodes[i], k) != m->nodes[s].block;
            j->in[k] = differs ? at[s] + 1 : at[s];
        }
        j->index = at[i];
    }
    for (int k = 0; k < m->n_inputs; k++) m->inputs[k] = at[m->inputs[k]];
    for (int k = 0; k < m->n_outputs; k++) m->outputs[k] = at[m->outputs[k]];
    for (int k = 0; k < m->n_params; k++) m->params[k].node = at[m->params[k].node];
    free(m->nodes);
    m->nodes = nodes;
    m->n_nodes = m->cap_nodes = nn + added;
    free(at), free(states);
    return BK_OK;
}

static bk_status convert(const bk_model *m, const bk_param *p, const float *src, float *dst, int to_blocked)
{
    if (p->block) return m->be->weights_convert(&p->shape, p->block, src, dst, to_blocked);
    if (src != dst) memcpy(dst, src, sizeof(float) * (size_t)bk_shape_numel(&p->shape));
    return BK_OK;
}

bk_status bk_param_to_plain(const bk_model *m, const bk_param *p, const float *stored, float *plain)
{
    return convert(m, p, stored, plain, 0);
}

bk_status bk_param_from_plain(const bk_model *m, const bk_param *p, const float *plain, float *stored)
{
    return convert(m, p, plain, stored, 1);
}

static bk_status flat_convert(const bk_model *m, float *flat, int to_blocked)
{
    bk_status st = BK_OK;
    for (int k = 0; k < m->n_params && !st; k++) {
        const bk_param *p = &m->params[k];
        if (!p->block) continue;
        size_t bytes = sizeof(float) * (size_t)bk_shape_numel(&p->shape);
        float *tmp = malloc(bytes);
        if (!tmp) return bk_error(BK_ERR_NOMEM, "out of memory converting \"%s\"", p->name);
        memcpy(tmp, flat + p->offset, bytes);
        st = convert(m, p, tmp, flat + p->offset, to_blocked);
        free(tmp);
    }
    return st;
}

bk_status bk_model_flat_to_plain(const bk_model *m, float *flat) { return flat_convert(m, flat, 0); }
bk_status bk_model_flat_from_plain(const bk_model *m, float *flat) { return flat_convert(m, flat, 1); }

/* Convolution kernels with both channel counts divisible by the block are
 * stored blocked (bk_param.block). */
static void choose_weight_blocks(bk_model *m, int block)
{
    for (int i = 0; i < m->n_nodes; i++) {
        const bk_node *n = &m->nodes[i];
        if (!n->weights_blockable || !n->n_params) continue;
        bk_param *w = &m->params[n->param[0]];
        if (w->shape.ndim >= 3 && w->shape.ndim <= 5 && w->shape.dims[0] % block == 0 && w->shape.dims[1] % block == 0)
            w->block = block;
    }
}

bk_status bk_model_layout(bk_model *m)
{
    int nn = m->n_nodes;
    for (int i = 0; i < nn; i++) m->nodes[i].block = 0;
    for (int k = 0; k < m->n_params; k++) m->params[k].block = 0;
    int block;
    bk_status bst = chosen_block(m, &block);
    if (bst || !block) return bst;
    char *is_output = calloc((size_t)nn, 1), *blocked_reader = calloc((size_t)nn, 1), *convert = calloc((size_t)nn, 1);
    if (!is_output || !blocked_reader || !convert) {
        free(is_output), free(blocked_reader), free(convert);
        return bk_error(BK_ERR_NOMEM, "out of memory planning activation layouts");
    }
    for (int k = 0; k < m->n_outputs; k++) is_output[m->outputs[k]] = 1;
    /* a reader that computes in the blocked layout too (a follower that is
     * a model output must end plain, so it does not count) */
    for (int j = 0; j < nn; j++) {
        const bk_node *r = &m->nodes[j];
        int reads_blocked = (r->layout_role == BK_LAYOUT_ANY) || (r->layout_role == BK_LAYOUT_FOLLOW && !is_output[j]);
        for (int k = 0; k < r->n_in && reads_blocked; k++)
            if (r->layout_role == BK_LAYOUT_FOLLOW || k == 0) blocked_reader[r->in[k]] = 1;
    }
    choose_blocks(m, block, is_output, blocked_reader);
    choose_weight_blocks(m, block);
    for (int j = 0; j < nn; j++) {
        const bk_node *r = &m->nodes[j];
        for (int k = 0; k < r->n_in; k++)
            if (wanted_block(m, r, k) != m->nodes[r->in[k]].block) convert[r->in[k]] = 1;
    }
    bk_status st = insert_conversions(m, convert, block);
    free(is_output), free(blocked_reader), free(convert);
    return st;
}
