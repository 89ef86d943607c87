/* NumPy .npy and .npz. Arrays are converted to C-order float32 at open;
 * numpy users expect whole arrays in memory, and one conversion up front
 * keeps read() a memcpy. */
#include "data_internal.h"
#include "core/fsutil.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

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

static bk_status parse_shape(bk_npy_array *a, const char *v, const char *what)
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
        if (a->ndim == BK_NPY_MAX_DIMS)
            return bk_error(BK_ERR_UNSUPPORTED, "%s: more than %d dims", what, BK_NPY_MAX_DIMS);
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

/* Bytes of the preamble + header of a .npy image, from its first 12
 * bytes (fewer only when the image is shorter). */
static bk_status npy_header_len(const uint8_t *buf, size_t len, const char *what, size_t *total)
{
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return bk_error(BK_ERR_IO, "%s: not a .npy file (bad magic); "
                        "write it with numpy.save", what);
    int major = buf[6];
    if (major == 1) {
        *total = 10 + ((size_t)buf[8] | (size_t)buf[9] << 8);
    } else if (major == 2 || major == 3) {
        if (len < 12) return bk_error(BK_ERR_IO, "%s: truncated .npy header", what);
        *total = 12 + ((size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24);
    } else {
        return bk_error(BK_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported "
                        "(1.x-3.x are); save it again with numpy.save", what, major, buf[7]);
    }
    return BK_OK;
}

/* Parses a .npy image: buf holds at least its preamble and header (len
 * bytes of it are here), total is the whole image's size, checked against
 * the header. header_only: shape only, a->data stays NULL; else the data
 * (all of it in buf) is converted into a->data (malloc'd). */
static bk_status npy_parse_part(const uint8_t *buf, size_t len, size_t total, const char *what,
                                bk_npy_array *a, int header_only)
{
    memset(a, 0, sizeof *a);
    size_t data_off;
    bk_status st = npy_header_len(buf, len, what, &data_off);
    if (st) return st;
    size_t off = buf[6] == 1 ? 10 : 12, hlen = data_off - off;
    if (data_off > total || data_off > len)
        return bk_error(BK_ERR_IO, "%s: truncated .npy header (%zu bytes promised, %zu there); "
                        "the file is incomplete", what, hlen, (total > off ? total : off) - off);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return bk_error(BK_ERR_NOMEM, "%s: out of memory", what);
    memcpy(hdr, buf + off, hlen);
    hdr[hlen] = 0;
    npy_dtype dt;
    const char *dv = dict_value(hdr, "descr"), *fv = dict_value(hdr, "fortran_order"),
               *sv = dict_value(hdr, "shape");
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
    size_t need = (size_t)count * (size_t)dt.size, have = total - data_off;
    if (have != need)
        return bk_error(BK_ERR_IO, "%s: the header describes %zu data bytes but the file has %zu; "
                        "the file is %s", what, need, have, have < need ? "truncated" : "corrupt");
    if (header_only) return BK_OK;
    const uint8_t *src = buf + data_off;
    a->data = malloc(count ? (size_t)count * sizeof(float) : 1);
    if (!a->data) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld floats", what, (long long)count);

    if (!fortran || a->ndim < 2) {
        if (dt.kind == 'f' && dt.size == 4 && !dt.big) memcpy(a->data, src, need);
        else for (int64_t i = 0; i < count; i++) a->data[i] = to_float(src + i * dt.size, &dt);
        return BK_OK;
    }
    /* Walk the output in C order while tracking the Fortran offset. */
    int64_t fs[BK_NPY_MAX_DIMS], pos[BK_NPY_MAX_DIMS] = {0}, f = 0;
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

/* Parses a whole .npy image in memory into a float array. */
static bk_status npy_parse(const uint8_t *buf, size_t len, const char *what, bk_npy_array *a)
{
    return npy_parse_part(buf, len, len, what, a, 0);
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

typedef size_t (*read_fn)(void *src, uint8_t *buf, size_t n);

static size_t file_reader(void *src, uint8_t *buf, size_t n) { return fread(buf, 1, n, src); }

static size_t zip_reader(void *src, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(src, buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Reads only the preamble and header of a .npy image of total bytes from
 * src, so a folder of large samples can be checked without reading them. */
static bk_status npy_peek(read_fn rd, void *src, size_t total, const char *what, bk_npy_array *a)
{
    uint8_t pre[12];
    size_t got = rd(src, pre, total < 12 ? total : 12), hdr_len;
    bk_status st = npy_header_len(pre, got, what, &hdr_len);
    if (st) return st;
    if (hdr_len > total)
        return bk_error(BK_ERR_IO, "%s: truncated .npy header; the file is incomplete", what);
    uint8_t *buf = malloc(hdr_len > got ? hdr_len : got);
    if (!buf) return bk_error(BK_ERR_NOMEM, "%s: out of memory", what);
    memcpy(buf, pre, got);
    if (hdr_len > got && rd(src, buf + got, hdr_len - got) != hdr_len - got)
        st = bk_error(BK_ERR_IO, "%s: cannot read the .npy header; the file is truncated or corrupt", what);
    if (!st) st = npy_parse_part(buf, hdr_len > got ? hdr_len : got, total, what, a, 1);
    free(buf);
    return st;
}

bk_status bk_npy_read(const char *path, bk_npy_array *a, int header_only)
{
    memset(a, 0, sizeof *a);
    if (!header_only) {
        uint8_t *buf;
        size_t len = 0;
        bk_status st = read_file(path, &buf, &len);
        if (st) return st;
        st = npy_parse(buf, len, path, a);
        free(buf);
        return st;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return bk_error(BK_ERR_IO, "%s: cannot open (%s); check the path", path, strerror(errno));
    struct stat sb;
    bk_status st = BK_OK;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        st = bk_error(BK_ERR_IO, "%s: not a regular file; name a .npy or .npz file", path);
    if (!st) st = npy_peek(file_reader, f, (size_t)sb.st_size, path, a);
    fclose(f);
    return st;
}

/* ---- .npz archives ---- */

struct bk_npz {
    zip_t *za;
    int64_t n;
    char **names; /* member names without ".npy" */
    char path[1024];
};

void bk_npz_close(bk_npz *z)
{
    if (!z) return;
    if (z->za) zip_discard(z->za);
    for (int64_t i = 0; z->names && i < z->n; i++) free(z->names[i]);
    free(z->names);
    free(z);
}

bk_status bk_npz_open(bk_npz **out, const char *path)
{
    *out = NULL;
    bk_npz *z = calloc(1, sizeof *z);
    if (!z) return bk_error(BK_ERR_NOMEM, "%s: out of memory", path);
    snprintf(z->path, sizeof z->path, "%s", path);
    int err = 0;
    z->za = zip_open(path, ZIP_RDONLY, &err);
    if (!z->za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        bk_status st = bk_error(BK_ERR_IO, "%s: cannot open as .npz (%s); write it with numpy.savez",
                                path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        free(z);
        return st;
    }
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    z->names = calloc((size_t)(n > 0 ? n : 1), sizeof *z->names);
    if (!z->names) {
        bk_npz_close(z);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory", path);
    }
    for (zip_int64_t i = 0; i < n; i++, z->n++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, 0);
        size_t len = name ? strlen(name) : 1;
        if (name && len > 4 && !strcmp(name + len - 4, ".npy")) len -= 4;
        z->names[i] = strndup(name ? name : "?", len);
        if (!z->names[i]) {
            bk_npz_close(z);
            return bk_error(BK_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    *out = z;
    return BK_OK;
}

int64_t bk_npz_count(const bk_npz *z) { return z->n; }

const char *bk_npz_name(const bk_npz *z, int64_t i) { return z->names[i]; }

int64_t bk_npz_find(const bk_npz *z, const char *key)
{
    size_t kl = strlen(key);
    /* "x" finds x.npy; "x.npy" finds it too */
    if (kl > 4 && !strcmp(key + kl - 4, ".npy")) kl -= 4;
    for (int64_t i = 0; i < z->n; i++)
        if (strlen(z->names[i]) == kl && !strncmp(z->names[i], key, kl)) return i;
    return -1;
}

bk_status bk_npz_read(bk_npz *z, int64_t i, bk_npy_array *a, int header_only)
{
    memset(a, 0, sizeof *a);
    char what[2048];
    snprintf(what, sizeof what, "%s:%s.npy", z->path, z->names[i]);
    zip_stat_t sb;
    if (zip_stat_index(z->za, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return bk_error(BK_ERR_IO, "%s: cannot stat the member (%s)", what, zip_strerror(z->za));
    zip_file_t *zf = zip_fopen_index(z->za, (zip_uint64_t)i, 0);
    if (!zf) return bk_error(BK_ERR_IO, "%s: cannot open the member (%s); the archive may be corrupt",
                             what, zip_strerror(z->za));
    size_t n = (size_t)sb.size;
    bk_status st = BK_OK;
    if (header_only) {
        st = npy_peek(zip_reader, zf, n, what, a);
        zip_fclose(zf);
        return st;
    }
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        zip_fclose(zf);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes", what, n);
    }
    size_t got = zip_reader(zf, buf, n);
    if (got != n)
        st = bk_error(BK_ERR_IO, "%s: read %zu of %zu bytes (%s); the archive is truncated or corrupt",
                      what, got, n, zip_file_strerror(zf));
    zip_fclose(zf);
    if (!st) st = npy_parse(buf, n, what, a);
    free(buf);
    return st;
}

static bk_status npz_missing(const bk_npz *z, const char *key, const char *opt)
{
    char names[512] = "";
    size_t used = 0;
    for (int64_t i = 0; i < z->n && used + 1 < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s.npy", used ? ", " : "", z->names[i]);
    return bk_error(BK_ERR_INVALID, "%s: no array \"%s\" in the archive (it holds: %s); "
                    "set %s to one of those", z->path, key, z->n ? names : "nothing", opt);
}

bk_status bk_npy_is_npz(const char *path, int *npz)
{
    *npz = 0;
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
                            const char *opt, bk_npy_array *a, int *found)
{
    int npz;
    *found = 0;
    bk_status st = bk_npy_is_npz(path, &npz);
    if (st) return st;
    if (!npz) {
        st = bk_npy_read(path, a, 0);
        *found = !st;
        return st;
    }
    bk_npz *z;
    if ((st = bk_npz_open(&z, path))) return st;
    int64_t i = -1;
    if (key) {
        i = bk_npz_find(z, key);
        if (i < 0) st = npz_missing(z, key, opt);
    } else {
        if (dflt) i = bk_npz_find(z, dflt);
        if (i < 0 && pos >= 0 && pos < z->n) i = pos;
    }
    if (!st && i >= 0) {
        st = bk_npz_read(z, i, a, 0);
        *found = !st;
    }
    bk_npz_close(z);
    return st;
}

/* Inputs and targets both as arrays with samples along axis 0 (a .npy, or
 * .npz members picked by key or named x / y), loaded into one dataset. */
static bk_status open_arrays(bk_dataset **out, const bk_data_options *opt)
{
    bk_npy_array x, y;
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
    if (!opt->target_path) st = bk_npy_is_npz(opt->input_path, &in_npz);
    /* targets in the inputs' archive only by name: a file holding x and z
     * must not train on z by accident */
    if (!st && (opt->target_path || in_npz))
        st = load_array(ypath, opt->target_key, "y", opt->target_path ? 0 : -1, "target_key", &y, &have_y);
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

bk_status bk_data_numpy_form(const char *path, const char *key, const char *named, int *per_sample)
{
    *per_sample = 0;
    if (bk_is_dir(path)) {
        if (key)
            return bk_error(BK_ERR_INVALID, "%s is a folder, whose .npy/.npz files are the samples; %s names an "
                            "array inside one file: remove it, or name the file", path,
                            strcmp(named, "y") ? "input_key" : "target_key");
        *per_sample = 1;
        return BK_OK;
    }
    int npz;
    bk_status st = bk_npy_is_npz(path, &npz);
    if (st || !npz || key) return st;
    bk_npz *z;
    if ((st = bk_npz_open(&z, path))) return st;
    *per_sample = bk_npz_find(z, named) < 0;
    bk_npz_close(z);
    return BK_OK;
}

/* One side (inputs or targets) as a dataset of its own, in either form. */
static bk_status open_side(bk_dataset **out, const char *path, const char *key, int is_target, int per_sample,
                           int preload)
{
    if (per_sample) return bk_data_numpy_samples(out, path, is_target, preload);
    bk_npy_array a;
    int found;
    const char *opt = is_target ? "target_key" : "input_key";
    bk_status st = load_array(path, key, is_target ? "y" : "x", 0, opt, &a, &found);
    if (st) return st;
    if (!found) return bk_error(BK_ERR_IO, "%s: the .npz archive holds no arrays", path);
    bk_shape s;
    if ((st = bk_data_sample_shape(&s, a.ndim, a.dims, is_target, path))) {
        free(a.data);
        return st;
    }
    return bk_data_from_floats(out, path, a.dims[0], &s, a.data, NULL, NULL);
}

bk_status bk_dataset_open_numpy(bk_dataset **out, const bk_data_options *opt)
{
    *out = NULL;
    if (!opt || !opt->input_path)
        return bk_error(BK_ERR_INVALID, "numpy: input_path is not set; name a .npy or .npz file, or a folder of them");
    /* A target_key without target_path names an array of the inputs' own
     * archive, which makes that archive one of named arrays. */
    const char *in_key = opt->input_key ? opt->input_key : !opt->target_path ? opt->target_key : NULL;
    int x_samples, y_samples = 0;
    bk_status st = bk_data_numpy_form(opt->input_path, in_key, "x", &x_samples);
    if (!st && opt->target_path) st = bk_data_numpy_form(opt->target_path, opt->target_key, "y", &y_samples);
    if (st) return st;
    if (!x_samples && !y_samples) return open_arrays(out, opt);
    bk_dataset *x = NULL, *y = NULL;
    st = open_side(&x, opt->input_path, opt->input_key, 0, x_samples, opt->preload);
    if (!st && opt->target_path)
        st = open_side(&y, opt->target_path, opt->target_key, 1, y_samples, opt->preload);
    if (st || !y) {
        bk_dataset_destroy(y);
        if (st) bk_dataset_destroy(x);
        else *out = x;
        return st;
    }
    const char *hint = "";
    if (x->count != y->count && (x_samples || y_samples))
        hint = "; an .npz without an array named x (inputs) or y (targets) holds one sample per array, and a "
               "folder one sample per .npy file (or per array of each .npz in it): to read an array with "
               "samples along axis 0, name it with input_key / target_key";
    return bk_data_pair(out, x, y, hint);
}

bk_status bk_data_numpy_array(bk_dataset **out, const char *path, const char *key, int is_target)
{
    *out = NULL;
    bk_npy_array a;
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
