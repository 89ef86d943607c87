/* Conv1DTranspose / Conv2DTranspose / Conv3DTranspose (Keras), through the
 * backend's transposed convolution.
 *   x [N, Cin, S...] -> y [N, filters, S'...]; w [Cin, filters, k...]
 *   (PyTorch's ConvTranspose layout), b [filters].
 * Output size as Keras' conv_utils.deconv_output_length; which part of the
 * full transposed result that is follows TensorFlow's conv2d_transpose,
 * which computes the gradient of a convolution of an input that size:
 * "same" pads that convolution's input by total/2 at the start (the odd
 * pixel at the end), "valid" not at all. */
#include <stdlib.h>
#include "layer_conv.h"

typedef struct {
    bk_conv_cfg c;
    int has_out_pad;
    int64_t filters, out_pad[3];
    bk_init kinit, binit;
    bk_conv_desc desc;
    bk_plan_cache plans;
} convt_st;

static bk_status convt_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, int nd)
{
    convt_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    char kp[1024];
    bk_status st = bk_conv_cfg_parse(n, doc, cfg, path, nd, &s->c);
    if (!st && s->c.pad_mode == 2) {
        bk_json_child_path(kp, sizeof kp, path, "padding");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "a transposed convolution takes padding \"valid\" or \"same\"");
    }
    if (!st) st = bk_cfg_positive_int(doc, cfg, path, "filters", 0, &s->filters);
    int64_t groups = 1;
    /* Keras 2 writes the base Conv's "groups": 1; Keras has no grouped transposed convolution */
    if (!st) st = bk_json_get_int(doc, cfg, path, "groups", 1, &groups);
    if (!st && groups != 1) {
        bk_json_child_path(kp, sizeof kp, path, "groups");
        st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED, "groups %lld: Keras' transposed convolutions have groups 1",
                              (long long)groups);
    }
    json_t *op = json_object_get(cfg, "output_padding");
    s->has_out_pad = op && !json_is_null(op);
    if (!st) st = bk_cfg_ints(doc, cfg, path, "output_padding", nd, 0, s->out_pad);
    for (int i = 0; i < nd && !st && s->has_out_pad; i++)
        if (s->out_pad[i] < 0 || s->out_pad[i] >= s->c.stride[i]) {
            bk_json_child_path(kp, sizeof kp, path, "output_padding");
            st = bk_json_error_at(doc, kp, BK_ERR_INVALID,
                                  "output_padding %lld on axis %d must be >= 0 and smaller than the stride %lld (as Keras requires)",
                                  (long long)s->out_pad[i], i, (long long)s->c.stride[i]);
        }
    if (!st) st = bk_init_parse(doc, cfg, path, "kernel_initializer", &bk_init_glorot_uniform, &s->kinit);
    if (!st) st = bk_init_parse(doc, cfg, path, "bias_initializer", &bk_init_zeros, &s->binit);
    return st;
}

static bk_status convt1_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return convt_parse(n, d, c, p, 1); }
static bk_status convt2_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return convt_parse(n, d, c, p, 2); }
static bk_status convt3_parse(bk_node *n, const bk_json_doc *d, json_t *c, const char *p) { return convt_parse(n, d, c, p, 3); }

/* Keras' deconv_output_length for padding "valid" (same = 0) or "same". */
static int64_t keras_deconv_length(int64_t in, int64_t ek, int64_t stride, int same, int has_op, int64_t op)
{
    if (!has_op) return same ? in * stride : in * stride + (ek > stride ? ek - stride : 0);
    int64_t pad = same ? ek / 2 : 0;
    return (in - 1) * stride + ek - 2 * pad + op;
}

static bk_status convt_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    n->backward_ignores_out = 1; /* backward reads the input and the gradient */
    n->can_fuse_relu = 1;
    n->layout_role = BK_LAYOUT_ANY;
    convt_st *s = n->st;
    int nd = s->c.nd;
    char b[64];
    bk_shape kin = bk_internal_to_keras(in);
    if (in->ndim != nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\": expects a %dD input with channels (rank %d without batch), got shape %s",
                        n->name, nd, nd + 1, bk_shape_str(&kin, b, sizeof b));
    bk_conv_desc *d = &s->desc;
    d->nd = nd;
    d->cin = in->dims[0];
    d->cout = s->filters;
    d->groups = 1;
    d->has_bias = s->c.use_bias;
    bk_shape out = {.ndim = nd + 1, .dims = {s->filters}};
    for (int i = 0; i < nd; i++) {
        int64_t ek = (s->c.k[i] - 1) * s->c.dil[i] + 1;
        d->in[i] = in->dims[1 + i];
        d->k[i] = s->c.k[i];
        d->stride[i] = s->c.stride[i];
        d->dil[i] = s->c.dil[i];
        d->out[i] = keras_deconv_length(d->in[i], ek, d->stride[i], s->c.pad_mode == 1, s->has_out_pad, s->out_pad[i]);
        if (d->out[i] < 1)
            return bk_error(BK_ERR_SHAPE, "layer \"%s\": axis %d of the output would have size %lld; "
                            "change kernel_size, padding or output_padding", n->name, i, (long long)d->out[i]);
        int64_t total = (d->in[i] - 1) * d->stride[i] + ek - d->out[i];
        d->pad_l[i] = s->c.pad_mode == 1 && total > 0 ? total / 2 : 0;
        d->pad_r[i] = total - d->pad_l[i]; /* negative: outputs past the full result */
        out.dims[1 + i] = d->out[i];
    }
    n->out_shape = out;
    bk_shape w = {.ndim = 2 + nd, .dims = {d->cin, s->filters}};
    for (int i = 0; i < nd; i++) w.dims[2 + i] = s->c.k[i];
    if (bk_node_param(m, n, "weight", &w, 0) < 0) return BK_ERR_NOMEM;
    if (s->c.use_bias) {
        bk_shape bs = {.ndim = 1, .dims = {s->filters}};
        if (bk_node_param(m, n, "bias", &bs, 0) < 0) return BK_ERR_NOMEM;
    }
    return BK_OK;
}

static void convt_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    convt_st *s = n->st;
    bk_param *w = bk_node_p(m, n, 0);
    double rf = bk_conv_cfg_rf(&s->c);
    /* Keras' kernel is (k..., filters, Cin): fan_in counts the filters */
    bk_fans f = {(double)s->filters * rf, (double)s->desc.cin * rf};
    bk_init_fill(&s->kinit, w->data, bk_shape_numel(&w->shape), f, rng);
    if (s->c.use_bias) bk_init_fill(&s->binit, bk_node_p(m, n, 1)->data, s->filters, f, rng);
}

static bk_status convt_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    convt_st *s = n->st;
    return bk_conv_node_forward(n, m, &s->plans, &s->desc, m->be->deconv_plan, s->c.use_bias);
}

static bk_status convt_backward(bk_node *n, bk_model *m)
{
    convt_st *s = n->st;
    return bk_conv_node_backward(n, m, &s->plans, &s->desc, m->be->deconv_plan, s->c.use_bias);
}

static void convt_release(bk_node *n, bk_model *m)
{
    convt_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_conv1d_t = {"Conv1DTranspose", convt1_parse, convt_infer, convt_init, convt_forward, convt_backward, convt_release};
const bk_layer_class bk_class_conv2d_t = {"Conv2DTranspose", convt2_parse, convt_infer, convt_init, convt_forward, convt_backward, convt_release};
const bk_layer_class bk_class_conv3d_t = {"Conv3DTranspose", convt3_parse, convt_infer, convt_init, convt_forward, convt_backward, convt_release};
