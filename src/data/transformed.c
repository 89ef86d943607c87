/* A dataset that passes every sample of another through a bk_sample_transform:
 * how the numpy, hdf5 and mnist loaders, which read fixed-shape arrays,
 * get the transforms of the run configuration. */
#include "data_internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    bk_dataset *base;
    bk_sample_transform tf;
    int train;
    /* Written by set_epoch on the caller's thread; the loader calls it only
     * while no read is in flight and hands reads over under its mutex, so
     * the reader sees the value without a lock of its own. */
    int epoch;
} tf_impl;

/* Transforms n samples of shape in (packed at src) into dst, each of shape want. */
static bk_status apply_all(bk_dataset *ds, tf_impl *t, int side, const int64_t *idx, int64_t n, const float *src,
                           const bk_shape *in, const bk_shape *want, float *dst)
{
    int64_t ni = bk_shape_numel(in), no = bk_shape_numel(want);
    int epoch = t->train ? t->epoch : -1;
    for (int64_t i = 0; i < n; i++) {
        float *out = NULL;
        bk_shape got;
        bk_status st = t->tf.apply(t->tf.ctx, side, idx[i], epoch, src + i * ni, in, &out, &got);
        if (st) return bk_error_context(st, "%s: ", ds->name);
        if (!bk_shape_equal(&got, want)) {
            char a[96], b[96];
            free(out);
            return bk_error(BK_ERR_SHAPE, "%s: sample %lld: the %s transform gave %s, not the %s it announced",
                            ds->name, (long long)idx[i], side ? "target" : "input", bk_shape_str(&got, a, sizeof a),
                            bk_shape_str(want, b, sizeof b));
        }
        memcpy(dst + i * no, out, (size_t)no * sizeof *dst);
        free(out);
    }
    return BK_OK;
}

static bk_status tf_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    tf_impl *t = ds->impl;
    bk_dataset *b = t->base;
    const bk_shape *bin = bk_dataset_input_shape(b, 0), *btg = bk_dataset_target_shape(b, 0);
    int64_t xs = bk_shape_numel(bin), ys = b->has_targets ? bk_shape_numel(btg) : 0;
    int want_y = y && b->has_targets;
    if (!bk_data_size_ok(n, xs + ys, sizeof(float)))
        return bk_error(BK_ERR_NOMEM, "%s: %lld samples are too many to read at once", ds->name, (long long)n);
    float *bx = malloc((size_t)(n * xs > 0 ? n * xs : 1) * sizeof *bx);
    float *by = want_y ? malloc((size_t)(n * ys > 0 ? n * ys : 1) * sizeof *by) : NULL;
    bk_status st;
    if (!bx || (want_y && !by)) {
        st = bk_error(BK_ERR_NOMEM, "%s: out of memory reading %lld samples", ds->name, (long long)n);
    } else {
        st = b->read(b, idx, n, bx, by);
        if (!st) st = apply_all(ds, t, 0, idx, n, bx, bin, bk_dataset_input_shape(ds, 0), x);
        if (!st && want_y) st = apply_all(ds, t, 1, idx, n, by, btg, bk_dataset_target_shape(ds, 0), y);
    }
    free(bx);
    free(by);
    return st;
}

static void tf_set_epoch(bk_dataset *ds, int epoch)
{
    tf_impl *t = ds->impl;
    t->epoch = epoch;
    if (t->base->set_epoch) t->base->set_epoch(t->base, epoch);
}

static bk_status tf_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    tf_impl *t = ds->impl;
    return bk_dataset_sample_name(t->base, i, buf, len);
}

static void tf_destroy(bk_dataset *ds)
{
    free(ds->impl);
    free(ds);
}

/* The shape a side takes through tf; a size that varies is an error. */
static bk_status fixed_shape(const bk_dataset *base, const bk_sample_transform *tf, int side, const bk_shape *in,
                             bk_shape *out)
{
    bk_status st = tf->out_shape(tf->ctx, side, in, out);
    if (st) return bk_error_context(st, "%s: ", base->name);
    for (int i = 0; i < out->ndim; i++)
        if (out->dims[i] < 0) {
            char a[96];
            return bk_error(BK_ERR_SHAPE, "%s: the %s samples come out of the transforms with a size that varies "
                            "from draw to draw (%s; -1 varies): add a \"resize\" after the random crop so every "
                            "sample has the same shape", base->name, side ? "target" : "input",
                            bk_shape_str(out, a, sizeof a));
        }
    return BK_OK;
}

bk_status bk_dataset_transformed(bk_dataset **out, bk_dataset *base, const bk_sample_transform *tf, int train)
{
    *out = NULL;
    if (!base || !tf || !tf->apply || !tf->out_shape)
        return bk_error(BK_ERR_INVALID, "bk_dataset_transformed: base and a transform with apply and out_shape are needed");
    if (base->n_inputs > 1 || base->n_targets > 1)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: transforms apply to datasets of one input (and one target) array; "
                        "this one has %d inputs and %d targets", base->name,
                        base->n_inputs > 1 ? base->n_inputs : 1, base->n_targets > 1 ? base->n_targets : base->has_targets);
    bk_shape in, tgt;
    memset(&tgt, 0, sizeof tgt);
    bk_status st = fixed_shape(base, tf, 0, bk_dataset_input_shape(base, 0), &in);
    if (!st && base->has_targets) st = fixed_shape(base, tf, 1, bk_dataset_target_shape(base, 0), &tgt);
    if (st) return st;
    bk_dataset *ds = bk_data_alloc("%s", base->name);
    tf_impl *t = calloc(1, sizeof *t);
    if (!ds || !t) {
        free(ds);
        free(t);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory wrapping the dataset in its transforms", base->name);
    }
    t->base = base;
    t->tf = *tf;
    t->train = train;
    t->epoch = -1;
    ds->count = base->count;
    ds->has_targets = base->has_targets;
    ds->n_inputs = base->n_inputs;
    ds->n_targets = base->n_targets;
    memcpy(ds->input_names, base->input_names, sizeof ds->input_names);
    memcpy(ds->target_names, base->target_names, sizeof ds->target_names);
    /* a one-array "several arrays" dataset keeps its form: the array's shape
     * in input_shapes[0] and the floats per sample in input_shape */
    int64_t ni = bk_shape_numel(&in), nt = bk_shape_numel(&tgt);
    ds->input_shape = ds->n_inputs ? bk_shape_make(1, &ni) : in;
    ds->input_shapes[0] = in;
    if (ds->has_targets) {
        ds->target_shape = ds->n_targets ? bk_shape_make(1, &nt) : tgt;
        ds->target_shapes[0] = tgt;
    }
    ds->read = tf_read;
    ds->destroy = tf_destroy;
    ds->set_epoch = tf_set_epoch;
    if (base->sample_name) ds->sample_name = tf_sample_name;
    ds->impl = t;
    *out = ds;
    return BK_OK;
}
