/* The transform lists of the data section, as the reference CLI writes
 * them: each entry one {"name": value} object, run in list order. */
#include "config_transforms.h"
#include "data/tf_internal.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const names[] = {"resize", "center_crop", "jitter_crop", "random_horizontal_flip",
                                    "random_vertical_flip", "random_zoom", "rotate", "random_rotate",
                                    "convert_color", "normalize", "random_patches"};
static const bk_transform_kind kinds[] = {BK_TF_RESIZE, BK_TF_CENTER_CROP, BK_TF_JITTER_CROP, BK_TF_RANDOM_HFLIP,
                                          BK_TF_RANDOM_VFLIP, BK_TF_RANDOM_ZOOM, BK_TF_ROTATE, BK_TF_RANDOM_ROTATE,
                                          BK_TF_CONVERT_COLOR, BK_TF_NORMALIZE, BK_TF_RANDOM_PATCHES};

/* An integer, or a real with an integral value. */
static int as_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 1;
    }
    double r = json_is_real(v) ? json_real_value(v) : NAN;
    if (!(r == floor(r) && fabs(r) < 9e15)) return 0;
    *out = (int64_t)r;
    return 1;
}

static bk_status wrong_type(const bk_json_doc *doc, const char *path, const char *want, const json_t *v)
{
    char what[64];
    return bk_json_error_at(doc, path, BK_ERR_INVALID, "expected %s, got %s", want, bk_json_describe(v, what, sizeof what));
}

/* "mean" or "std" of normalize: a number or a list of per-channel numbers. */
static bk_status channel_values(const bk_json_doc *doc, json_t *obj, const char *path, const char *key, float def,
                                float *vals, int *n)
{
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    *n = 1;
    vals[0] = def;
    if (!v || json_is_null(v)) return BK_OK;
    if (json_is_number(v)) {
        vals[0] = (float)json_number_value(v);
        return BK_OK;
    }
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > BK_TF_MAX_CHANNELS)
        return wrong_type(doc, kp, "a number or a list of 1 to 64 numbers (one per channel)", v);
    *n = (int)json_array_size(v);
    for (int i = 0; i < *n; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        if (!json_is_number(e)) {
            char ep[1100];
            bk_json_index_path(ep, sizeof ep, kp, (size_t)i);
            return wrong_type(doc, ep, "a number", e);
        }
        vals[i] = (float)json_number_value(e);
    }
    return BK_OK;
}

/* The value v of entry `name` (at JSON path kp) into t. */
static bk_status parse_value(const bk_json_doc *doc, const char *kp, json_t *v, bk_transform *t)
{
    switch (t->kind) {
    case BK_TF_RESIZE:
    case BK_TF_CENTER_CROP: {
        int64_t w, h;
        if (!json_is_array(v) || json_array_size(v) != 2 || !as_int(json_array_get(v, 0), &w) ||
            !as_int(json_array_get(v, 1), &h))
            return wrong_type(doc, kp, "[Sx, Sy]: two integers, width then height", v);
        if (w < 1 || h < 1)
            return bk_json_error_at(doc, kp, BK_ERR_INVALID, "sizes must be positive, got [%lld, %lld]",
                                    (long long)w, (long long)h);
        t->width = w;
        t->height = h;
        return BK_OK;
    }
    case BK_TF_JITTER_CROP:
    case BK_TF_RANDOM_ZOOM:
        if (!json_is_number(v)) return wrong_type(doc, kp, "a number Cmax in [0, 1]", v);
        t->value = json_number_value(v);
        return BK_OK;
    case BK_TF_RANDOM_HFLIP:
    case BK_TF_RANDOM_VFLIP:
        if (!json_is_number(v)) return wrong_type(doc, kp, "a probability p in [0, 1]", v);
        t->value = json_number_value(v);
        return BK_OK;
    case BK_TF_ROTATE:
    case BK_TF_RANDOM_ROTATE:
        if (!json_is_number(v)) return wrong_type(doc, kp, "an angle in degrees", v);
        t->value = json_number_value(v);
        return BK_OK;
    case BK_TF_CONVERT_COLOR: {
        if (!json_is_string(v)) return wrong_type(doc, kp, "an OpenCV colour conversion code such as \"BGR2RGB\"", v);
        const char *name = json_string_value(v);
        /* "COLOR_BGR2RGB" as OpenCV spells the constant */
        if (!strncasecmp(name, "COLOR_", 6)) name += 6;
        if (bk_color_code_from_name(name, &t->color)) return BK_OK;
        const char *known[BK_COLOR_COUNT];
        for (int i = 0; i < BK_COLOR_COUNT; i++) known[i] = bk_color_code_name((bk_color_code)i);
        return bk_json_unknown_name(doc, kp, BK_ERR_INVALID, "colour conversion code", json_string_value(v), known,
                                    BK_COLOR_COUNT);
    }
    case BK_TF_NORMALIZE: {
        static const char *const keys[] = {"mean", "std"};
        if (!json_is_object(v)) return wrong_type(doc, kp, "an object {\"mean\": m, \"std\": s}", v);
        bk_status st = bk_json_check_keys(doc, v, kp, keys, N_OF(keys));
        if (st) return st;
        if (!json_object_get(v, "mean") && !json_object_get(v, "std"))
            return bk_json_error_at(doc, kp, BK_ERR_INVALID, "give \"mean\" and/or \"std\" (numbers, or one per channel)");
        st = channel_values(doc, v, kp, "mean", 0.0f, t->mean, &t->n_mean);
        if (!st) st = channel_values(doc, v, kp, "std", 1.0f, t->std, &t->n_std);
        return st;
    }
    case BK_TF_RANDOM_PATCHES: {
        static const char *const keys[] = {"number", "size"};
        if (!json_is_object(v)) return wrong_type(doc, kp, "an object {\"number\": n, \"size\": s}", v);
        bk_status st = bk_json_check_keys(doc, v, kp, keys, N_OF(keys));
        if (!st) st = bk_json_get_int(doc, v, kp, "number", -1, &t->number);
        if (!st) st = bk_json_get_int(doc, v, kp, "size", -1, &t->size);
        if (st) return st;
        if (t->number == -1 || t->size == -1)
            return bk_json_error_at(doc, kp, BK_ERR_INVALID, "needs \"number\" (patches per sample) and \"size\" "
                                    "(their side in pixels)");
        return BK_OK;
    }
    }
    return bk_json_error_at(doc, kp, BK_ERR_INTERNAL, "transform kind %d has no parser", (int)t->kind);
}

static bk_status parse_entry(const bk_json_doc *doc, json_t *e, const char *ep, bk_transform *t)
{
    memset(t, 0, sizeof *t);
    if (!json_is_object(e)) return wrong_type(doc, ep, "a one-key object such as {\"resize\": [224, 224]}", e);
    size_t n = json_object_size(e);
    if (n != 1) {
        char keys[512] = "";
        size_t used = 0;
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v) {
            int w = snprintf(keys + used, sizeof keys - used, "%s\"%s\"", used ? ", " : "", k);
            if (w < 0 || (size_t)w >= sizeof keys - used) break;
            used += (size_t)w;
        }
        if (!n) return bk_json_error_at(doc, ep, BK_ERR_INVALID, "an empty transform: give one {\"name\": value}, "
                                        "e.g. {\"resize\": [224, 224]}");
        return bk_json_error_at(doc, ep, BK_ERR_INVALID, "a transform is an object with one key; this one has %zu "
                                "(%s): give each its own {...} in the list, in the order they should run", n, keys);
    }
    const char *name = NULL;
    json_t *v = NULL;
    const char *k;
    json_t *x;
    json_object_foreach(e, k, x) {
        name = k;
        v = x;
    }
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, ep, name);
    int i = 0;
    while (i < N_OF(names) && strcasecmp(name, names[i])) i++;
    if (i == N_OF(names)) return bk_json_unknown_name(doc, kp, BK_ERR_INVALID, "transform", name, names, N_OF(names));
    t->kind = kinds[i];
    bk_status st = parse_value(doc, kp, v, t);
    if (st) return st;
    char why[256];
    if (bk_tf_entry_invalid(t, why, sizeof why)) return bk_json_error_at(doc, kp, BK_ERR_INVALID, "%s", why);
    return BK_OK;
}

static bk_status parse_list(const bk_json_doc *doc, json_t *d, const char *path, const char *key,
                            bk_transform_list *out)
{
    char lp[1024];
    bk_json_child_path(lp, sizeof lp, path, key);
    json_t *l = json_object_get(d, key);
    out->n = 0;
    if (!l || json_is_null(l)) return BK_OK;
    if (!json_is_array(l))
        return wrong_type(doc, lp, "a list of transforms such as [{\"resize\": [224, 224]}]", l);
    if (json_array_size(l) > BK_TF_MAX)
        return bk_json_error_at(doc, lp, BK_ERR_INVALID, "%zu transforms; at most %d are supported",
                                json_array_size(l), BK_TF_MAX);
    size_t i;
    json_t *e;
    json_array_foreach(l, i, e) {
        char ep[1100];
        bk_json_index_path(ep, sizeof ep, lp, i);
        bk_status st = parse_entry(doc, e, ep, &out->t[i]);
        if (st) return st;
        out->n = (int)i + 1;
    }
    return BK_OK;
}

bk_status bk_config_parse_transforms(const bk_json_doc *doc, json_t *d, const char *path, bk_transform_config *out)
{
    memset(out, 0, sizeof *out);
    bk_status st = parse_list(doc, d, path, "transforms", &out->shared);
    if (!st) st = parse_list(doc, d, path, "input_transforms", &out->input);
    if (!st) st = parse_list(doc, d, path, "target_transforms", &out->target);
    if (!st) st = bk_json_get_bool(doc, d, path, "target_is_mask", 0, &out->target_is_mask);
    return st;
}
