#include "layer_util.h"
#include <string.h>
#include <strings.h>

bk_status bk_cfg_ints(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                      int nd, int64_t def, int64_t *out)
{
    char kpath[1024];
    bk_json_child_path(kpath, sizeof kpath, path, key);
    json_t *v = json_object_get(cfg, key);
    for (int i = 0; i < nd; i++) out[i] = def;
    if (!v || json_is_null(v)) return BK_OK;
    if (json_is_integer(v)) {
        for (int i = 0; i < nd; i++) out[i] = json_integer_value(v);
        return BK_OK;
    }
    if (json_is_array(v) && (int)json_array_size(v) == nd) {
        for (int i = 0; i < nd; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e))
                return bk_json_error_at(doc, kpath, BK_ERR_INVALID,
                                        "expected %d integers, element %d is not an integer", nd, i);
            out[i] = json_integer_value(e);
        }
        return BK_OK;
    }
    return bk_json_error_at(doc, kpath, BK_ERR_INVALID,
                            "expected an integer or a list of %d integers", nd);
}

bk_status bk_cfg_padding(const bk_json_doc *doc, json_t *cfg, const char *path, int nd,
                         int *mode, int64_t *pad)
{
    char kpath[1024];
    bk_json_child_path(kpath, sizeof kpath, path, "padding");
    json_t *v = json_object_get(cfg, "padding");
    for (int i = 0; i < nd; i++) pad[i] = 0;
    *mode = 0;
    if (!v) return BK_OK;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcasecmp(s, "valid")) return BK_OK;
        if (!strcasecmp(s, "same")) {
            *mode = 1;
            return BK_OK;
        }
        return bk_json_error_at(doc, kpath, BK_ERR_INVALID,
                                "padding \"%s\": expected \"valid\", \"same\" or an integer", s);
    }
    *mode = 2;
    return bk_cfg_ints(doc, cfg, path, "padding", nd, 0, pad);
}

bk_status bk_cfg_data_format(const bk_json_doc *doc, json_t *cfg, const char *path, int *cf)
{
    const char *fmt = NULL;
    *cf = 0;
    bk_status st = bk_json_get_string(doc, cfg, path, "data_format", "channels_last", &fmt);
    if (st) return st;
    if (!strcmp(fmt, "channels_last")) return BK_OK;
    if (!strcmp(fmt, "channels_first")) {
        *cf = 1;
        return BK_OK;
    }
    char kpath[1024];
    bk_json_child_path(kpath, sizeof kpath, path, "data_format");
    return bk_json_error_at(doc, kpath, BK_ERR_INVALID,
                            "\"%s\": expected \"channels_last\" or \"channels_first\"", fmt);
}

static const struct { const char *name; bk_act act; float alpha; } act_table[] = {
    {"linear", BK_ACT_LINEAR, 0}, {"relu", BK_ACT_RELU, 0}, {"leaky_relu", BK_ACT_RELU, 0.2f},
    {"elu", BK_ACT_ELU, 1.0f}, {"sigmoid", BK_ACT_SIGMOID, 0}, {"tanh", BK_ACT_TANH, 0},
    {"softmax", BK_ACT_SOFTMAX, 0}, {"log_softmax", BK_ACT_LOG_SOFTMAX, 0},
    {"log_softmax_v2", BK_ACT_LOG_SOFTMAX, 0}, /* TensorFlow's name for tf.nn.log_softmax in exports */
    {"swish", BK_ACT_SWISH, 0}, {"silu", BK_ACT_SWISH, 0}, {"gelu", BK_ACT_GELU, 0},
    {"softplus", BK_ACT_SOFTPLUS, 0}, {"softsign", BK_ACT_SOFTSIGN, 0}, {"selu", BK_ACT_SELU, 0},
    {"exponential", BK_ACT_EXPONENTIAL, 0}, {"relu6", BK_ACT_RELU6, 0},
    /* slope set per model by the Keras version (layer_activation.c) */
    {"hard_sigmoid", BK_ACT_HARD_SIGMOID, 1.0f / 6.0f}};
#define N_ACTS ((int)(sizeof act_table / sizeof act_table[0]))

bk_status bk_parse_activation_name(const char *name, bk_act *act, float *alpha)
{
    for (int i = 0; i < N_ACTS; i++)
        if (!strcasecmp(name, act_table[i].name)) {
            *act = act_table[i].act;
            *alpha = act_table[i].alpha;
            return BK_OK;
        }
    return BK_ERR_INVALID;
}

const char *bk_activation_name(bk_act act)
{
    for (int i = 0; i < N_ACTS; i++)
        if (act_table[i].act == act) return act_table[i].name;
    return "?";
}

bk_status bk_cfg_activation(const bk_json_doc *doc, json_t *cfg, const char *path,
                            const char *key, bk_act *act, float *alpha)
{
    const char *name;
    bk_status st = bk_json_get_string(doc, cfg, path, key, "linear", &name);
    if (st) return st;
    if (bk_parse_activation_name(name, act, alpha) == BK_OK) return BK_OK;
    const char *names[N_ACTS];
    for (int i = 0; i < N_ACTS; i++) names[i] = act_table[i].name;
    char kpath[1024];
    bk_json_child_path(kpath, sizeof kpath, path, key);
    return bk_json_unknown_name(doc, kpath, BK_ERR_INVALID, "activation", name, names, N_ACTS);
}

bk_status bk_conv_axis(int64_t in, int64_t k, int64_t stride, int64_t dil, int mode,
                       int64_t explicit_pad, int64_t *out, int64_t *pad_l, int64_t *pad_r)
{
    int64_t ek = (k - 1) * dil + 1;
    if (k < 1 || stride < 1 || dil < 1)
        return bk_error(BK_ERR_INVALID, "kernel %lld, stride %lld and dilation %lld must be >= 1",
                        (long long)k, (long long)stride, (long long)dil);
    if (mode == 1) {
        *out = (in + stride - 1) / stride;
        int64_t total = (*out - 1) * stride + ek - in;
        if (total < 0) total = 0;
        *pad_l = total / 2; /* Keras/TF put the odd pixel at the end */
        *pad_r = total - *pad_l;
    } else {
        int64_t p = mode == 2 ? explicit_pad : 0;
        *pad_l = *pad_r = p;
        if (in + 2 * p < ek)
            return bk_error(BK_ERR_SHAPE, "input size %lld is smaller than the (dilated) kernel %lld",
                            (long long)(in + 2 * p), (long long)ek);
        *out = (in + 2 * p - ek) / stride + 1;
    }
    return BK_OK;
}

bk_plan *bk_plan_cache_get(bk_plan_cache *c, int64_t batch)
{
    for (int i = 0; i < BK_PLAN_SLOTS; i++)
        if (c->plan[i] && c->batch[i] == batch) return c->plan[i];
    return NULL;
}

void bk_plan_cache_put(bk_plan_cache *c, const bk_backend *be, int64_t batch, bk_plan *p)
{
    int slot = c->next;
    c->next = (c->next + 1) % BK_PLAN_SLOTS;
    if (c->plan[slot]) be->plan_destroy(c->plan[slot]);
    c->plan[slot] = p;
    c->batch[slot] = batch;
}

void bk_plan_cache_clear(bk_plan_cache *c, const bk_backend *be)
{
    for (int i = 0; i < BK_PLAN_SLOTS; i++) {
        if (c->plan[i]) be->plan_destroy(c->plan[i]);
        c->plan[i] = NULL;
    }
}

bk_status bk_matmul_cached(bk_plan_cache *c, const bk_model *m, const bk_matmul_desc *d, const float *a,
                           const float *b, const float *bias, float *out)
{
    bk_plan *p = bk_plan_cache_get(c, m->batch);
    if (!p) {
        bk_status st = m->be->matmul_plan(&p, d);
        if (st) return st;
        bk_plan_cache_put(c, m->be, m->batch, p);
    }
    return m->be->matmul(p, a, b, bias, out);
}

static const bk_layer_class *const all_classes[] = {
    &bk_class_input, &bk_class_conv1d, &bk_class_conv2d, &bk_class_conv3d, &bk_class_dense,
    &bk_class_dwconv1d, &bk_class_dwconv2d, &bk_class_dwconv3d, &bk_class_sepconv1d, &bk_class_sepconv2d, &bk_class_conv1d_t, &bk_class_conv2d_t, &bk_class_conv3d_t,
    &bk_class_maxpool1d, &bk_class_maxpool2d, &bk_class_maxpool3d, &bk_class_avgpool1d,
    &bk_class_avgpool2d, &bk_class_avgpool3d, &bk_class_gap1d, &bk_class_gap2d, &bk_class_gap3d,
    &bk_class_batchnorm, &bk_class_dropout, &bk_class_flatten, &bk_class_reshape,
    &bk_class_activation, &bk_class_relu, &bk_class_leakyrelu, &bk_class_softmax,
    &bk_class_elu_layer, &bk_class_add, &bk_class_concatenate,
    &bk_class_layernorm, &bk_class_groupnorm, &bk_class_instancenorm, &bk_class_spatial_dropout1d, &bk_class_spatial_dropout2d, &bk_class_spatial_dropout3d, &bk_class_upsample1d, &bk_class_upsample2d, &bk_class_upsample3d, &bk_class_zeropad1d, &bk_class_zeropad2d, &bk_class_zeropad3d, &bk_class_crop1d, &bk_class_crop2d, &bk_class_crop3d, &bk_class_permute, &bk_class_repeatvector,
    &bk_class_subtract, &bk_class_multiply, &bk_class_average, &bk_class_maximum, &bk_class_minimum, &bk_class_dot, &bk_class_prelu, &bk_class_gmp1d, &bk_class_gmp2d, &bk_class_gmp3d,
    &bk_class_sigmoid_layer, &bk_class_tanh_layer, &bk_class_swish_layer, &bk_class_log_softmax_layer};
#define N_CLASSES ((int)(sizeof all_classes / sizeof all_classes[0]))

const bk_layer_class *bk_layer_class_find(const char *name)
{
    for (int i = 0; i < N_CLASSES; i++)
        if (!strcmp(all_classes[i]->name, name)) return all_classes[i];
    return NULL;
}

int bk_layer_class_names(const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < N_CLASSES && n < max; i++) names[n++] = all_classes[i]->name;
    return n;
}

bk_shape bk_keras_to_internal(const bk_shape *k)
{
    bk_shape s = *k;
    if (k->ndim >= 2) {
        s.dims[0] = k->dims[k->ndim - 1];
        for (int i = 0; i < k->ndim - 1; i++) s.dims[i + 1] = k->dims[i];
    }
    return s;
}

bk_shape bk_internal_to_keras(const bk_shape *s)
{
    bk_shape k = *s;
    if (s->ndim >= 2) {
        for (int i = 1; i < s->ndim; i++) k.dims[i - 1] = s->dims[i];
        k.dims[s->ndim - 1] = s->dims[0];
    }
    return k;
}

/* Per row: internal [C, S] (S = product of the spatial dims) <-> Keras [S, C]. */
void bk_to_keras_order(const float *src, float *dst, int64_t batch, const bk_shape *internal)
{
    int64_t per = bk_shape_numel(internal);
    int64_t c = internal->ndim >= 2 ? internal->dims[0] : 1, sp = per / (c ? c : 1);
#pragma omp parallel for if (batch * per > 65536)
    for (int64_t b = 0; b < batch; b++)
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t s = 0; s < sp; s++) dst[b * per + s * c + ci] = src[b * per + ci * sp + s];
}

void bk_from_keras_order(const float *src, float *dst, int64_t batch, const bk_shape *internal)
{
    int64_t per = bk_shape_numel(internal);
    int64_t c = internal->ndim >= 2 ? internal->dims[0] : 1, sp = per / (c ? c : 1);
#pragma omp parallel for if (batch * per > 65536)
    for (int64_t b = 0; b < batch; b++)
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t s = 0; s < sp; s++) dst[b * per + ci * sp + s] = src[b * per + s * c + ci];
}
