/* convert_color: OpenCV's colour conversions as it applies them to float
 * images (values in [0, 1]; alpha 1 when added; HSV hue in degrees
 * [0, 360), saturation and value in [0, 1]; YCrCb chroma centred on 0.5). */
#include "tf_internal.h"
#include <float.h>
#include <math.h>
#include <string.h>
#include <strings.h>

enum { L_BGR, L_RGB, L_BGRA, L_RGBA, L_GRAY, L_HSV, L_YCRCB };

static const struct {
    const char *name;
    int src, dst;
} codes[BK_COLOR_COUNT] = {
    [BK_COLOR_BGR2RGB] = {"BGR2RGB", L_BGR, L_RGB},       [BK_COLOR_RGB2BGR] = {"RGB2BGR", L_RGB, L_BGR},
    [BK_COLOR_BGRA2RGBA] = {"BGRA2RGBA", L_BGRA, L_RGBA}, [BK_COLOR_RGBA2BGRA] = {"RGBA2BGRA", L_RGBA, L_BGRA},
    [BK_COLOR_BGR2BGRA] = {"BGR2BGRA", L_BGR, L_BGRA},    [BK_COLOR_RGB2RGBA] = {"RGB2RGBA", L_RGB, L_RGBA},
    [BK_COLOR_BGR2RGBA] = {"BGR2RGBA", L_BGR, L_RGBA},    [BK_COLOR_RGB2BGRA] = {"RGB2BGRA", L_RGB, L_BGRA},
    [BK_COLOR_BGRA2BGR] = {"BGRA2BGR", L_BGRA, L_BGR},    [BK_COLOR_RGBA2RGB] = {"RGBA2RGB", L_RGBA, L_RGB},
    [BK_COLOR_BGRA2RGB] = {"BGRA2RGB", L_BGRA, L_RGB},    [BK_COLOR_RGBA2BGR] = {"RGBA2BGR", L_RGBA, L_BGR},
    [BK_COLOR_BGR2GRAY] = {"BGR2GRAY", L_BGR, L_GRAY},    [BK_COLOR_RGB2GRAY] = {"RGB2GRAY", L_RGB, L_GRAY},
    [BK_COLOR_BGRA2GRAY] = {"BGRA2GRAY", L_BGRA, L_GRAY}, [BK_COLOR_RGBA2GRAY] = {"RGBA2GRAY", L_RGBA, L_GRAY},
    [BK_COLOR_GRAY2BGR] = {"GRAY2BGR", L_GRAY, L_BGR},    [BK_COLOR_GRAY2RGB] = {"GRAY2RGB", L_GRAY, L_RGB},
    [BK_COLOR_GRAY2BGRA] = {"GRAY2BGRA", L_GRAY, L_BGRA}, [BK_COLOR_GRAY2RGBA] = {"GRAY2RGBA", L_GRAY, L_RGBA},
    [BK_COLOR_BGR2HSV] = {"BGR2HSV", L_BGR, L_HSV},       [BK_COLOR_RGB2HSV] = {"RGB2HSV", L_RGB, L_HSV},
    [BK_COLOR_HSV2BGR] = {"HSV2BGR", L_HSV, L_BGR},       [BK_COLOR_HSV2RGB] = {"HSV2RGB", L_HSV, L_RGB},
    [BK_COLOR_BGR2YCrCb] = {"BGR2YCrCb", L_BGR, L_YCRCB}, [BK_COLOR_RGB2YCrCb] = {"RGB2YCrCb", L_RGB, L_YCRCB},
    [BK_COLOR_YCrCb2BGR] = {"YCrCb2BGR", L_YCRCB, L_BGR}, [BK_COLOR_YCrCb2RGB] = {"YCrCb2RGB", L_YCRCB, L_RGB},
};

static int layout_channels(int l) { return l == L_GRAY ? 1 : l == L_BGRA || l == L_RGBA ? 4 : 3; }

const char *bk_color_code_name(bk_color_code code)
{
    return (unsigned)code < BK_COLOR_COUNT ? codes[code].name : NULL;
}

int bk_color_code_from_name(const char *name, bk_color_code *out)
{
    for (int i = 0; name && i < BK_COLOR_COUNT; i++)
        if (!strcasecmp(name, codes[i].name)) {
            *out = (bk_color_code)i;
            return 1;
        }
    return 0;
}

void bk_tf_color_channels(bk_color_code code, int *in_c, int *out_c)
{
    *in_c = layout_channels(codes[code].src);
    *out_c = layout_channels(codes[code].dst);
}

static const float R2Y = 0.299f, G2Y = 0.587f, B2Y = 0.114f;

/* Pixel i of a [c, plane] image in layout l as r, g, b, a. */
static void decode(int l, const float *in, int64_t plane, int64_t i, float *r, float *g, float *b, float *a)
{
    const float *c0 = in + i, *c1 = c0 + plane, *c2 = c1 + plane;
    *r = *g = *b = 0.0f;
    *a = 1.0f;
    switch (l) {
    case L_BGR: *b = *c0; *g = *c1; *r = *c2; break;
    case L_RGB: *r = *c0; *g = *c1; *b = *c2; break;
    case L_BGRA: *b = *c0; *g = *c1; *r = *c2; *a = c2[plane]; break;
    case L_RGBA: *r = *c0; *g = *c1; *b = *c2; *a = c2[plane]; break;
    case L_GRAY: *r = *g = *b = *c0; break;
    case L_HSV: { /* OpenCV's HSV2RGB_f */
        static const int sector_data[6][3] = {{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}};
        float h = *c0, s = *c1, v = *c2;
        if (s == 0) {
            *r = *g = *b = v;
            break;
        }
        h *= 6.0f / 360.0f;
        h -= 6.0f * floorf(h / 6.0f);
        int sector = (int)floorf(h);
        h -= (float)sector;
        if (sector < 0 || sector >= 6) sector = 0, h = 0;
        float tab[4] = {v, v * (1 - s), v * (1 - s * h), v * (1 - s * (1 - h))};
        *b = tab[sector_data[sector][0]];
        *g = tab[sector_data[sector][1]];
        *r = tab[sector_data[sector][2]];
        break;
    }
    case L_YCRCB: { /* OpenCV's YCrCb2RGB_f */
        float y = *c0, cr = *c1 - 0.5f, cb = *c2 - 0.5f;
        *r = y + cr * 1.403f;
        *g = y - cr * 0.714f - cb * 0.344f;
        *b = y + cb * 1.773f;
        break;
    }
    }
}

static void encode(int l, float *out, int64_t plane, int64_t i, float r, float g, float b, float a)
{
    float *c0 = out + i, *c1 = c0 + plane, *c2 = c1 + plane;
    switch (l) {
    case L_BGR: *c0 = b; *c1 = g; *c2 = r; break;
    case L_RGB: *c0 = r; *c1 = g; *c2 = b; break;
    case L_BGRA: *c0 = b; *c1 = g; *c2 = r; c2[plane] = a; break;
    case L_RGBA: *c0 = r; *c1 = g; *c2 = b; c2[plane] = a; break;
    case L_GRAY: *c0 = b * B2Y + g * G2Y + r * R2Y; break;
    case L_HSV: { /* OpenCV's RGB2HSV_f */
        float v = r > g ? r : g, vmin = r < g ? r : g;
        if (b > v) v = b;
        if (b < vmin) vmin = b;
        float diff = v - vmin, s = diff / (fabsf(v) + FLT_EPSILON), h;
        diff = 60.0f / (diff + FLT_EPSILON);
        if (v == r) h = (g - b) * diff;
        else if (v == g) h = (b - r) * diff + 120.0f;
        else h = (r - g) * diff + 240.0f;
        if (h < 0) h += 360.0f;
        *c0 = h; *c1 = s; *c2 = v;
        break;
    }
    case L_YCRCB: { /* OpenCV's RGB2YCrCb_f */
        float y = b * B2Y + g * G2Y + r * R2Y;
        *c0 = y;
        *c1 = (r - y) * 0.713f + 0.5f;
        *c2 = (b - y) * 0.564f + 0.5f;
        break;
    }
    }
}

/* Where each of r, g, b, a sits in a layout of the RGB family (-1: absent;
 * gray holds r = g = b in its one channel). */
static void rgba_index(int l, int idx[4])
{
    static const int tab[5][4] = {
        [L_BGR] = {2, 1, 0, -1}, [L_RGB] = {0, 1, 2, -1}, [L_BGRA] = {2, 1, 0, 3}, [L_RGBA] = {0, 1, 2, 3},
        [L_GRAY] = {0, 0, 0, -1}};
    for (int i = 0; i < 4; i++) idx[i] = tab[l][i];
}

/* The RGB family without HSV or YCrCb: whole planes copied, filled or
 * weighted, which runs at memory speed. */
static void convert_planes(const float *in, float *out, int64_t plane, int src, int dst)
{
    int si[4], di[4];
    rgba_index(src, si);
    rgba_index(dst, di);
    if (dst == L_GRAY) {
        const float *r = in + si[0] * plane, *g = in + si[1] * plane, *b = in + si[2] * plane;
        #pragma omp simd
        for (int64_t i = 0; i < plane; i++) out[i] = b[i] * B2Y + g[i] * G2Y + r[i] * R2Y;
        return;
    }
    for (int k = 0; k < 4; k++) {
        if (di[k] < 0) continue;
        float *o = out + di[k] * plane;
        if (si[k] >= 0) {
            memcpy(o, in + si[k] * plane, (size_t)plane * sizeof *o);
        } else {
            for (int64_t i = 0; i < plane; i++) o[i] = 1.0f; /* OpenCV's alpha of float images */
        }
    }
}

void bk_tf_convert_color(const float *in, float *out, int64_t plane, bk_color_code code)
{
    int src = codes[code].src, dst = codes[code].dst;
    if (src <= L_GRAY && dst <= L_GRAY) {
        convert_planes(in, out, plane, src, dst);
        return;
    }
    for (int64_t i = 0; i < plane; i++) {
        float r, g, b, a;
        decode(src, in, plane, i, &r, &g, &b, &a);
        encode(dst, out, plane, i, r, g, b, a);
    }
}
