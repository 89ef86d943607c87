#ifndef BK_NN_BUILDER_H
#define BK_NN_BUILDER_H
#include "graph.h"

/* Builds m from a Keras network JSON value `net` (a model object or a bare
 * layer list) found at JSON path `path` of doc. input_hint (channel-first,
 * may be NULL) stands in for a missing batch_input_shape. On failure m is
 * left for bk_model_free. */
bk_status bk_build_keras(bk_model *m, const bk_json_doc *doc, json_t *net, const char *path,
                         uint64_t seed, const bk_shape *input_hint);
#endif
