#include "brisk/tensor.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t bk_shape_numel(const bk_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->dims[i];
    return n;
}

bk_shape bk_shape_make(int ndim, const int64_t *dims)
{
    bk_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    for (int i = 0; i < ndim && i < BK_MAX_DIMS; i++) s.dims[i] = dims[i];
    return s;
}

int bk_shape_equal(const bk_shape *a, const bk_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

char *bk_shape_str(const bk_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0) return buf;
    buf[0] = 0;
    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < s->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %lld" : "%lld",
                                 (long long)s->dims[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

void *bk_alloc(size_t bytes)
{
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void bk_free(void *p) { free(p); }

bk_status bk_tensor_create(bk_tensor **out, const bk_shape *shape)
{
    *out = NULL;
    bk_tensor *t = calloc(1, sizeof *t);
    if (!t) return bk_error(BK_ERR_NOMEM, "out of memory allocating a tensor header");
    int64_t n = bk_shape_numel(shape);
    t->data = bk_alloc((size_t)n * sizeof(float));
    if (!t->data) {
        free(t);
        return bk_error(BK_ERR_NOMEM, "out of memory allocating %lld floats", (long long)n);
    }
    memset(t->data, 0, (size_t)n * sizeof(float));
    t->shape = *shape;
    t->owns_data = 1;
    *out = t;
    return BK_OK;
}

bk_status bk_tensor_view(bk_tensor **out, const bk_shape *shape, float *data)
{
    *out = NULL;
    bk_tensor *t = calloc(1, sizeof *t);
    if (!t) return bk_error(BK_ERR_NOMEM, "out of memory allocating a tensor header");
    t->shape = *shape;
    t->data = data;
    *out = t;
    return BK_OK;
}

void bk_tensor_destroy(bk_tensor *t)
{
    if (!t) return;
    if (t->owns_data) bk_free(t->data);
    free(t);
}
