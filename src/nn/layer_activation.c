/* Activation, LeakyReLU and ELU layers, and the internal step that
 * carries a Conv/Dense `activation` key (ReLU, PReLU: layer_relu.c;
 * the Softmax layer: layer_softmax.c). Element-wise kinds go to
 * the backend's eltwise ops; softmax kinds to its softmax over channels. */
#include <stdlib.h>
#include <string.h>
#include "layer_util.h"

typedef struct {
    bk_act act;
    float alpha;
    bk_plan_cache plans;
} act_st;

static bk_status act_new(bk_node *n, bk_act act, float alpha)
{
    act_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    s->act = act;
    s->alpha = alpha;
    n->st = s;
    return BK_OK;
}

static bk_status activation_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    bk_act act;
    float alpha;
    bk_status st = bk_cfg_activation(doc, cfg, path, "activation", &act, &alpha);
    return st ? st : act_new(n, act, alpha);
}

static bk_status leaky_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    double alpha;
    /* Keras 2 calls it alpha (default 0.3), Keras 3 negative_slope (0.3) */
    bk_status st = bk_json_get_double(doc, cfg, path, "alpha", 0.3, &alpha);
    if (!st && json_object_get(cfg, "negative_slope"))
        st = bk_json_get_double(doc, cfg, path, "negative_slope", 0.3, &alpha);
    return st ? st : act_new(n, BK_ACT_RELU, (float)alpha);
}

static bk_status elu_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    double alpha;
    bk_status st = bk_json_get_double(doc, cfg, path, "alpha", 1.0, &alpha);
    return st ? st : act_new(n, BK_ACT_ELU, (float)alpha);
}

/* The training CLI's own activation layer classes (no Keras equivalent:
 * Keras writes Activation with an `activation` key): Sigmoid, Tanh, Swish
 * and log_softmax (over the channels, as Keras' softmax). They take no keys
 * beyond the common ones. */
static bk_status sigmoid_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    (void)doc, (void)cfg, (void)path;
    return act_new(n, BK_ACT_SIGMOID, 0.0f);
}

static bk_status tanh_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    (void)doc, (void)cfg, (void)path;
    return act_new(n, BK_ACT_TANH, 0.0f);
}

static bk_status swish_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    (void)doc, (void)cfg, (void)path;
    return act_new(n, BK_ACT_SWISH, 0.0f);
}

static bk_status log_softmax_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    (void)doc, (void)cfg, (void)path;
    return act_new(n, BK_ACT_LOG_SOFTMAX, 0.0f);
}

/* Keras 1 and 2 define hard_sigmoid(x) = clip(0.2 x + 0.5, 0, 1); Keras 3
 * relu6(x + 3) / 6, slope 1/6. A network without "keras_version" gets
 * Keras 3's: what current Keras writes and what PyTorch's hardsigmoid is. */
static float hard_sigmoid_slope(const bk_model *m)
{
    return m->keras_major == 1 || m->keras_major == 2 ? 0.2f : 1.0f / 6.0f;
}

static int is_softmax(bk_act a) { return a == BK_ACT_SOFTMAX || a == BK_ACT_LOG_SOFTMAX; }

static bk_status act_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    act_st *s = n->st;
    if (s->act == BK_ACT_HARD_SIGMOID) s->alpha = hard_sigmoid_slope(m);
    n->may_overwrite_input = bk_act_backward_from_output(s->act, s->alpha);
    n->is_plain_relu = s->act == BK_ACT_RELU && s->alpha == 0;
    n->layout_role = is_softmax(s->act) ? BK_LAYOUT_PLAIN : BK_LAYOUT_FOLLOW;
    n->out_shape = *in;
    return BK_OK;
}


static bk_status act_get_plan(bk_node *n, bk_model *m, bk_plan **p)
{
    act_st *s = n->st;
    *p = bk_plan_cache_get(&s->plans, m->batch);
    if (*p) return BK_OK;
    const bk_shape *sh = &n->out_shape;
    bk_status st;
    if (is_softmax(s->act)) {
        int64_t c = sh->ndim ? sh->dims[0] : 1;
        st = m->be->softmax_plan(p, m->batch, c, bk_shape_numel(sh) / c, s->act == BK_ACT_LOG_SOFTMAX);
    } else {
        st = m->be->act_plan(p, s->act, s->alpha, m->batch * bk_shape_numel(sh));
    }
    if (st) return st;
    bk_plan_cache_put(&s->plans, m->be, m->batch, *p);
    return BK_OK;
}

static bk_status act_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    act_st *s = n->st;
    const float *x = bk_node_in(m, n, 0);
    if (x == n->out && m->nodes[n->in[0]].relu_fused) return BK_OK; /* applied as x was written */
    if (s->act == BK_ACT_LINEAR) {
        memcpy(n->out, x, (size_t)(m->batch * bk_shape_numel(&n->out_shape)) * sizeof(float));
        return BK_OK;
    }
    bk_plan *p;
    bk_status st = act_get_plan(n, m, &p);
    if (st) return st;
    return is_softmax(s->act) ? m->be->softmax_forward(p, x, n->out) : m->be->act_forward(p, x, n->out);
}

static bk_status act_backward(bk_node *n, bk_model *m)
{
    act_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    bk_status st = BK_OK;
    if (s->act == BK_ACT_LINEAR) {
        memcpy(dx, n->grad, (size_t)(m->batch * bk_shape_numel(&n->out_shape)) * sizeof(float));
    } else {
        bk_plan *p;
        st = act_get_plan(n, m, &p);
        if (!st)
            st = is_softmax(s->act) ? m->be->softmax_backward(p, n->out, n->grad, dx)
                                    : m->be->act_backward(p, bk_node_in(m, n, 0), n->out, n->grad, dx);
    }
    if (!st) bk_grad_commit(m, n, 0);
    return st;
}

static void act_release(bk_node *n, bk_model *m)
{
    act_st *s = n->st;
    if (!s) return;
    bk_plan_cache_clear(&s->plans, m->be);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_activation = {"Activation", activation_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_leakyrelu = {"LeakyReLU", leaky_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_elu_layer = {"ELU", elu_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_sigmoid_layer = {"Sigmoid", sigmoid_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_tanh_layer = {"Tanh", tanh_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_swish_layer = {"Swish", swish_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_log_softmax_layer = {"log_softmax", log_softmax_parse, act_infer, NULL, act_forward, act_backward, act_release};
const bk_layer_class bk_class_act_internal = {"activation", NULL, act_infer, NULL, act_forward, act_backward, act_release};

int bk_add_activation_node(bk_model *m, int src, bk_act act, float alpha)
{
    if (act == BK_ACT_LINEAR) return src;
    char name[BK_NAME_LEN + 16];
    snprintf(name, sizeof name, "%s/%s", m->nodes[src].name, bk_activation_name(act));
    int idx = bk_model_add_node(m, name, &bk_class_act_internal);
    if (idx < 0) return -1;
    bk_node *n = &m->nodes[idx];
    snprintf(n->class_name, sizeof n->class_name, "activation");
    n->hidden = 1;
    n->n_in = 1;
    n->in[0] = src;
    n->keras_rank = m->nodes[src].keras_rank;
    if (act_new(n, act, alpha)) return -1;
    return idx;
}
