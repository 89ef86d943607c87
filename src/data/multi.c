/* Datasets of several arrays per sample (models with several inputs or
 * outputs): one single-array dataset per array, read together. A batch is
 * laid out planar (all samples of array 0, then of array 1...), so each
 * array's part is the contiguous [n, shape...] block a model input or a
 * loss takes, and one index list (one shuffle) picks the same samples
 * from every array. */
#include "data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n_in, n_tgt;
    bk_dataset *part[2 * BK_DATA_MAX_ARRAYS]; /* inputs, then targets */
} multi_impl;

int bk_dataset_num_inputs(const bk_dataset *ds) { return ds->n_inputs > 0 ? ds->n_inputs : 1; }

int bk_dataset_num_targets(const bk_dataset *ds)
{
    if (!ds->has_targets) return 0;
    return ds->n_targets > 0 ? ds->n_targets : 1;
}

const bk_shape *bk_dataset_input_shape(const bk_dataset *ds, int k)
{
    return ds->n_inputs > 0 ? &ds->input_shapes[k] : &ds->input_shape;
}

const bk_shape *bk_dataset_target_shape(const bk_dataset *ds, int k)
{
    return ds->n_targets > 0 ? &ds->target_shapes[k] : &ds->target_shape;
}

static bk_status multi_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    multi_impl *m = ds->impl;
    bk_status st = BK_OK;
    float *at = x;
    for (int k = 0; k < m->n_in && !st; k++) {
        st = m->part[k]->read(m->part[k], idx, n, at, NULL);
        at += n * bk_shape_numel(&ds->input_shapes[k]);
    }
    at = y;
    for (int k = 0; y && k < m->n_tgt && !st; k++) {
        bk_dataset *p = m->part[m->n_in + k];
        st = p->read(p, idx, n, at, NULL);
        at += n * bk_shape_numel(&ds->target_shapes[k]);
    }
    return st;
}

static void multi_set_epoch(bk_dataset *ds, int epoch)
{
    multi_impl *m = ds->impl;
    for (int k = 0; k < m->n_in + m->n_tgt; k++)
        if (m->part[k]->set_epoch) m->part[k]->set_epoch(m->part[k], epoch);
}

/* a sample is named after its first input array's sample */
static bk_status multi_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    multi_impl *m = ds->impl;
    return bk_dataset_sample_name(m->part[0], i, buf, len);
}

static void multi_destroy(bk_dataset *ds)
{
    multi_impl *m = ds->impl;
    if (m)
        for (int k = 0; k < m->n_in + m->n_tgt; k++) bk_dataset_destroy(m->part[k]);
    free(m);
    free(ds);
}

bk_status bk_dataset_open_arrays(bk_dataset **out, int hdf5, const bk_data_arrays *a)
{
    *out = NULL;
    if (!a || a->n_inputs < 1 || a->n_inputs > BK_DATA_MAX_ARRAYS || a->n_targets < 0 ||
        a->n_targets > BK_DATA_MAX_ARRAYS)
        return bk_error(BK_ERR_INVALID, "bk_dataset_open_arrays: 1 to %d input arrays and 0 to %d target arrays, "
                        "got %d and %d", BK_DATA_MAX_ARRAYS, BK_DATA_MAX_ARRAYS, a ? a->n_inputs : 0,
                        a ? a->n_targets : 0);
    bk_dataset *ds = bk_data_alloc("%s", a->input_paths[0] ? a->input_paths[0] : "?");
    multi_impl *m = calloc(1, sizeof *m);
    if (!ds || !m) {
        free(ds); free(m);
        return bk_error(BK_ERR_NOMEM, "out of memory opening %d arrays", a->n_inputs + a->n_targets);
    }
    ds->impl = m;
    ds->destroy = multi_destroy;
    ds->read = multi_read;
    ds->set_epoch = multi_set_epoch;
    ds->sample_name = multi_sample_name;
    bk_status st = BK_OK;
    int64_t in_total = 0, tgt_total = 0;
    for (int k = 0; k < a->n_inputs + a->n_targets && !st; k++) {
        int tgt = k >= a->n_inputs, j = tgt ? k - a->n_inputs : k;
        const char *path = tgt ? a->target_paths[j] : a->input_paths[j];
        const char *key = tgt ? a->target_keys[j] : a->input_keys[j];
        if (!path) {
            st = bk_error(BK_ERR_INVALID, "%s array %d has no file; name one", tgt ? "target" : "input", j);
            break;
        }
        if (hdf5 && !key) {
            st = bk_error(BK_ERR_INVALID, "%s: %s array %d has no dataset name; name the dataset (%s)", path,
                          tgt ? "target" : "input", j, tgt ? "target_key" : "input_key");
            break;
        }
        st = hdf5 ? bk_data_hdf5_array(&m->part[k], path, key, tgt, a->preload)
                  : bk_data_numpy_array(&m->part[k], path, key, tgt);
        if (st) break;
        if (tgt) m->n_tgt++;
        else m->n_in++;
        bk_dataset *p = m->part[k];
        if (k == 0) ds->count = p->count;
        else if (p->count != ds->count)
            st = bk_error(BK_ERR_SHAPE, "%s has %lld samples but %s has %lld; every input and target array "
                          "must have the same number of samples along axis 0", m->part[0]->name,
                          (long long)ds->count, p->name, (long long)p->count);
        bk_shape *s = tgt ? &ds->target_shapes[j] : &ds->input_shapes[j];
        *s = p->input_shape;
        snprintf(tgt ? ds->target_names[j] : ds->input_names[j], sizeof ds->input_names[0], "%.127s", p->name);
        *(tgt ? &tgt_total : &in_total) += bk_shape_numel(s);
    }
    if (st) {
        multi_destroy(ds);
        return st;
    }
    ds->n_inputs = a->n_inputs;
    ds->n_targets = a->n_targets;
    ds->has_targets = a->n_targets > 0;
    ds->input_shape = bk_shape_make(1, &in_total);
    if (ds->has_targets) ds->target_shape = bk_shape_make(1, &tgt_total);
    if (a->n_targets)
        snprintf(ds->name, sizeof ds->name, "%.120s + %.120s", m->part[0]->name, m->part[a->n_inputs]->name);
    else
        snprintf(ds->name, sizeof ds->name, "%s", m->part[0]->name);
    *out = ds;
    return BK_OK;
}
