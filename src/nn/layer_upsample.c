/* UpSampling1D/2D/3D (Keras): each spatial axis j grows by size[j].
 * "nearest" (every class) repeats values: out[p] = in[p / size], an
 * element map (elem_map.h). "bilinear" (UpSampling2D) is TF2's
 * tf.image.resize bilinear with half-pixel centres, which equals PyTorch's
 * F.interpolate(mode="bilinear", align_corners=False): output pixel o
 * samples input position max((o + 0.5) / size - 0.5, 0) between its two
 * neighbours (the upper one clamped to the edge).
 *
 * shapes (channel-first inside): [C, d1..dk] -> [C, d1*s1..dk*sk] */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "elem_map.h"
#include "layer_util.h"

typedef struct {
    int nd, bilinear;
    int64_t size[3];
    int64_t c, ih, iw, oh, ow;   /* bilinear */
    bk_elem_map map;             /* nearest */
} up_st;

static bk_status up_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd)
{
    up_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->nd = nd;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, "size");
    bk_status st = bk_cfg_ints(doc, cfg, path, "size", nd, 2, s->size);
    for (int j = 0; !st && j < nd; j++)
        if (s->size[j] < 1) st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "size must be >= 1 on every axis");
    if (!st && nd > 1) {
        int cf;
        st = bk_cfg_data_format(doc, cfg, path, &cf);
        if (!st && cf) {
            bk_json_child_path(kp, sizeof kp, path, "data_format");
            st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                                  "channels_first is not supported; export the model with \"channels_last\"");
        }
    }
    if (!st && nd == 2) {
        const char *interp;
        st = bk_json_get_string(doc, cfg, path, "interpolation", "nearest", &interp);
        if (!st && !strcasecmp(interp, "bilinear")) s->bilinear = 1;
        else if (!st && strcasecmp(interp, "nearest")) {
            bk_json_child_path(kp, sizeof kp, path, "interpolation");
            st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                                  "interpolation \"%s\" is not supported; use \"nearest\" or \"bilinear\"", interp);
        }
    }
    return st;
}

static bk_status up1d_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return up_parse(n, doc, cfg, path, 1); }
static bk_status up2d_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return up_parse(n, doc, cfg, path, 2); }
static bk_status up3d_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return up_parse(n, doc, cfg, path, 3); }

static bk_status up_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    up_st *s = n->st;
    bk_shape kin = bk_internal_to_keras(in), kout = kin;
    if (in->ndim != s->nd + 1) {
        char b[64];
        return bk_error(BK_ERR_SHAPE, "layer \"%s\" (%s): expects a rank-%d input (%d spatial axes, then channels), got %s; "
                        "use the 1D/2D/3D layer matching its %d spatial axes", n->name, n->class_name, s->nd + 1, s->nd,
                        bk_shape_str(&kin, b, sizeof b), kin.ndim - 1);
    }
    for (int j = 0; j < s->nd; j++) kout.dims[j] = kin.dims[j] * s->size[j];
    n->out_shape = bk_keras_to_internal(&kout);
    if (s->bilinear) {
        s->c = in->dims[0];
        s->ih = in->dims[1];
        s->iw = in->dims[2];
        s->oh = n->out_shape.dims[1];
        s->ow = n->out_shape.dims[2];
        return BK_OK;
    }
    int64_t out_per = bk_shape_numel(&n->out_shape);
    bk_status st = bk_elem_map_alloc(&s->map, out_per, bk_shape_numel(in));
    if (st) return st;
    int64_t kc[BK_MAX_DIMS];
    for (int64_t i = 0; i < out_per; i++) {
        bk_keras_coords(&n->out_shape, i, kc);
        for (int j = 0; j < s->nd; j++) kc[j] /= s->size[j];
        s->map.src[i] = (int32_t)bk_internal_index(in, kc);
    }
    return BK_OK;
}

/* Source taps of output index o along an axis: lo, hi and the weight of hi. */
static void taps(int64_t o, int64_t size, int64_t in, int64_t *lo, int64_t *hi, float *w)
{
    double src = ((double)o + 0.5) / (double)size - 0.5;
    if (src < 0) src = 0;
    *lo = (int64_t)floor(src);
    if (*lo > in - 1) *lo = in - 1;
    *hi = *lo + 1 < in ? *lo + 1 : in - 1;
    *w = (float)(src - (double)*lo);
}

static bk_status up_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    up_st *s = n->st;
    const float *x = bk_node_in(m, n, 0);
    if (!s->bilinear) {
        bk_elem_map_forward(&s->map, x, n->out, m->batch);
        return BK_OK;
    }
    int64_t planes = m->batch * s->c;
#pragma omp parallel for if (planes * s->oh * s->ow > 65536)
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * s->ih * s->iw;
        float *yp = n->out + p * s->oh * s->ow;
        for (int64_t oy = 0; oy < s->oh; oy++) {
            int64_t y0, y1;
            float wy;
            taps(oy, s->size[0], s->ih, &y0, &y1, &wy);
            for (int64_t ox = 0; ox < s->ow; ox++) {
                int64_t x0, x1;
                float wx;
                taps(ox, s->size[1], s->iw, &x0, &x1, &wx);
                float top = xp[y0 * s->iw + x0] * (1 - wx) + xp[y0 * s->iw + x1] * wx;
                float bot = xp[y1 * s->iw + x0] * (1 - wx) + xp[y1 * s->iw + x1] * wx;
                yp[oy * s->ow + ox] = top * (1 - wy) + bot * wy;
            }
        }
    }
    return BK_OK;
}

static bk_status up_backward(bk_node *n, bk_model *m)
{
    up_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    if (!s->bilinear) {
        bk_elem_map_backward(&s->map, n->grad, dx, m->batch);
        bk_grad_commit(m, n, 0);
        return BK_OK;
    }
    int64_t planes = m->batch * s->c;
#pragma omp parallel for if (planes * s->oh * s->ow > 65536)
    for (int64_t p = 0; p < planes; p++) {
        float *dxp = dx + p * s->ih * s->iw;
        const float *dyp = n->grad + p * s->oh * s->ow;
        memset(dxp, 0, (size_t)(s->ih * s->iw) * sizeof(float));
        for (int64_t oy = 0; oy < s->oh; oy++) {
            int64_t y0, y1;
            float wy;
            taps(oy, s->size[0], s->ih, &y0, &y1, &wy);
            for (int64_t ox = 0; ox < s->ow; ox++) {
                int64_t x0, x1;
                float wx;
                taps(ox, s->size[1], s->iw, &x0, &x1, &wx);
                float g = dyp[oy * s->ow + ox];
                dxp[y0 * s->iw + x0] += g * (1 - wy) * (1 - wx);
                dxp[y0 * s->iw + x1] += g * (1 - wy) * wx;
                dxp[y1 * s->iw + x0] += g * wy * (1 - wx);
                dxp[y1 * s->iw + x1] += g * wy * wx;
            }
        }
    }
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void up_release(bk_node *n, bk_model *m)
{
    (void)m;
    up_st *s = n->st;
    if (!s) return;
    bk_elem_map_free(&s->map);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_upsample1d = {"UpSampling1D", up1d_parse, up_infer, NULL, up_forward, up_backward, up_release};
const bk_layer_class bk_class_upsample2d = {"UpSampling2D", up2d_parse, up_infer, NULL, up_forward, up_backward, up_release};
const bk_layer_class bk_class_upsample3d = {"UpSampling3D", up3d_parse, up_infer, NULL, up_forward, up_backward, up_release};
