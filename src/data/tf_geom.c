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

/* The source planes are copied once into a frame of zeros, one pixel wide
 * above and left, two below and right (a tap and its right/lower
 * neighbour); a coordinate clamped to [-1, w] then reads zeros outside the
 * image (OpenCV's BORDER_CONSTANT) with no test per tap, and each output
 * pixel needs one offset and two weights, computed as SIMD a row at a time
 * and shared by every plane. */
bk_status bk_tf_warp(const float *in, int64_t planes, int64_t h, int64_t w, float *out, const double m[6],
                     int nearest)
{
    int64_t pw = w + 3, ph = h + 3;
    if (pw * ph > INT32_MAX)
        return bk_error(BK_ERR_UNSUPPORTED, "rotate/zoom: a %lld x %lld plane is too large (at most 2^31 pixels)",
                        (long long)w, (long long)h);
    float *pad = calloc((size_t)(planes * pw * ph), sizeof *pad);
    int32_t *ix = malloc((size_t)w * sizeof *ix);
    float *ax = malloc((size_t)(2 * w) * sizeof *ax), *ay = ax ? ax + w : NULL;
    if (!pad || !ix || !ax) {
        free(pad);
        free(ix);
        free(ax);
        return bk_error(BK_ERR_NOMEM, "rotate/zoom: out of memory for a %lld x %lld x %lld frame", (long long)planes,
                        (long long)ph, (long long)pw);
    }
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++)
            memcpy(pad + (p * ph + y + 1) * pw + 1, in + (p * h + y) * w, (size_t)w * sizeof *pad);
    int32_t W = (int32_t)w, PW = (int32_t)pw;
    /* float coordinates: exact for the integer maps of 90-degree turns,
     * within 1e-3 px elsewhere on images up to 8k */
    float half = nearest ? 0.5f : 0.0f, lin = nearest ? 0.0f : 1.0f, hi_x = (float)w, hi_y = (float)h;
    float m0 = (float)m[0], m3 = (float)m[3];
    for (int64_t y = 0; y < h; y++) {
        float rx = (float)(m[1] * (double)y + m[2]) + half, ry = (float)(m[4] * (double)y + m[5]) + half;
        #pragma omp simd
        for (int32_t x = 0; x < W; x++) {
            float sx = m0 * (float)x + rx, sy = m3 * (float)x + ry;
            /* one pixel outside reads the zero frame: as good as farther */
            sx = sx < -1.0f ? -1.0f : sx > hi_x ? hi_x : sx;
            sy = sy < -1.0f ? -1.0f : sy > hi_y ? hi_y : sy;
            int32_t x0 = (int32_t)sx, y0 = (int32_t)sy; /* floor: truncation, then one down below 0 */
            x0 -= sx < (float)x0;
            y0 -= sy < (float)y0;
            ax[x] = (sx - (float)x0) * lin;
            ay[x] = (sy - (float)y0) * lin;
            ix[x] = (y0 + 1) * PW + x0 + 1;
        }
        for (int64_t p = 0; p < planes; p++) {
            const float *src = pad + p * ph * pw;
            float *dst = out + (p * h + y) * w;
            if (nearest) {
                for (int64_t x = 0; x < w; x++) dst[x] = src[ix[x]];
                continue;
            }
            for (int64_t x = 0; x < w; x++) {
                const float *s0 = src + ix[x];
                float top = (1 - ax[x]) * s0[0] + ax[x] * s0[1], bot = (1 - ax[x]) * s0[pw] + ax[x] * s0[pw + 1];
                dst[x] = (1 - ay[x]) * top + ay[x] * bot;
            }
        }
    }
    free(pad);
    free(ix);
    free(ax);
    return BK_OK;
}
