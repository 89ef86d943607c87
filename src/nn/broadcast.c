/* Size-1 broadcasting of merge-layer inputs (see broadcast.h). */
#include "broadcast.h"
#include <string.h>
#include "layer_util.h"

/* The Keras shape of internal shape s with leading 1s up to rank r. */
static bk_shape keras_padded(const bk_shape *s, int r)
{
    bk_shape k = bk_internal_to_keras(s), p = {.ndim = r};
    int lead = r - k.ndim;
    for (int i = 0; i < r; i++) p.dims[i] = i < lead ? 1 : k.dims[i - lead];
    return p;
}

int bk_bcast_shape(const bk_shape *a, const bk_shape *b, bk_shape *out)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    bk_shape ka = keras_padded(a, r), kb = keras_padded(b, r), ko = {.ndim = r};
    for (int i = 0; i < r; i++) {
        if (ka.dims[i] != kb.dims[i] && ka.dims[i] != 1 && kb.dims[i] != 1) return 0;
        ko.dims[i] = ka.dims[i] == 1 ? kb.dims[i] : ka.dims[i];
    }
    *out = bk_keras_to_internal(&ko);
    return 1;
}

void bk_bcast_plan(bk_bcast *p, const bk_shape *in, const bk_shape *out, int64_t batch)
{
    /* the input as an internal shape of the output's rank: same element order */
    bk_shape kin = keras_padded(in, out->ndim), iin = bk_keras_to_internal(&kin);
    int64_t osz[BK_MAX_DIMS + 1], isz[BK_MAX_DIMS + 1], ist[BK_MAX_DIMS + 1];
    int nd = out->ndim + 1;
    osz[0] = isz[0] = batch;
    for (int d = 1; d < nd; d++) {
        osz[d] = out->dims[d - 1];
        isz[d] = iin.dims[d - 1];
    }
    int64_t st = 1;
    for (int d = nd - 1; d >= 0; d--) {
        ist[d] = isz[d] == osz[d] ? st : 0;
        st *= isz[d];
    }
    p->nd = 0;
    p->count = 1;
    for (int d = 0; d < nd; d++) {
        p->count *= osz[d];
        if (osz[d] == 1) continue;
        int k = p->nd - 1;
        /* merge with the previous axis when both repeat, or both are contiguous over the two */
        if (k >= 0 && ((ist[d] == 0 && p->stride[k] == 0) || (ist[d] && p->stride[k] == ist[d] * osz[d]))) {
            p->size[k] *= osz[d];
            p->stride[k] = ist[d];
            continue;
        }
        p->size[p->nd] = osz[d];
        p->stride[p->nd++] = ist[d];
    }
    if (p->nd == 0) { /* one element */
        p->nd = 1;
        p->size[0] = 1;
        p->stride[0] = 1;
    }
}

/* Offset in the input of the start of output run `o` (runs: the innermost axis). */
static int64_t run_offset(const bk_bcast *p, int64_t o)
{
    int64_t off = 0;
    for (int d = p->nd - 2; d >= 0; d--) {
        off += (o % p->size[d]) * p->stride[d];
        o /= p->size[d];
    }
    return off;
}

void bk_bcast_expand(const bk_bcast *p, const float *x, float *y)
{
    int64_t inner = p->size[p->nd - 1], runs = p->count / inner;
    int repeat = p->stride[p->nd - 1] == 0;
#pragma omp parallel for if (p->count > 65536)
    for (int64_t o = 0; o < runs; o++) {
        const float *src = x + run_offset(p, o);
        float *dst = y + o * inner;
        if (repeat)
            for (int64_t j = 0; j < inner; j++) dst[j] = src[0];
        else
            memcpy(dst, src, (size_t)inner * sizeof(float));
    }
}

void bk_bcast_reduce(const bk_bcast *p, const float *g, float *dx)
{
    int64_t inner = p->size[p->nd - 1], runs = p->count / inner, n_in = 1;
    for (int d = 0; d < p->nd; d++)
        if (p->stride[d]) n_in *= p->size[d];
    memset(dx, 0, (size_t)n_in * sizeof(float));
    int repeat = p->stride[p->nd - 1] == 0;
    /* serial: runs that differ only along a broadcast axis add into the same dx */
    for (int64_t o = 0; o < runs; o++) {
        float *dst = dx + run_offset(p, o);
        const float *src = g + o * inner;
        if (repeat) {
            double s = 0;
            for (int64_t j = 0; j < inner; j++) s += src[j];
            dst[0] += (float)s;
        } else {
            for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
        }
    }
}
