/* What the convolution-family layer files share: the Keras config keys
 * every convolution has, and building backend plans per batch size. */
#ifndef BK_NN_LAYER_CONV_H
#define BK_NN_LAYER_CONV_H
#include "layer_util.h"

typedef struct {
    int nd, pad_mode, use_bias;      /* pad_mode as bk_cfg_padding */
    int64_t k[3], stride[3], dil[3], pad[3];
} bk_conv_cfg;

/* Reads kernel_size (required, positive), strides, dilation_rate, padding,
 * use_bias, data_format (channels_last only) and activation (into n). */
bk_status bk_conv_cfg_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd,
                            bk_conv_cfg *c);
/* Reads an integer key that must be >= 1 (def when absent; def 0 = required). */
bk_status bk_cfg_positive_int(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                              int64_t def, int64_t *out);
/* Fills d's spatial fields from the input shape with Keras' convolution
 * arithmetic; d->out gets the output size. */
bk_status bk_conv_cfg_desc(const bk_conv_cfg *c, const bk_shape *in, bk_conv_desc *d);
/* The receptive-field size k0*k1*... (Keras' fan arithmetic). */
double bk_conv_cfg_rf(const bk_conv_cfg *c);

/* The cached plan of desc for the model's current batch size, building it
 * with make (conv_plan or deconv_plan) when missing. */
bk_status bk_conv_plan_get(bk_plan_cache *cache, const bk_model *m, const bk_conv_desc *desc,
                           bk_status (*make)(bk_plan **, const bk_conv_desc *), bk_plan **p);

/* A node whose weight is parameter 0 (and bias parameter 1 when use_bias)
 * and which runs through the backend's convolution slots with the plan of
 * desc (built by make): its forward pass, and its backward pass (weight and
 * bias gradients unless frozen, then the input gradient). */
typedef bk_status (*bk_conv_plan_fn)(bk_plan **, const bk_conv_desc *);
bk_status bk_conv_node_forward(bk_node *n, bk_model *m, bk_plan_cache *cache, const bk_conv_desc *desc,
                               bk_conv_plan_fn make, int use_bias);
bk_status bk_conv_node_backward(bk_node *n, bk_model *m, bk_plan_cache *cache, const bk_conv_desc *desc,
                                bk_conv_plan_fn make, int use_bias);
#endif
