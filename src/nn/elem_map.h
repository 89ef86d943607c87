/* Per-sample element maps for layers that only move or copy values
 * (padding, cropping, nearest upsampling, Permute, RepeatVector), and the
 * Keras coordinates they are defined in.
 *
 * Keras coordinates are those of the channels_last tensor without the batch
 * axis: for an internal (channel-first) shape [C, d1, .., dk] the Keras
 * shape is (d1, .., dk, C). Layers state their index arithmetic in Keras
 * coordinates, so the result is Keras' whatever the internal layout. */
#ifndef BK_NN_ELEM_MAP_H
#define BK_NN_ELEM_MAP_H

#include "graph.h"

/* Keras axis value `a` (1-based over the axes after the batch axis, or
 * negative from the end) of a rank-`rank` tensor -> 0-based Keras axis
 * (0 .. rank-1); -1 when out of range (a = 0 is the batch axis). */
int bk_keras_axis(int64_t a, int rank);
/* 0-based Keras axis -> the internal (channel-first) axis. */
int bk_internal_axis(int keras_axis, int rank);
/* Keras coordinates kc[0..ndim) of internal flat index i of one sample. */
void bk_keras_coords(const bk_shape *internal, int64_t i, int64_t *kc);
/* Internal flat index of Keras coordinates kc. */
int64_t bk_internal_index(const bk_shape *internal, const int64_t *kc);

/* out[b, i] = src[i] >= 0 ? in[b, src[i]] : 0, per sample. */
typedef struct {
    int32_t *src;      /* [out_per], owned */
    int64_t out_per, in_per;
} bk_elem_map;

bk_status bk_elem_map_alloc(bk_elem_map *g, int64_t out_per, int64_t in_per);
void bk_elem_map_forward(const bk_elem_map *g, const float *x, float *y, int64_t batch);
/* dx = sum of dy over the outputs each input went to (overwrites dx). */
void bk_elem_map_backward(const bk_elem_map *g, const float *dy, float *dx, int64_t batch);
void bk_elem_map_free(bk_elem_map *g);
#endif
