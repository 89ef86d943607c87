#include "dnnl_op.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The scratch the ops' temporaries live in. Ops run one at a time (the
 * graph is executed by one thread); the mutex only guards growth against
 * two models built in different threads. */
static pthread_mutex_t g_scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_scratch;
static size_t g_scratch_bytes;

static void *scratch_reserve(size_t bytes)
{
    pthread_mutex_lock(&g_scratch_lock);
    if (bytes > g_scratch_bytes) {
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes) == 0) {
            free(g_scratch);
            g_scratch = p;
            g_scratch_bytes = bytes;
        }
    }
    void *r = bytes <= g_scratch_bytes ? g_scratch : NULL;
    pthread_mutex_unlock(&g_scratch_lock);
    return r;
}

dnnl_memory_desc_t bk_dnnl_any_md(int ndim, const int64_t *dims)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d;
    memset(&md, 0, sizeof md);
    for (int i = 0; i < ndim; i++) d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(&md, ndim, d, dnnl_f32, dnnl_format_tag_any);
    return md;
}

bk_status bk_dnnl_pd(dnnl_primitive_desc_t *pd, const void *op_desc,
                     const_dnnl_primitive_desc_t hint, const char *what)
{
    return bk_dnnl_pd_post(pd, op_desc, hint, 0, what);
}

bk_status bk_dnnl_pd_post(dnnl_primitive_desc_t *pd, const void *op_desc,
                          const_dnnl_primitive_desc_t hint, int post_relu, const char *what)
{
    dnnl_engine_t eng = bk_dnnl_engine();
    if (!eng) return bk_error(BK_ERR_INTERNAL, "oneDNN: cannot create the CPU engine");
    /* the primitive's own scratchpad comes from the shared scratch at run
     * time (bk_dnnl_op_run): by default each primitive would hold one for
     * its lifetime (over 100 MB for one transposed convolution's backward
     * at batch 32) */
    dnnl_primitive_attr_t attr;
    bk_status st = bk_dnnl_check(dnnl_primitive_attr_create(&attr), what);
    if (st) return st;
    st = bk_dnnl_check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), what);
    if (!st && post_relu) {
        /* the ReLU applied to the output as it is written, saving a pass */
        dnnl_post_ops_t po;
        st = bk_dnnl_check(dnnl_post_ops_create(&po), what);
        if (!st) st = bk_dnnl_check(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), what);
        if (!st) st = bk_dnnl_check(dnnl_primitive_attr_set_post_ops(attr, po), what);
        dnnl_post_ops_destroy(po);
    }
    if (!st) st = bk_dnnl_check(dnnl_primitive_desc_create(pd, op_desc, attr, eng, hint), what);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

void bk_dnnl_op_destroy(bk_dnnl_op *op)
{
    if (!op) return;
    if (op->prim) dnnl_primitive_destroy(op->prim);
    for (int i = 0; i < op->n; i++) {
        bk_dnnl_port *p = &op->port[i];
        if (p->user) dnnl_memory_destroy(p->user);
        if (p->inner) dnnl_memory_destroy(p->inner);
        if (p->reorder) dnnl_primitive_destroy(p->reorder);
    }
    if (op->scratchpad) dnnl_memory_destroy(op->scratchpad);
    free(op);
}

bk_status bk_dnnl_op_create(bk_dnnl_op **out, const_dnnl_primitive_desc_t pd,
                            const bk_dnnl_port_spec *specs, int n, const char *what)
{
    *out = NULL;
    if (n > BK_DNNL_OP_MAX_ARGS) return bk_error(BK_ERR_INTERNAL, "%s: too many arguments", what);
    bk_dnnl_op *op = calloc(1, sizeof *op);
    if (!op) return bk_error(BK_ERR_NOMEM, "out of memory building %s", what);
    bk_status st = bk_dnnl_create(&op->prim, pd, what);
    for (int i = 0; i < n && !st; i++) {
        bk_dnnl_port *p = &op->port[i];
        p->arg = specs[i].arg;
        p->output = specs[i].output;
        op->n = i + 1;
        st = bk_dnnl_mem(&p->user, specs[i].plain);
        const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, p->arg);
        if (st || !want || dnnl_memory_desc_equal(want, specs[i].plain)) continue;
        st = bk_dnnl_mem(&p->inner, want);
        if (!st) st = p->output ? bk_dnnl_reorder(&p->reorder, want, specs[i].plain, what)
                                : bk_dnnl_reorder(&p->reorder, specs[i].plain, want, what);
        p->offset = op->scratch_bytes;
        op->scratch_bytes += (dnnl_memory_desc_get_size(want) + 63) / 64 * 64;
    }
    const dnnl_memory_desc_t *pad = st ? NULL : dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (pad && dnnl_memory_desc_get_size(pad) > 0) {
        st = bk_dnnl_mem(&op->scratchpad, pad);
        op->scratchpad_offset = op->scratch_bytes;
        op->scratch_bytes += (dnnl_memory_desc_get_size(pad) + 63) / 64 * 64;
    }
    if (st) {
        bk_dnnl_op_destroy(op);
        return st;
    }
    *out = op;
    return BK_OK;
}

static int same_layout(const_dnnl_memory_t x, const_dnnl_memory_t y)
{
    const dnnl_memory_desc_t *mx = NULL, *my = NULL;
    dnnl_memory_get_memory_desc(x, &mx);
    dnnl_memory_get_memory_desc(y, &my);
    return mx && my && dnnl_memory_desc_equal(mx, my);
}

static bk_status run_reorder(bk_dnnl_port *p, const char *what)
{
    dnnl_exec_arg_t ex[2] = {{DNNL_ARG_FROM, p->output ? p->inner : p->user},
                             {DNNL_ARG_TO, p->output ? p->user : p->inner}};
    return bk_dnnl_check(dnnl_primitive_execute(p->reorder, bk_dnnl_stream(), 2, ex), what);
}

/* Runs op with its temporaries at `scratch`. `given`, when not NULL, is a
 * port of an op that ran just before and left one of its inputs reordered
 * in its own temporary: a port of op reading the same pointer in the same
 * layout uses that temporary instead of reordering again. */
static bk_status op_run_at(bk_dnnl_op *op, const void *const *ptrs, char *scratch, const bk_dnnl_port *given,
                           const void *given_ptr, const char *what)
{
    dnnl_exec_arg_t ex[BK_DNNL_OP_MAX_ARGS + 1];
    dnnl_stream_t s = bk_dnnl_stream();
    bk_status st = BK_OK;
    for (int i = 0; i < op->n && !st; i++) {
        bk_dnnl_port *p = &op->port[i];
        /* oneDNN takes non-const handles; it does not write inputs */
        dnnl_memory_set_data_handle_v2(p->user, (void *)ptrs[i], s);
        ex[i].arg = p->arg;
        ex[i].memory = p->user;
        if (!p->inner) continue;
        ex[i].memory = p->inner;
        if (!p->output && given && given_ptr == ptrs[i] && same_layout(p->inner, given->inner)) {
            ex[i].memory = given->inner;
            continue;
        }
        dnnl_memory_set_data_handle_v2(p->inner, scratch + p->offset, s);
        if (!p->output) st = run_reorder(p, what);
    }
    int n_ex = op->n;
    if (op->scratchpad) {
        dnnl_memory_set_data_handle_v2(op->scratchpad, scratch + op->scratchpad_offset, s);
        ex[n_ex++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, op->scratchpad};
    }
    if (!st) st = bk_dnnl_check(dnnl_primitive_execute(op->prim, s, n_ex, ex), what);
    for (int i = 0; i < op->n && !st; i++)
        if (op->port[i].inner && op->port[i].output) st = run_reorder(&op->port[i], what);
    if (!st) st = bk_dnnl_check(dnnl_stream_wait(s), what);
    return st;
}

char *bk_dnnl_scratch(size_t bytes)
{
    return scratch_reserve(bytes);
}

bk_status bk_dnnl_op_run_at(bk_dnnl_op *op, const void *const *ptrs, char *scratch, const char *what)
{
    return op_run_at(op, ptrs, scratch, NULL, NULL, what);
}

bk_status bk_dnnl_op_run(bk_dnnl_op *op, const void *const *ptrs, const char *what)
{
    char *scratch = op->scratch_bytes ? scratch_reserve(op->scratch_bytes) : NULL;
    if (op->scratch_bytes && !scratch)
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes of layout scratch", what,
                        op->scratch_bytes);
    return op_run_at(op, ptrs, scratch, NULL, NULL, what);
}

bk_status bk_dnnl_op_run_pair(bk_dnnl_op *a, const void *const *pa, bk_dnnl_op *b, const void *const *pb,
                              int shared_arg, const char *what_a, const char *what_b)
{
    size_t bytes = a->scratch_bytes + b->scratch_bytes;
    char *scratch = bytes ? scratch_reserve(bytes) : NULL;
    if (bytes && !scratch)
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes of layout scratch", what_a, bytes);
    const bk_dnnl_port *given = NULL;
    const void *given_ptr = NULL;
    for (int i = 0; i < a->n; i++)
        if (a->port[i].arg == shared_arg && a->port[i].inner && !a->port[i].output) {
            given = &a->port[i];
            given_ptr = pa[i];
        }
    bk_status st = op_run_at(a, pa, scratch, NULL, NULL, what_a);
    return st ? st : op_run_at(b, pb, scratch + a->scratch_bytes, given, given_ptr, what_b);
}
