#include "init.h"
#include <math.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

const bk_init bk_init_glorot_uniform = {.kind = BK_INIT_VARIANCE_SCALING, .scale = 1.0,
                                        .mode = 2, .distribution = 2};
const bk_init bk_init_zeros = {.kind = BK_INIT_ZEROS};
const bk_init bk_init_ones = {.kind = BK_INIT_ONES};

static const char *const init_names[] = {
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunNormal", "LecunUniform",
    "VarianceScaling", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
    "TruncatedNormal"};

/* Keras also accepts snake_case names ("glorot_uniform"); compare ignoring '_' and case. */
static int name_is(const char *a, const char *b)
{
    while (*a || *b) {
        if (*a == '_') { a++; continue; }
        if (*b == '_') { b++; continue; }
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        a++;
        b++;
    }
    return 1;
}

static bk_status vs(bk_init *o, double scale, int mode, int dist)
{
    o->kind = BK_INIT_VARIANCE_SCALING;
    o->scale = scale;
    o->mode = mode;
    o->distribution = dist;
    return BK_OK;
}

bk_status bk_init_parse(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                        const bk_init *def, bk_init *out)
{
    char kpath[1024], cpath[1024];
    bk_json_child_path(kpath, sizeof kpath, path, key);
    json_t *v = json_object_get(cfg, key);
    *out = *def;
    if (!v || json_is_null(v)) return BK_OK;
    const char *name = NULL;
    json_t *icfg = NULL;
    if (json_is_string(v)) {
        name = json_string_value(v);
    } else if (json_is_object(v)) {
        name = json_string_value(json_object_get(v, "class_name"));
        icfg = json_object_get(v, "config");
        if (icfg && !json_is_object(icfg)) icfg = NULL;
    }
    if (!name)
        return bk_json_error_at(doc, kpath, BK_ERR_INVALID,
                                "expected an initializer name or {\"class_name\": ..., \"config\": {...}}");
    bk_json_child_path(cpath, sizeof cpath, kpath, "config");
    memset(out, 0, sizeof *out);
    bk_status st = BK_OK;
    if (name_is(name, "GlorotUniform")) vs(out, 1.0, 2, 2);
    else if (name_is(name, "GlorotNormal")) vs(out, 1.0, 2, 0);
    else if (name_is(name, "HeUniform")) vs(out, 2.0, 0, 2);
    else if (name_is(name, "HeNormal")) vs(out, 2.0, 0, 0);
    else if (name_is(name, "LecunNormal")) vs(out, 1.0, 0, 0);
    else if (name_is(name, "LecunUniform")) vs(out, 1.0, 0, 2);
    else if (name_is(name, "VarianceScaling")) {
        const char *mode = "fan_in", *dist = "truncated_normal";
        vs(out, 1.0, 0, 0);
        if (icfg) {
            st = bk_json_get_double(doc, icfg, cpath, "scale", 1.0, &out->scale);
            if (!st) st = bk_json_get_string(doc, icfg, cpath, "mode", "fan_in", &mode);
            if (!st) st = bk_json_get_string(doc, icfg, cpath, "distribution", "truncated_normal", &dist);
            if (st) return st;
        }
        if (!strcmp(mode, "fan_in")) out->mode = 0;
        else if (!strcmp(mode, "fan_out")) out->mode = 1;
        else if (!strcmp(mode, "fan_avg")) out->mode = 2;
        else return bk_json_error_at(doc, cpath, BK_ERR_INVALID,
                                     "mode \"%s\": expected fan_in, fan_out or fan_avg", mode);
        if (!strcmp(dist, "truncated_normal") || !strcmp(dist, "normal")) out->distribution = 0;
        else if (!strcmp(dist, "untruncated_normal")) out->distribution = 1;
        else if (!strcmp(dist, "uniform")) out->distribution = 2;
        else return bk_json_error_at(doc, cpath, BK_ERR_INVALID,
                                     "distribution \"%s\": expected truncated_normal, untruncated_normal or uniform", dist);
    } else if (name_is(name, "Zeros")) out->kind = BK_INIT_ZEROS;
    else if (name_is(name, "Ones")) out->kind = BK_INIT_ONES;
    else if (name_is(name, "Constant")) {
        out->kind = BK_INIT_CONSTANT;
        if (icfg) st = bk_json_get_double(doc, icfg, cpath, "value", 0.0, &out->value);
    } else if (name_is(name, "RandomUniform")) {
        out->kind = BK_INIT_UNIFORM;
        out->minval = -0.05;
        out->maxval = 0.05;
        if (icfg) st = bk_json_get_double(doc, icfg, cpath, "minval", -0.05, &out->minval);
        if (icfg && !st) st = bk_json_get_double(doc, icfg, cpath, "maxval", 0.05, &out->maxval);
    } else if (name_is(name, "RandomNormal") || name_is(name, "TruncatedNormal")) {
        out->kind = name_is(name, "RandomNormal") ? BK_INIT_NORMAL : BK_INIT_TRUNC_NORMAL;
        out->stddev = 0.05;
        if (icfg) st = bk_json_get_double(doc, icfg, cpath, "mean", 0.0, &out->mean);
        if (icfg && !st) st = bk_json_get_double(doc, icfg, cpath, "stddev", 0.05, &out->stddev);
    } else {
        return bk_json_unknown_name(doc, kpath, BK_ERR_INVALID, "initializer", name, init_names,
                                    (int)(sizeof init_names / sizeof *init_names));
    }
    if (st) return st;
    if (icfg) {
        json_t *seed = json_object_get(icfg, "seed");
        if (json_is_integer(seed)) {
            out->has_seed = 1;
            out->seed = (uint64_t)json_integer_value(seed);
        }
    }
    return BK_OK;
}

/* Normal draws cut at two standard deviations, redrawn outside, as Keras does. */
static double trunc_normal(bk_rng *r)
{
    for (;;) {
        double z = bk_rng_normal(r);
        if (fabs(z) <= 2.0) return z;
    }
}

void bk_init_fill(const bk_init *in, float *data, int64_t count, bk_fans fans, bk_rng *rng)
{
    bk_rng own;
    if (in->has_seed) {
        bk_rng_seed(&own, in->seed, 0);
        rng = &own;
    }
    switch (in->kind) {
    case BK_INIT_ZEROS:
        memset(data, 0, (size_t)count * sizeof(float));
        return;
    case BK_INIT_ONES:
    case BK_INIT_CONSTANT: {
        float v = in->kind == BK_INIT_ONES ? 1.0f : (float)in->value;
        for (int64_t i = 0; i < count; i++) data[i] = v;
        return;
    }
    case BK_INIT_UNIFORM:
        for (int64_t i = 0; i < count; i++)
            data[i] = (float)(in->minval + (in->maxval - in->minval) * bk_rng_uniform(rng));
        return;
    case BK_INIT_NORMAL:
        for (int64_t i = 0; i < count; i++) data[i] = (float)(in->mean + in->stddev * bk_rng_normal(rng));
        return;
    case BK_INIT_TRUNC_NORMAL:
        for (int64_t i = 0; i < count; i++) data[i] = (float)(in->mean + in->stddev * trunc_normal(rng));
        return;
    case BK_INIT_VARIANCE_SCALING: {
        double fan = in->mode == 0 ? fans.fan_in : in->mode == 1 ? fans.fan_out
                                                                 : (fans.fan_in + fans.fan_out) / 2;
        if (fan < 1) fan = 1;
        double var = in->scale / fan;
        if (in->distribution == 2) {
            double limit = sqrt(3.0 * var);
            for (int64_t i = 0; i < count; i++) data[i] = (float)(limit * (2 * bk_rng_uniform(rng) - 1));
        } else if (in->distribution == 1) {
            double sd = sqrt(var);
            for (int64_t i = 0; i < count; i++) data[i] = (float)(sd * bk_rng_normal(rng));
        } else {
            /* stddev of a unit normal truncated at +-2 is 0.8796...; undo it */
            double sd = sqrt(var) / 0.87962566103423978;
            for (int64_t i = 0; i < count; i++) data[i] = (float)(sd * trunc_normal(rng));
        }
        return;
    }
    }
}
