#include "elem_map.h"
#include <stdlib.h>
#include <string.h>

int bk_keras_axis(int64_t a, int rank)
{
    if (a < 0) a += rank + 1;
    return a >= 1 && a <= rank ? (int)a - 1 : -1;
}

int bk_internal_axis(int keras_axis, int rank)
{
    if (rank < 2) return keras_axis;
    return keras_axis == rank - 1 ? 0 : keras_axis + 1;
}

void bk_keras_coords(const bk_shape *internal, int64_t i, int64_t *kc)
{
    int r = internal->ndim;
    for (int d = r - 1; d >= 0; d--) {
        int64_t c = i % internal->dims[d];
        i /= internal->dims[d];
        kc[r < 2 ? d : (d == 0 ? r - 1 : d - 1)] = c;
    }
}

int64_t bk_internal_index(const bk_shape *internal, const int64_t *kc)
{
    int r = internal->ndim;
    int64_t i = 0;
    for (int d = 0; d < r; d++) i = i * internal->dims[d] + kc[r < 2 ? d : (d == 0 ? r - 1 : d - 1)];
    return i;
}

bk_status bk_elem_map_alloc(bk_elem_map *g, int64_t out_per, int64_t in_per)
{
    if (out_per > INT32_MAX || in_per > INT32_MAX)
        return bk_error(BK_ERR_UNSUPPORTED, "more than 2^31 values per sample");
    g->src = malloc((size_t)(out_per ? out_per : 1) * sizeof *g->src);
    if (!g->src) return bk_error(BK_ERR_NOMEM, "out of memory");
    g->out_per = out_per;
    g->in_per = in_per;
    return BK_OK;
}

void bk_elem_map_forward(const bk_elem_map *g, const float *x, float *y, int64_t batch)
{
    int64_t op = g->out_per, ip = g->in_per;
#pragma omp parallel for if (batch * op > 65536)
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < op; i++) y[b * op + i] = g->src[i] >= 0 ? x[b * ip + g->src[i]] : 0.0f;
}

void bk_elem_map_backward(const bk_elem_map *g, const float *dy, float *dx, int64_t batch)
{
    int64_t op = g->out_per, ip = g->in_per;
#pragma omp parallel for if (batch * op > 65536)
    for (int64_t b = 0; b < batch; b++) {
        memset(dx + b * ip, 0, (size_t)ip * sizeof(float));
        for (int64_t i = 0; i < op; i++)
            if (g->src[i] >= 0) dx[b * ip + g->src[i]] += dy[b * op + i];
    }
}

void bk_elem_map_free(bk_elem_map *g)
{
    free(g->src);
    g->src = NULL;
}
