/* Putting the network's outputs on the slices of one set back together
 * into a volume shaped like the sliced array: each output is un-transposed,
 * its padding (and a remainder slice's fill) stripped, and the rest folded
 * into a running mean per voxel, so overlapping slices average and a voxel
 * covered by identical values keeps that value exactly. */
#include "data_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bk_slice_volume {
    const bk_dataset *ds;
    const bk_slicer *s;
    int set, n_axes;
    int64_t C, G[3], voxels;
    float *mean;        /* [C, G0, G1, G2] */
    uint16_t *n;        /* slices folded into each voxel so far */
    float *tmp;         /* one output un-transposed */
    bk_shape shape;     /* [C, full...] */
};

void bk_slice_volume_destroy(bk_slice_volume *v)
{
    if (!v) return;
    free(v->mean);
    free(v->n);
    free(v->tmp);
    free(v);
}

bk_status bk_slice_volume_create(bk_slice_volume **out, const bk_dataset *ds, int set, int64_t channels)
{
    *out = NULL;
    const bk_slice_layout *L = bk_dataset_slices(ds);
    if (!L) return bk_error(BK_ERR_INVALID, "%s: not a dataset cut by slicers", ds ? ds->name : "(null)");
    if (set < 0 || set >= L->n_sets || channels < 1)
        return bk_error(BK_ERR_INVALID, "%s: no slicer set %d (there are %d), or %lld channels", ds->name, set,
                        L->n_sets, (long long)channels);
    const bk_slicer *s = &L->sets[set];
    /* the most slices that can cover one voxel: the per-voxel counter must hold it */
    int64_t overlap = 1;
    for (int a = 0; a < L->n_axes; a++) overlap *= (s->sizes[a] + s->strides[a] - 1) / s->strides[a];
    if (overlap > UINT16_MAX)
        return bk_error(BK_ERR_INVALID, "slicer \"%s\": up to %lld slices overlap on one voxel; reassembly supports up "
                        "to %d: use larger strides", s->name, (long long)overlap, UINT16_MAX);
    bk_slice_volume *v = calloc(1, sizeof *v);
    if (!v) return bk_error(BK_ERR_NOMEM, "out of memory");
    v->ds = ds;
    v->s = s;
    v->set = set;
    v->n_axes = L->n_axes;
    v->C = channels;
    v->voxels = 1;
    int64_t d[BK_MAX_DIMS] = {channels};
    for (int a = 0; a < 3; a++) {
        v->G[a] = a < L->n_axes ? L->full[a] : 1;
        v->voxels *= v->G[a];
        if (a < L->n_axes) d[a + 1] = L->full[a];
    }
    v->shape = bk_shape_make(L->n_axes + 1, d);
    int64_t per_sample = channels;
    for (int a = 0; a < L->n_axes; a++) per_sample *= s->sizes[a] + s->pad_lo[a] + s->pad_hi[a];
    if (!bk_data_size_ok(v->voxels, channels, sizeof(float)) ||
        !(v->mean = calloc((size_t)(v->voxels * channels), sizeof(float))) ||
        !(v->n = calloc((size_t)v->voxels, sizeof(uint16_t))) ||
        !(v->tmp = malloc((size_t)per_sample * sizeof(float)))) {
        int64_t voxels = v->voxels;
        bk_slice_volume_destroy(v);
        return bk_error(BK_ERR_NOMEM, "slicer \"%s\": out of memory for an output volume of %lld x %lld values",
                        s->name, (long long)channels, (long long)voxels);
    }
    *out = v;
    return BK_OK;
}

bk_status bk_slice_volume_add(bk_slice_volume *v, int64_t i, const float *y)
{
    int set;
    int64_t o[3] = {0, 0, 0}, e[3] = {1, 1, 1};
    bk_status st = bk_slice_box(v->ds, i, &set, o, e);
    if (st) return st;
    if (set != v->set)
        return bk_error(BK_ERR_INVALID, "sample %lld belongs to slicer set %d, not to set %d", (long long)i, set, v->set);
    const bk_slicer *s = v->s;
    int64_t P[3], lo[3];
    for (int a = 0; a < 3; a++) {
        lo[a] = a < v->n_axes ? s->pad_lo[a] : 0;
        P[a] = a < v->n_axes ? s->sizes[a] + s->pad_lo[a] + s->pad_hi[a] : 1;
    }
    const float *src = y;
    if (s->transpose) {
        /* the sample is [C, B, A] for the kept axes [A, B]: back to [C, A, B] */
        int64_t A = 1, B = 1;
        int seen = 0;
        for (int a = 0; a < v->n_axes; a++)
            if (s->sizes[a] > 1) *(seen++ ? &B : &A) = P[a];
        for (int64_t c = 0; c < v->C; c++)
            for (int64_t j = 0; j < B; j++)
                for (int64_t k = 0; k < A; k++) v->tmp[(c * A + k) * B + j] = y[(c * B + j) * A + k];
        src = v->tmp;
    }
    int64_t ps = P[0] * P[1] * P[2];
    for (int64_t p0 = 0; p0 < e[0]; p0++)
        for (int64_t p1 = 0; p1 < e[1]; p1++)
            for (int64_t p2 = 0; p2 < e[2]; p2++) {
                int64_t vox = ((o[0] + p0) * v->G[1] + o[1] + p1) * v->G[2] + o[2] + p2;
                int64_t at = ((p0 + lo[0]) * P[1] + p1 + lo[1]) * P[2] + p2 + lo[2];
                float k = (float)++v->n[vox];
                for (int64_t c = 0; c < v->C; c++) {
                    float *m = &v->mean[c * v->voxels + vox];
                    *m += (src[c * ps + at] - *m) / k;
                }
            }
    return BK_OK;
}

const float *bk_slice_volume_finish(bk_slice_volume *v, bk_shape *shape)
{
    for (int64_t vox = 0; vox < v->voxels; vox++)
        if (!v->n[vox])
            for (int64_t c = 0; c < v->C; c++) v->mean[c * v->voxels + vox] = NAN;
    *shape = v->shape;
    return v->mean;
}
