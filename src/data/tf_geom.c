/* Geometric kernels of the sample transforms: resize, crop, flip, and the
 * affine warp behind rotate and random_zoom. Index tables are built once
 * per call (per row and per column), never per pixel. */
#include "tf_internal.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t i0, i1;
    float a0, a1; /* weights of i0 and i1 */
} tap;

/* OpenCV's INTER_LINEAR source positions: pixel centres are at +0.5, and a
 * position beyond the first or last centre takes the edge pixel alone. */
static void linear_taps(tap *t, int64_t in, int64_t out)
{
    double scale = (double)in / (double)out;
    for (int64_t x = 0; x < out; x++) {
        double f = ((double)x + 0.5) * scale - 0.5;
        int64_t s = (int64_t)floor(f);
        double a = f - (double)s;
        if (s < 0) s = 0, a = 0;
        if (s >= in - 1) s = in - 1, a = 0;
        t[x].i0 = s;
        t[x].i1 = s + 1 < in ? s + 1 : s;
        t[x].a1 = (float)a;
        t[x].a0 = 1.0f - (float)a;
    }
}

/* OpenCV's INTER_NEAREST: floor(x * in / out), in exact integer arithmetic. */
static void nearest_taps(tap *t, int64_t in, int64_t out)
{
    for (int64_t x = 0; x < out; x++) {
        t[x].i0 = t[x].i1 = x * in / out;
        t[x].a0 = 1.0f;
        t[x].a1 = 0.0f;
    }
}

/* Bilinear rows: each output row blends two source rows, first resampled
 * horizontally; consecutive output rows that read the same source rows
 * (upsampling) reuse them. The vertical blend runs as SIMD. */
static void resize_linear_plane(const float *src, int64_t w, float *dst, int64_t oh, int64_t ow, const tap *tx,
                                const tap *ty, float *h0, float *h1)
{
    int64_t have0 = -1, have1 = -1; /* source rows held in h0, h1 */
    for (int64_t y = 0; y < oh; y++, dst += ow) {
        int64_t r0 = ty[y].i0, r1 = ty[y].i1;
        if (have0 != r0) {
            if (have1 == r0) { /* the lower row becomes the upper one */
                float *t = h0; h0 = h1; h1 = t;
                have1 = -1;
            } else {
                const float *r = src + r0 * w;
                for (int64_t x = 0; x < ow; x++) h0[x] = tx[x].a0 * r[tx[x].i0] + tx[x].a1 * r[tx[x].i1];
            }
            have0 = r0;
        }
        if (have1 != r1 && r1 != r0) {
            const float *r = src + r1 * w;
            for (int64_t x = 0; x < ow; x++) h1[x] = tx[x].a0 * r[tx[x].i0] + tx[x].a1 * r[tx[x].i1];
            have1 = r1;
        }
        const float *lo = r1 == r0 ? h0 : h1;
        float b0 = ty[y].a0, b1 = ty[y].a1;
        #pragma omp simd
        for (int64_t x = 0; x < ow; x++) dst[x] = b0 * h0[x] + b1 * lo[x];
    }
}

bk_status bk_tf_resize(const float *in, int64_t planes, int64_t h, int64_t w, float *out, int64_t oh, int64_t ow,
                       int nearest)
{
    tap *tx = malloc((size_t)(ow + oh) * sizeof *tx);
    float *rows = nearest ? NULL : malloc((size_t)(2 * ow) * sizeof *rows);
    if (!tx || (!nearest && !rows)) {
        free(tx);
        free(rows);
        return bk_error(BK_ERR_NOMEM, "resize: out of memory for the index tables of %lldx%lld",
                        (long long)ow, (long long)oh);
    }
    tap *ty = tx + ow;
    if (nearest) {
        nearest_taps(tx, w, ow);
        nearest_taps(ty, h, oh);
    } else {
        linear_taps(tx, w, ow);
        linear_taps(ty, h, oh);
    }
    for (int64_t p = 0; p < planes; p++) {
        const float *src = in + p * h * w;
        float *dst = out + p * oh * ow;
        if (!nearest) {
            resize_linear_plane(src, w, dst, oh, ow, tx, ty, rows, rows + ow);
            continue;
        }
        for (int64_t y = 0; y < oh; y++, dst += ow) {
            const float *r0 = src + ty[y].i0 * w;
            for (int64_t x = 0; x < ow; x++) dst[x] = r0[tx[x].i0];
        }
    }
    free(tx);
    free(rows);
    return BK_OK;
}

void bk_tf_crop(const float *in, int64_t planes, int64_t h, int64_t w, float *out, int64_t oh, int64_t ow,
                int64_t oy, int64_t ox)
{
    /* the columns of each row that fall inside in: [x_lo, x_hi) of out */
    int64_t x_lo = ox < 0 ? -ox : 0, x_hi = w - ox < ow ? w - ox : ow;
    if (x_hi < x_lo) x_hi = x_lo;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < oh; y++) {
            float *dst = out + (p * oh + y) * ow;
            int64_t iy = y + oy;
            if (iy < 0 || iy >= h || x_hi == x_lo) {
                memset(dst, 0, (size_t)ow * sizeof *dst);
                continue;
            }
            const float *src = in + (p * h + iy) * w + ox;
            if (x_lo) memset(dst, 0, (size_t)x_lo * sizeof *dst);
            memcpy(dst + x_lo, src + x_lo, (size_t)(x_hi - x_lo) * sizeof *dst);
            if (x_hi < ow) memset(dst + x_hi, 0, (size_t)(ow - x_hi) * sizeof *dst);
        }
}

void bk_tf_flip(const float *in, float *out, int64_t planes, int64_t h, int64_t w, int horizontal)
{
    for (int64_t p = 0; p < planes; p++) {
        const float *src = in + p * h * w;
        float *dst = out + p * h * w;
        if (horizontal) {
            for (int64_t y = 0; y < h; y++) {
                const float *a = src + y * w;
                float *r = dst + y * w;
                if (a == r) {
                    for (int64_t i = 0, j = w - 1; i < j; i++, j--) {
                        float t = r[i]; r[i] = r[j]; r[j] = t;
                    }
                } else {
                    for (int64_t i = 0; i < w; i++) r[i] = a[w - 1 - i];
                }
            }
        } else if (src == dst) {
            for (int64_t i = 0, j = h - 1; i < j; i++, j--) {
                float *a = dst + i * w, *b = dst + j * w;
                for (int64_t k = 0; k < w; k++) {
                    float t = a[k]; a[k] = b[k]; b[k] = t;
                }
            }
        } else {
            for (int64_t y = 0; y < h; y++) memcpy(dst + y * w, src + (h - 1 - y) * w, (size_t)w * sizeof *dst);
        }
    }
}

bk_status bk_tf_warp(const float *in, int64_t planes, int64_t h, int64_t w, float *out, const double m[6],
                     int nearest)
{
    if (h * w > INT32_MAX)
        return bk_error(BK_ERR_UNSUPPORTED, "rotate/zoom: a %lld x %lld plane is too large (at most 2^31 pixels)",
                        (long long)w, (long long)h);
    /* one row of taps: four source offsets and weights per output pixel,
     * shared by every plane */
    int32_t *ix = malloc((size_t)w * 4 * sizeof *ix);
    float *wt = malloc((size_t)w * 4 * sizeof *wt);
    if (!ix || !wt) {
        free(ix);
        free(wt);
        return bk_error(BK_ERR_NOMEM, "rotate/zoom: out of memory for a row of %lld taps", (long long)w);
    }
    int32_t *i00 = ix, *i01 = ix + w, *i10 = ix + 2 * w, *i11 = ix + 3 * w;
    float *w00 = wt, *w01 = wt + w, *w10 = wt + 2 * w, *w11 = wt + 3 * w;
    int32_t W = (int32_t)w, H = (int32_t)h;
    int64_t hw = h * w;
    /* coordinates in float (exact for the integer maps of 90-degree turns,
     * within 1e-3 px elsewhere for images up to 8k), so the row runs as SIMD */
    float half = nearest ? 0.5f : 0.0f, lin = nearest ? 0.0f : 1.0f, fw = (float)w, fh = (float)h;
    for (int64_t y = 0; y < h; y++) {
        float m0 = (float)m[0], m3 = (float)m[3];
        float rx = (float)(m[1] * (double)y + m[2]) + half, ry = (float)(m[4] * (double)y + m[5]) + half;
        #pragma omp simd
        for (int32_t x = 0; x < W; x++) {
            float sx = m0 * (float)x + rx, sy = m3 * (float)x + ry;
            /* far outside is as good as just outside, and keeps the int conversion in range */
            sx = sx < -2.0f ? -2.0f : sx > fw + 1.0f ? fw + 1.0f : sx;
            sy = sy < -2.0f ? -2.0f : sy > fh + 1.0f ? fh + 1.0f : sy;
            int32_t x0 = (int32_t)sx, y0 = (int32_t)sy;
            x0 -= sx < (float)x0;
            y0 -= sy < (float)y0;
            int32_t x1 = x0 + 1, y1 = y0 + 1;
            float ax = (sx - (float)x0) * lin, ay = (sy - (float)y0) * lin;
            /* a neighbour outside the image counts as zero (OpenCV's BORDER_CONSTANT) */
            float vx0 = (float)((uint32_t)x0 < (uint32_t)W), vx1 = (float)((uint32_t)x1 < (uint32_t)W);
            float vy0 = (float)((uint32_t)y0 < (uint32_t)H), vy1 = (float)((uint32_t)y1 < (uint32_t)H);
            w00[x] = (1 - ax) * (1 - ay) * vx0 * vy0;
            w01[x] = ax * (1 - ay) * vx1 * vy0;
            w10[x] = (1 - ax) * ay * vx0 * vy1;
            w11[x] = ax * ay * vx1 * vy1;
            /* clamped offsets keep every read inside; their weight is 0 where clamped */
            int32_t cx0 = x0 < 0 ? 0 : x0 >= W ? W - 1 : x0, cx1 = x1 < 0 ? 0 : x1 >= W ? W - 1 : x1;
            int32_t cy0 = y0 < 0 ? 0 : y0 >= H ? H - 1 : y0, cy1 = y1 < 0 ? 0 : y1 >= H ? H - 1 : y1;
            i00[x] = cy0 * W + cx0;
            i01[x] = cy0 * W + cx1;
            i10[x] = cy1 * W + cx0;
            i11[x] = cy1 * W + cx1;
        }
        for (int64_t p = 0; p < planes; p++) {
            const float *src = in + p * hw;
            float *dst = out + p * hw + y * w;
            if (nearest)
                for (int64_t x = 0; x < w; x++) dst[x] = w00[x] != 0 ? src[i00[x]] : 0.0f;
            else
                for (int64_t x = 0; x < w; x++)
                    dst[x] = w00[x] * src[i00[x]] + w01[x] * src[i01[x]] + w10[x] * src[i10[x]] + w11[x] * src[i11[x]];
        }
    }
    free(ix);
    free(wt);
    return BK_OK;
}
