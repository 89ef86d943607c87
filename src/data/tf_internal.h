/* Private kernels of the sample transforms (transforms.c). Images are
 * `planes` planes of h x w floats, row-major, one after another: every
 * channel (and depth slice) of a channel-first sample. */
#ifndef BK_DATA_TF_INTERNAL_H
#define BK_DATA_TF_INTERNAL_H
#include "brisk/data.h"

/* in [planes, h, w] -> out [planes, oh, ow]. Bilinear as OpenCV's
 * INTER_LINEAR (and PyTorch's align_corners=False): source coordinate
 * (x + 0.5) * w / ow - 0.5, clamped to the edge; nearest as OpenCV's
 * INTER_NEAREST: floor(x * w / ow). Fails only when out of memory for
 * the index tables. */
bk_status bk_tf_resize(const float *in, int64_t planes, int64_t h, int64_t w, float *out, int64_t oh, int64_t ow,
                       int nearest);

/* out [planes, oh, ow] = the window of in whose top-left corner is (oy, ox)
 * (either may be negative or the window larger than in: zeros there). */
void bk_tf_crop(const float *in, int64_t planes, int64_t h, int64_t w, float *out, int64_t oh, int64_t ow,
                int64_t oy, int64_t ox);

/* Flips every plane left-right (horizontal = 1) or top-bottom, from in to
 * out, which may be the same block (in place) or not overlap at all. */
void bk_tf_flip(const float *in, float *out, int64_t planes, int64_t h, int64_t w, int horizontal);

/* out(x, y) = in(m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]) in pixel
 * indices, bilinear or nearest (rounded), zero outside in. Same size.
 * Fails when out of memory for a row of taps, or for a plane of more than
 * 2^31 pixels. */
bk_status bk_tf_warp(const float *in, int64_t planes, int64_t h, int64_t w, float *out, const double m[6],
                     int nearest);

/* Channels a conversion reads and writes. */
void bk_tf_color_channels(bk_color_code code, int *in_c, int *out_c);
/* in [in_c, plane] -> out [out_c, plane]; in and out do not overlap. */
void bk_tf_convert_color(const float *in, float *out, int64_t plane, bk_color_code code);

/* The config's name of a transform kind ("resize", "random_horizontal_flip"). */
const char *bk_tf_kind_name(bk_transform_kind kind);

/* 0 when t's parameters are valid; else 1 with the reason in why
 * ("p must be in [0, 1], got 1.5"). Shared by the config parser (which
 * locates the message) and bk_transforms_create (which checks what an
 * embedder built). */
int bk_tf_entry_invalid(const bk_transform *t, char *why, size_t n);
#endif
