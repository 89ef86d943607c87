/* SpatialDropout1D/2D/3D (Keras): inverted dropout of whole channels.
 * One draw per (sample, channel) keeps or drops the channel's every value,
 * seeded from (seed, step, layer) as Dropout is, so a step replays.
 * shapes (channel-first inside): [C, spatial...] -> the same */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    int nd;
    double rate;
    float *mask;       /* [batch, C] */
    int64_t mask_len;
} sdrop_st;

static bk_status sdrop_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd)
{
    sdrop_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    s->nd = nd;
    char kp[1024];
    bk_status st = bk_json_get_double(doc, cfg, path, "rate", 0.5, &s->rate);
    if (!st && (s->rate < 0 || s->rate >= 1)) {
        bk_json_child_path(kp, sizeof kp, path, "rate");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "rate %g must be in [0, 1)", s->rate);
    }
    if (!st && nd > 1) {
        int cf;
        st = bk_cfg_data_format(doc, cfg, path, &cf);
        if (!st && cf) {
            bk_json_child_path(kp, sizeof kp, path, "data_format");
            st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                                  "channels_first is not supported; export the model with \"channels_last\"");
        }
    }
    return st;
}

static bk_status sd1_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return sdrop_parse(n, doc, cfg, path, 1); }
static bk_status sd2_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return sdrop_parse(n, doc, cfg, path, 2); }
static bk_status sd3_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return sdrop_parse(n, doc, cfg, path, 3); }

static bk_status sdrop_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    sdrop_st *s = n->st;
    if (in->ndim != s->nd + 1) {
        char b[64];
        bk_shape k = bk_internal_to_keras(in);
        return bk_error(BK_ERR_SHAPE, "layer \"%s\" (%s): expects a rank-%d input (%d spatial axes, then channels), got %s; "
                        "use the 1D/2D/3D layer matching its %d spatial axes", n->name, n->class_name, s->nd + 1, s->nd,
                        bk_shape_str(&k, b, sizeof b), k.ndim - 1);
    }
    n->out_shape = *in;
    return BK_OK;
}

static bk_status sdrop_forward(bk_node *n, bk_model *m, int training)
{
    sdrop_st *s = n->st;
    int64_t per = bk_shape_numel(&n->out_shape), c = n->out_shape.dims[0], sp = per / c;
    const float *x = bk_node_in(m, n, 0);
    if (!training || s->rate == 0) {
        memcpy(n->out, x, (size_t)(m->batch * per) * sizeof(float));
        return BK_OK;
    }
    int64_t count = m->batch * c;
    if (s->mask_len < count) {
        free(s->mask);
        s->mask = malloc((size_t)count * sizeof(float));
        if (!s->mask) return bk_error(BK_ERR_NOMEM, "out of memory for a dropout mask");
        s->mask_len = count;
    }
    bk_rng r;
    bk_node_rng(m, n, 0xD0u + m->step * 0x10000u, &r);
    bk_rng_advance(&r, 2 * (uint64_t)m->row_offset * (uint64_t)c); /* rows before ours in the global batch */
    float keep = (float)(1.0 - s->rate), scale = 1.0f / keep;
    for (int64_t i = 0; i < count; i++) s->mask[i] = bk_rng_uniform(&r) < keep ? scale : 0.0f;
#pragma omp parallel for if (m->batch * per > 65536)
    for (int64_t i = 0; i < count; i++)
        for (int64_t j = 0; j < sp; j++) n->out[i * sp + j] = x[i * sp + j] * s->mask[i];
    return BK_OK;
}

static bk_status sdrop_backward(bk_node *n, bk_model *m)
{
    sdrop_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    int64_t per = bk_shape_numel(&n->out_shape), c = n->out_shape.dims[0], sp = per / c;
    if (s->rate == 0) {
        memcpy(dx, n->grad, (size_t)(m->batch * per) * sizeof(float));
    } else {
#pragma omp parallel for if (m->batch * per > 65536)
        for (int64_t i = 0; i < m->batch * c; i++)
            for (int64_t j = 0; j < sp; j++) dx[i * sp + j] = n->grad[i * sp + j] * s->mask[i];
    }
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void sdrop_release(bk_node *n, bk_model *m)
{
    (void)m;
    sdrop_st *s = n->st;
    if (!s) return;
    free(s->mask);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_spatial_dropout1d = {"SpatialDropout1D", sd1_parse, sdrop_infer, NULL, sdrop_forward, sdrop_backward, sdrop_release};
const bk_layer_class bk_class_spatial_dropout2d = {"SpatialDropout2D", sd2_parse, sdrop_infer, NULL, sdrop_forward, sdrop_backward, sdrop_release};
const bk_layer_class bk_class_spatial_dropout3d = {"SpatialDropout3D", sd3_parse, sdrop_infer, NULL, sdrop_forward, sdrop_backward, sdrop_release};
