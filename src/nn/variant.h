/* The variant cache's side of bk_model_free (graph.c); the API is in graph.h. */
#ifndef BK_NN_VARIANT_H
#define BK_NN_VARIANT_H
#include "graph.h"

/* Frees m's cached variants (bk_model_at_shapes). */
void bk_variants_free(bk_model *m);
#endif
