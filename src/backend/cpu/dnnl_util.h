/* Shared oneDNN plumbing for the CPU backend: one engine and stream for the
 * process, memory objects bound to caller pointers at execution time. */
#ifndef BK_DNNL_UTIL_H
#define BK_DNNL_UTIL_H
#include <oneapi/dnnl/dnnl.h>
#include "brisk/status.h"

dnnl_engine_t bk_dnnl_engine(void);
dnnl_stream_t bk_dnnl_stream(void);

/* Turns a oneDNN status into a bk_status with a message naming `what`. */
bk_status bk_dnnl_check(dnnl_status_t s, const char *what);

/* A plain (dense, row-major) memory descriptor of ndim dims. */
dnnl_memory_desc_t bk_dnnl_plain_md(int ndim, const int64_t *dims);

/* The descriptor of an activation tensor of ndim dims (n, c, spatial...):
 * plain when block is 0, else channel-blocked by block (8 or 16). */
dnnl_memory_desc_t bk_dnnl_act_md(int ndim, const int64_t *dims, int block);

/* Convolution weights of ndim dims (cout, cin, k...): plain when block is
 * 0, else oneDNN's ABc..{block}b{block}a (OIhw16i16o). */
dnnl_memory_desc_t bk_dnnl_wei_md(int ndim, const int64_t *dims, int block);

/* Creates the primitive of pd. With BRISK_FAST_KERNELS_ONLY=1 in the
 * environment, a pd that oneDNN could serve only with its reference
 * implementation ("ref:...") is an error naming `what`: such kernels run
 * 10-100x slower, and every test passes with them. */
bk_status bk_dnnl_create(dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd, const char *what);

/* A reorder primitive from one layout to another. */
bk_status bk_dnnl_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                          const char *what);

/* Creates a memory object over md with no data yet (bound per execution). */
bk_status bk_dnnl_mem(dnnl_memory_t *out, const dnnl_memory_desc_t *md);

/* Creates a primitive from an op descriptor (hint may be NULL); returns the
 * primitive descriptor too when pd_out is not NULL (caller destroys it). */
bk_status bk_dnnl_primitive(dnnl_primitive_t *prim, dnnl_primitive_desc_t *pd_out,
                            const void *op_desc, const_dnnl_primitive_desc_t hint,
                            const char *what);

/* Binds pointers to the memory objects of args and executes synchronously. */
typedef struct { int arg; dnnl_memory_t mem; const void *ptr; } bk_dnnl_arg;
bk_status bk_dnnl_run(dnnl_primitive_t prim, bk_dnnl_arg *args, int n, const char *what);
#endif
