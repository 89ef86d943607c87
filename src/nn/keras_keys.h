/* The weight-related keys every Keras layer config may carry besides its
 * own: <weight>_regularizer, activity_regularizer and <weight>_constraint.
 * Other bookkeeping keys of real exports (dtype policies, ragged, sparse,
 * batch_size, build_config, registered_name, module) need nothing: layer
 * parsers read only the keys they know. */
#ifndef BK_NN_KERAS_KEYS_H
#define BK_NN_KERAS_KEYS_H
#include "graph.h"

/* Reads the regularizers of node n's parameters (declared by its infer)
 * into their l1/l2 fields. Errors: a non-null activity_regularizer or
 * constraint (unsupported), an unknown regularizer class. path: the
 * layer's "config" path. */
bk_status bk_keras_weight_keys(bk_model *m, bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path);

/* Parses one regularizer value (null, {"class_name": "L1L2"|"L1"|"L2",
 * "config": {...}} in Keras 2 or 3 form, or a name "l1"/"l2"/"l1_l2"). */
bk_status bk_keras_regularizer(const bk_json_doc *doc, json_t *v, const char *path, double *l1, double *l2);
#endif
