/* Helpers shared by the layer files: reading Keras layer configs, Keras'
 * padding arithmetic, per-batch-size plan caches, and the activation step
 * used both by Activation layers and by the `activation` key. */
#ifndef BK_NN_LAYER_UTIL_H
#define BK_NN_LAYER_UTIL_H

#include "graph.h"
#include "init.h"

/* Reads key as an int or a list of nd ints (Keras tuples); def if absent. */
bk_status bk_cfg_ints(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                      int nd, int64_t def, int64_t *out);
/* Keras padding: "valid" -> 0, "same" -> 1; an int or tuple -> explicit
 * symmetric padding in pad[] (returns 2). */
bk_status bk_cfg_padding(const bk_json_doc *doc, json_t *cfg, const char *path, int nd,
                         int *mode, int64_t *pad);
/* Requires data_format absent or "channels_last" (or channels_first). Sets *cf. */
bk_status bk_cfg_data_format(const bk_json_doc *doc, json_t *cfg, const char *path, int *cf);
/* Parses an activation name ("relu", "linear", ...). */
bk_status bk_cfg_activation(const bk_json_doc *doc, json_t *cfg, const char *path,
                            const char *key, bk_act *act, float *alpha);
bk_status bk_parse_activation_name(const char *name, bk_act *act, float *alpha);
const char *bk_activation_name(bk_act act);

/* Output size and padding along one axis, as Keras computes them.
 * mode 0 valid, 1 same, 2 explicit (pad_l = pad_r = *explicit_pad). */
bk_status bk_conv_axis(int64_t in, int64_t k, int64_t stride, int64_t dil, int mode,
                       int64_t explicit_pad, int64_t *out, int64_t *pad_l, int64_t *pad_r);

/* A small cache of backend plans keyed by batch size (full and last batch). */
#define BK_PLAN_SLOTS 3
typedef struct {
    int64_t batch[BK_PLAN_SLOTS];
    bk_plan *plan[BK_PLAN_SLOTS];
    int next;
} bk_plan_cache;
/* Returns the cached plan for batch, or NULL (then build and bk_plan_cache_put). */
bk_plan *bk_plan_cache_get(bk_plan_cache *c, int64_t batch);
void bk_plan_cache_put(bk_plan_cache *c, const bk_backend *be, int64_t batch, bk_plan *p);
void bk_plan_cache_clear(bk_plan_cache *c, const bk_backend *be);

/* Runs the product d (backend matmul) through the plan cached in c for the
 * model's batch size, building it on first use. */
bk_status bk_matmul_cached(bk_plan_cache *c, const bk_model *m, const bk_matmul_desc *d, const float *a,
                           const float *b, const float *bias, float *out);

/* Adds an internal activation node after node `src` (for the `activation`
 * key of Conv/Dense); returns its index or -1. Linear adds nothing and
 * returns src. */
int bk_add_activation_node(bk_model *m, int src, bk_act act, float alpha);

/* Layer classes, looked up by Keras class name (NULL when unknown). */
const bk_layer_class *bk_layer_class_find(const char *name);
/* All known class names (for "did you mean"). */
int bk_layer_class_names(const char **names, int max);

/* Every layer file exposes its classes here. */
extern const bk_layer_class bk_class_input, bk_class_conv1d, bk_class_conv2d, bk_class_conv3d,
    bk_class_dense, bk_class_maxpool1d, bk_class_maxpool2d, bk_class_maxpool3d,
    bk_class_avgpool1d, bk_class_avgpool2d, bk_class_avgpool3d, bk_class_gap1d,
    bk_class_gap2d, bk_class_gap3d, bk_class_batchnorm, bk_class_dropout, bk_class_flatten,
    bk_class_reshape, bk_class_activation, bk_class_relu, bk_class_leakyrelu,
    bk_class_softmax, bk_class_elu_layer, bk_class_act_internal, bk_class_add,
    bk_class_concatenate;
extern const bk_layer_class bk_class_dwconv1d, bk_class_dwconv2d, bk_class_dwconv3d, bk_class_sepconv1d, bk_class_sepconv2d, bk_class_conv1d_t, bk_class_conv2d_t, bk_class_conv3d_t;
extern const bk_layer_class bk_class_layernorm, bk_class_groupnorm, bk_class_instancenorm, bk_class_spatial_dropout1d, bk_class_spatial_dropout2d, bk_class_spatial_dropout3d, bk_class_upsample1d, bk_class_upsample2d, bk_class_upsample3d, bk_class_zeropad1d, bk_class_zeropad2d, bk_class_zeropad3d, bk_class_crop1d, bk_class_crop2d, bk_class_crop3d, bk_class_permute, bk_class_repeatvector;
extern const bk_layer_class bk_class_sigmoid_layer, bk_class_tanh_layer, bk_class_swish_layer, bk_class_log_softmax_layer;
extern const bk_layer_class bk_class_subtract, bk_class_multiply, bk_class_average, bk_class_maximum, bk_class_minimum, bk_class_dot, bk_class_prelu, bk_class_gmp1d, bk_class_gmp2d, bk_class_gmp3d;

/* Keras channels_last shape (no batch) -> channel-first shape, and back. */
bk_shape bk_keras_to_internal(const bk_shape *k);
bk_shape bk_internal_to_keras(const bk_shape *s);
/* Copies rows of [batch, internal shape] into Keras element order, and back. */
void bk_to_keras_order(const float *src, float *dst, int64_t batch, const bk_shape *internal);
void bk_from_keras_order(const float *src, float *dst, int64_t batch, const bk_shape *internal);
#endif
