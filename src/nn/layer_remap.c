/* Layers that only move values, through a per-sample element map built
 * once per shape (elem_map.h), defined in Keras coordinates:
 *   ZeroPadding1D/2D/3D  out[.., p, ..] = in[.., p - before, ..] or 0
 *   Cropping1D/2D/3D     out[.., p, ..] = in[.., p + before, ..]
 *   Permute              Keras output axis j is input axis dims[j] - 1
 *   RepeatVector         (F,) -> (n, F)
 * Padding and cropping take Keras' forms: an int (every side), a list of
 * one int per spatial axis (both sides), or one [before, after] pair per
 * axis (Cropping1D/ZeroPadding1D: a pair [before, after]). */
#include <stdlib.h>
#include "elem_map.h"
#include "layer_util.h"

typedef enum { REMAP_PAD, REMAP_CROP, REMAP_PERMUTE, REMAP_REPEAT } remap_kind;

typedef struct {
    remap_kind kind;
    int nd;                     /* spatial axes (padding/cropping) */
    int64_t lo[3], hi[3];
    int64_t perm[BK_MAX_DIMS];  /* Permute: 0-based Keras input axis of each output axis */
    int n_perm;
    int64_t repeat;
    bk_elem_map map;
} remap_st;

static bk_status remap_new(bk_node *n, remap_kind kind, int nd, remap_st **out)
{
    *out = NULL;
    remap_st *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    s->kind = kind;
    s->nd = nd;
    n->st = s;
    *out = s;
    return BK_OK;
}

/* Reads Keras padding/cropping amounts (see the file comment). */
static bk_status read_pairs(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key, int nd,
                            int64_t def, int64_t *lo, int64_t *hi)
{
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(cfg, key);
    for (int i = 0; i < nd; i++) lo[i] = hi[i] = def;
    const char *forms = nd == 1 ? "an integer or a pair [before, after]"
                      : nd == 2 ? "an integer, a list of 2 integers or [[top, bottom], [left, right]]"
                                : "an integer, a list of 3 integers or 3 pairs [before, after]";
    if (!v || json_is_null(v)) return BK_OK;
    if (json_is_integer(v)) {
        for (int i = 0; i < nd; i++) lo[i] = hi[i] = json_integer_value(v);
    } else if (nd == 1 && json_is_array(v) && json_array_size(v) == 2 && json_is_integer(json_array_get(v, 0)) &&
               json_is_integer(json_array_get(v, 1))) {
        lo[0] = json_integer_value(json_array_get(v, 0));
        hi[0] = json_integer_value(json_array_get(v, 1));
    } else if (json_is_array(v) && (int)json_array_size(v) == nd) {
        for (int i = 0; i < nd; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            if (json_is_integer(e)) {
                lo[i] = hi[i] = json_integer_value(e);
            } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_integer(json_array_get(e, 0)) &&
                       json_is_integer(json_array_get(e, 1))) {
                lo[i] = json_integer_value(json_array_get(e, 0));
                hi[i] = json_integer_value(json_array_get(e, 1));
            } else {
                return bk_json_error_at(doc, kp, BK_ERR_INVALID, "element %d: expected %s", i, forms);
            }
        }
    } else {
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "expected %s", forms);
    }
    for (int i = 0; i < nd; i++)
        if (lo[i] < 0 || hi[i] < 0)
            return bk_json_error_at(doc, kp, BK_ERR_INVALID, "amounts must be >= 0 (axis %d has %lld, %lld)", i,
                                    (long long)lo[i], (long long)hi[i]);
    return BK_OK;
}

static bk_status channels_last_only(const bk_json_doc *doc, json_t *cfg, const char *path)
{
    int cf;
    bk_status st = bk_cfg_data_format(doc, cfg, path, &cf);
    if (st || !cf) return st;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, "data_format");
    return bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                            "channels_first is not supported; export the model with \"channels_last\"");
}

static bk_status padcrop_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path, remap_kind kind, int nd)
{
    remap_st *s;
    bk_status st = remap_new(n, kind, nd, &s);
    if (st) return st;
    /* Keras defaults: ZeroPadding 1 everywhere; Cropping1D (1, 1), Cropping2D 0, Cropping3D 1 */
    int64_t def = kind == REMAP_PAD ? 1 : nd == 2 ? 0 : 1;
    st = read_pairs(doc, cfg, path, kind == REMAP_PAD ? "padding" : "cropping", nd, def, s->lo, s->hi);
    if (!st && nd > 1) st = channels_last_only(doc, cfg, path);
    return st;
}

#define PADCROP_PARSE(fn, kind, nd)                                                             \
    static bk_status fn(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)      \
    {                                                                                           \
        return padcrop_parse(n, doc, cfg, path, kind, nd);                                      \
    }
PADCROP_PARSE(zeropad1d_parse, REMAP_PAD, 1)
PADCROP_PARSE(zeropad2d_parse, REMAP_PAD, 2)
PADCROP_PARSE(zeropad3d_parse, REMAP_PAD, 3)
PADCROP_PARSE(crop1d_parse, REMAP_CROP, 1)
PADCROP_PARSE(crop2d_parse, REMAP_CROP, 2)
PADCROP_PARSE(crop3d_parse, REMAP_CROP, 3)

static bk_status permute_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    remap_st *s;
    bk_status st = remap_new(n, REMAP_PERMUTE, 0, &s);
    if (st) return st;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, "dims");
    json_t *v = json_object_get(cfg, "dims");
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > BK_MAX_DIMS)
        return bk_json_error_at(doc, kp, BK_ERR_INVALID,
                                "expected a list of 1-based axes, such as [2, 1] (a permutation of 1..rank)");
    s->n_perm = (int)json_array_size(v);
    int seen[BK_MAX_DIMS] = {0};
    for (int i = 0; i < s->n_perm; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        json_int_t a = json_is_integer(e) ? json_integer_value(e) : 0;
        if (a < 1 || a > s->n_perm || seen[a - 1]++)
            return bk_json_error_at(doc, kp, BK_ERR_INVALID,
                                    "dims must be a permutation of 1..%d (1-based axes after the batch axis)",
                                    s->n_perm);
        s->perm[i] = a - 1;
    }
    return BK_OK;
}

static bk_status repeat_parse(bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    remap_st *s;
    bk_status st = remap_new(n, REMAP_REPEAT, 0, &s);
    if (st) return st;
    st = bk_json_get_int(doc, cfg, path, "n", 0, &s->repeat);
    if (!st && s->repeat < 1) {
        char kp[1024];
        bk_json_child_path(kp, sizeof kp, path, "n");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "n must be a positive integer (the number of repeats)");
    }
    return st;
}

static bk_status remap_infer(bk_node *n, bk_model *m, const bk_shape *in)
{
    (void)m;
    remap_st *s = n->st;
    bk_shape kin = bk_internal_to_keras(in), kout = kin;
    char b[64];
    int r = in->ndim;
    if ((s->kind == REMAP_PAD || s->kind == REMAP_CROP) && r != s->nd + 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\" (%s): expects a rank-%d input (%d spatial axes, then channels), got %s; "
                        "use the 1D/2D/3D layer matching its %d spatial axes", n->name, n->class_name, s->nd + 1, s->nd,
                        bk_shape_str(&kin, b, sizeof b), kin.ndim - 1);
    if (s->kind == REMAP_PERMUTE && r != s->n_perm)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\" (Permute): dims has %d axes but the input %s has %d; "
                        "list every axis after the batch axis once", n->name, s->n_perm,
                        bk_shape_str(&kin, b, sizeof b), r);
    if (s->kind == REMAP_REPEAT && r != 1)
        return bk_error(BK_ERR_SHAPE, "layer \"%s\" (RepeatVector): expects a flat input (features,), got %s; "
                        "put a Flatten layer before it", n->name, bk_shape_str(&kin, b, sizeof b));
    for (int j = 0; j < s->nd; j++) {
        kout.dims[j] = s->kind == REMAP_PAD ? kin.dims[j] + s->lo[j] + s->hi[j] : kin.dims[j] - s->lo[j] - s->hi[j];
        if (kout.dims[j] < 1)
            return bk_error(BK_ERR_SHAPE, "layer \"%s\" (%s): cropping %lld + %lld from axis %d of size %lld "
                            "leaves nothing; reduce \"cropping\"", n->name, n->class_name, (long long)s->lo[j],
                            (long long)s->hi[j], j + 1, (long long)kin.dims[j]);
    }
    for (int j = 0; j < s->n_perm; j++) kout.dims[j] = kin.dims[s->perm[j]];
    if (s->kind == REMAP_REPEAT) kout = (bk_shape){.ndim = 2, .dims = {s->repeat, kin.dims[0]}};
    n->out_shape = bk_keras_to_internal(&kout);
    n->keras_rank = kout.ndim;
    int64_t out_per = bk_shape_numel(&n->out_shape);
    bk_status st = bk_elem_map_alloc(&s->map, out_per, bk_shape_numel(in));
    if (st) return st;
    int64_t ko[BK_MAX_DIMS], ki[BK_MAX_DIMS];
    for (int64_t i = 0; i < out_per; i++) {
        bk_keras_coords(&n->out_shape, i, ko);
        int inside = 1;
        for (int j = 0; j < r; j++) ki[j] = ko[j];
        for (int j = 0; j < s->nd; j++) {
            ki[j] = s->kind == REMAP_PAD ? ko[j] - s->lo[j] : ko[j] + s->lo[j];
            inside &= ki[j] >= 0 && ki[j] < kin.dims[j];
        }
        for (int j = 0; j < s->n_perm; j++) ki[s->perm[j]] = ko[j];
        if (s->kind == REMAP_REPEAT) ki[0] = ko[1];
        s->map.src[i] = inside ? (int32_t)bk_internal_index(in, ki) : -1;
    }
    return BK_OK;
}

static bk_status remap_forward(bk_node *n, bk_model *m, int training)
{
    (void)training;
    remap_st *s = n->st;
    bk_elem_map_forward(&s->map, bk_node_in(m, n, 0), n->out, m->batch);
    return BK_OK;
}

static bk_status remap_backward(bk_node *n, bk_model *m)
{
    remap_st *s = n->st;
    float *dx = bk_grad_dst(m, n, 0);
    if (!dx) return BK_OK;
    bk_elem_map_backward(&s->map, n->grad, dx, m->batch);
    bk_grad_commit(m, n, 0);
    return BK_OK;
}

static void remap_release(bk_node *n, bk_model *m)
{
    (void)m;
    remap_st *s = n->st;
    if (!s) return;
    bk_elem_map_free(&s->map);
    free(s);
    n->st = NULL;
}

#define REMAP_CLASS(var, name, parse) \
    const bk_layer_class var = {name, parse, remap_infer, NULL, remap_forward, remap_backward, remap_release};
REMAP_CLASS(bk_class_zeropad1d, "ZeroPadding1D", zeropad1d_parse)
REMAP_CLASS(bk_class_zeropad2d, "ZeroPadding2D", zeropad2d_parse)
REMAP_CLASS(bk_class_zeropad3d, "ZeroPadding3D", zeropad3d_parse)
REMAP_CLASS(bk_class_crop1d, "Cropping1D", crop1d_parse)
REMAP_CLASS(bk_class_crop2d, "Cropping2D", crop2d_parse)
REMAP_CLASS(bk_class_crop3d, "Cropping3D", crop3d_parse)
REMAP_CLASS(bk_class_permute, "Permute", permute_parse)
REMAP_CLASS(bk_class_repeatvector, "RepeatVector", repeat_parse)
