#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dist.h"
#include "grad_sync.h"

typedef struct {
    int64_t offset, len;      /* a run of trainable gradients in the flat buffer */
} segment;

typedef struct {
    segment *seg;
    int n_seg;
    int64_t floats;
    int min_node;             /* ready once the backward pass has passed this node */
    float *pack;
    bk_dist_request req;
    int launched, done;
} bucket;

struct bk_grad_sync {
    bk_model *m;
    bucket *b;
    int n_b;
    int next;                 /* first bucket not yet launched */
    double wait_s;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Node owning each parameter (indices shift when layout nodes are
 * inserted, so read them off the nodes, not bk_param.node). */
static int *param_owners(const bk_model *m)
{
    int *own = malloc(sizeof *own * (size_t)(m->n_params ? m->n_params : 1));
    if (!own) return NULL;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].n_params; k++) own[m->nodes[i].param[k]] = i;
    return own;
}

static int cmp_offset_desc(const void *a, const void *b, void *params)
{
    const bk_param *p = params;
    int64_t oa = p[*(const int *)a].offset, ob = p[*(const int *)b].offset;
    return oa < ob ? 1 : oa > ob ? -1 : 0;
}

static bk_status add_segment(bucket *bk, int64_t offset, int64_t len)
{
    /* adjacent runs (walking backwards) merge into one */
    if (bk->n_seg && bk->seg[bk->n_seg - 1].offset == offset + len) {
        bk->seg[bk->n_seg - 1].offset = offset;
        bk->seg[bk->n_seg - 1].len += len;
    } else {
        segment *s = realloc(bk->seg, sizeof *s * (size_t)(bk->n_seg + 1));
        if (!s) return bk_error(BK_ERR_NOMEM, "out of memory planning the gradient exchange");
        bk->seg = s;
        bk->seg[bk->n_seg++] = (segment){offset, len};
    }
    bk->floats += len;
    return BK_OK;
}

static bk_status plan(bk_grad_sync *g, int64_t cap)
{
    bk_model *m = g->m;
    int64_t trainable = 0;
    for (int i = 0; i < m->n_params; i++)
        if (!m->params[i].is_buffer && !m->params[i].frozen) trainable += bk_shape_numel(&m->params[i].shape);
    /* a bucket closes when full or ends inside a parameter: at most one per
     * parameter plus one per cap floats */
    int64_t most = m->n_params + trainable / cap + 1;
    int *own = param_owners(m), *order = malloc(sizeof *order * (size_t)(m->n_params ? m->n_params : 1));
    g->b = calloc((size_t)most, sizeof *g->b);
    if (!own || !order || !g->b) {
        free(own), free(order);
        return bk_error(BK_ERR_NOMEM, "out of memory planning the gradient exchange");
    }
    for (int i = 0; i < m->n_params; i++) order[i] = i;
    qsort_r(order, (size_t)m->n_params, sizeof *order, cmp_offset_desc, m->params);
    bk_status st = BK_OK;
    for (int k = 0; k < m->n_params && !st; k++) {
        const bk_param *p = &m->params[order[k]];
        if (p->is_buffer || p->frozen) continue;
        int node = own[order[k]];
        /* walking the buffer backwards; a parameter larger than what is
         * left of a bucket continues in the next */
        for (int64_t left = bk_shape_numel(&p->shape); left > 0 && !st;) {
            bucket *bk = g->n_b ? &g->b[g->n_b - 1] : NULL;
            if (!bk || bk->floats >= cap) {
                bk = &g->b[g->n_b++];
                bk->min_node = node;
            }
            int64_t take = left < cap - bk->floats ? left : cap - bk->floats;
            st = add_segment(bk, p->offset + left - take, take);
            if (node < bk->min_node) bk->min_node = node;
            left -= take;
        }
    }
    for (int i = 0; i < g->n_b && !st; i++) {
        g->b[i].pack = bk_alloc((size_t)g->b[i].floats * sizeof(float));
        if (!g->b[i].pack) st = bk_error(BK_ERR_NOMEM, "out of memory for the gradient exchange buffers");
    }
    free(own), free(order);
    return st;
}

static bk_status launch(bk_grad_sync *g, bucket *bk)
{
    const float *grad = g->m->param_grad;
    float *at = bk->pack;
    for (int s = 0; s < bk->n_seg; s++) {
        memcpy(at, grad + bk->seg[s].offset, (size_t)bk->seg[s].len * sizeof(float));
        at += bk->seg[s].len;
    }
    bk->launched = 1;
    return bk_dist_iallreduce_floats(bk->pack, (int)bk->floats, &bk->req);
}

static void unpack(bk_grad_sync *g, const bucket *bk)
{
    float *grad = g->m->param_grad;
    const float *at = bk->pack;
    for (int s = 0; s < bk->n_seg; s++) {
        memcpy(grad + bk->seg[s].offset, at, (size_t)bk->seg[s].len * sizeof(float));
        at += bk->seg[s].len;
    }
}

/* The backward hook: start the buckets node `node` completed and let MPI
 * move the ones in flight. */
static bk_status on_node_done(void *ctx, int node)
{
    bk_grad_sync *g = ctx;
    bk_status st = BK_OK;
    while (!st && g->next < g->n_b && g->b[g->next].min_node >= node) st = launch(g, &g->b[g->next++]);
    for (int i = 0; i < g->next && !st; i++) {
        bucket *bk = &g->b[i];
        if (bk->done) continue;
        st = bk_dist_test(&bk->req, &bk->done);
        if (!st && bk->done) unpack(g, bk);
        break; /* buckets complete in order: testing the oldest is enough */
    }
    return st;
}

bk_status bk_grad_sync_create(bk_grad_sync **out, bk_model *m, int64_t bucket_bytes)
{
    *out = NULL;
    bk_grad_sync *g = calloc(1, sizeof *g);
    if (!g) return bk_error(BK_ERR_NOMEM, "out of memory for the gradient exchange");
    g->m = m;
    int64_t cap = bucket_bytes / (int64_t)sizeof(float);
    if (cap < 1024) cap = 1024;
    if (cap > (1 << 28)) cap = 1 << 28; /* MPI counts are int */
    bk_status st = plan(g, cap);
    if (st) {
        bk_grad_sync_destroy(g);
        return st;
    }
    m->grad_hook = on_node_done;
    m->grad_hook_ctx = g;
    *out = g;
    return BK_OK;
}

void bk_grad_sync_destroy(bk_grad_sync *g)
{
    if (!g) return;
    if (g->m && g->m->grad_hook_ctx == g) {
        g->m->grad_hook = NULL;
        g->m->grad_hook_ctx = NULL;
    }
    for (int i = 0; i < g->n_b; i++) {
        free(g->b[i].seg);
        bk_free(g->b[i].pack);
    }
    free(g->b);
    free(g);
}

void bk_grad_sync_begin(bk_grad_sync *g)
{
    g->next = 0;
    for (int i = 0; i < g->n_b; i++) g->b[i].launched = g->b[i].done = 0;
}

bk_status bk_grad_sync_finish(bk_grad_sync *g)
{
    double t0 = now_s();
    bk_status st = BK_OK;
    while (!st && g->next < g->n_b) st = launch(g, &g->b[g->next++]);
    for (int i = 0; i < g->n_b && !st; i++) {
        bucket *bk = &g->b[i];
        if (bk->done) continue;
        st = bk_dist_wait(&bk->req);
        if (!st) {
            bk->done = 1;
            unpack(g, bk);
        }
    }
    g->wait_s += now_s() - t0;
    return st;
}

double bk_grad_sync_take_wait(bk_grad_sync *g)
{
    double w = g->wait_s;
    g->wait_s = 0;
    return w;
}

int bk_grad_sync_buckets(const bk_grad_sync *g) { return g->n_b; }
