/* A oneDNN primitive that computes in the layout it prefers while callers
 * keep plain row-major buffers.
 *
 * Primitives created with format "any" pick blocked layouts (nChw16c and
 * the like) whose kernels are several times faster than the plain-layout
 * ones. For each argument whose preferred layout differs from the plain one,
 * the op owns a reorder: inputs are reordered into a temporary before the
 * run, outputs out of one after it. The temporaries and the primitive's
 * scratchpad live only during one run, so every op shares one scratch
 * buffer instead of holding its own. */
#ifndef BK_DNNL_OP_H
#define BK_DNNL_OP_H
#include "dnnl_util.h"

#define BK_DNNL_OP_MAX_ARGS 6

typedef struct {
    int arg;                   /* DNNL_ARG_* */
    int output;                /* written by the primitive */
    dnnl_memory_t user;        /* plain layout, bound to the caller's pointer */
    dnnl_memory_t inner;       /* preferred layout in the scratch; NULL when equal */
    dnnl_primitive_t reorder;  /* user -> inner for inputs, inner -> user for outputs */
    size_t offset;             /* of inner in the shared scratch */
} bk_dnnl_port;

typedef struct {
    dnnl_primitive_t prim;
    int n;
    bk_dnnl_port port[BK_DNNL_OP_MAX_ARGS];
    dnnl_memory_t scratchpad;  /* the primitive's scratchpad (user mode); NULL: none */
    size_t scratchpad_offset;  /* of it in the shared scratch */
    size_t scratch_bytes;      /* temporaries and scratchpad together */
} bk_dnnl_op;

/* One argument of an op: its DNNL_ARG_*, its plain layout, and whether the
 * primitive writes it. */
typedef struct { int arg; const dnnl_memory_desc_t *plain; int output; } bk_dnnl_port_spec;

/* Creates the primitive of pd and a port per spec. Returns a new op in *out
 * (caller destroys it with bk_dnnl_op_destroy); pd stays the caller's. */
bk_status bk_dnnl_op_create(bk_dnnl_op **out, const_dnnl_primitive_desc_t pd,
                            const bk_dnnl_port_spec *specs, int n, const char *what);
/* Runs the op on ptrs[i] for port i (same order as the specs). */
bk_status bk_dnnl_op_run(bk_dnnl_op *op, const void *const *ptrs, const char *what);
/* Runs a, then b, where both read the input of arg shared_arg from the
 * same pointer: when they want it in the same layout it is reordered once
 * (a convolution's two backward primitives both read diff_dst). */
bk_status bk_dnnl_op_run_pair(bk_dnnl_op *a, const void *const *pa, bk_dnnl_op *b, const void *const *pb,
                              int shared_arg, const char *what_a, const char *what_b);
void bk_dnnl_op_destroy(bk_dnnl_op *op);
/* For a caller with temporaries of its own beside an op's: the shared
 * scratch, grown to at least `bytes` (NULL when out of memory), whose
 * contents last until the next op runs. Reserve room for both, keep yours
 * at the start and run the op with bk_dnnl_op_run_at on the part after it
 * (op->scratch_bytes long). */
char *bk_dnnl_scratch(size_t bytes);
bk_status bk_dnnl_op_run_at(bk_dnnl_op *op, const void *const *ptrs, char *scratch, const char *what);

/* Creates a primitive descriptor from an op descriptor; the caller destroys it. */
bk_status bk_dnnl_pd(dnnl_primitive_desc_t *pd, const void *op_desc,
                     const_dnnl_primitive_desc_t hint, const char *what);
/* The same with a ReLU post-op on the output when post_relu (forward
 * convolutions whose only reader is a ReLU; see graph.c, bk_model_fuse). */
bk_status bk_dnnl_pd_post(dnnl_primitive_desc_t *pd, const void *op_desc,
                          const_dnnl_primitive_desc_t hint, int post_relu, const char *what);
/* A memory descriptor with the given dims and format "any". */
dnnl_memory_desc_t bk_dnnl_any_md(int ndim, const int64_t *dims);
#endif
