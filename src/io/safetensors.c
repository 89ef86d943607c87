/* safetensors reader and writer; see safetensors.h. */
#include "safetensors.h"
#include "core/fsutil.h"
#include "io/json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation refuses headers above 100 MB; a bigger
 * length field means a corrupt or foreign file, not a real header. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define ST_META_KEY "__metadata__"

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint64_t read_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- dtypes ----------------------------------------------------------------- */

typedef enum { DT_F32, DT_F16, DT_BF16, DT_F64, DT_OTHER } dtype_kind;

typedef struct {
    const char *name;
    int size;
    dtype_kind kind;
} dtype_info;

/* All dtypes of the format, so sizes of tensors we cannot convert are
 * still validated and the file as a whole stays readable. */
static const dtype_info dtypes[] = {
    {"F32", 4, DT_F32},   {"F16", 2, DT_F16},    {"BF16", 2, DT_BF16},  {"F64", 8, DT_F64},
    {"BOOL", 1, DT_OTHER}, {"U8", 1, DT_OTHER},  {"I8", 1, DT_OTHER},   {"F8_E5M2", 1, DT_OTHER},
    {"F8_E4M3", 1, DT_OTHER}, {"I16", 2, DT_OTHER}, {"U16", 2, DT_OTHER}, {"I32", 4, DT_OTHER},
    {"U32", 4, DT_OTHER}, {"I64", 8, DT_OTHER},  {"U64", 8, DT_OTHER},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

static const dtype_info *find_dtype(const char *name)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(dtypes[i].name, name) == 0) return &dtypes[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13); /* inf / nan */
    } else if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* subnormal half: renormalize into a normal float */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
        }
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* ---- writer ------------------------------------------------------------------ */

static bk_status check_entries(const char *path, const bk_st_entry *e, int n, const char *const *mk,
                               const char *const *mv, int n_meta)
{
    if (n < 0 || n_meta < 0)
        return bk_error(BK_ERR_INVALID, "%s: cannot write a negative number of tensors (%d) or metadata (%d)",
                        path, n, n_meta);
    if (n > 0 && !e) return bk_error(BK_ERR_INVALID, "%s: %d tensors to write but no entries (NULL)", path, n);
    if (n_meta > 0 && (!mk || !mv))
        return bk_error(BK_ERR_INVALID, "%s: %d metadata pairs to write but keys or values are NULL", path, n_meta);
    for (int i = 0; i < n; i++) {
        const char *name = e[i].name;
        if (!name || !*name) return bk_error(BK_ERR_INVALID, "%s: tensor %d has an empty name", path, i);
        if (strcmp(name, ST_META_KEY) == 0)
            return bk_error(BK_ERR_INVALID, "%s: a tensor cannot be named \"%s\"; the format reserves it", path,
                            ST_META_KEY);
        const bk_shape *s = &e[i].shape;
        if (s->ndim < 0 || s->ndim > BK_MAX_DIMS)
            return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\" has %d dims; expected 0..%d", path, name, s->ndim,
                            BK_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < s->ndim; d++) {
            if (s->dims[d] < 0)
                return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\" has a negative dimension (%lld)", path, name,
                                (long long)s->dims[d]);
            if (s->dims[d] > 0 && numel > INT64_MAX / 4 / s->dims[d])
                return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\" is too large to store", path, name);
            numel *= s->dims[d];
        }
        if (numel > 0 && !e[i].data)
            return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\" has %lld elements but no data (NULL)", path, name,
                            (long long)numel);
        /* Duplicates would be silently merged by the JSON object. */
        for (int j = 0; j < i; j++)
            if (strcmp(e[j].name, name) == 0)
                return bk_error(BK_ERR_INVALID, "%s: tensor name \"%s\" is used twice (entries %d and %d)", path,
                                name, j, i);
    }
    for (int i = 0; i < n_meta; i++) {
        if (!mk[i] || !mv[i])
            return bk_error(BK_ERR_INVALID, "%s: metadata pair %d has a NULL key or value", path, i);
        for (int j = 0; j < i; j++)
            if (strcmp(mk[j], mk[i]) == 0)
                return bk_error(BK_ERR_INVALID, "%s: metadata key \"%s\" is given twice", path, mk[i]);
    }
    return BK_OK;
}

/* Builds the header JSON text (unpadded). *out is malloc'ed by jansson. */
static bk_status build_header(const char *path, const bk_st_entry *e, int n, const char *const *mk,
                              const char *const *mv, int n_meta, char **out)
{
    *out = NULL;
    json_t *root = json_object();
    if (!root) return bk_error(BK_ERR_NOMEM, "%s: out of memory building the header", path);
    int bad = 0;
    if (n_meta > 0) {
        json_t *meta = json_object();
        /* json_object_set_new takes ownership even on failure, and fails on a
         * NULL value, so one flag catches allocation and UTF-8 failures. */
        bad |= json_object_set_new(root, ST_META_KEY, meta);
        for (int i = 0; i < n_meta && !bad; i++) {
            bad |= json_object_set_new(meta, mk[i], json_string(mv[i]));
            if (bad) {
                json_decref(root);
                return bk_error(BK_ERR_INVALID, "%s: cannot encode metadata \"%s\" (not valid UTF-8, or out of "
                                "memory)", path, mk[i]);
            }
        }
    }
    uint64_t offset = 0;
    for (int i = 0; i < n && !bad; i++) {
        const bk_shape *s = &e[i].shape;
        json_t *t = json_object(), *shape = json_array(), *offs = json_array();
        uint64_t bytes = (uint64_t)bk_shape_numel(s) * 4u;
        for (int d = 0; d < s->ndim; d++) bad |= json_array_append_new(shape, json_integer(s->dims[d]));
        bad |= json_array_append_new(offs, json_integer((json_int_t)offset));
        bad |= json_array_append_new(offs, json_integer((json_int_t)(offset + bytes)));
        bad |= json_object_set_new(t, "dtype", json_string("F32"));
        bad |= json_object_set_new(t, "shape", shape);
        bad |= json_object_set_new(t, "data_offsets", offs);
        bad |= json_object_set_new(root, e[i].name, t);
        if (bad) {
            json_decref(root);
            return bk_error(BK_ERR_INVALID, "%s: cannot encode tensor \"%s\" in the header (name not valid "
                            "UTF-8, or out of memory)", path, e[i].name);
        }
        offset += bytes;
    }
    if (bad) {
        json_decref(root);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    /* Compact and in insertion order: tensors appear as laid out. */
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) return bk_error(BK_ERR_NOMEM, "%s: out of memory serializing the header", path);
    *out = text;
    return BK_OK;
}

/* Writes float data little-endian whatever the host order. */
static bk_status write_floats(bk_atomic_file *f, const float *data, size_t count)
{
    if (count == 0) return BK_OK;
    if (host_is_little_endian()) return bk_atomic_write(f, data, count * sizeof(float));
    unsigned char buf[4096];
    while (count > 0) {
        size_t k = count < sizeof buf / 4 ? count : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &data[i], 4);
            for (int b = 0; b < 4; b++) buf[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
        }
        bk_status s = bk_atomic_write(f, buf, k * 4);
        if (s) return s;
        data += k;
        count -= k;
    }
    return BK_OK;
}

bk_status bk_safetensors_write(const char *path, const bk_st_entry *e, int n,
                               const char *const *meta_keys, const char *const *meta_values, int n_meta)
{
    if (!path || !*path) return bk_error(BK_ERR_INVALID, "safetensors write: empty file path");
    bk_status s = check_entries(path, e, n, meta_keys, meta_values, n_meta);
    if (s) return s;
    char *header;
    s = build_header(path, e, n, meta_keys, meta_values, n_meta, &header);
    if (s) return s;

    /* Pad with spaces so the data section starts 8-byte aligned: readers
     * that mmap the file can then use the floats in place. */
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) & ~(size_t)7;
    unsigned char prefix[8];
    for (int b = 0; b < 8; b++) prefix[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    static const char spaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

    bk_atomic_file *f;
    s = bk_atomic_open(&f, path);
    if (s) {
        free(header);
        return s;
    }
    s = bk_atomic_write(f, prefix, 8);
    if (!s) s = bk_atomic_write(f, header, hlen);
    if (!s) s = bk_atomic_write(f, spaces, padded - hlen);
    free(header);
    for (int i = 0; i < n && !s; i++) s = write_floats(f, e[i].data, (size_t)bk_shape_numel(&e[i].shape));
    if (s) {
        bk_atomic_discard(f);
        return s;
    }
    return bk_atomic_commit(f);
}

/* ---- reader ------------------------------------------------------------------ */

typedef struct {
    char *name;
    const dtype_info *dt;
    bk_shape shape;
    uint64_t begin, end;    /* within the data section */
    const float *data;      /* in place, or = owned */
    float *owned;           /* converted or realigned copy */
} st_tensor;

struct bk_st_file {
    char *path;
    char *buf;              /* the whole file */
    size_t size;
    const unsigned char *data_sec;
    uint64_t data_len;
    int n;
    st_tensor *t;
    st_tensor **by_name;    /* t sorted by name, for binary search */
    int n_meta;
    char **meta_k, **meta_v;
};

void bk_safetensors_close(bk_st_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        bk_free(f->t[i].owned);
    }
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_k[i]);
        free(f->meta_v[i]);
    }
    free(f->meta_k);
    free(f->meta_v);
    free(f->t);
    free(f->by_name);
    free(f->buf);
    free(f->path);
    free(f);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int cmp_by_name(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_by_offset(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static bk_status parse_metadata(bk_st_file *f, json_t *meta)
{
    if (!json_is_object(meta))
        return bk_error(BK_ERR_INVALID, "%s: \"%s\" in the header must be an object of strings", f->path, ST_META_KEY);
    size_t m = json_object_size(meta);
    f->meta_k = calloc(m ? m : 1, sizeof *f->meta_k);
    f->meta_v = calloc(m ? m : 1, sizeof *f->meta_v);
    if (!f->meta_k || !f->meta_v) return bk_error(BK_ERR_NOMEM, "%s: out of memory reading metadata", f->path);
    const char *key;
    json_t *val;
    json_object_foreach(meta, key, val) {
        if (!json_is_string(val)) {
            char what[128];
            return bk_error(BK_ERR_INVALID, "%s: metadata \"%s\" must be a string, found %s", f->path, key,
                            bk_json_describe(val, what, sizeof what));
        }
        f->meta_k[f->n_meta] = dupstr(key);
        f->meta_v[f->n_meta] = dupstr(json_string_value(val));
        f->n_meta++;
        if (!f->meta_k[f->n_meta - 1] || !f->meta_v[f->n_meta - 1])
            return bk_error(BK_ERR_NOMEM, "%s: out of memory reading metadata", f->path);
    }
    return BK_OK;
}

/* Fills t from its header entry and checks it against the data section. */
static bk_status parse_tensor(bk_st_file *f, st_tensor *t, json_t *v)
{
    const char *name = t->name;
    if (!json_is_object(v))
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": header entry must be an object with dtype, shape "
                        "and data_offsets", f->path, name);
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": missing or non-string \"dtype\"", f->path, name);
    t->dt = find_dtype(json_string_value(dt));
    if (!t->dt)
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": unknown dtype \"%s\"; expected one of F32, F16, BF16, "
                        "F64, I64, I32, I16, I8, U8, BOOL... (corrupt header?)", f->path, name,
                        json_string_value(dt));
    if (!json_is_array(shape))
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": missing or non-array \"shape\"", f->path, name);
    size_t nd = json_array_size(shape);
    if (nd > BK_MAX_DIMS)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: tensor \"%s\" has %zu dimensions; brisk supports at most %d",
                        f->path, name, nd, BK_MAX_DIMS);
    t->shape.ndim = (int)nd;
    uint64_t numel = 1;
    for (size_t d = 0; d < nd; d++) {
        json_t *x = json_array_get(shape, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": shape[%zu] must be a non-negative integer",
                            f->path, name, d);
        uint64_t dim = (uint64_t)json_integer_value(x);
        if (dim > 0 && numel > (UINT64_MAX / 8) / dim)
            return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": shape is too large (element count overflows)",
                            f->path, name);
        numel *= dim;
        t->shape.dims[d] = (int64_t)dim;
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)))
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": \"data_offsets\" must be [begin, end] integers",
                        f->path, name);
    json_int_t b = json_integer_value(json_array_get(offs, 0)), e = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || e < b)
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": data_offsets [%lld, %lld] are not an increasing "
                        "pair of non-negative offsets", f->path, name, (long long)b, (long long)e);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    if (t->end > f->data_len)
        return bk_error(BK_ERR_IO, "%s: tensor \"%s\": data_offsets [%llu, %llu] run past the end of the data "
                        "(%llu bytes); the file is truncated or corrupt", f->path, name,
                        (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)f->data_len);
    uint64_t want = numel * (uint64_t)t->dt->size;
    if (t->end - t->begin != want) {
        char sb[96];
        return bk_error(BK_ERR_INVALID, "%s: tensor \"%s\": data_offsets span %llu bytes but %s %s needs %llu",
                        f->path, name, (unsigned long long)(t->end - t->begin), t->dt->name,
                        bk_shape_str(&t->shape, sb, sizeof sb), (unsigned long long)want);
    }
    return BK_OK;
}

/* Gives every tensor float32 data: in place when the stored bytes already
 * are aligned host-order F32, else converted into an owned buffer. */
static bk_status materialize(bk_st_file *f, st_tensor *t)
{
    const unsigned char *src = f->data_sec + t->begin;
    size_t count = (size_t)bk_shape_numel(&t->shape);
    int le = host_is_little_endian();
    if (t->dt->kind == DT_OTHER || count == 0) return BK_OK;
    if (t->dt->kind == DT_F32 && le && ((uintptr_t)src % _Alignof(float)) == 0) {
        t->data = (const float *)(const void *)src;
        return BK_OK;
    }
    t->owned = bk_alloc(count * sizeof(float));
    if (!t->owned)
        return bk_error(BK_ERR_NOMEM, "%s: tensor \"%s\": out of memory converting %zu values to float32", f->path,
                        t->name, count);
    for (size_t i = 0; i < count; i++) {
        float v;
        switch (t->dt->kind) {
        case DT_F32: {
            const unsigned char *p = src + 4 * i;
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&v, &u, 4);
            break;
        }
        case DT_F16: v = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8)); break;
        case DT_BF16: {
            uint32_t u = ((uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8) << 16;
            memcpy(&v, &u, 4);
            break;
        }
        case DT_F64: {
            uint64_t u = read_u64_le(src + 8 * i);
            double d;
            memcpy(&d, &u, 8);
            v = (float)d;
            break;
        }
        default: v = 0; break;
        }
        t->owned[i] = v;
    }
    t->data = t->owned;
    return BK_OK;
}

static bk_status open_parsed(bk_st_file *f)
{
    if (f->size < 8)
        return bk_error(BK_ERR_IO, "%s: the file is %zu bytes, too short for a safetensors header (truncated?)",
                        f->path, f->size);
    uint64_t hlen = read_u64_le((const unsigned char *)f->buf);
    if (hlen > f->size - 8)
        return bk_error(BK_ERR_IO, "%s: header length %llu exceeds the file size (%zu bytes); the file is "
                        "truncated or not a safetensors file", f->path, (unsigned long long)hlen, f->size);
    if (hlen > ST_MAX_HEADER)
        return bk_error(BK_ERR_INVALID, "%s: header length %llu is over the 100 MB limit; not a safetensors file?",
                        f->path, (unsigned long long)hlen);
    const char *hdr = f->buf + 8;
    if (hlen < 2 || hdr[0] != '{')
        return bk_error(BK_ERR_INVALID, "%s: the header does not start with '{'; not a safetensors file", f->path);
    f->data_sec = (const unsigned char *)f->buf + 8 + hlen;
    f->data_len = f->size - 8 - hlen;

    json_error_t jerr;
    json_t *root = json_loadb(hdr, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return bk_error(BK_ERR_INVALID, "%s: the header is not valid JSON (%s, at header byte %d); the file "
                        "is corrupt", f->path, jerr.text, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return bk_error(BK_ERR_INVALID, "%s: the header must be a JSON object", f->path);
    }
    size_t total = json_object_size(root);
    f->t = calloc(total ? total : 1, sizeof *f->t);
    f->by_name = calloc(total ? total : 1, sizeof *f->by_name);
    st_tensor **order = calloc(total ? total : 1, sizeof *order);
    bk_status s = BK_OK;
    if (!f->t || !f->by_name || !order) s = bk_error(BK_ERR_NOMEM, "%s: out of memory reading the header", f->path);
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (s) break;
        if (strcmp(key, ST_META_KEY) == 0) {
            s = parse_metadata(f, val);
            continue;
        }
        st_tensor *t = &f->t[f->n];
        t->name = dupstr(key);
        if (!t->name) {
            s = bk_error(BK_ERR_NOMEM, "%s: out of memory reading the header", f->path);
            break;
        }
        f->n++;
        s = parse_tensor(f, t, val);
    }
    json_decref(root);

    /* Overlapping ranges mean a corrupt or hostile header: two tensors
     * would alias the same bytes. Empty tensors occupy nothing. */
    if (!s) {
        int m = 0;
        for (int i = 0; i < f->n; i++)
            if (f->t[i].end > f->t[i].begin) order[m++] = &f->t[i];
        qsort(order, (size_t)m, sizeof *order, cmp_by_offset);
        for (int i = 1; i < m && !s; i++)
            if (order[i]->begin < order[i - 1]->end)
                s = bk_error(BK_ERR_INVALID, "%s: tensors \"%s\" [%llu, %llu) and \"%s\" [%llu, %llu) overlap in "
                             "the data section; the header is corrupt", f->path, order[i - 1]->name,
                             (unsigned long long)order[i - 1]->begin, (unsigned long long)order[i - 1]->end,
                             order[i]->name, (unsigned long long)order[i]->begin, (unsigned long long)order[i]->end);
    }
    free(order);
    for (int i = 0; i < f->n && !s; i++) s = materialize(f, &f->t[i]);
    if (!s) {
        for (int i = 0; i < f->n; i++) f->by_name[i] = &f->t[i];
        qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_by_name);
    }
    return s;
}

bk_status bk_safetensors_open(bk_st_file **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return bk_error(BK_ERR_INVALID, "safetensors open: empty file path");
    bk_st_file *f = calloc(1, sizeof *f);
    if (!f) return bk_error(BK_ERR_NOMEM, "%s: out of memory", path);
    f->path = dupstr(path);
    if (!f->path) {
        free(f);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory", path);
    }
    bk_status s = bk_read_file(path, &f->buf, &f->size);
    if (!s) s = open_parsed(f);
    if (s) {
        bk_safetensors_close(f);
        return s;
    }
    *out = f;
    return BK_OK;
}

int bk_safetensors_count(const bk_st_file *f) { return f ? f->n : 0; }

const char *bk_safetensors_name(const bk_st_file *f, int i)
{
    if (!f || i < 0 || i >= f->n) return NULL;
    return f->t[i].name;
}

static const st_tensor *find(const bk_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const st_tensor *t = f->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

int bk_safetensors_has(const bk_st_file *f, const char *name) { return find(f, name) != NULL; }

const char *bk_safetensors_dtype(const bk_st_file *f, const char *name)
{
    const st_tensor *t = find(f, name);
    return t ? t->dt->name : NULL;
}

bk_status bk_safetensors_get(const bk_st_file *f, const char *name, bk_shape *shape, const float **data)
{
    if (shape) memset(shape, 0, sizeof *shape);
    if (data) *data = NULL;
    if (!f || !name) return bk_error(BK_ERR_INVALID, "safetensors get: NULL file or tensor name");
    const st_tensor *t = find(f, name);
    if (!t) {
        /* Suggest the closest name: checkpoints from another model version
         * usually differ by a prefix or a layer number. */
        const char **names = malloc((size_t)(f->n ? f->n : 1) * sizeof *names);
        const char *close = NULL;
        if (names) {
            for (int i = 0; i < f->n; i++) names[i] = f->t[i].name;
            close = bk_closest_word(name, names, f->n);
        }
        bk_status s = bk_error(BK_ERR_INVALID, "%s: no tensor named \"%s\"%s%s%s (the file holds %d tensor%s%s%s%s)",
                               f->path, name, close ? "; did you mean \"" : "", close ? close : "",
                               close ? "\"?" : "", f->n, f->n == 1 ? "" : "s", f->n ? ", e.g. \"" : "",
                               f->n ? f->t[0].name : "", f->n ? "\"" : "");
        free(names);
        return s;
    }
    if (t->dt->kind == DT_OTHER)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s, which brisk does not load as float32 "
                        "(supported: F32, F16, BF16, F64); convert it before saving", f->path, name, t->dt->name);
    if (shape) *shape = t->shape;
    if (data) *data = t->data;
    return BK_OK;
}

const char *bk_safetensors_meta(const bk_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_k[i], key) == 0) return f->meta_v[i];
    return NULL;
}
