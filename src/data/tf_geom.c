/* Geometric kernels of the sample transforms: resize, crop, flip, and the
 * affine warp behind rotate and random_zoom. Index tables are built once
 * per call (per row and per column), never per pixel. */
#include "tf_internal.h"
#include <math.h>
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

bk_status bk_tf_resize(const float *in, int64_t planes, int64_t h, int64_t w, float *out, int64_t oh, int64_t ow,
                       int nearest)
{
    tap *tx = malloc((size_t)(ow + oh) * sizeof *tx);
    if (!tx) return bk_error(BK_ERR_NOMEM, "resize: out of memory for the index tables of %lldx%lld",
                             (long long)ow, (long long)oh);
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
        for (int64_t y = 0; y < oh; y++, dst += ow) {
            const float *r0 = src + ty[y].i0 * w, *r1 = src + ty[y].i1 * w;
            if (nearest) {
                for (int64_t x = 0; x < ow; x++) dst[x] = r0[tx[x].i0];
                continue;
            }
            float b0 = ty[y].a0, b1 = ty[y].a1;
            for (int64_t x = 0; x < ow; x++) {
                const tap *t = &tx[x];
                float top = t->a0 * r0[t->i0] + t->a1 * r0[t->i1];
                float bot = t->a0 * r1[t->i0] + t->a1 * r1[t->i1];
                dst[x] = b0 * top + b1 * bot;
            }
        }
    }
    free(tx);
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

/* floor for the bounded values of a warp, without a libm call per pixel */
static inline int64_t ifloor(double v)
{
    int64_t i = (int64_t)v;
    return i - (v < (double)i);
}

void bk_tf_warp(const float *in, int64_t planes, int64_t h, int64_t w, float *out, const double m[6], int nearest)
{
    int64_t hw = h * w;
    for (int64_t y = 0; y < h; y++) {
        double rx = m[1] * (double)y + m[2], ry = m[4] * (double)y + m[5];
        for (int64_t x = 0; x < w; x++) {
            double sx = m[0] * (double)x + rx, sy = m[3] * (double)x + ry;
            int64_t o = y * w + x;
            /* far outside: zero (and no float-to-integer overflow below) */
            if (!(sx > -2.0 && sy > -2.0 && sx < (double)w + 1.0 && sy < (double)h + 1.0)) {
                for (int64_t p = 0; p < planes; p++) out[p * hw + o] = 0.0f;
                continue;
            }
            if (nearest) {
                int64_t ix = ifloor(sx + 0.5), iy = ifloor(sy + 0.5);
                int inside = ix >= 0 && iy >= 0 && ix < w && iy < h;
                for (int64_t p = 0; p < planes; p++) out[p * hw + o] = inside ? in[p * hw + iy * w + ix] : 0.0f;
                continue;
            }
            int64_t x0 = ifloor(sx), y0 = ifloor(sy);
            float ax = (float)(sx - (double)x0), ay = (float)(sy - (double)y0);
            float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
            if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
                /* inside: no border to mind (most pixels) */
                const float *s0 = in + y0 * w + x0;
                for (int64_t p = 0; p < planes; p++, s0 += hw)
                    out[p * hw + o] = w00 * s0[0] + w01 * s0[1] + w10 * s0[w] + w11 * s0[w + 1];
                continue;
            }
            /* a neighbour outside the image counts as zero (OpenCV's BORDER_CONSTANT) */
            int vx0 = x0 >= 0 && x0 < w, vx1 = x0 + 1 >= 0 && x0 + 1 < w;
            int vy0 = y0 >= 0 && y0 < h, vy1 = y0 + 1 >= 0 && y0 + 1 < h;
            if (!(vx0 && vy0)) w00 = 0;
            if (!(vx1 && vy0)) w01 = 0;
            if (!(vx0 && vy1)) w10 = 0;
            if (!(vx1 && vy1)) w11 = 0;
            /* clamped indices keep every read inside; their weight is 0 where clamped */
            int64_t cx0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0, cx1 = x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1;
            int64_t cy0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0, cy1 = y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1;
            int64_t i00 = cy0 * w + cx0, i01 = cy0 * w + cx1, i10 = cy1 * w + cx0, i11 = cy1 * w + cx1;
            for (int64_t p = 0; p < planes; p++) {
                const float *src = in + p * hw;
                out[p * hw + o] = w00 * src[i00] + w01 * src[i01] + w10 * src[i10] + w11 * src[i11];
            }
        }
    }
}
