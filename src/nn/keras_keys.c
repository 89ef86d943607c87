#include "keras_keys.h"
#include <string.h>
#include <strings.h>

bk_status bk_keras_regularizer(const bk_json_doc *doc, json_t *v, const char *path, double *l1, double *l2)
{
    *l1 = *l2 = 0;
    if (!v || json_is_null(v)) return BK_OK;
    const char *cls = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "class_name"));
    json_t *cfg = json_is_object(v) ? json_object_get(v, "config") : NULL;
    if (!cls)
        return bk_json_error_at(doc, path, BK_ERR_INVALID,
                                "expected null or a regularizer {\"class_name\": \"L1L2\", \"config\": {\"l1\": ..., \"l2\": ...}}");
    /* Keras' defaults: L1(l1=0.01), L2(l2=0.01), L1L2(l1=0, l2=0); the
     * string "l1_l2" means L1L2(0.01, 0.01) */
    double d1, d2;
    if (!strcasecmp(cls, "L1L2")) d1 = d2 = 0;
    else if (!strcasecmp(cls, "l1_l2")) d1 = d2 = 0.01;
    else if (!strcasecmp(cls, "L1")) d1 = 0.01, d2 = 0;
    else if (!strcasecmp(cls, "L2")) d1 = 0, d2 = 0.01;
    else {
        static const char *const known[] = {"L1L2", "L1", "L2"};
        return bk_json_unknown_name(doc, path, BK_ERR_UNSUPPORTED, "(or unsupported) regularizer", cls, known, 3);
    }
    *l1 = d1;
    *l2 = d2;
    if (!json_is_object(cfg)) return BK_OK;
    char cp[1024];
    bk_json_child_path(cp, sizeof cp, path, "config");
    bk_status st = BK_OK;
    if (d1 != 0 || !strcasecmp(cls, "L1L2")) st = bk_json_get_double(doc, cfg, cp, "l1", d1, l1);
    if (!st && (d2 != 0 || !strcasecmp(cls, "L1L2"))) st = bk_json_get_double(doc, cfg, cp, "l2", d2, l2);
    if (!st && (*l1 < 0 || *l2 < 0))
        st = bk_json_error_at(doc, cp, BK_ERR_INVALID, "l1 %g and l2 %g must not be negative", *l1, *l2);
    return st;
}

/* Keras weight name (the key's prefix) -> brisk parameter suffix. */
static const struct { const char *keras, *suffix; } weight_names[] = {
    {"kernel", "weight"}, {"bias", "bias"}, {"gamma", "weight"}, {"beta", "bias"},
    {"alpha", "weight"}, {"embeddings", "weight"}, {"depthwise", "weight"}};

static bk_param *find_param(bk_model *m, bk_node *n, const char *suffix)
{
    for (int k = 0; k < n->n_params; k++) {
        bk_param *p = bk_node_p(m, n, k);
        const char *dot = strrchr(p->name, '.');
        if (dot && !strcmp(dot + 1, suffix)) return p;
    }
    return NULL;
}

static int ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t a = strlen(s), b = strlen(suffix);
    *stem = a >= b ? a - b : 0;
    return a >= b && !strcmp(s + a - b, suffix);
}

bk_status bk_keras_weight_keys(bk_model *m, bk_node *n, const bk_json_doc *doc, json_t *cfg, const char *path)
{
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) {
        size_t stem;
        char kp[1024];
        bk_json_child_path(kp, sizeof kp, path, key);
        if (ends_with(key, "_constraint", &stem)) {
            if (json_is_null(v)) continue;
            const char *cls = json_is_object(v) ? json_string_value(json_object_get(v, "class_name")) : json_string_value(v);
            return bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                                    "weight constraints (%s) are not supported; set it to null (a constraint "
                                    "projects the weights after every update, which brisk does not do)",
                                    cls ? cls : "?");
        }
        if (!ends_with(key, "_regularizer", &stem)) continue;
        if (!strcmp(key, "activity_regularizer")) {
            if (json_is_null(v)) continue;
            return bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED,
                                    "activity regularizers are not supported; set it to null "
                                    "(weight regularizers such as kernel_regularizer are)");
        }
        double l1, l2;
        bk_status st = bk_keras_regularizer(doc, v, kp, &l1, &l2);
        if (st) return st;
        if (l1 == 0 && l2 == 0) continue;
        const char *suffix = NULL;
        for (size_t i = 0; i < sizeof weight_names / sizeof *weight_names; i++)
            if (strlen(weight_names[i].keras) == stem && !strncmp(key, weight_names[i].keras, stem))
                suffix = weight_names[i].suffix;
        if (!suffix)
            return bk_json_error_at(doc, kp, BK_ERR_UNSUPPORTED, "layer \"%s\" (%s): this regularizer is not supported",
                                    n->name, n->class_name);
        /* like Keras, a regularizer of a weight the layer does not have
         * (bias_regularizer with use_bias false) is ignored */
        bk_param *p = find_param(m, n, suffix);
        if (!p) continue;
        p->l1 = (float)l1;
        p->l2 = (float)l2;
    }
    return BK_OK;
}
