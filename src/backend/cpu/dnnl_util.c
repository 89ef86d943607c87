#include "dnnl_util.h"
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_init_status = dnnl_success;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_engine(void)
{
    g_init_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_init_status == dnnl_success)
        g_init_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
}

dnnl_engine_t bk_dnnl_engine(void)
{
    pthread_once(&g_once, init_engine);
    return g_init_status == dnnl_success ? g_engine : NULL;
}

dnnl_stream_t bk_dnnl_stream(void)
{
    pthread_once(&g_once, init_engine);
    return g_init_status == dnnl_success ? g_stream : NULL;
}

bk_status bk_dnnl_check(dnnl_status_t s, const char *what)
{
    if (s == dnnl_success) return BK_OK;
    const char *why = "unknown";
    switch (s) {
    case dnnl_out_of_memory: return bk_error(BK_ERR_NOMEM, "oneDNN %s: out of memory", what);
    case dnnl_invalid_arguments: why = "invalid arguments"; break;
    case dnnl_unimplemented: why = "no implementation for these shapes"; break;
    case dnnl_runtime_error: why = "runtime error"; break;
    default: break;
    }
    return bk_error(BK_ERR_INTERNAL, "oneDNN %s failed: %s (status %d)", what, why, (int)s);
}

dnnl_memory_desc_t bk_dnnl_plain_md(int ndim, const int64_t *dims)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d, strides;
    memset(&md, 0, sizeof md);
    int64_t st = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        d[i] = dims[i];
        strides[i] = st;
        st *= dims[i];
    }
    dnnl_memory_desc_init_by_strides(&md, ndim, d, dnnl_f32, strides);
    return md;
}

/* A descriptor of ndim (3 to 5) dims in tags16[ndim - 3] (block 16) or
 * tags8[ndim - 3] (block 8); plain for block 0 or other ranks. */
static dnnl_memory_desc_t blocked_md(int ndim, const int64_t *dims, int block, const dnnl_format_tag_t *tags16,
                                     const dnnl_format_tag_t *tags8)
{
    if (!block || ndim < 3 || ndim > 5) return bk_dnnl_plain_md(ndim, dims);
    dnnl_memory_desc_t md;
    dnnl_dims_t d;
    memset(&md, 0, sizeof md);
    for (int i = 0; i < ndim; i++) d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(&md, ndim, d, dnnl_f32, block == 16 ? tags16[ndim - 3] : tags8[ndim - 3]);
    return md;
}

dnnl_memory_desc_t bk_dnnl_act_md(int ndim, const int64_t *dims, int block)
{
    static const dnnl_format_tag_t b16[] = {dnnl_nCw16c, dnnl_nChw16c, dnnl_nCdhw16c},
                                   b8[] = {dnnl_nCw8c, dnnl_nChw8c, dnnl_nCdhw8c};
    return blocked_md(ndim, dims, block, b16, b8);
}

dnnl_memory_desc_t bk_dnnl_wei_md(int ndim, const int64_t *dims, int block)
{
    static const dnnl_format_tag_t b16[] = {dnnl_ABc16b16a, dnnl_ABcd16b16a, dnnl_ABcde16b16a},
                                   b8[] = {dnnl_ABc8b8a, dnnl_ABcd8b8a, dnnl_ABcde8b8a};
    return blocked_md(ndim, dims, block, b16, b8);
}

bk_status bk_dnnl_create(dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd, const char *what)
{
    const char *strict = getenv("BRISK_FAST_KERNELS_ONLY"), *impl = NULL;
    if (strict && *strict && strcmp(strict, "0") &&
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
        !strncmp(impl, "ref", 3))
        return bk_error(BK_ERR_UNSUPPORTED,
                        "%s: oneDNN has only its reference kernel (%s) for this shape and layout on this CPU, "
                        "typically 10-100x slower (BRISK_FAST_KERNELS_ONLY is set; unset it to run anyway)",
                        what, impl);
    return bk_dnnl_check(dnnl_primitive_create(prim, pd), what);
}

bk_status bk_dnnl_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                          const char *what)
{
    dnnl_engine_t eng = bk_dnnl_engine();
    dnnl_primitive_desc_t pd;
    bk_status st = bk_dnnl_check(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL), what);
    if (st) return st;
    st = bk_dnnl_create(r, pd, what);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

bk_status bk_dnnl_mem(dnnl_memory_t *out, const dnnl_memory_desc_t *md)
{
    return bk_dnnl_check(dnnl_memory_create(out, md, bk_dnnl_engine(), DNNL_MEMORY_NONE),
                         "memory_create");
}

bk_status bk_dnnl_primitive(dnnl_primitive_t *prim, dnnl_primitive_desc_t *pd_out,
                            const void *op_desc, const_dnnl_primitive_desc_t hint,
                            const char *what)
{
    dnnl_engine_t eng = bk_dnnl_engine();
    if (!eng) return bk_error(BK_ERR_INTERNAL, "oneDNN: cannot create the CPU engine");
    dnnl_primitive_desc_t pd;
    bk_status st = bk_dnnl_check(dnnl_primitive_desc_create(&pd, op_desc, NULL, eng, hint), what);
    if (st) return st;
    st = bk_dnnl_create(prim, pd, what);
    if (st || !pd_out) dnnl_primitive_desc_destroy(pd);
    else *pd_out = pd;
    return st;
}

bk_status bk_dnnl_run(dnnl_primitive_t prim, bk_dnnl_arg *args, int n, const char *what)
{
    dnnl_exec_arg_t ex[16];
    for (int i = 0; i < n && i < 16; i++) {
        /* oneDNN takes non-const handles; it does not write inputs */
        dnnl_memory_set_data_handle_v2(args[i].mem, (void *)args[i].ptr, bk_dnnl_stream());
        ex[i].arg = args[i].arg;
        ex[i].memory = args[i].mem;
    }
    bk_status st = bk_dnnl_check(dnnl_primitive_execute(prim, bk_dnnl_stream(), n, ex), what);
    if (st) return st;
    return bk_dnnl_check(dnnl_stream_wait(bk_dnnl_stream()), what);
}
