/* NumPy .npy and .npz. Arrays are converted to C-order float32 at open;
 * numpy users expect whole arrays in memory, and one conversion up front
 * keeps read() a memcpy. */
#include "data_internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#define NPY_MAX_DIMS 32

typedef struct {
    int ndim;
    int64_t dims[NPY_MAX_DIMS];
    float *data; /* C order */
} npy_array;

typedef struct {
    char kind;   /* 'f', 'i', 'u', 'b' */
    int size;    /* bytes per element */
    int big;     /* big-endian */
} npy_dtype;

/* ---- header ---- */

/* Points at the value after `'key':` in the header dict, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char q1[64], q2[64];
    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    const char *p = strstr(hdr, q1);
    if (!p) p = strstr(hdr, q2);
    if (!p) return NULL;
    p += strlen(q1);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static bk_status parse_dtype(npy_dtype *dt, const char *v, const char *what)
{
    char descr[32];
    char q = *v;
    if (q == '[' || q == '{')
        return bk_error(BK_ERR_UNSUPPORTED, "%s: structured dtypes are not supported; "
                        "save each field as its own array", what);
    if (q != '\'' && q != '"')
        return bk_error(BK_ERR_IO, "%s: bad .npy header: 'descr' is not a string; "
                        "the file is corrupt, save it again with numpy.save", what);
    const char *end = strchr(v + 1, q);
    if (!end || end - v - 1 >= (long)sizeof descr)
        return bk_error(BK_ERR_IO, "%s: bad .npy header: unterminated 'descr'; "
                        "the file is corrupt, save it again with numpy.save", what);
    memcpy(descr, v + 1, (size_t)(end - v - 1));
    descr[end - v - 1] = 0;
    const char *d = descr;
    dt->big = 0;
    if (*d == '<' || *d == '|' || *d == '=') d++;
    else if (*d == '>') { dt->big = 1; d++; }
    dt->kind = *d;
    char *rest;
    long size = strtol(d + 1, &rest, 10);
    int ok = *rest == 0 && d[1] != 0;
    switch (dt->kind) {
    case 'f': ok = ok && (size == 2 || size == 4 || size == 8); break;
    case 'i': case 'u': ok = ok && (size == 1 || size == 2 || size == 4 || size == 8); break;
    case 'b': ok = ok && size == 1; break;
    default: ok = 0;
    }
    if (!ok)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported (float16/32/64, "
                        "int/uint 8-64 and bool are); convert with arr.astype('float32')", what, descr);
    dt->size = (int)size;
    return BK_OK;
}

static bk_status parse_shape(npy_array *a, const char *v, const char *what)
{
    if (*v != '(')
        return bk_error(BK_ERR_IO, "%s: bad .npy header: 'shape' is not a tuple; "
                        "the file is corrupt, save it again with numpy.save", what);
    const char *p = v + 1;
    a->ndim = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (end == p || errno || n < 0)
            return bk_error(BK_ERR_IO, "%s: bad .npy header: cannot read the shape tuple; "
                            "the file is corrupt, save it again with numpy.save", what);
        if (a->ndim == NPY_MAX_DIMS)
            return bk_error(BK_ERR_UNSUPPORTED, "%s: more than %d dims", what, NPY_MAX_DIMS);
        a->dims[a->ndim++] = n;
        p = end;
        if (*p == 'L') p++; /* Python 2 longs */
    }
    return BK_OK;
}

/* ---- element conversion ---- */

static float half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)mant, -24);
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float to_float(const uint8_t *p, const npy_dtype *dt)
{
    uint64_t u = 0;
    for (int i = 0; i < dt->size; i++) {
        int b = dt->big ? i : dt->size - 1 - i;
        u = u << 8 | p[b];
    }
    switch (dt->kind) {
    case 'f':
        if (dt->size == 2) return half_to_float((uint16_t)u);
        if (dt->size == 4) { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); return f; }
        { double g; memcpy(&g, &u, 8); return (float)g; }
    case 'i': {
        int bits = dt->size * 8;
        if (bits < 64 && (u >> (bits - 1)) & 1) u |= ~(uint64_t)0 << bits;
        int64_t s;
        memcpy(&s, &u, 8);
        return (float)s;
    }
    case 'b': return u ? 1.0f : 0.0f;
    default: return (float)u;
    }
}

/* Parses a whole .npy image in memory into a float array. */
static bk_status npy_parse(const uint8_t *buf, size_t len, const char *what, npy_array *a)
{
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return bk_error(BK_ERR_IO, "%s: not a .npy file (bad magic); "
                        "write it with numpy.save", what);
    int major = buf[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return bk_error(BK_ERR_IO, "%s: truncated .npy header", what);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    } else {
        return bk_error(BK_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported "
                        "(1.x-3.x are); save it again with numpy.save", what, major, buf[7]);
    }
    if (hlen > len - off)
        return bk_error(BK_ERR_IO, "%s: truncated .npy header (%zu bytes promised, %zu there); "
                        "the file is incomplete", what, hlen, len - off);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return bk_error(BK_ERR_NOMEM, "%s: out of memory", what);
    memcpy(hdr, buf + off, hlen);
    hdr[hlen] = 0;
    npy_dtype dt;
    const char *dv = dict_value(hdr, "descr"), *fv = dict_value(hdr, "fortran_order"),
               *sv = dict_value(hdr, "shape");
    bk_status st = BK_OK;
    if (!dv || !fv || !sv || hdr[0] != '{')
        st = bk_error(BK_ERR_IO, "%s: bad .npy header: expected a dict with 'descr', "
                      "'fortran_order' and 'shape'; save the array again with numpy.save", what);
    if (!st) st = parse_dtype(&dt, dv, what);
    if (!st) st = parse_shape(a, sv, what);
    int fortran = fv && strncmp(fv, "True", 4) == 0;
    if (!st && !fortran && (!fv || strncmp(fv, "False", 5) != 0))
        st = bk_error(BK_ERR_IO, "%s: bad .npy header: 'fortran_order' is neither True nor False", what);
    free(hdr);
    if (st) return st;

    int64_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] && count > INT64_MAX / a->dims[i])
            return bk_error(BK_ERR_IO, "%s: shape too large", what);
        count *= a->dims[i];
    }
    if (!bk_data_size_ok(count, dt.size, 1) || !bk_data_size_ok(count, 1, sizeof(float)))
        return bk_error(BK_ERR_NOMEM, "%s: %lld elements do not fit in memory", what, (long long)count);
    size_t need = (size_t)count * (size_t)dt.size, have = len - off - hlen;
    if (have != need)
        return bk_error(BK_ERR_IO, "%s: the header describes %zu data bytes but the file has %zu; "
                        "the file is %s", what, need, have, have < need ? "truncated" : "corrupt");
    const uint8_t *src = buf + off + hlen;
    a->data = malloc(count ? (size_t)count * sizeof(float) : 1);
    if (!a->data) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld floats", what, (long long)count);

    if (!fortran || a->ndim < 2) {
        if (dt.kind == 'f' && dt.size == 4 && !dt.big) memcpy(a->data, src, need);
        else for (int64_t i = 0; i < count; i++) a->data[i] = to_float(src + i * dt.size, &dt);
        return BK_OK;
    }
    /* Walk the output in C order while tracking the Fortran offset. */
    int64_t fs[NPY_MAX_DIMS], pos[NPY_MAX_DIMS] = {0}, f = 0;
    fs[0] = 1;
    for (int d = 1; d < a->ndim; d++) fs[d] = fs[d - 1] * a->dims[d - 1];
    for (int64_t i = 0; i < count; i++) {
        a->data[i] = to_float(src + f * dt.size, &dt);
        for (int d = a->ndim - 1; d >= 0; d--) {
            f += fs[d];
            if (++pos[d] < a->dims[d]) break;
            f -= fs[d] * a->dims[d];
            pos[d] = 0;
        }
    }
    return BK_OK;
}

/* ---- files ---- */

static bk_status read_file(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bk_error(BK_ERR_IO, "%s: cannot open (%s); check the path", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return bk_error(BK_ERR_IO, "%s: not a regular file; name a .npy or .npz file", path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return bk_error(BK_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    *out = buf;
    *len = n;
    return BK_OK;
}

/* Index of the member called key or key.npy, or -1. */
static zip_int64_t npz_find(zip_t *za, const char *key)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    size_t kl = strlen(key);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!name) continue;
        if (strcmp(name, key) == 0 || (strncmp(name, key, kl) == 0 && strcmp(name + kl, ".npy") == 0))
            return i;
    }
    return -1;
}

static bk_status npz_missing(zip_t *za, const char *path, const char *key, const char *opt)
{
    char names[512] = "";
    size_t used = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n && used + 1 < sizeof names; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                 name ? name : "?");
    }
    return bk_error(BK_ERR_INVALID, "%s: no array \"%s\" in the archive (it holds: %s); "
                    "set %s to one of those", path, key, n ? names : "nothing", opt);
}

static bk_status npz_load(zip_t *za, zip_int64_t i, const char *path, npy_array *a)
{
    char what[4096];
    const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
    snprintf(what, sizeof what, "%s:%s", path, name ? name : "?");
    zip_stat_t sb;
    if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return bk_error(BK_ERR_IO, "%s: cannot stat the member (%s)", what, zip_strerror(za));
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
    if (!zf) return bk_error(BK_ERR_IO, "%s: cannot open the member (%s); the archive may be corrupt",
                             what, zip_strerror(za));
    size_t n = (size_t)sb.size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        zip_fclose(zf);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes", what, n);
    }
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(zf, buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    bk_status st = BK_OK;
    if (got != n)
        st = bk_error(BK_ERR_IO, "%s: read %zu of %zu bytes (%s); the archive is truncated or corrupt",
                      what, got, n, zip_file_strerror(zf));
    zip_fclose(zf);
    if (!st) st = npy_parse(buf, n, what, a);
    free(buf);
    return st;
}

static bk_status npz_open(zip_t **za, const char *path)
{
    int err = 0;
    *za = zip_open(path, ZIP_RDONLY, &err);
    if (*za) return BK_OK;
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    bk_status st = bk_error(BK_ERR_IO, "%s: cannot open as .npz (%s); write it with numpy.savez",
                            path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
}

static bk_status is_npz(const char *path, int *npz)
{
    FILE *f = fopen(path, "rb");
    if (!f) return bk_error(BK_ERR_IO, "%s: cannot open (%s); check the path", path, strerror(errno));
    char m[2] = {0};
    size_t got = fread(m, 1, 2, f);
    fclose(f);
    *npz = got == 2 && m[0] == 'P' && m[1] == 'K';
    return BK_OK;
}

/* Loads one array: a .npy file, or a member of a .npz picked by key, else
 * by the name dflt (may be NULL), else by position pos (-1: none). Finding
 * nothing without a key is not an error: *found says. */
static bk_status load_array(const char *path, const char *key, const char *dflt, int pos,
                            const char *opt, npy_array *a, int *found)
{
    int npz;
    *found = 0;
    bk_status st = is_npz(path, &npz);
    if (st) return st;
    if (!npz) {
        uint8_t *buf;
        size_t len = 0;
        if ((st = read_file(path, &buf, &len))) return st;
        st = npy_parse(buf, len, path, a);
        free(buf);
        *found = !st;
        return st;
    }
    zip_t *za;
    if ((st = npz_open(&za, path))) return st;
    zip_int64_t i = -1;
    if (key) {
        i = npz_find(za, key);
        if (i < 0) st = npz_missing(za, path, key, opt);
    } else {
        if (dflt) i = npz_find(za, dflt);
        if (i < 0 && pos >= 0 && pos < zip_get_num_entries(za, 0)) i = pos;
    }
    if (!st && i >= 0) {
        st = npz_load(za, i, path, a);
        *found = !st;
    }
    zip_discard(za);
    return st;
}

bk_status bk_dataset_open_numpy(bk_dataset **out, const bk_data_options *opt)
{
    *out = NULL;
    if (!opt || !opt->input_path)
        return bk_error(BK_ERR_INVALID, "numpy: input_path is not set; name a .npy or .npz file");
    npy_array x, y;
    int have_x, have_y = 0;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    bk_status st = load_array(opt->input_path, opt->input_key, "x", 0, "input_key", &x, &have_x);
    if (st) return st;
    if (!have_x)
        return bk_error(BK_ERR_IO, "%s: the .npz archive holds no arrays; "
                        "write it with numpy.savez(path, x=..., y=...)", opt->input_path);
    const char *ypath = opt->target_path ? opt->target_path : opt->input_path;
    int in_npz = 0;
    if (!opt->target_path) st = is_npz(opt->input_path, &in_npz);
    if (!st && (opt->target_path || in_npz)) {
        /* The second array stands in for "y" only when the input was also
         * picked by position; otherwise a file holding x and z would train
         * on z by accident. */
        int positional = !opt->target_path && !opt->input_key && !opt->target_key;
        if (positional) {
            zip_t *za;
            st = npz_open(&za, ypath);
            if (!st) {
                positional = npz_find(za, "x") < 0;
                zip_discard(za);
            }
        }
        if (!st)
            st = load_array(ypath, opt->target_key, positional ? NULL : "y",
                            opt->target_path ? 0 : positional ? 1 : -1, "target_key", &y, &have_y);
    }
    bk_shape xs, ys;
    if (!st) st = bk_data_sample_shape(&xs, x.ndim, x.dims, 0, opt->input_path);
    if (!st && have_y) st = bk_data_sample_shape(&ys, y.ndim, y.dims, 1, ypath);
    if (!st && have_y && x.dims[0] != y.dims[0])
        st = bk_error(BK_ERR_SHAPE, "%s has %lld samples but the targets in %s have %lld; "
                      "both must have the same length along axis 0", opt->input_path,
                      (long long)x.dims[0], ypath, (long long)y.dims[0]);
    if (st) {
        free(x.data);
        free(y.data);
        return st;
    }
    char name[256];
    if (opt->target_path) snprintf(name, sizeof name, "%.120s + %.120s", opt->input_path, opt->target_path);
    else snprintf(name, sizeof name, "%s", opt->input_path);
    return bk_data_from_floats(out, name, x.dims[0], &xs, x.data, have_y ? &ys : NULL,
                               have_y ? y.data : NULL);
}

bk_status bk_data_numpy_array(bk_dataset **out, const char *path, const char *key, int is_target)
{
    *out = NULL;
    npy_array a;
    int found;
    memset(&a, 0, sizeof a);
    const char *opt = is_target ? "target_key" : "input_key";
    bk_status st = load_array(path, key, NULL, key ? -1 : 0, opt, &a, &found);
    if (st) return st;
    if (!found)
        return bk_error(BK_ERR_IO, "%s: the .npz archive holds no arrays; name a member with %s", path, opt);
    char name[256];
    if (key) snprintf(name, sizeof name, "%.200s:%.50s", path, key);
    else snprintf(name, sizeof name, "%s", path);
    bk_shape s;
    st = bk_data_sample_shape(&s, a.ndim, a.dims, is_target, name);
    if (st) {
        free(a.data);
        return st;
    }
    return bk_data_from_floats(out, name, a.dims[0], &s, a.data, NULL, NULL);
}
