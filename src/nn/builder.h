#ifndef BK_NN_BUILDER_H
#define BK_NN_BUILDER_H
#include "graph.h"

/* Builds m from a Keras network JSON value `net` (a model object or a bare
 * layer list) found at JSON path `path` of doc. input_hint (channel-first,
 * may be NULL) stands in for a missing batch_input_shape. On failure m is
 * left for bk_model_free. doc must outlive m (variants read it again). */
bk_status bk_build_keras(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path,
                         uint64_t seed, const bk_shape *input_hint);

/* How bk_build_keras_opts builds. */
typedef struct {
    uint64_t seed;
    const bk_shape *input_hint; /* for every input without batch_input_shape (may be NULL) */
    /* Per model input (in the order the network defines them), the
     * channel-first per-sample shape to build for: the data's. It fills the
     * free (null) dims and replaces declared sizes; the rank and channel
     * count must be the declared ones. NULL, or an entry of ndim 0: the
     * declared shape. */
    const bk_shape *shapes;
    int n_shapes;
    int64_t free_size;          /* stands in for free dims no shape gives; 0: they are an error */
    int shapes_only;            /* output shapes and parameter declarations only: no parameter
                                 * buffers, no initial values (summaries, variants) */
} bk_build_opts;
bk_status bk_build_keras_opts(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path,
                              const bk_build_opts *o);

/* Reads only the network's inputs: m gets its input nodes (m->n_inputs,
 * m->inputs, their names) and m->declared, and no other layer, so the data
 * can be matched to the inputs before the sizes are known. Free with
 * bk_model_free. */
bk_status bk_keras_inputs(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path);
#endif
