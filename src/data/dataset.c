/* Dataset lifetime, subsets, and the in-memory float dataset that the
 * numpy and preloaded HDF5 loaders share. */
#include "data_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bk_dataset *bk_data_alloc(const char *fmt, ...)
{
    bk_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ds->name, sizeof ds->name, fmt, ap);
    va_end(ap);
    return ds;
}

void bk_dataset_destroy(bk_dataset *ds)
{
    /* The callback owns everything, ds included, so datasets defined outside
     * the library (even ones not on the heap) decide how they are released. */
    if (ds && ds->destroy) ds->destroy(ds);
}

bk_status bk_data_bad_index(const bk_dataset *ds, int64_t i)
{
    return bk_error(BK_ERR_INVALID, "%s: sample index %lld is outside [0, %lld); "
                    "the index list passed to read() is wrong",
                    ds->name, (long long)i, (long long)ds->count);
}

int bk_data_size_ok(int64_t count, int64_t per_sample, size_t elem)
{
    if (count < 0 || per_sample < 0) return 0;
    if (per_sample == 0 || count == 0) return 1;
    return (uint64_t)count <= (uint64_t)(SIZE_MAX / elem) / (uint64_t)per_sample;
}

bk_status bk_data_sample_shape(bk_shape *out, int ndim, const int64_t *dims,
                               int is_target, const char *what)
{
    if (ndim < 1)
        return bk_error(BK_ERR_SHAPE, "%s: a scalar cannot be a dataset; "
                        "store the samples along axis 0 of an array", what);
    if (ndim - 1 > BK_MAX_DIMS)
        return bk_error(BK_ERR_SHAPE, "%s: %d dims per sample, at most %d are supported; "
                        "reshape the array", what, ndim - 1, BK_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0)
            return bk_error(BK_ERR_SHAPE, "%s: negative dimension %lld", what, (long long)dims[i]);
    if (ndim == 1 && !is_target) {
        int64_t one = 1;
        *out = bk_shape_make(1, &one);
    } else {
        *out = bk_shape_make(ndim - 1, dims + 1);
    }
    return BK_OK;
}

bk_status bk_dataset_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    if (len) buf[0] = 0;
    if (i < 0 || i >= ds->count) return bk_data_bad_index(ds, i);
    return ds->sample_name ? ds->sample_name(ds, i, buf, len) : BK_OK;
}

/* ---- in-memory float dataset ---- */

typedef struct {
    float *x, *y;
} mem_impl;

static bk_status mem_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    mem_impl *m = ds->impl;
    int64_t xs = bk_shape_numel(&ds->input_shape), ys = bk_shape_numel(&ds->target_shape);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = idx[i];
        if (k < 0 || k >= ds->count) return bk_data_bad_index(ds, k);
        memcpy(x + i * xs, m->x + k * xs, (size_t)xs * sizeof(float));
        if (y && m->y) memcpy(y + i * ys, m->y + k * ys, (size_t)ys * sizeof(float));
    }
    return BK_OK;
}

static void mem_destroy(bk_dataset *ds)
{
    mem_impl *m = ds->impl;
    if (m) {
        free(m->x);
        free(m->y);
        free(m);
    }
    free(ds);
}

bk_status bk_data_from_floats(bk_dataset **out, const char *name, int64_t count,
                              const bk_shape *in_shape, float *x,
                              const bk_shape *tgt_shape, float *y)
{
    *out = NULL;
    bk_dataset *ds = bk_data_alloc("%s", name);
    mem_impl *m = calloc(1, sizeof *m);
    if (!ds || !m) {
        free(ds); free(m); free(x); free(y);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory creating the dataset", name);
    }
    m->x = x;
    m->y = y;
    ds->count = count;
    ds->input_shape = *in_shape;
    if (y && tgt_shape) {
        ds->target_shape = *tgt_shape;
        ds->has_targets = 1;
    }
    ds->read = mem_read;
    ds->destroy = mem_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}

/* ---- subset ---- */

typedef struct {
    bk_dataset *base;
    int64_t first;
} subset_impl;

static bk_status subset_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    subset_impl *s = ds->impl;
    int64_t *shifted = malloc((size_t)(n > 0 ? n : 1) * sizeof *shifted);
    if (!shifted) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld indices", ds->name, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= ds->count) {
            bk_status st = bk_data_bad_index(ds, idx[i]);
            free(shifted);
            return st;
        }
        shifted[i] = idx[i] + s->first;
    }
    bk_status st = s->base->read(s->base, shifted, n, x, y);
    free(shifted);
    return st;
}

static void subset_set_epoch(bk_dataset *ds, int epoch)
{
    subset_impl *s = ds->impl;
    if (s->base->set_epoch) s->base->set_epoch(s->base, epoch);
}

static bk_status subset_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    subset_impl *s = ds->impl;
    return bk_dataset_sample_name(s->base, i + s->first, buf, len);
}

static void subset_destroy(bk_dataset *ds)
{
    free(ds->impl);
    free(ds);
}

bk_status bk_dataset_subset(bk_dataset **out, bk_dataset *base, int64_t first, int64_t count)
{
    *out = NULL;
    if (!base) return bk_error(BK_ERR_INVALID, "bk_dataset_subset: base dataset is NULL");
    if (first < 0 || count < 0 || first > base->count || count > base->count - first)
        return bk_error(BK_ERR_INVALID, "%s: subset [%lld, %lld) is outside the %lld samples; "
                        "check the split sizes", base->name, (long long)first,
                        (long long)first + (long long)count, (long long)base->count);
    bk_dataset *ds = bk_data_alloc("%s[%lld:%lld]", base->name, (long long)first,
                                   (long long)(first + count));
    subset_impl *s = calloc(1, sizeof *s);
    if (!ds || !s) {
        free(ds); free(s);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory creating a subset", base->name);
    }
    s->base = base;
    s->first = first;
    ds->count = count;
    ds->input_shape = base->input_shape;
    ds->target_shape = base->target_shape;
    ds->has_targets = base->has_targets;
    ds->n_inputs = base->n_inputs;
    ds->n_targets = base->n_targets;
    memcpy(ds->input_shapes, base->input_shapes, sizeof ds->input_shapes);
    memcpy(ds->target_shapes, base->target_shapes, sizeof ds->target_shapes);
    memcpy(ds->input_names, base->input_names, sizeof ds->input_names);
    memcpy(ds->target_names, base->target_names, sizeof ds->target_names);
    ds->read = subset_read;
    ds->destroy = subset_destroy;
    ds->set_epoch = subset_set_epoch;
    if (base->sample_name) ds->sample_name = subset_sample_name;
    ds->impl = s;
    *out = ds;
    return BK_OK;
}

/* ---- pair: inputs from one dataset, targets from another ---- */

typedef struct {
    bk_dataset *x, *y;
} pair_impl;

static bk_status pair_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    pair_impl *p = ds->impl;
    bk_status st = p->x->read(p->x, idx, n, x, NULL);
    if (!st && y) st = p->y->read(p->y, idx, n, y, NULL);
    return st;
}

static void pair_set_epoch(bk_dataset *ds, int epoch)
{
    pair_impl *p = ds->impl;
    if (p->x->set_epoch) p->x->set_epoch(p->x, epoch);
    if (p->y->set_epoch) p->y->set_epoch(p->y, epoch);
}

static bk_status pair_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    pair_impl *p = ds->impl;
    return bk_dataset_sample_name(p->x, i, buf, len);
}

static void pair_destroy(bk_dataset *ds)
{
    pair_impl *p = ds->impl;
    if (p) {
        bk_dataset_destroy(p->x);
        bk_dataset_destroy(p->y);
        free(p);
    }
    free(ds);
}

bk_status bk_data_pair(bk_dataset **out, bk_dataset *x, bk_dataset *y, const char *hint)
{
    *out = NULL;
    if (x->count != y->count) {
        bk_status st = bk_error(BK_ERR_SHAPE, "%s has %lld samples but the targets in %s have %lld; both must have "
                                "the same count%s", x->name, (long long)x->count, y->name, (long long)y->count,
                                hint ? hint : "");
        bk_dataset_destroy(x);
        bk_dataset_destroy(y);
        return st;
    }
    bk_dataset *ds = bk_data_alloc("%.120s + %.120s", x->name, y->name);
    pair_impl *p = calloc(1, sizeof *p);
    if (!ds || !p) {
        free(ds);
        free(p);
        bk_dataset_destroy(x);
        bk_dataset_destroy(y);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    p->x = x;
    p->y = y;
    ds->count = x->count;
    ds->input_shape = x->input_shape;
    ds->target_shape = y->input_shape;
    ds->has_targets = 1;
    ds->read = pair_read;
    ds->destroy = pair_destroy;
    ds->set_epoch = pair_set_epoch;
    if (x->sample_name) ds->sample_name = pair_sample_name;
    ds->impl = p;
    *out = ds;
    return BK_OK;
}
