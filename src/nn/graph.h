/* The static graph: nodes built once from a Keras JSON network, activations
 * and gradients planned once per batch size, reverse-mode autodiff by
 * walking the nodes backwards.
 *
 * Each node is one layer (or an internal step such as the activation fused
 * into a Conv2D's `activation` key). Its per-sample output shape is
 * channel-first; Keras' channels_last configs are mapped on build.
 * Parameters of all layers live in one flat buffer with one flat gradient
 * buffer beside it, so an optimizer step is one loop and a checkpoint one
 * write. */
#ifndef BK_NN_GRAPH_H
#define BK_NN_GRAPH_H

#include <jansson.h>
#include "backend/backend.h"
#include "brisk/tensor.h"
#include "core/rng.h"
#include "io/json.h"

#define BK_MAX_INPUTS 16
#define BK_MAX_PARAMS 4
#define BK_NAME_LEN 128

typedef struct bk_model bk_model;
typedef struct bk_profile bk_profile;

/* Which activation layouts (backend.h) a node's forward and backward
 * handle, set by its infer. bk_model_layout picks each output's layout
 * from these and inserts conversions where a reader needs another. */
enum {
    BK_LAYOUT_PLAIN = 0, /* reads and writes plain tensors only */
    BK_LAYOUT_ANY,       /* reads input 0 in either layout, writes either (convolutions) */
    BK_LAYOUT_FOLLOW     /* element- or channel-wise: its inputs and output share one layout */
};
typedef struct bk_node bk_node;

typedef struct {
    char name[BK_NAME_LEN + 32]; /* "conv1.weight", PyTorch-style */
    bk_shape shape;
    int64_t offset;              /* into the flat buffers, in floats */
    float *data, *grad;
    int is_buffer;               /* running statistics: never trained (Keras: non-trainable) */
    int frozen;                  /* its layer has "trainable": false */
    int node;                    /* owning node */
    float l1, l2;                /* Keras weight regularizer: l1*sum|w| + l2*sum w^2 joins the loss */
    int block;                   /* data, grad and optimizer state are stored in the
                                  * backend's blocked weights layout (weights_convert),
                                  * not PyTorch's; 0: PyTorch's. Set by bk_model_layout.
                                  * Element-wise code needs no care; anything that reads
                                  * or writes weights by position converts with
                                  * bk_param_to_plain / bk_param_from_plain */
} bk_param;

/* Fan values the initializers need (Keras' definitions). */
typedef struct { double fan_in, fan_out; } bk_fans;

typedef struct bk_layer_class {
    const char *name; /* Keras class_name */
    /* Reads the layer's config; allocates n->st. path is the JSON path of
     * the layer's "config" object (for error messages). */
    bk_status (*parse)(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path);
    /* Given the input shapes (per sample, channel-first), sets n->out_shape
     * and declares parameters with bk_node_param. */
    bk_status (*infer)(bk_node *n, bk_model *m, const bk_shape *in);
    /* Fills the node's parameters; NULL when it has none. */
    void (*init)(bk_node *n, bk_model *m, bk_rng *rng);
    bk_status (*forward)(bk_node *n, bk_model *m, int training);
    /* Writes input gradients (via bk_grad_dst/commit) and parameter
     * gradients from n->grad. */
    bk_status (*backward)(bk_node *n, bk_model *m);
    /* Frees n->st and its plans. */
    void (*release)(bk_node *n, bk_model *m);
} bk_layer_class;

struct bk_node {
    char name[BK_NAME_LEN];
    char class_name[64];          /* Keras class, for the summary */
    const bk_layer_class *cls;
    int hidden;                   /* internal step shown within its parent layer */
    int n_in;
    int in[BK_MAX_INPUTS];
    bk_shape out_shape;           /* per sample, channel-first */
    int keras_rank;               /* rank of the Keras tensor without batch */
    float *out, *grad;            /* [batch, out_shape...]; grad NULL if !needs_grad */
    int needs_grad;
    int grad_written;             /* set during a backward pass */
    /* Set by the layer's infer, for the training plan (graph.c): */
    int may_overwrite_input;      /* forward may write its output over input 0's
                                   * values, and backward reads only the output */
    int backward_ignores_out;     /* backward never reads this node's output */
    int backward_copies;          /* backward writes its output gradient unchanged into
                                   * input 0's (an identity Reshape): the training plan
                                   * may give both gradients one buffer */
    int can_fuse_relu;            /* forward can apply a ReLU to its output itself */
    int is_plain_relu;            /* an activation node computing max(x, 0) */
    int relu_fused;               /* it does (set by bk_model_fuse) */
    int weights_blockable;        /* parameter 0 is a groups-1 convolution kernel
                                   * [cout, cin, k...] the backend may store blocked */
    int layout_role;              /* BK_LAYOUT_*: which activation layouts it handles */
    int block;                    /* its output's channel block (backend.h); 0: plain.
                                   * Set by bk_model_layout */
    int n_params;
    int param[BK_MAX_PARAMS];     /* indices into model->params */
    int trainable;
    int index;                    /* its position in m->nodes */
    int stream;                   /* names its random streams (bk_node_rng): the position
                                   * it was built at, kept when layout nodes are inserted
                                   * so initial weights do not depend on the machine */
    bk_act post_act;              /* the `activation` key: the builder adds a step */
    float post_alpha;
    void *st;                     /* layer state, owned */
};

struct bk_model {
    bk_node *nodes;
    int n_nodes, cap_nodes;
    int n_inputs, inputs[8];
    int n_outputs, outputs[8];
    bk_param *params;
    int n_params, cap_params;
    float *param_data, *param_grad;
    int64_t param_count;
    const bk_backend *be;
    int64_t batch;                /* rows in the current pass */
    int64_t planned_batch;        /* arena sized for this many rows */
    float *arena;
    float *scratch;               /* for accumulating a second gradient into a node */
    int64_t scratch_floats;
    int64_t arena_floats;
    float *infer_arena;           /* bk_model_infer's activations (graph_infer.c);
                                   * NULL while they fit in (and use) the arena */
    int64_t infer_batch;          /* infer_arena planned for this many rows */
    int64_t *infer_off;           /* per node: offset of its output in infer_arena */
    uint64_t seed;                /* initializers, dropout */
    uint64_t step;                /* dropout draws differ per step */
    int keras_major;              /* "keras_version" of the JSON (2 for "2.13.1"); 0 when absent */
    char name[BK_NAME_LEN];
    bk_profile *prof;             /* per-layer times of training passes (profile.h); NULL: off */
    /* Data-parallel runs (src/dist). row_offset: the position of this
     * process's first row within the job's global batch, so random draws
     * per row (dropout) equal those of one process running the whole
     * batch. grad_hook, when set, is called after the backward step of
     * every node index (from the last to the first) so gradients can be
     * exchanged while the pass goes on. sum_doubles, when set, sums a
     * buffer over the job's processes: batch normalization then pools its
     * statistics over the global batch ("sync_batchnorm"). */
    int64_t row_offset;
    bk_status (*grad_hook)(void *ctx, int node);
    void *grad_hook_ctx;
    bk_status (*sum_doubles)(double *buf, int n);
    /* What the model was built from, so that variant.c can build it again
     * at other input sizes: src_doc is borrowed (it must outlive the model
     * and its variants), src_net holds a reference of its own. */
    const bk_json_doc *src_doc;
    json_t *src_net;
    char src_path[1024];
    bk_shape declared[8];         /* per input: its batch_input_shape, channel-first, -1 for
                                   * a free (null) dim; ndim 0 when the network gives none */
    int shares_params;            /* a variant: param_data and param_grad are another model's */
    struct bk_variant_cache *variants; /* variants at other input sizes (bk_model_at_shapes) */
};

/* Adds a node; returns its index or -1 (message set). */
int bk_model_add_node(bk_model *m, const char *name, const bk_layer_class *cls);
/* Declares a parameter of node n during infer; returns its index or -1. */
int bk_node_param(bk_model *m, bk_node *n, const char *suffix, const bk_shape *shape, int is_buffer);
/* The node's k-th parameter. */
bk_param *bk_node_p(bk_model *m, bk_node *n, int k);
/* The output of the node's i-th input. */
const float *bk_node_in(bk_model *m, bk_node *n, int i);
const bk_shape *bk_node_in_shape(bk_model *m, bk_node *n, int i);

/* Where to write the gradient for input i of n; NULL when that input needs
 * none. Call bk_grad_commit after writing (it adds into the input's
 * gradient when an earlier consumer already wrote one). */
float *bk_grad_dst(bk_model *m, bk_node *n, int i);
void bk_grad_commit(bk_model *m, bk_node *n, int i);

/* Allocates the flat parameter buffers after all nodes were inferred. */
bk_status bk_model_alloc_params(bk_model *m);
/* Per node, how many nodes read its output, model outputs counting 2 more
 * (they are read after the pass). malloc'd; NULL when out of memory. */
int *bk_model_readers(const bk_model *m);
/* Marks the ReLUs that the node before them applies as it writes its
 * output (a convolution read only by a plain ReLU, not a model output).
 * Such a ReLU runs in place over that output in every plan, so it has
 * nothing left to do; where it does not (no plan shares the buffer), it
 * applies itself again, which changes nothing. Structural and idempotent;
 * both plans call it before any primitive is made. */
void bk_model_fuse(bk_model *m);
/* Chooses each node's output layout: channel-blocked (the backend's
 * channel_block) for a convolution read by another convolution or by
 * layers that follow its layout (batch norm, pooling, activations, Add),
 * and for those layers when their input is blocked; plain elsewhere,
 * always for model outputs and for channel counts the block does not
 * divide. Inserts a hidden "Layout" node wherever a reader needs the other
 * layout, so activations stay blocked from one convolution to the next
 * (no reorders between them) and everything else sees plain tensors.
 * Call once after every node's infer, before the parameters are
 * allocated. BRISK_PLAIN_LAYOUT=1 in the environment keeps every tensor
 * plain (for comparing the two); BRISK_CHANNEL_BLOCK=8 or 16 picks the
 * block another machine would (for testing its layouts here). */
bk_status bk_model_layout(bk_model *m);
/* Parameter p's values (or gradients: same layout) from their storage to
 * PyTorch's layout and back; the pointers may not overlap. */
bk_status bk_param_to_plain(const bk_model *m, const bk_param *p, const float *stored, float *plain);
bk_status bk_param_from_plain(const bk_model *m, const bk_param *p, const float *plain, float *stored);
/* The same for a whole flat buffer laid out as the parameters (values,
 * gradients or an optimizer's state), in place. */
bk_status bk_model_flat_to_plain(const bk_model *m, float *flat);
bk_status bk_model_flat_from_plain(const bk_model *m, float *flat);
/* Sizes the activation arena for `batch` rows (no-op when already big enough). */
bk_status bk_model_plan(bk_model *m, int64_t batch);
/* Runs the forward pass on `batch` rows; x[i] feeds input node i. */
bk_status bk_model_forward(bk_model *m, const float *const *x, int64_t batch, int training);
/* Runs an inference pass (no dropout, running statistics) in an arena of
 * its own where each activation lives only until its last consumer has run
 * and no gradient buffers exist, so a large inference batch costs what
 * PyTorch's no_grad costs, not a training pass's memory. When they fit,
 * they use the training arena, so call bk_model_backward before it: the
 * activations of an earlier bk_model_forward are not kept. outs[i]
 * receives output i's values, valid until the next forward or inference
 * pass; the nodes' out pointers are left as they were. */
bk_status bk_model_infer(bk_model *m, const float *const *x, int64_t batch, const float **outs);
/* Runs the backward pass; the output nodes' grads must be written first
 * (set their grad_written). Parameter grads are overwritten. */
bk_status bk_model_backward(bk_model *m);
/* 1 when bk_model_backward runs n's backward step (it has trainable
 * parameters or an input that needs a gradient). */
int bk_node_runs_backward(const bk_model *m, const bk_node *n);
/* Clears per-pass gradient flags; call before writing the loss gradient. */
void bk_model_begin_backward(bk_model *m);

/* Frees what m owns: not the parameter buffers of a variant, which belong
 * to the model it was made from. Frees m's cached variants too. */
void bk_model_free(bk_model *m);

/* Variants: one model at several input sizes (variant.c).
 *
 * A variant is the same network built again for other input shapes, with
 * its own nodes, activations and backend plans (plans depend on the
 * shapes), whose parameters point into the buffers (values and gradients)
 * of the model it was made from: one set of weights, so training or loading
 * weights through either is seen by both. Evaluating on images of another
 * size than the training crops, or training at several resolutions in
 * turn, runs the variant for each size.
 *
 * bk_model_variant builds v from `from` (built by the Keras builder) for
 * the channel-first per-sample shapes[k] of each model input. It fails,
 * naming the layer and both input sizes, when a parameter would get another
 * shape (a Dense layer after Flatten) or another storage layout, so weights
 * are never reinterpreted. v must be freed (bk_model_free) before `from`;
 * v->step (dropout draws) starts at from->step; keep it in step when
 * training through v. */
bk_status bk_model_variant(bk_model *v, bk_model *from, const bk_shape *shapes);
/* The model to run for inputs of shapes[k]: m itself when they are its
 * input shapes, else a variant of m kept in a small cache of m's (the
 * least recently used of BK_VARIANT_SLOTS is dropped for a new one), so
 * each size's plans are made once. The variant belongs to m: valid until
 * m is freed or the variant is evicted by a later call. */
#define BK_VARIANT_SLOTS 4
bk_status bk_model_at_shapes(bk_model *m, const bk_shape *shapes, bk_model **out);
/* The first parameter whose shape or storage differs between a and b,
 * which list the same parameters of one network (built at two sizes);
 * -1 when none does (or they do not list the same parameters: -2). */
int bk_model_param_diff(const bk_model *a, const bk_model *b);
/* "64x48x3": a per-sample channel-first shape written in Keras' order
 * (channels last), free dims as "None". Returns buf. */
char *bk_input_size_str(const bk_shape *s, char *buf, size_t n);

/* Threads for the kernels of a pass of `batch` rows: 1 when they average
 * too little work to pay for parallel regions, else max_threads. The same
 * for every pass at that batch size, so oneDNN primitives (which fix their
 * thread partition when created) always run under the count they were made
 * for. A pass calls bk_threads_begin (sets the count, returns the caller's)
 * and bk_threads_end (restores it). */
int bk_pass_threads(const bk_model *m, int64_t batch, int max_threads);
int bk_threads_begin(const bk_model *m, int64_t batch);
void bk_threads_end(int max_threads);

/* A process with no rows in a training batch of a job with synchronized
 * batch normalization (m->sum_doubles): takes part in every layer's sums
 * of the forward pass, then of the backward pass, in the order the other
 * processes make them, contributing nothing (layer_batchnorm.c). */
bk_status bk_batchnorm_sync_idle(bk_model *m);

/* Seeded per-node random stream (initializers, dropout). */
void bk_node_rng(bk_model *m, bk_node *n, uint64_t purpose, bk_rng *r);
#endif
