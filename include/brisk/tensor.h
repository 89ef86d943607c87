/* brisk: shapes and float32 tensors (up to 5 dims, channel-first inside). */
#ifndef BRISK_TENSOR_H
#define BRISK_TENSOR_H

#include <stdint.h>
#include <stddef.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BK_MAX_DIMS 5

typedef struct {
    int ndim;                     /* 0 (scalar) .. BK_MAX_DIMS */
    int64_t dims[BK_MAX_DIMS];
} bk_shape;

/* Product of dims (1 for a scalar). */
int64_t bk_shape_numel(const bk_shape *s);
/* Makes a shape from ndim values. */
bk_shape bk_shape_make(int ndim, const int64_t *dims);
/* 1 when both shapes have the same ndim and dims. */
int bk_shape_equal(const bk_shape *a, const bk_shape *b);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. */
char *bk_shape_str(const bk_shape *s, char *buf, size_t len);

/* A dense row-major float32 tensor. `data` is owned by the tensor when
 * created with bk_tensor_create; views made with bk_tensor_view do not own. */
typedef struct {
    bk_shape shape;
    float *data;
    int owns_data;
} bk_tensor;

/* Allocates a zero-filled tensor (64-byte aligned). Caller destroys it. */
bk_status bk_tensor_create(bk_tensor **out, const bk_shape *shape);
/* Wraps memory the caller keeps owning. Caller destroys the wrapper. */
bk_status bk_tensor_view(bk_tensor **out, const bk_shape *shape, float *data);
void bk_tensor_destroy(bk_tensor *t);

/* Aligned allocation used for all tensor memory; NULL on failure. */
void *bk_alloc(size_t bytes);
void bk_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
