#ifndef BK_NN_GRAPH_DOT_H
#define BK_NN_GRAPH_DOT_H
#include "graph.h"
/* Writes m as a Graphviz digraph to path (atomically): one node per graph
 * node labelled with its name, Keras class, output shape (Keras order) and
 * parameter count; internal steps dashed. */
bk_status bk_model_write_dot(const bk_model *m, const char *path);
#endif
