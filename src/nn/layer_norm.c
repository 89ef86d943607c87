/* LayerNormalization, GroupNormalization and InstanceNormalization (Keras
 * and the tfa / keras-contrib add-ons), through norm_core.h.
 *
 *   LayerNormalization   per sample over `axis` (int or list; Keras default
 *                        -1); gamma/beta shaped like those axes.
 *   GroupNormalization   per sample and group of `groups` consecutive
 *                        channels along `axis` (default -1) over every other
 *                        axis; gamma/beta per channel. groups = -1 (tfa):
 *                        one group per channel.
 *   InstanceNormalization
 *                        with a "groups" key (tfa, which writes -1): group
 *                        normalization with one group per channel. Without
 *                        it (keras-contrib): (x - mean) / (std + eps) per
 *                        sample over every axis but `axis` (default None:
 *                        over the whole sample, scalar gamma/beta).
 *                        With an "affine" key (the reference CLI's files
 *                        give PyTorch's InstanceNorm arguments: affine,
 *                        track_running_stats, momentum, epsilon): per sample
 *                        and channel, as tfa; gamma/beta only when affine;
 *                        epsilon 1e-5 by default, as PyTorch's.
 * Defaults as Keras: epsilon 1e-3, center and scale true. Parameters are
 * named weight (gamma) and bias (beta), as in PyTorch. */
#include <stdlib.h>
#include "elem_map.h"
#include "layer_util.h"
#include "norm_core.h"

typedef enum { NORM_LAYER, NORM_GROUP, NORM_INSTANCE_TFA, NORM_INSTANCE_CONTRIB } norm_kind;

typedef struct {
    norm_kind kind;
    int64_t axes[BK_MAX_DIMS];
    int n_axes;                 /* 0: axis None (keras-contrib) */
    int64_t groups;
    double eps;
    int center, scale;
    bk_init ginit, binit;
    bk_norm core;
} norm_st;

/* Reads an axis key (int or list of ints); null leaves n = 0. */
static bk_status read_axes(const bk_json_doc *doc, json_t *cfg, const char *path, int allow_list, int allow_null,
                           int64_t *axes, int *n)
{
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, "axis");
    json_t *v = json_object_get(cfg, "axis");
    *n = 1;
    axes[0] = -1;
    if (!v) return BK_OK;
    if (json_is_null(v)) {
        if (allow_null) {
            *n = 0;
            return BK_OK;
        }
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "axis must be an integer (-1: the channels)");
    }
    if (json_is_integer(v)) {
        axes[0] = json_integer_value(v);
        return BK_OK;
    }
    if (json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= BK_MAX_DIMS &&
        (allow_list || json_array_size(v) == 1)) {
        *n = (int)json_array_size(v);
        for (int i = 0; i < *n; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e))
                return bk_json_error_at(doc, kp, BK_ERR_INVALID, "element %d is not an integer", i);
            axes[i] = json_integer_value(e);
        }
        return BK_OK;
    }
    return bk_json_error_at(doc, kp, BK_ERR_INVALID, allow_list ? "expected an integer or a list of integers (axes)"
                                                                : "expected one integer axis (-1: the channels)");
}

static bk_status norm_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, norm_kind kind)
{
    norm_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    n->st = s;
    json_t *affine = kind == NORM_INSTANCE_TFA ? json_object_get(cfg, "affine") : NULL;
    if (kind == NORM_INSTANCE_TFA && !json_object_get(cfg, "groups") && !affine) kind = NORM_INSTANCE_CONTRIB;
    s->kind = kind;
    bk_status st = read_axes(doc, cfg, path, kind == NORM_LAYER, kind == NORM_INSTANCE_CONTRIB, s->axes, &s->n_axes);
    if (!st && kind == NORM_INSTANCE_CONTRIB && !json_object_get(cfg, "axis")) s->n_axes = 0;
    if (!st) st = bk_json_get_double(doc, cfg, path, "epsilon", 1e-3, &s->eps);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "center", 1, &s->center);
    if (!st) st = bk_json_get_bool(doc, cfg, path, "scale", 1, &s->scale);
    if (!st) st = bk_init_parse(doc, cfg, path, "gamma_initializer", &bk_init_ones, &s->ginit);
    if (!st) st = bk_init_parse(doc, cfg, path, "beta_initializer", &bk_init_zeros, &s->binit);
    char kp[1024];
    if (!st && s->eps < 0) {
        bk_json_child_path(kp, sizeof kp, path, "epsilon");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "epsilon %g must be >= 0", s->eps);
    }
    if (!st && kind == NORM_LAYER) {
        int rms = 0;
        st = bk_json_get_bool(doc, cfg, path, "rms_scaling", 0, &rms);
        if (!st && rms) {
            bk_json_child_path(kp, sizeof kp, path, "rms_scaling");
            st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED, "rms_scaling is not supported; set it to false");
        }
    }
    if (!st && kind == NORM_GROUP) {
        st = bk_json_get_int(doc, cfg, path, "groups", 32, &s->groups);
        if (!st && (s->groups == 0 || s->groups < -1)) {
            bk_json_child_path(kp, sizeof kp, path, "groups");
            st = bk_json_error_at(doc, kp, BK_ERR_INVALID,
                                  "groups must be a positive divisor of the channel count (or -1: one per channel)");
        }
    }
    if (!st && kind == NORM_INSTANCE_TFA) s->groups = -1;
    if (!st && affine) {
        int aff = 0, track = 0;
        st = bk_json_get_bool(doc, cfg, path, "affine", 0, &aff);
        if (!st) st = bk_json_get_bool(doc, cfg, path, "track_running_stats", 0, &track);
        if (!st) st = bk_json_get_double(doc, cfg, path, "epsilon", 1e-5, &s->eps);
        if (!st && track) {
            bk_json_child_path(kp, sizeof kp, path, "track_running_stats");
            st = bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED, "running statistics of InstanceNormalization are not "
                                  "supported; set it to false (each sample is normalized by its own statistics)");
        }
        s->center = s->scale = aff;
    }
    return st;
}

static bk_status ln_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return norm_parse(n, doc, cfg, path, NORM_LAYER); }
static bk_status gn_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return norm_parse(n, doc, cfg, path, NORM_GROUP); }
static bk_status in_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path) { return norm_parse(n, doc, cfg, path, NORM_INSTANCE_TFA); }

static bk_status norm_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    norm_st *s = n->st;
    bk_shape k = bk_internal_to_keras(in);
    int r = k.ndim, mask[BK_MAX_DIMS] = {0}, gmask[BK_MAX_DIMS] = {0}, axis = -1;
    char b[64];
    for (int i = 0; i < s->n_axes; i++) {
        int a = bk_keras_axis(s->axes[i], r);
        if (a < 0 || mask[a])
            return bk_error(BK_ERR_INVALID, "layer \"%s\" (%s): axis %lld is %s for its input %s; use axes 1..%d "
                            "(-1: the channels), each once", n->name, n->class_name, (long long)s->axes[i],
                            a < 0 ? "out of range" : "listed twice", bk_shape_str(&k, b, sizeof b), r);
        mask[a] = 1;
        axis = a;
    }
    n->out_shape = *in;
    s->core.eps = s->eps;
    s->core.eps_outside = s->kind == NORM_INSTANCE_CONTRIB;
    int64_t div = 1;
    if (s->kind == NORM_LAYER) {
        for (int a = 0; a < r; a++) gmask[a] = !mask[a];
        axis = -1;
    } else {
        if (axis >= 0) gmask[axis] = 1;
        if (s->kind == NORM_GROUP) {
            int64_t c = k.dims[axis], g = s->groups == -1 ? c : s->groups;
            if (c % g)
                return bk_error(BK_ERR_INVALID, "layer \"%s\" (GroupNormalization): groups %lld does not divide the "
                                "%lld channels of axis %lld; choose a divisor of %lld", n->name, (long long)g,
                                (long long)c, (long long)s->axes[0], (long long)c);
            div = c / g;
        }
    }
    bk_status st = bk_norm_setup(&s->core, in, mask, gmask, axis, div);
    if (st) return st;
    bk_shape p = {.ndim = 0};
    for (int a = 0; a < r; a++)
        if (mask[a]) p.dims[p.ndim++] = k.dims[a];
    if (p.ndim == 0) p = (bk_shape){.ndim = 1, .dims = {1}};
    if (s->scale && bk_node_param(m, n, "weight", &p, 0) < 0) return BK_ERR_NOMEM;
    if (s->center && bk_node_param(m, n, "bias", &p, 0) < 0) return BK_ERR_NOMEM;
    return BK_OK;
}

static float *gamma_of(bk_node *n, bk_model *m, int grad)
{
    norm_st *s = n->st;
    if (!s->scale) return NULL;
    return grad ? bk_node_p(m, n, 0)->grad : bk_node_p(m, n, 0)->data;
}

static float *beta_of(bk_node *n, bk_model *m, int grad)
{
    norm_st *s = n->st;
    if (!s->center) return NULL;
    return grad ? bk_node_p(m, n, s->scale)->grad : bk_node_p(m, n, s->scale)->data;
}

static void norm_init(bk_node *n, bk_model *m, bk_rng *rng)
{
    norm_st *s = n->st;
    bk_fans f = {(double)s->core.n_param, (double)s->core.n_param};
    if (s->scale) bk_init_fill(&s->ginit, gamma_of(n, m, 0), s->core.n_param, f, rng);
    if (s->center) bk_init_fill(&s->binit, beta_of(n, m, 0), s->core.n_param, f, rng);
}

static bk_status norm_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    norm_st *s = n->st;
    return bk_norm_forward(&s->core, bk_node_in(m, n, 0), gamma_of(n, m, 0), beta_of(n, m, 0), NULL, NULL, n->out,
                           m->batch);
}

static bk_status norm_backward(bk_node *n, bk_model *m)
{
    norm_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    bk_norm_backward(&s->core, bk_node_in(m, n, 0), n->grad, gamma_of(n, m, 0), dx, gamma_of(n, m, 1),
                     beta_of(n, m, 1), m->batch);
    if (dx) bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void norm_release(bk_node *n, bk_model *m)
{
    (void)m;
    norm_st *s = n->st;
    if (!s) return;
    bk_norm_free(&s->core);
    free(s);
    n->st = NULL;
}

const bk_layer_class bk_class_layernorm = {"LayerNormalization", ln_parse, norm_infer, norm_init, norm_forward, norm_backward, norm_release};
const bk_layer_class bk_class_groupnorm = {"GroupNormalization", gn_parse, norm_infer, norm_init, norm_forward, norm_backward, norm_release};
const bk_layer_class bk_class_instancenorm = {"InstanceNormalization", in_parse, norm_infer, norm_init, norm_forward, norm_backward, norm_release};
