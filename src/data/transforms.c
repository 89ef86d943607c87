/* The transforms of the run configuration as one bk_sample_transform.
 *
 * A side (0 input, 1 target) runs the shared list ("transforms") and then
 * its own ("input_transforms" or "target_transforms"). Every random entry
 * draws from its own stream of (seed, epoch, sample, list, position): the
 * input and the target of a sample see the same draws in the shared list,
 * and a resumed run sees the draws of the uninterrupted one. Nothing is
 * written after creation, so apply and out_shape may run on many threads. */
#include "tf_internal.h"
#include "core/rng.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE_PX 65536 /* a width or height beyond this is a typo, not an image */

static const char *const kind_names[] = {
    [BK_TF_RESIZE] = "resize",
    [BK_TF_CENTER_CROP] = "center_crop",
    [BK_TF_JITTER_CROP] = "jitter_crop",
    [BK_TF_RANDOM_HFLIP] = "random_horizontal_flip",
    [BK_TF_RANDOM_VFLIP] = "random_vertical_flip",
    [BK_TF_RANDOM_ZOOM] = "random_zoom",
    [BK_TF_ROTATE] = "rotate",
    [BK_TF_RANDOM_ROTATE] = "random_rotate",
    [BK_TF_CONVERT_COLOR] = "convert_color",
    [BK_TF_NORMALIZE] = "normalize",
    [BK_TF_RANDOM_PATCHES] = "random_patches",
};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

static const char *const list_names[] = {"transforms", "input_transforms", "target_transforms"};

const char *bk_tf_kind_name(bk_transform_kind kind)
{
    return (unsigned)kind < (unsigned)N_KINDS ? kind_names[kind] : "(unknown transform)";
}

int bk_tf_entry_invalid(const bk_transform *t, char *why, size_t n)
{
    switch (t->kind) {
    case BK_TF_RESIZE:
    case BK_TF_CENTER_CROP:
        if (t->width < 1 || t->height < 1 || t->width > MAX_SIDE_PX || t->height > MAX_SIDE_PX) {
            snprintf(why, n, "width and height must be in [1, %d], got [%lld, %lld]", MAX_SIDE_PX,
                     (long long)t->width, (long long)t->height);
            return 1;
        }
        return 0;
    case BK_TF_JITTER_CROP:
    case BK_TF_RANDOM_ZOOM:
    case BK_TF_RANDOM_HFLIP:
    case BK_TF_RANDOM_VFLIP:
        if (!(t->value >= 0 && t->value <= 1)) {
            snprintf(why, n, "%s must be in [0, 1], got %g",
                     t->kind == BK_TF_JITTER_CROP || t->kind == BK_TF_RANDOM_ZOOM ? "Cmax" : "the probability p",
                     t->value);
            return 1;
        }
        return 0;
    case BK_TF_ROTATE:
    case BK_TF_RANDOM_ROTATE:
        if (!isfinite(t->value) || fabs(t->value) > 1e6 || (t->kind == BK_TF_RANDOM_ROTATE && t->value < 0)) {
            snprintf(why, n, "%s must be a %snumber of degrees, got %g",
                     t->kind == BK_TF_ROTATE ? "the angle" : "alpha",
                     t->kind == BK_TF_ROTATE ? "" : "non-negative ", t->value);
            return 1;
        }
        return 0;
    case BK_TF_CONVERT_COLOR:
        if ((unsigned)t->color >= BK_COLOR_COUNT) {
            snprintf(why, n, "unknown colour conversion code %d", (int)t->color);
            return 1;
        }
        return 0;
    case BK_TF_NORMALIZE:
        if (t->n_mean < 1 || t->n_std < 1 || t->n_mean > BK_TF_MAX_CHANNELS || t->n_std > BK_TF_MAX_CHANNELS) {
            snprintf(why, n, "mean and std need 1 to %d values each, got %d and %d", BK_TF_MAX_CHANNELS,
                     t->n_mean, t->n_std);
            return 1;
        }
        if (t->n_mean > 1 && t->n_std > 1 && t->n_mean != t->n_std) {
            snprintf(why, n, "mean has %d values and std %d; give one per channel (or one for all) in each",
                     t->n_mean, t->n_std);
            return 1;
        }
        for (int i = 0; i < t->n_mean; i++)
            if (!isfinite(t->mean[i])) {
                snprintf(why, n, "mean[%d] is not a finite number", i);
                return 1;
            }
        for (int i = 0; i < t->n_std; i++)
            if (!isfinite(t->std[i]) || t->std[i] <= 0) {
                snprintf(why, n, "std%s must be positive, got %g", t->n_std > 1 ? "[i]" : "", (double)t->std[i]);
                return 1;
            }
        return 0;
    case BK_TF_RANDOM_PATCHES:
        if (t->number < 1 || t->number > 1000000 || t->size < 1 || t->size > MAX_SIDE_PX) {
            snprintf(why, n, "number must be in [1, 1000000] and size in [1, %d], got %lld and %lld", MAX_SIDE_PX,
                     (long long)t->number, (long long)t->size);
            return 1;
        }
        return 0;
    }
    snprintf(why, n, "unknown transform kind %d", (int)t->kind);
    return 1;
}

int bk_transform_config_any(const bk_transform_config *cfg)
{
    return cfg && (cfg->shared.n > 0 || cfg->input.n > 0 || cfg->target.n > 0);
}

/* ---- sample geometry ---- */

/* A sample as channels x depth x height x width; rank is that of its shape:
 * 2 = [H, W] (one channel), 3 = [C, H, W], 4 = [C, D, H, W]. */
typedef struct {
    int rank;
    int64_t c, d, h, w;
} geom;

static int geom_of(const bk_shape *s, geom *g)
{
    memset(g, 0, sizeof *g);
    g->rank = s->ndim;
    g->c = g->d = 1;
    switch (s->ndim) {
    case 2: g->h = s->dims[0]; g->w = s->dims[1]; return 1;
    case 3: g->c = s->dims[0]; g->h = s->dims[1]; g->w = s->dims[2]; return 1;
    case 4: g->c = s->dims[0]; g->d = s->dims[1]; g->h = s->dims[2]; g->w = s->dims[3]; return 1;
    default: return 0;
    }
}

static bk_shape shape_of(const geom *g)
{
    int64_t dims[4] = {g->c, g->d, g->h, g->w};
    if (g->rank == 4) return bk_shape_make(4, dims);
    dims[1] = g->h;
    dims[2] = g->w;
    /* an [H, W] sample given colour channels becomes [C, H, W] */
    if (g->rank == 2 && g->c == 1) return bk_shape_make(2, dims + 1);
    return bk_shape_make(3, dims);
}

/* ---- one entry on one sample ---- */

typedef struct {
    const bk_transform_config *cfg;
    int side;         /* 0 input, 1 target */
    int mask;         /* nearest-neighbour resampling, labels kept integral */
    int eval;         /* epoch -1: random geometry off */
    int list, pos;    /* where the entry is, for messages and its stream */
    const bk_shape *in_shape; /* the sample as read, for messages */
} step_env;

static bk_status step_error(const step_env *e, const bk_transform *t, bk_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bk_status step_error(const step_env *e, const bk_transform *t, bk_status code, const char *fmt, ...)
{
    char msg[512], sh[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bk_error(code, "%s[%d] (%s) on the %s sample %s: %s", list_names[e->list], e->pos,
                    bk_tf_kind_name(t->kind), e->side ? "target" : "input", bk_shape_str(e->in_shape, sh, sizeof sh),
                    msg);
}

/* The size a jitter_crop of fraction c keeps of n pixels. */
static int64_t jitter_keep(double c, int64_t n)
{
    int64_t k = (int64_t)floor((1.0 - c) * (double)n + 0.5);
    return k < 1 ? 1 : k > n ? n : k;
}

/* Clockwise rotation by deg about the centre ((w-1)/2, (h-1)/2) of the
 * pixel grid, as a map from output to source pixel; multiples of 90
 * degrees are exact, so they permute pixels without blending them. */
static void rotation_map(double deg, int64_t h, int64_t w, double m[6])
{
    double r = fmod(deg, 360.0), co, si;
    if (r < 0) r += 360.0;
    if (r == 0) co = 1, si = 0;
    else if (r == 90) co = 0, si = 1;
    else if (r == 180) co = -1, si = 0;
    else if (r == 270) co = 0, si = -1;
    else co = cos(r * M_PI / 180.0), si = sin(r * M_PI / 180.0);
    double cx = 0.5 * (double)(w - 1), cy = 0.5 * (double)(h - 1);
    m[0] = co; m[1] = si; m[2] = cx - co * cx - si * cy;
    m[3] = -si; m[4] = co; m[5] = cy + si * cx - co * cy;
}

/* The sample between entries: at first the caller's input, read only
 * (owned 0), so an entry that writes a new block anyway (resize, crops,
 * warps, colour) saves the copy; an entry that would work in place takes
 * a copy first, or writes its result into a new block. */
typedef struct {
    float *data;
    int owned;
} sbuf;

/* A malloc'd block of n floats for an entry's result. */
static bk_status new_buf(const step_env *e, const bk_transform *t, float **out, int64_t n)
{
    *out = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!*out) return step_error(e, t, BK_ERR_NOMEM, "out of memory for %lld floats", (long long)n);
    return BK_OK;
}

/* Runs t on the sample described by g. buf NULL: shapes only (dimensions
 * that vary with the draw become -1, rng is not used). Otherwise buf
 * holds the sample and may be replaced by a new block. */
static bk_status step(const step_env *e, const bk_transform *t, bk_rng *rng, geom *g, sbuf *buf)
{
    int random_geometry = t->kind == BK_TF_JITTER_CROP || t->kind == BK_TF_RANDOM_HFLIP ||
                          t->kind == BK_TF_RANDOM_VFLIP || t->kind == BK_TF_RANDOM_ZOOM ||
                          t->kind == BK_TF_RANDOM_ROTATE;
    int flat_only = t->kind != BK_TF_RANDOM_HFLIP && t->kind != BK_TF_RANDOM_VFLIP && t->kind != BK_TF_CENTER_CROP &&
                    t->kind != BK_TF_NORMALIZE && t->kind != BK_TF_CONVERT_COLOR;
    if (g->rank == 4 && flat_only)
        return step_error(e, t, BK_ERR_UNSUPPORTED, "works on 2-D samples ([C, H, W] or [H, W]); on 3-D samples "
                          "[C, D, H, W] only flips, center_crop, normalize and convert_color apply");
    int64_t planes = g->c * g->d, hw = g->h * g->w;
    int known = g->h >= 0 && g->w >= 0;
    if (known && (g->h == 0 || g->w == 0) && t->kind != BK_TF_NORMALIZE && t->kind != BK_TF_CONVERT_COLOR)
        return step_error(e, t, BK_ERR_SHAPE, "the sample is empty (%lld x %lld pixels)", (long long)g->w,
                          (long long)g->h);
    float *nb = NULL;
    bk_status st;

    switch (t->kind) {
    case BK_TF_RESIZE:
    case BK_TF_CENTER_CROP:
        if (buf) {
            if ((st = new_buf(e, t, &nb, planes * t->height * t->width))) return st;
            if (t->kind == BK_TF_RESIZE) {
                st = bk_tf_resize(buf->data, planes, g->h, g->w, nb, t->height, t->width, e->mask);
                if (st) {
                    free(nb);
                    return st;
                }
            } else {
                /* floor division, so a crop larger than the sample pads it evenly too */
                int64_t dy = g->h - t->height, dx = g->w - t->width;
                int64_t oy = dy >= 0 ? dy / 2 : -((-dy + 1) / 2), ox = dx >= 0 ? dx / 2 : -((-dx + 1) / 2);
                bk_tf_crop(buf->data, planes, g->h, g->w, nb, t->height, t->width, oy, ox);
            }
        }
        g->h = t->height;
        g->w = t->width;
        break;

    case BK_TF_JITTER_CROP:
        if (!buf) {
            if (t->value > 0) g->h = g->w = -1;
            break;
        }
        if (e->eval || t->value == 0) break;
        {
            double c = bk_rng_uniform(rng) * t->value, fx = bk_rng_uniform(rng), fy = bk_rng_uniform(rng);
            int64_t kw = jitter_keep(c, g->w), kh = jitter_keep(c, g->h);
            int64_t ox = (int64_t)(fx * (double)(g->w - kw + 1)), oy = (int64_t)(fy * (double)(g->h - kh + 1));
            if ((st = new_buf(e, t, &nb, planes * kh * kw))) return st;
            bk_tf_crop(buf->data, planes, g->h, g->w, nb, kh, kw, oy, ox);
            g->h = kh;
            g->w = kw;
        }
        break;

    case BK_TF_RANDOM_HFLIP:
    case BK_TF_RANDOM_VFLIP:
        if (buf && !e->eval && bk_rng_uniform(rng) < t->value) {
            if (!buf->owned && (st = new_buf(e, t, &nb, planes * hw))) return st;
            bk_tf_flip(buf->data, nb ? nb : buf->data, planes, g->h, g->w, t->kind == BK_TF_RANDOM_HFLIP);
        }
        break;

    case BK_TF_RANDOM_ZOOM:
    case BK_TF_ROTATE:
    case BK_TF_RANDOM_ROTATE: {
        if (!buf || (random_geometry && e->eval)) break;
        double m[6];
        if (t->kind == BK_TF_RANDOM_ZOOM) {
            /* magnify the central (1 - c) of each side back to the full
             * size: a scaling about the grid centre */
            double s = 1.0 - bk_rng_uniform(rng) * t->value;
            double cx = 0.5 * (double)(g->w - 1), cy = 0.5 * (double)(g->h - 1);
            m[0] = s; m[1] = 0; m[2] = cx * (1 - s);
            m[3] = 0; m[4] = s; m[5] = cy * (1 - s);
            if (s == 1.0) break;
        } else {
            double deg = t->kind == BK_TF_ROTATE ? t->value : (2.0 * bk_rng_uniform(rng) - 1.0) * t->value;
            if (fmod(deg, 360.0) == 0) break;
            rotation_map(deg, g->h, g->w, m);
        }
        if ((st = new_buf(e, t, &nb, planes * hw))) return st;
        if ((st = bk_tf_warp(buf->data, planes, g->h, g->w, nb, m, e->mask))) {
            free(nb);
            return step_error(e, t, st, "%s", bk_last_error());
        }
        break;
    }

    case BK_TF_CONVERT_COLOR: {
        int ic, oc;
        bk_tf_color_channels(t->color, &ic, &oc);
        if (g->c != ic)
            return step_error(e, t, BK_ERR_SHAPE, "%s reads %d channel%s, the sample has %lld here",
                              bk_color_code_name(t->color), ic, ic > 1 ? "s" : "", (long long)g->c);
        if (buf) {
            int64_t plane = g->d * hw;
            if ((st = new_buf(e, t, &nb, oc * plane))) return st;
            bk_tf_convert_color(buf->data, nb, plane, t->color);
        }
        g->c = oc;
        break;
    }

    case BK_TF_NORMALIZE: {
        int nv = t->n_mean > t->n_std ? t->n_mean : t->n_std;
        if (nv > 1 && nv != g->c)
            return step_error(e, t, BK_ERR_SHAPE, "lists %d values (one per channel) but the sample has %lld "
                              "channel%s here%s", nv, (long long)g->c, g->c == 1 ? "" : "s",
                              e->list == 0 ? "; a per-channel normalize of the inputs only belongs in input_transforms" : "");
        if (!buf) break;
        int64_t plane = g->d * hw;
        if (!buf->owned && (st = new_buf(e, t, &nb, g->c * plane))) return st;
        for (int64_t ch = 0; ch < g->c; ch++) {
            float mu = t->mean[t->n_mean > 1 ? ch : 0], inv_sd = 1.0f / t->std[t->n_std > 1 ? ch : 0];
            const float *src = buf->data + ch * plane;
            float *x = (nb ? nb : buf->data) + ch * plane;
            #pragma omp simd
            for (int64_t i = 0; i < plane; i++) x[i] = (src[i] - mu) * inv_sd;
            /* The mask recipe divides labels k/255 by 1/255 (std 0.003921568):
             * float rounding leaves k(1 +- 1e-7), which a class-index loss
             * would refuse, so a mask's near-integers become integers. */
            if (e->mask)
                for (int64_t i = 0; i < plane; i++) {
                    float r = nearbyintf(x[i]);
                    if (fabsf(x[i] - r) <= 1e-4f * fmaxf(1.0f, fabsf(r))) x[i] = r;
                }
        }
        break;
    }

    case BK_TF_RANDOM_PATCHES: {
        if (known && (t->size > g->h || t->size > g->w))
            return step_error(e, t, BK_ERR_SHAPE, "patches of %lld x %lld do not fit in the %lld x %lld sample",
                              (long long)t->size, (long long)t->size, (long long)g->w, (long long)g->h);
        if (!buf) break;
        if (!buf->owned) {
            if ((st = new_buf(e, t, &nb, planes * hw))) return st;
            memcpy(nb, buf->data, (size_t)(planes * hw) * sizeof *nb);
            buf->data = nb;
            buf->owned = 1;
            nb = NULL;
        }
        /* positions are fractions scaled to the sample, so an input and a
         * target of different sizes get patches at matching places */
        unsigned char *keep = NULL;
        if (e->side == 1 && !(keep = calloc((size_t)hw, 1)))
            return step_error(e, t, BK_ERR_NOMEM, "out of memory for a %lld-pixel mask", (long long)hw);
        for (int64_t k = 0; k < t->number; k++) {
            int64_t x0 = (int64_t)(bk_rng_uniform(rng) * (double)(g->w - t->size + 1));
            int64_t y0 = (int64_t)(bk_rng_uniform(rng) * (double)(g->h - t->size + 1));
            for (int64_t y = y0; y < y0 + t->size; y++) {
                if (keep) {
                    memset(keep + y * g->w + x0, 1, (size_t)t->size);
                    continue;
                }
                for (int64_t p = 0; p < planes; p++)
                    memset(buf->data + p * hw + y * g->w + x0, 0, (size_t)t->size * sizeof(float));
            }
        }
        if (keep) {
            for (int64_t p = 0; p < planes; p++)
                for (int64_t i = 0; i < hw; i++)
                    if (!keep[i]) buf->data[p * hw + i] = 0.0f;
            free(keep);
        }
        break;
    }
    }
    if (nb) {
        if (buf->owned) free(buf->data);
        buf->data = nb;
        buf->owned = 1;
    }
    return BK_OK;
}

/* ---- the bk_sample_transform ---- */

/* Runs the lists of one side over a sample of shape in; buf as in step. */
static bk_status run_side(const bk_transform_config *cfg, int side, int64_t sample, int epoch, const bk_shape *in,
                          sbuf *buf, bk_shape *out)
{
    if (side != 0 && side != 1) return bk_error(BK_ERR_INVALID, "transform: side %d is neither 0 (input) nor 1 (target)", side);
    const bk_transform_list *lists[2] = {&cfg->shared, side ? &cfg->target : &cfg->input};
    *out = *in;
    geom g;
    if (!geom_of(in, &g)) {
        /* A class index or a vector is no image: the shared list leaves it
         * alone (it is meant for a sample's images), a side's own list or
         * any list on an input is a mistake. */
        if (lists[1]->n == 0 && (side == 1 || lists[0]->n == 0)) return BK_OK;
        char sh[96];
        return bk_error(BK_ERR_SHAPE, "%s: transforms work on image samples ([C, H, W], [H, W] or [C, D, H, W]); "
                        "the %s sample is %s", lists[1]->n ? list_names[side ? 2 : 1] : list_names[0],
                        side ? "target" : "input", bk_shape_str(in, sh, sizeof sh));
    }
    step_env e = {.cfg = cfg, .side = side, .mask = side == 1 && cfg->target_is_mask, .eval = epoch < 0,
                  .in_shape = in};
    uint64_t base = bk_rng_mix(bk_rng_mix(cfg->seed, (uint64_t)(int64_t)(epoch < 0 ? -1 : epoch)), (uint64_t)sample);
    for (int l = 0; l < 2; l++) {
        e.list = l == 0 ? 0 : side ? 2 : 1;
        for (int k = 0; k < lists[l]->n; k++) {
            e.pos = k;
            bk_rng r;
            if (buf) bk_rng_seed(&r, base, ((uint64_t)e.list << 16) | (uint64_t)k);
            bk_status st = step(&e, &lists[l]->t[k], buf ? &r : NULL, &g, buf);
            if (st) return st;
        }
    }
    *out = shape_of(&g);
    return BK_OK;
}

static bk_status tf_apply(void *ctx, int side, int64_t sample, int epoch, const float *in, const bk_shape *in_shape,
                          float **out, bk_shape *out_shape)
{
    *out = NULL;
    sbuf buf = {(float *)in, 0}; /* never written while not owned */
    bk_status st = run_side(ctx, side, sample, epoch, in_shape, &buf, out_shape);
    if (st) {
        if (buf.owned) free(buf.data);
        return bk_error_context(st, "sample %lld: ", (long long)sample);
    }
    if (!buf.owned) {
        /* nothing wrote a new block: the result is a copy of the input */
        int64_t n = bk_shape_numel(out_shape);
        float *copy = malloc((size_t)(n > 0 ? n : 1) * sizeof *copy);
        if (!copy) return bk_error(BK_ERR_NOMEM, "transform: out of memory for a sample of %lld floats", (long long)n);
        if (n > 0) memcpy(copy, in, (size_t)n * sizeof *copy);
        buf.data = copy;
    }
    *out = buf.data;
    return BK_OK;
}

static bk_status tf_out_shape(void *ctx, int side, const bk_shape *in, bk_shape *out)
{
    return run_side(ctx, side, 0, 0, in, NULL, out);
}

bk_status bk_transforms_create(bk_sample_transform *out, const bk_transform_config *cfg)
{
    memset(out, 0, sizeof *out);
    if (!cfg) return bk_error(BK_ERR_INVALID, "bk_transforms_create: cfg is NULL");
    const bk_transform_list *lists[3] = {&cfg->shared, &cfg->input, &cfg->target};
    for (int l = 0; l < 3; l++) {
        if (lists[l]->n < 0 || lists[l]->n > BK_TF_MAX)
            return bk_error(BK_ERR_INVALID, "%s: %d entries, at most %d are supported", list_names[l], lists[l]->n,
                            BK_TF_MAX);
        for (int k = 0; k < lists[l]->n; k++) {
            char why[256];
            if (bk_tf_entry_invalid(&lists[l]->t[k], why, sizeof why))
                return bk_error(BK_ERR_INVALID, "%s[%d] (%s): %s", list_names[l], k,
                                bk_tf_kind_name(lists[l]->t[k].kind), why);
        }
    }
    bk_transform_config *copy = malloc(sizeof *copy);
    if (!copy) return bk_error(BK_ERR_NOMEM, "out of memory for the transforms");
    *copy = *cfg;
    out->apply = tf_apply;
    out->out_shape = tf_out_shape;
    out->ctx = copy;
    return BK_OK;
}

void bk_transforms_destroy(bk_sample_transform *tf)
{
    if (!tf) return;
    free(tf->ctx);
    memset(tf, 0, sizeof *tf);
}
