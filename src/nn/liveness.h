/* Places buffers with known lifetimes in one arena so that buffers alive
 * at the same time never overlap and dead ones are reused (first fit).
 * Shared by the training plan (gradients, graph.c) and the inference plan
 * (activations, graph_infer.c). */
#ifndef BK_NN_LIVENESS_H
#define BK_NN_LIVENESS_H
#include <stdint.h>
#include "brisk/status.h"

typedef struct {
    int64_t len;       /* floats; 0: no buffer (gets offset -1) */
    int first, last;   /* alive from step first to step last, both included */
} bk_lifetime;

/* Sets off[i] (in floats, multiples of 16 so every buffer stays 64-byte
 * aligned) for each of the n lifetimes and *total to the arena size. */
bk_status bk_place_lifetimes(const bk_lifetime *b, int n, int64_t *off, int64_t *total);
#endif
