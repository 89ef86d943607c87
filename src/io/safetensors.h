/* safetensors files: checkpoints and weights that PyTorch (and the
 * `safetensors` Python package) read directly.
 *
 * Layout: u64 little-endian N, N bytes of JSON header padded with spaces to
 * a multiple of 8, then the raw little-endian tensor data. The header maps
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the data section) and may hold "__metadata__", a
 * string -> string map. brisk writes F32; it reads F32 and converts F16,
 * BF16 and F64 to float32. Other dtypes (integers, bool, F8) are listed by
 * the reader but bk_safetensors_get refuses them with a clear error. */
#ifndef BK_IO_SAFETENSORS_H
#define BK_IO_SAFETENSORS_H

#include "brisk/tensor.h"

typedef struct {
    const char *name;   /* unique, non-empty, not "__metadata__" */
    bk_shape shape;     /* ndim 0 (scalar, written as shape []) .. BK_MAX_DIMS */
    const float *data;  /* numel floats; may be NULL only when numel is 0 */
} bk_st_entry;

/* Writes n tensors (laid out contiguously in the given order) and n_meta
 * metadata pairs to path, atomically (temp file + fsync + rename), so a
 * crash mid-write leaves any previous file intact. The caller keeps
 * ownership of everything passed in. meta_keys/meta_values may be NULL
 * when n_meta is 0. */
bk_status bk_safetensors_write(const char *path, const bk_st_entry *e, int n,
                               const char *const *meta_keys, const char *const *meta_values, int n_meta);

/* An opened file: the whole file is read into memory and validated (header
 * size, JSON, dtypes, shapes, offsets in range and not overlapping). */
typedef struct bk_st_file bk_st_file;

/* Opens and validates path. Caller closes *out with bk_safetensors_close.
 * Errors name the file and, where one is at fault, the tensor. */
bk_status bk_safetensors_open(bk_st_file **out, const char *path);
/* Number of tensors (metadata not counted). */
int bk_safetensors_count(const bk_st_file *f);
/* Name of tensor i (header order), or NULL when i is out of range. Owned
 * by f. */
const char *bk_safetensors_name(const bk_st_file *f, int i);
/* Shape and float32 data of a tensor; *data is owned by f and valid until
 * bk_safetensors_close (it may be NULL for a tensor with 0 elements). A
 * missing name is BK_ERR_INVALID naming the file, the tensor and a close
 * match; a dtype that cannot be converted is BK_ERR_UNSUPPORTED. shape or
 * data may be NULL when not wanted. */
bk_status bk_safetensors_get(const bk_st_file *f, const char *name, bk_shape *shape, const float **data);
/* 1 when the file holds a tensor of that name. */
int bk_safetensors_has(const bk_st_file *f, const char *name);
/* The dtype string of a tensor as stored ("F32", "BF16", ...), or NULL. */
const char *bk_safetensors_dtype(const bk_st_file *f, const char *name);
/* A metadata value, or NULL when absent. Owned by f. */
const char *bk_safetensors_meta(const bk_st_file *f, const char *key);
/* Frees everything; NULL is a no-op. */
void bk_safetensors_close(bk_st_file *f);

#endif
