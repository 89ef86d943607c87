/* Tests for src/core/fsutil, src/io/safetensors and src/io/json. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* popen, fileno under -std=c11 */
#endif
#include "testutil.h"
#include "core/fsutil.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmp[2048];

static const char *tpath(const char *name)
{
    static char buf[4][4096];
    static int k = 0;
    k = (k + 1) % 4;
    bk_path_join(buf[k], sizeof buf[k], tmp, name);
    return buf[k];
}

static int contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

#define CHECK_MSG(needle) do { CHECK(contains(bk_last_error(), needle)); \
    if (!contains(bk_last_error(), needle)) fprintf(stderr, "  message was: %s\n  expected to contain: %s\n", \
        bk_last_error(), needle); } while (0)

/* Count files in dir whose name contains needle. */
static int count_files(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, needle)) n++;
    closedir(d);
    return n;
}

static void write_raw(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        CHECK(!"fopen failed");
        return;
    }
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

/* ---- fsutil ------------------------------------------------------------------ */

static void test_paths(void)
{
    char b[64];
    bk_path_join(b, sizeof b, "a/b", "c.txt");
    CHECK(strcmp(b, "a/b/c.txt") == 0);
    bk_path_join(b, sizeof b, "a/b/", "c");
    CHECK(strcmp(b, "a/b/c") == 0);
    bk_path_join(b, sizeof b, "", "c");
    CHECK(strcmp(b, "c") == 0);
    bk_path_join(b, sizeof b, "/", "c");
    CHECK(strcmp(b, "/c") == 0);
    bk_path_join(b, sizeof b, "a", "/abs");
    CHECK(strcmp(b, "/abs") == 0);
    bk_path_join(b, 6, "abc", "defgh"); /* truncation stays terminated */
    CHECK(strcmp(b, "abc/d") == 0);

    bk_path_dirname(b, sizeof b, "a/b/c");
    CHECK(strcmp(b, "a/b") == 0);
    bk_path_dirname(b, sizeof b, "c");
    CHECK(strcmp(b, ".") == 0);
    bk_path_dirname(b, sizeof b, "/c");
    CHECK(strcmp(b, "/") == 0);
    bk_path_dirname(b, sizeof b, "a/b/");
    CHECK(strcmp(b, "a") == 0);
    bk_path_dirname(b, sizeof b, "/");
    CHECK(strcmp(b, "/") == 0);
    bk_path_dirname(b, sizeof b, "a//b");
    CHECK(strcmp(b, "a") == 0);
    bk_path_dirname(b, sizeof b, "");
    CHECK(strcmp(b, ".") == 0);
}

static void test_fs(void)
{
    const char *deep = tpath("d1/d2//d3/");
    CHECK_OK(bk_mkdir_p(deep));
    CHECK(bk_is_dir(tpath("d1/d2/d3")));
    CHECK_OK(bk_mkdir_p(deep)); /* idempotent */
    CHECK(bk_path_exists(tpath("d1")));
    CHECK(!bk_path_exists(tpath("nope")));
    CHECK(!bk_is_dir(tpath("nope")));

    const char *p = tpath("atomic.txt");
    remove(p);
    CHECK_OK(bk_write_file_atomic(p, "first version", 13));
    char *txt = NULL;
    size_t len = 0;
    CHECK_OK(bk_read_file(p, &txt, &len));
    CHECK(len == 13 && txt && strcmp(txt, "first version") == 0);
    free(txt);
    CHECK(!bk_is_dir(p));

    /* replace with shorter content: no leftovers of the old bytes */
    CHECK_OK(bk_write_file_atomic(p, "v2", 2));
    CHECK_OK(bk_read_file(p, &txt, &len));
    CHECK(len == 2 && txt && strcmp(txt, "v2") == 0);
    free(txt);
    CHECK(count_files(tmp, ".tmp.") == 0);

    /* empty file */
    CHECK_OK(bk_write_file_atomic(p, "", 0));
    CHECK_OK(bk_read_file(p, &txt, &len));
    CHECK(len == 0 && txt && txt[0] == 0);
    free(txt);

    /* incremental: nothing visible until commit; discard keeps the old file */
    CHECK_OK(bk_write_file_atomic(p, "old", 3));
    bk_atomic_file *f = NULL;
    CHECK_OK(bk_atomic_open(&f, p));
    if (f) {
        CHECK_OK(bk_atomic_write(f, "new ", 4));
        CHECK(count_files(tmp, "atomic.txt.tmp.") == 1);
        CHECK_OK(bk_read_file(p, &txt, &len));
        CHECK(len == 3 && strcmp(txt, "old") == 0); /* still the old one mid-write */
        free(txt);
        bk_atomic_discard(f);
    }
    CHECK(count_files(tmp, ".tmp.") == 0);
    CHECK_OK(bk_read_file(p, &txt, &len));
    CHECK(len == 3 && strcmp(txt, "old") == 0);
    free(txt);

    CHECK_OK(bk_atomic_open(&f, p));
    if (f) {
        /* a big write in several pieces */
        size_t big = 3u << 20;
        char *buf = malloc(big);
        CHECK(buf != NULL);
        if (buf) {
            for (size_t i = 0; i < big; i++) buf[i] = (char)('a' + i % 26);
            CHECK_OK(bk_atomic_write(f, buf, big / 2));
            CHECK_OK(bk_atomic_write(f, buf + big / 2, big - big / 2));
        }
        CHECK_OK(bk_atomic_commit(f));
        CHECK_OK(bk_read_file(p, &txt, &len));
        CHECK(len == big && buf && memcmp(txt, buf, big) == 0);
        free(txt);
        free(buf);
    }
    CHECK(count_files(tmp, ".tmp.") == 0);

    /* errors name the path and leave outputs cleared */
    txt = (char *)1;
    CHECK(bk_read_file(tpath("missing.txt"), &txt, &len) == BK_ERR_IO);
    CHECK(txt == NULL);
    CHECK_MSG("missing.txt");
    CHECK_MSG("No such file");
    CHECK(bk_read_file(tmp, &txt, &len) == BK_ERR_IO);
    CHECK_MSG("directory");
    CHECK(bk_write_file_atomic(tpath("no/such/dir/x.txt"), "x", 1) == BK_ERR_IO);
    CHECK_MSG("no/such/dir/x.txt");
    CHECK(bk_mkdir_p(tpath("atomic.txt/sub")) == BK_ERR_IO); /* a file is in the way */
    CHECK_MSG("atomic.txt");
    CHECK(bk_mkdir_p("") == BK_ERR_INVALID);
    /* renaming onto a directory fails, and cleans up its temp file */
    CHECK(bk_write_file_atomic(tpath("d1"), "x", 1) == BK_ERR_IO);
    CHECK_MSG("d1");
    CHECK(count_files(tmp, ".tmp.") == 0);
}

/* ---- safetensors -------------------------------------------------------------- */

#define N_T 6
static float scalar_v[1] = {3.5f};
static float vec_v[5];
static float mat_v[12];
static float conv_v[2 * 3 * 3 * 3];
static float five_v[2 * 1 * 2 * 1 * 3];

static void fill_entries(bk_st_entry *e)
{
    for (int i = 0; i < 5; i++) vec_v[i] = (float)i - 2.25f;
    for (int i = 0; i < 12; i++) mat_v[i] = (float)(i * i) * 0.125f;
    for (int i = 0; i < 54; i++) conv_v[i] = (float)((i * 37) % 19) / 7.0f - 1.0f;
    for (int i = 0; i < 12; i++) five_v[i] = -(float)i;
    int64_t d_vec[] = {5}, d_mat[] = {3, 4}, d_conv[] = {2, 3, 3, 3}, d_empty[] = {0, 3}, d_five[] = {2, 1, 2, 1, 3};
    e[0] = (bk_st_entry){"scalar", bk_shape_make(0, NULL), scalar_v};
    e[1] = (bk_st_entry){"vec", bk_shape_make(1, d_vec), vec_v};
    e[2] = (bk_st_entry){"layers.0.mat", bk_shape_make(2, d_mat), mat_v};
    e[3] = (bk_st_entry){"conv2d/kernel:0", bk_shape_make(4, d_conv), conv_v};
    e[4] = (bk_st_entry){"empty", bk_shape_make(2, d_empty), NULL};
    e[5] = (bk_st_entry){"five \"quoted\" \xc3\xa9", bk_shape_make(5, d_five), five_v};
}

static const char *meta_k[] = {"format", "brisk.version", "note"};
static const char *meta_v[] = {"brisk-checkpoint", "1", "quotes \" and \\ backslash"};

static double sum_of(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

/* Finds a python3 with numpy; NULL when there is none. */
static const char *find_python(void)
{
    static const char *cands[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) return cands[i];
    }
    return NULL;
}

/* An independent reader (Python json + numpy.frombuffer) must see the same
 * names, shapes, sums and metadata. */
static void python_check(const char *file, const bk_st_entry *e, int n)
{
    const char *py = find_python();
    if (!py) {
        printf("test_io: python3 with numpy not found; skipping the independent safetensors check\n");
        return;
    }
    static const char script[] =
        "import json, struct, sys\n"
        "import numpy as np\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "n = struct.unpack('<Q', b[:8])[0]\n"
        "h = json.loads(b[8:8 + n].decode('utf-8'))\n"
        "out = {'__n': n, '__meta': h.get('__metadata__', {}), '__keys': list(h.keys())}\n"
        "end = 0\n"
        "for k, v in h.items():\n"
        "    if k == '__metadata__': continue\n"
        "    s, e = v['data_offsets']\n"
        "    assert s == end, 'not contiguous'\n"
        "    end = e\n"
        "    a = np.frombuffer(b[8 + n + s:8 + n + e], dtype='<f4').reshape(v['shape'])\n"
        "    out[k] = [list(a.shape), float(a.astype('f8').sum()), v['dtype']]\n"
        "assert 8 + n + end == len(b), 'trailing bytes'\n"
        "print(json.dumps(out))\n";
    const char *sp = tpath("check_st.py");
    write_raw(sp, script, sizeof script - 1);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'", py, sp, file);
    FILE *pp = popen(cmd, "r");
    CHECK(pp != NULL);
    if (!pp) return;
    char out[16384];
    size_t got = fread(out, 1, sizeof out - 1, pp);
    out[got] = 0;
    int rc = pclose(pp);
    CHECK(rc == 0);
    json_error_t err;
    json_t *r = json_loads(out, 0, &err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "python output: %s\n", out);
        return;
    }
    CHECK(json_integer_value(json_object_get(r, "__n")) % 8 == 0);
    json_t *meta = json_object_get(r, "__meta");
    CHECK(json_object_size(meta) == 3);
    for (int i = 0; i < 3; i++)
        CHECK(strcmp(json_string_value(json_object_get(meta, meta_k[i])), meta_v[i]) == 0);
    /* __metadata__ first, then tensors in the order given */
    json_t *keys = json_object_get(r, "__keys");
    CHECK(json_array_size(keys) == (size_t)n + 1);
    CHECK(strcmp(json_string_value(json_array_get(keys, 0)), "__metadata__") == 0);
    for (int i = 0; i < n; i++) {
        CHECK(strcmp(json_string_value(json_array_get(keys, (size_t)i + 1)), e[i].name) == 0);
        json_t *t = json_object_get(r, e[i].name);
        CHECK(t != NULL);
        if (!t) continue;
        json_t *shape = json_array_get(t, 0);
        CHECK((int)json_array_size(shape) == e[i].shape.ndim);
        for (int d = 0; d < e[i].shape.ndim; d++)
            CHECK(json_integer_value(json_array_get(shape, (size_t)d)) == e[i].shape.dims[d]);
        int64_t numel = bk_shape_numel(&e[i].shape);
        CHECK_NEAR(json_real_value(json_array_get(t, 1)), numel ? sum_of(e[i].data, numel) : 0.0, 1e-9);
        CHECK(strcmp(json_string_value(json_array_get(t, 2)), "F32") == 0);
    }
    json_decref(r);
}

static void test_st_roundtrip(void)
{
    bk_st_entry e[N_T];
    fill_entries(e);
    const char *p = tpath("model.safetensors");
    CHECK_OK(bk_safetensors_write(p, e, N_T, meta_k, meta_v, 3));
    CHECK(count_files(tmp, ".tmp.") == 0);

    /* on-disk layout: padded header, data right after, nothing trailing */
    char *raw = NULL;
    size_t len = 0;
    CHECK_OK(bk_read_file(p, &raw, &len));
    if (raw && len >= 8) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | (unsigned char)raw[i];
        CHECK(n % 8 == 0);
        CHECK(raw[8] == '{');
        size_t total = 0;
        for (int i = 0; i < N_T; i++) total += (size_t)bk_shape_numel(&e[i].shape) * 4;
        CHECK(len == 8 + n + total);
        /* the JSON ends with '}' then only spaces */
        size_t last = 8 + n - 1;
        while (last > 8 && raw[last] == ' ') last--;
        CHECK(raw[last] == '}');
        CHECK(8 + n - 1 - last < 8);
        /* the scalar is written with "shape":[] */
        CHECK(contains(raw + 8, "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}"));
    }
    free(raw);

    bk_st_file *f = NULL;
    CHECK_OK(bk_safetensors_open(&f, p));
    if (!f) return;
    CHECK(bk_safetensors_count(f) == N_T);
    for (int i = 0; i < N_T; i++) {
        CHECK(strcmp(bk_safetensors_name(f, i), e[i].name) == 0);
        CHECK(bk_safetensors_has(f, e[i].name));
        bk_shape s;
        const float *d = NULL;
        CHECK_OK(bk_safetensors_get(f, e[i].name, &s, &d));
        CHECK(bk_shape_equal(&s, &e[i].shape));
        int64_t numel = bk_shape_numel(&e[i].shape);
        if (numel) CHECK(d != NULL && memcmp(d, e[i].data, (size_t)numel * 4) == 0);
        CHECK(strcmp(bk_safetensors_dtype(f, e[i].name), "F32") == 0);
    }
    CHECK(bk_safetensors_name(f, N_T) == NULL);
    CHECK(bk_safetensors_name(f, -1) == NULL);
    bk_shape s;
    const float *d;
    CHECK_OK(bk_safetensors_get(f, "scalar", &s, &d));
    CHECK(s.ndim == 0 && d && d[0] == 3.5f);
    CHECK(strcmp(bk_safetensors_meta(f, "format"), "brisk-checkpoint") == 0);
    CHECK(strcmp(bk_safetensors_meta(f, "note"), meta_v[2]) == 0);
    CHECK(bk_safetensors_meta(f, "absent") == NULL);
    CHECK(!bk_safetensors_has(f, "Vec"));
    CHECK(!bk_safetensors_has(f, "__metadata__"));
    CHECK(bk_safetensors_get(f, "layers.1.mat", &s, &d) == BK_ERR_INVALID);
    CHECK_MSG("model.safetensors");
    CHECK_MSG("\"layers.1.mat\"");
    CHECK_MSG("did you mean \"layers.0.mat\"");
    CHECK(d == NULL);
    bk_safetensors_close(f);

    python_check(p, e, N_T);

    /* overwrite with fewer tensors and no metadata: atomically replaced */
    CHECK_OK(bk_safetensors_write(p, e + 1, 1, NULL, NULL, 0));
    CHECK_OK(bk_safetensors_open(&f, p));
    if (f) {
        CHECK(bk_safetensors_count(f) == 1);
        CHECK(bk_safetensors_has(f, "vec") && !bk_safetensors_has(f, "scalar"));
        CHECK(bk_safetensors_meta(f, "format") == NULL);
        bk_safetensors_close(f);
    }
    /* zero tensors is a valid file */
    CHECK_OK(bk_safetensors_write(p, NULL, 0, NULL, NULL, 0));
    CHECK_OK(bk_safetensors_open(&f, p));
    if (f) {
        CHECK(bk_safetensors_count(f) == 0);
        CHECK(bk_safetensors_get(f, "x", NULL, NULL) == BK_ERR_INVALID);
        bk_safetensors_close(f);
    }

    /* writer refuses what would make a broken or ambiguous file */
    bk_st_entry dup[2] = {e[1], e[1]};
    CHECK(bk_safetensors_write(p, dup, 2, NULL, NULL, 0) == BK_ERR_INVALID);
    CHECK_MSG("\"vec\"");
    bk_st_entry res = e[1];
    res.name = "__metadata__";
    CHECK(bk_safetensors_write(p, &res, 1, NULL, NULL, 0) == BK_ERR_INVALID);
    bk_st_entry nodata = e[1];
    nodata.data = NULL;
    CHECK(bk_safetensors_write(p, &nodata, 1, NULL, NULL, 0) == BK_ERR_INVALID);
    const char *dk[] = {"a", "a"}, *dv[] = {"1", "2"};
    CHECK(bk_safetensors_write(p, e, 1, dk, dv, 2) == BK_ERR_INVALID);
    CHECK(bk_safetensors_write(tpath("no/dir/x.safetensors"), e, 1, NULL, NULL, 0) == BK_ERR_IO);
    CHECK(count_files(tmp, ".tmp.") == 0);
}

/* Builds a file from a header text and data bytes; hlen_override, when
 * nonzero, replaces the real header length in the prefix. */
static void craft(const char *path, const char *header, uint64_t hlen_override, const void *data, size_t dlen)
{
    size_t hl = strlen(header);
    uint64_t n = hlen_override ? hlen_override : hl;
    size_t total = 8 + hl + dlen;
    unsigned char *b = malloc(total);
    if (!b) {
        CHECK(!"malloc");
        return;
    }
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
    memcpy(b + 8, header, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    write_raw(path, b, total);
    free(b);
}

static bk_status open_crafted(const char *header, uint64_t hlen_override, const void *data, size_t dlen)
{
    const char *p = tpath("crafted.safetensors");
    craft(p, header, hlen_override, data, dlen);
    bk_st_file *f = (bk_st_file *)1;
    bk_status s = bk_safetensors_open(&f, p);
    if (s == BK_OK) bk_safetensors_close(f);
    else CHECK(f == NULL);
    return s;
}

static void test_st_corrupt(void)
{
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* a sane baseline */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 0, data, 16) == BK_OK);

    /* header length beyond the file */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", (uint64_t)1 << 40, data,
                       8) == BK_ERR_IO);
    CHECK_MSG("crafted.safetensors");
    CHECK_MSG("exceeds the file size");
    CHECK(open_crafted("{}", UINT64_MAX, NULL, 0) == BK_ERR_IO);
    /* offsets past the end of the data */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 0, data, 8) == BK_ERR_IO);
    CHECK_MSG("tensor \"a\"");
    CHECK_MSG("truncated");
    /* offsets not matching dtype x shape */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 0, data, 16) ==
          BK_ERR_INVALID);
    CHECK_MSG("F32 [3] needs 12");
    /* overlapping tensors */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}",
                       0, data, 32) == BK_ERR_INVALID);
    CHECK_MSG("overlap");
    CHECK_MSG("\"a\"");
    CHECK_MSG("\"b\"");
    /* reversed offsets */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 0, data, 16) ==
          BK_ERR_INVALID);
    /* unknown dtype */
    CHECK(open_crafted("{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, data, 8) ==
          BK_ERR_INVALID);
    CHECK_MSG("tensor \"w\"");
    CHECK_MSG("F33");
    /* bad JSON, non-object header, bad entries */
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",", 0, data, 8) == BK_ERR_INVALID);
    CHECK_MSG("not valid JSON");
    CHECK(open_crafted("[1,2,3]", 0, NULL, 0) == BK_ERR_INVALID);
    CHECK(open_crafted("{\"a\":5}", 0, NULL, 0) == BK_ERR_INVALID);
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, NULL, 0) ==
          BK_ERR_INVALID);
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 0, data, 8) ==
          BK_ERR_INVALID);
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 0, data, 4) ==
          BK_ERR_UNSUPPORTED);
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 0,
                       data, 4) == BK_ERR_INVALID);
    CHECK(open_crafted("{\"__metadata__\":{\"k\":1}}", 0, NULL, 0) == BK_ERR_INVALID);
    CHECK_MSG("metadata \"k\"");
    CHECK(open_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}",
                       0, data, 8) == BK_ERR_INVALID);
    CHECK(open_crafted("not json at all", 0, NULL, 0) == BK_ERR_INVALID);
    /* too short for the length prefix */
    const char *p = tpath("short.safetensors");
    write_raw(p, "\x10\x00\x00", 3);
    bk_st_file *f = NULL;
    CHECK(bk_safetensors_open(&f, p) == BK_ERR_IO);
    CHECK_MSG("short.safetensors");
    write_raw(p, "", 0);
    CHECK(bk_safetensors_open(&f, p) == BK_ERR_IO);
    CHECK(bk_safetensors_open(&f, tpath("absent.safetensors")) == BK_ERR_IO);
    CHECK_MSG("absent.safetensors");

    /* every truncation of a real file fails cleanly (and ASan sees no overrun) */
    bk_st_entry e[N_T];
    fill_entries(e);
    const char *good = tpath("good.safetensors");
    CHECK_OK(bk_safetensors_write(good, e, N_T, meta_k, meta_v, 3));
    char *raw = NULL;
    size_t len = 0;
    CHECK_OK(bk_read_file(good, &raw, &len));
    int crashes_avoided = 0;
    for (size_t cut = 0; raw && cut < len; cut += (cut < 64 ? 1 : 7)) {
        write_raw(p, raw, cut);
        bk_status s = bk_safetensors_open(&f, p);
        CHECK(s == BK_ERR_IO || s == BK_ERR_INVALID);
        if (s == BK_OK) bk_safetensors_close(f);
        crashes_avoided++;
    }
    CHECK(crashes_avoided > 50);
    /* random byte damage anywhere: any status, no crash or leak */
    uint32_t rng = 12345;
    for (int it = 0; raw && it < 300; it++) {
        char *dam = malloc(len);
        if (!dam) break;
        memcpy(dam, raw, len);
        for (int k = 0; k < 3; k++) {
            rng = rng * 1664525u + 1013904223u;
            size_t at = (it % 2) ? (rng >> 8) % len : (rng >> 8) % (len < 400 ? len : 400);
            rng = rng * 1664525u + 1013904223u;
            dam[at] = (char)(rng >> 24);
        }
        write_raw(p, dam, len);
        free(dam);
        if (bk_safetensors_open(&f, p) == BK_OK) {
            for (int i = 0; i < bk_safetensors_count(f); i++) {
                bk_shape s;
                const float *d;
                if (bk_safetensors_get(f, bk_safetensors_name(f, i), &s, &d) == BK_OK && bk_shape_numel(&s) > 0) {
                    volatile float x = d[bk_shape_numel(&s) - 1]; /* touch the last element */
                    (void)x;
                }
            }
            bk_safetensors_close(f);
        }
    }
    free(raw);
}

static void test_st_dtypes(void)
{
    /* F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), inf
     * BF16: 1.0, -3.0 ; F64: 0.1, 1e10 ; I64: 7 */
    unsigned char data[64];
    size_t o = 0;
    const uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x0000};
    for (int i = 0; i < 6; i++) { data[o++] = (unsigned char)(f16[i] & 0xFF); data[o++] = (unsigned char)(f16[i] >> 8); }
    const uint16_t bf[] = {0x3F80, 0xC040};
    for (int i = 0; i < 2; i++) { data[o++] = (unsigned char)(bf[i] & 0xFF); data[o++] = (unsigned char)(bf[i] >> 8); }
    const double f64[] = {0.1, 1e10};
    for (int i = 0; i < 2; i++) {
        uint64_t u;
        memcpy(&u, &f64[i], 8);
        for (int b = 0; b < 8; b++) data[o++] = (unsigned char)(u >> (8 * b));
    }
    for (int b = 0; b < 8; b++) data[o++] = b == 0 ? 7 : 0;
    for (int b = 0; b < 8; b++) data[o++] = (unsigned char)b;
    CHECK(o == 48);
    const char *hdr =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
        "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[16,32]},"
        "\"steps\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
        "\"u\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[40,48]}}";
    const char *p = tpath("dtypes.safetensors");
    craft(p, hdr, 0, data, o);
    bk_st_file *f = NULL;
    CHECK_OK(bk_safetensors_open(&f, p));
    if (!f) return;
    bk_shape s;
    const float *d = NULL;
    CHECK_OK(bk_safetensors_get(f, "h", &s, &d));
    CHECK(s.ndim == 2 && s.dims[0] == 2 && s.dims[1] == 3);
    if (d) {
        CHECK(d[0] == 1.0f && d[1] == -2.0f && d[2] == 65504.0f);
        CHECK(d[3] == ldexpf(1.0f, -24));
        CHECK(isinf(d[4]) && d[4] > 0);
        CHECK(d[5] == 0.0f);
    }
    CHECK_OK(bk_safetensors_get(f, "bf", &s, &d));
    if (d) CHECK(d[0] == 1.0f && d[1] == -3.0f);
    CHECK_OK(bk_safetensors_get(f, "d", &s, &d));
    if (d) CHECK(d[0] == 0.1f && d[1] == 1e10f);
    CHECK(strcmp(bk_safetensors_dtype(f, "steps"), "I64") == 0);
    CHECK(bk_safetensors_get(f, "steps", &s, &d) == BK_ERR_UNSUPPORTED);
    CHECK_MSG("dtypes.safetensors");
    CHECK_MSG("\"steps\"");
    CHECK_MSG("I64");
    CHECK(bk_safetensors_get(f, "u", &s, &d) == BK_ERR_UNSUPPORTED);
    bk_safetensors_close(f);

    /* a header whose length is not a multiple of 4 leaves F32 data
     * misaligned in memory: values must still come back right */
    float v[3] = {1.5f, -2.5f, 1e-3f};
    const char *odd = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}  ";
    CHECK(strlen(odd) % 4 != 0);
    craft(p, odd, 0, v, sizeof v);
    CHECK_OK(bk_safetensors_open(&f, p));
    if (f) {
        CHECK_OK(bk_safetensors_get(f, "x", &s, &d));
        CHECK(d && ((uintptr_t)d % 4) == 0);
        if (d) CHECK(d[0] == 1.5f && d[1] == -2.5f && d[2] == 1e-3f);
        bk_safetensors_close(f);
    }
}

/* ---- json ----------------------------------------------------------------------- */

/* Line and column (1-based, in characters) of the first occurrence of
 * needle in text: an independent oracle for the tokenizer. */
static void where(const char *text, const char *needle, int *line, int *col)
{
    const char *at = strstr(text, needle);
    *line = 1;
    *col = 1;
    if (!at) {
        *line = *col = -1;
        return;
    }
    for (const char *c = text; c < at; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((*c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void check_locate(const bk_json_doc *doc, const char *path, const char *needle)
{
    int l = 0, c = 0, el, ec;
    where(doc->text, needle, &el, &ec);
    int ok = bk_json_locate(doc, path, &l, &c);
    CHECK(ok);
    CHECK(l == el && c == ec);
    if (!ok || l != el || c != ec)
        fprintf(stderr, "  locate(%s) = %d %d:%d, expected %d:%d\n", path, ok, l, c, el, ec);
}

static const char *cfg_text =
    "{\n"
    "  \"name\": \"tricky {[\\\"}]\\\\\",\n"
    "  \"neural_network\": {\n"
    "    \"data\": {\"note\": \"a \\\"batch_size\\\": 1 } here\", \"batch_size\": 32,\n"
    "             \"shuffle\": true, \"lr\": 0.5, \"int_real\": 64.0, \"frac\": 2.5, \"big\": 1e300,\n"
    "             \"name\": \"x\", \"nothing\": null},\n"
    "    \"layers\": [\n"
    "      {\"class_name\": \"Dense\", \"config\": {\"units\": 10}},\n"
    "      [1, [2, 3], {\"k\": \"]\"}],\n"
    "      \"str,with,commas]\",\n"
    "      {\"class_name\": \"Conv2D\", \"config\": {\"filters\": 8, \"caf\\u00e9\": 1, \"x\\ny\": 2}}\n"
    "    ],\n"
    "    \"\xc3\xa9t\xc3\xa9\": 1, \"after\": {\"deep\": [[[ {\"leaf\": 0} ]]]}\n"
    "  }\n"
    "}\n";

static void test_json_locate(void)
{
    bk_json_doc doc;
    CHECK_OK(bk_json_load_string(&doc, cfg_text, "cfg.json"));
    if (!doc.root) return;
    check_locate(&doc, "", "{");
    check_locate(&doc, "name", "\"name\"");
    check_locate(&doc, "neural_network", "\"neural_network\"");
    /* the quoted "batch_size" inside the note string must not fool it */
    check_locate(&doc, "neural_network.data.batch_size", "\"batch_size\": 32");
    check_locate(&doc, "neural_network.data.shuffle", "\"shuffle\"");
    check_locate(&doc, "neural_network.layers", "\"layers\"");
    check_locate(&doc, "neural_network.layers[0]", "{\"class_name\": \"Dense\"");
    check_locate(&doc, "neural_network.layers[0].config.units", "\"units\"");
    check_locate(&doc, "neural_network.layers[1]", "[1, [2");
    check_locate(&doc, "neural_network.layers[1][1]", "[2, 3]");
    check_locate(&doc, "neural_network.layers[1][1][1]", "3]");
    check_locate(&doc, "neural_network.layers[1][2].k", "\"k\"");
    check_locate(&doc, "neural_network.layers[2]", "\"str,with");
    check_locate(&doc, "neural_network.layers[3].config.filters", "\"filters\"");
    check_locate(&doc, "neural_network.layers[3].config.caf\xc3\xa9", "\"caf\\u00e9\"");
    check_locate(&doc, "neural_network.layers[3].config.x\ny", "\"x\\ny\"");
    /* columns count characters: "été" is 3 columns, not 5 bytes */
    check_locate(&doc, "neural_network.after", "\"after\"");
    check_locate(&doc, "neural_network.after.deep[0][0][0].leaf", "\"leaf\"");
    int l, c;
    CHECK(bk_json_locate(&doc, "neural_network.after", &l, &c) && l == 13 && c == 15);
    CHECK(!bk_json_locate(&doc, "neural_network.data.missing", &l, &c));
    CHECK(!bk_json_locate(&doc, "neural_network.layers[4]", &l, &c));
    CHECK(!bk_json_locate(&doc, "neural_network.layers.x", &l, &c));
    CHECK(!bk_json_locate(&doc, "neural_network.data[0]", &l, &c));
    CHECK(!bk_json_locate(&doc, "neural_network.layers[x]", &l, &c));
    CHECK(!bk_json_locate(&doc, "name.x", &l, &c));
    CHECK(!bk_json_locate(&doc, "caf", &l, &c));

    /* error_at: located, fallback to the enclosing value, root */
    bk_status s = bk_json_error_at(&doc, "neural_network.data.batch_size", BK_ERR_SHAPE, "boom %d", 7);
    CHECK(s == BK_ERR_SHAPE);
    int el, ec;
    where(cfg_text, "\"batch_size\": 32", &el, &ec);
    char want[256];
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.data.batch_size: boom 7", el, ec);
    CHECK(strcmp(bk_last_error(), want) == 0);
    if (strcmp(bk_last_error(), want) != 0) fprintf(stderr, "  got: %s\n  want: %s\n", bk_last_error(), want);
    bk_json_error_at(&doc, "neural_network.data.epochs", BK_ERR_INVALID, "required");
    where(cfg_text, "\"data\"", &el, &ec);
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.data.epochs: required", el, ec);
    CHECK(strcmp(bk_last_error(), want) == 0);
    bk_json_error_at(&doc, "", BK_ERR_INVALID, "top");
    CHECK(strcmp(bk_last_error(), "cfg.json:1:1: top") == 0);
    bk_json_error_at(NULL, "a.b", BK_ERR_INVALID, "x");
    CHECK(strcmp(bk_last_error(), "a.b: x") == 0);
    bk_json_free(&doc);
    bk_json_free(&doc); /* twice is harmless */
}

static void test_json_syntax(void)
{
    bk_json_doc doc;
    /* a missing comma at the end of line 3: reported where the next key starts */
    const char *t1 = "{\n  \"a\": 1,\n  \"b\": [1, 2]\n  \"c\": 3\n}\n";
    CHECK(bk_json_load_string(&doc, t1, "cfg.json") == BK_ERR_INVALID);
    CHECK_MSG("cfg.json:4:3: JSON syntax error: ");
    CHECK_MSG("',' is probably missing after the value that ends at line 3, column 13");
    CHECK(doc.root == NULL && doc.text == NULL);
    bk_json_free(&doc);

    /* trailing commas */
    CHECK(bk_json_load_string(&doc, "{\n  \"a\": 1,\n}", "t.json") == BK_ERR_INVALID);
    CHECK_MSG("t.json:3:1: JSON syntax error:");
    CHECK_MSG("trailing ',' at line 2, column 9");
    CHECK(bk_json_load_string(&doc, "{\"a\": [1, 2, ]}", "t.json") == BK_ERR_INVALID);
    CHECK_MSG("t.json:1:14:");
    CHECK_MSG("trailing ','");

    /* duplicate keys: at the second one */
    CHECK(bk_json_load_string(&doc, "{\"a\": 1,\n \"a\": 2}", "d.json") == BK_ERR_INVALID);
    CHECK_MSG("d.json:2:2: JSON syntax error: duplicate");

    /* other slips get their hints */
    CHECK(bk_json_load_string(&doc, "{\"a\": 1 // note\n}", "c.json") == BK_ERR_INVALID);
    CHECK_MSG("c.json:1:9:");
    CHECK_MSG("comments");
    CHECK(bk_json_load_string(&doc, "{'a': 1}", "q.json") == BK_ERR_INVALID);
    CHECK_MSG("q.json:1:2:");
    CHECK_MSG("double quotes");
    CHECK(bk_json_load_string(&doc, "{\"a\": True}", "p.json") == BK_ERR_INVALID);
    CHECK_MSG("p.json:1:7:");
    CHECK_MSG("lowercase");
    CHECK(bk_json_load_string(&doc, "{a: 1}", "k.json") == BK_ERR_INVALID);
    CHECK_MSG("k.json:1:2:");
    CHECK(bk_json_load_string(&doc, "{\"a\" 1}", "k.json") == BK_ERR_INVALID);
    CHECK_MSG("k.json:1:6:");
    CHECK_MSG("':' is missing");
    CHECK(bk_json_load_string(&doc, "{\"a\": {\"b\": 1}\n", "e.json") == BK_ERR_INVALID);
    CHECK_MSG("e.json:1:15:");
    CHECK_MSG("object opened at line 1, column 1 is never closed");
    CHECK(bk_json_load_string(&doc, "{\"a\": [1, 2}", "m.json") == BK_ERR_INVALID);
    CHECK_MSG("m.json:1:12:");
    CHECK_MSG("mismatched");
    CHECK(bk_json_load_string(&doc, "{\"a\": 1}}", "x.json") == BK_ERR_INVALID);
    CHECK_MSG("x.json:1:9:");
    CHECK_MSG("extra closing");
    CHECK(bk_json_load_string(&doc, "{\"path\": \"C:\\data\"}", "w.json") == BK_ERR_INVALID);
    CHECK_MSG("w.json:1:10:");
    CHECK_MSG("backslash");
    CHECK(bk_json_load_string(&doc, "{\"\xc3\xa9\": 1 \"x\": 2}", "u.json") == BK_ERR_INVALID);
    CHECK_MSG("u.json:1:9:"); /* é is one column */
    CHECK(bk_json_load_string(&doc, "", "empty.json") == BK_ERR_INVALID);
    CHECK_MSG("empty.json:1:1:");
    CHECK(bk_json_load_string(&doc, "{\"a\": \"abc", "s.json") == BK_ERR_INVALID);
    CHECK_MSG("s.json:1:7:");
    /* valid JSON but not an object */
    CHECK(bk_json_load_string(&doc, "\n  [1, 2]", "arr.json") == BK_ERR_INVALID);
    CHECK_MSG("arr.json:2:3: the top level must be a JSON object");
    CHECK_MSG("found an array");

    /* files */
    const char *p = tpath("config.json");
    const char *txt = "{\n  \"data\": {\n    \"batch_sizee\": 32\n  }\n}\n";
    CHECK_OK(bk_write_file_atomic(p, txt, strlen(txt)));
    CHECK_OK(bk_json_load_file(&doc, p));
    CHECK(doc.root && json_is_object(doc.root));
    CHECK(doc.len == strlen(txt) && strcmp(doc.text, txt) == 0);
    CHECK(strcmp(doc.file, p) == 0);
    if (doc.root) {
        static const char *known[] = {"batch_size", "shuffle", "validation_split"};
        json_t *data = json_object_get(doc.root, "data");
        CHECK(bk_json_check_keys(&doc, data, "data", known, 3) == BK_ERR_INVALID);
        char want[4200];
        snprintf(want, sizeof want, "%s:3:5: data.batch_sizee: unknown key \"batch_sizee\"; did you mean \"batch_size\"?", p);
        CHECK(strcmp(bk_last_error(), want) == 0);
        if (strcmp(bk_last_error(), want) != 0) fprintf(stderr, "  got: %s\n  want: %s\n", bk_last_error(), want);
    }
    bk_json_free(&doc);
    CHECK(bk_json_load_file(&doc, tpath("nope.json")) == BK_ERR_IO);
    CHECK_MSG("nope.json");
    CHECK(doc.root == NULL && doc.text == NULL);
    bk_json_free(&doc);
}

static void test_json_getters(void)
{
    bk_json_doc doc;
    CHECK_OK(bk_json_load_string(&doc, cfg_text, "cfg.json"));
    if (!doc.root) return;
    json_t *nn = json_object_get(doc.root, "neural_network");
    json_t *data = json_object_get(nn, "data");
    const char *dp = "neural_network.data";
    int64_t i = 0;
    double d = 0;
    int b = -1;
    const char *s = NULL;
    CHECK_OK(bk_json_get_int(&doc, data, dp, "batch_size", 1, &i));
    CHECK(i == 32);
    CHECK_OK(bk_json_get_int(&doc, data, dp, "missing", 5, &i));
    CHECK(i == 5);
    CHECK_OK(bk_json_get_int(&doc, data, dp, "nothing", 6, &i)); /* null = default */
    CHECK(i == 6);
    CHECK_OK(bk_json_get_int(&doc, data, dp, "int_real", 0, &i));
    CHECK(i == 64);
    CHECK_OK(bk_json_get_int(&doc, NULL, dp, "x", 9, &i));
    CHECK(i == 9);

    int el, ec;
    char want[512];
    CHECK(bk_json_get_int(&doc, data, dp, "frac", 0, &i) == BK_ERR_INVALID);
    where(cfg_text, "\"frac\"", &el, &ec);
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.data.frac: expected an integer, got number 2.5", el, ec);
    CHECK_MSG(want);
    CHECK(bk_json_get_int(&doc, data, dp, "big", 0, &i) == BK_ERR_INVALID);
    CHECK_MSG("out of the 64-bit");
    CHECK(bk_json_get_int(&doc, data, dp, "shuffle", 0, &i) == BK_ERR_INVALID);
    CHECK_MSG("expected an integer, got boolean true");
    CHECK(bk_json_get_int(&doc, data, dp, "name", 0, &i) == BK_ERR_INVALID);
    where(cfg_text, "\"name\": \"x\"", &el, &ec);
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.data.name: expected an integer, got string \"x\"", el, ec);
    CHECK_MSG(want);

    CHECK_OK(bk_json_get_double(&doc, data, dp, "lr", 0.1, &d));
    CHECK(d == 0.5);
    CHECK_OK(bk_json_get_double(&doc, data, dp, "batch_size", 0.1, &d));
    CHECK(d == 32.0);
    CHECK_OK(bk_json_get_double(&doc, data, dp, "missing", 0.25, &d));
    CHECK(d == 0.25);
    CHECK(bk_json_get_double(&doc, nn, "neural_network", "layers", 0, &d) == BK_ERR_INVALID);
    where(cfg_text, "\"layers\"", &el, &ec);
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.layers: expected a number, got an array", el, ec);
    CHECK_MSG(want);

    CHECK_OK(bk_json_get_bool(&doc, data, dp, "shuffle", 0, &b));
    CHECK(b == 1);
    CHECK_OK(bk_json_get_bool(&doc, data, dp, "missing", 0, &b));
    CHECK(b == 0);
    CHECK(bk_json_get_bool(&doc, data, dp, "batch_size", 0, &b) == BK_ERR_INVALID);
    CHECK_MSG("neural_network.data.batch_size: expected true or false, got integer 32");

    CHECK_OK(bk_json_get_string(&doc, data, dp, "name", "def", &s));
    CHECK(s && strcmp(s, "x") == 0);
    CHECK_OK(bk_json_get_string(&doc, data, dp, "missing", "def", &s));
    CHECK(s && strcmp(s, "def") == 0);
    CHECK(bk_json_get_string(&doc, data, dp, "lr", NULL, &s) == BK_ERR_INVALID);
    CHECK_MSG("cfg.json:5:");
    CHECK_MSG("expected a string, got number 0.5");

    /* inside arrays */
    json_t *layers = json_object_get(nn, "layers");
    json_t *conv = json_object_get(json_array_get(layers, 3), "config");
    char lp[256], cp[256];
    bk_json_index_path(lp, sizeof lp, "neural_network.layers", 3);
    CHECK(strcmp(lp, "neural_network.layers[3]") == 0);
    bk_json_child_path(cp, sizeof cp, lp, "config");
    CHECK(strcmp(cp, "neural_network.layers[3].config") == 0);
    CHECK_OK(bk_json_get_int(&doc, conv, cp, "filters", 0, &i));
    CHECK(i == 8);
    static const char *conv_keys[] = {"filters", "kernel_size", "strides", "padding"};
    CHECK(bk_json_check_keys(&doc, conv, cp, conv_keys, 4) == BK_ERR_INVALID);
    where(cfg_text, "\"caf\\u00e9\"", &el, &ec);
    snprintf(want, sizeof want, "cfg.json:%d:%d: neural_network.layers[3].config.caf\xc3\xa9: unknown key "
             "\"caf\xc3\xa9\"; known keys are \"filters\", \"kernel_size\", \"strides\", \"padding\"", el, ec);
    CHECK(strcmp(bk_last_error(), want) == 0);
    if (strcmp(bk_last_error(), want) != 0) fprintf(stderr, "  got: %s\n  want: %s\n", bk_last_error(), want);
    static const char *all_keys[] = {"filters", "caf\xc3\xa9", "x\ny"};
    CHECK_OK(bk_json_check_keys(&doc, conv, cp, all_keys, 3));
    CHECK(bk_json_check_keys(&doc, layers, "neural_network.layers", all_keys, 3) == BK_ERR_INVALID);
    CHECK_MSG("expected an object, got an array");

    char buf[8];
    bk_json_child_path(buf, sizeof buf, "", "key");
    CHECK(strcmp(buf, "key") == 0);
    bk_json_child_path(buf, sizeof buf, "abcdef", "ghijk"); /* truncated, terminated */
    CHECK(strcmp(buf, "abcdef.") == 0);
    bk_json_index_path(buf, sizeof buf, "", 2);
    CHECK(strcmp(buf, "[2]") == 0);
    bk_json_free(&doc);
}

static void test_closest(void)
{
    static const char *layers[] = {"Dense", "Conv2D", "Conv1D", "BatchNormalization", "MaxPooling2D", "Dropout"};
    const char *c = bk_closest_word("Conv2d", layers, 6);
    CHECK(c && strcmp(c, "Conv2D") == 0);
    c = bk_closest_word("dense", layers, 6);
    CHECK(c && strcmp(c, "Dense") == 0);
    c = bk_closest_word("BatchNormalisation", layers, 6);
    CHECK(c && strcmp(c, "BatchNormalization") == 0);
    c = bk_closest_word("MaxPool2D", layers, 6); /* distance 3, length 9: 3 <= max(2, 3) */
    CHECK(c && strcmp(c, "MaxPooling2D") == 0);
    CHECK(bk_closest_word("LSTM", layers, 6) == NULL);
    CHECK(bk_closest_word("Conv3DTranspose", layers, 6) == NULL);
    CHECK(bk_closest_word("x", layers, 0) == NULL);
    static const char *keys[] = {"epochs", "batch_size"};
    c = bk_closest_word("epoch", keys, 2);
    CHECK(c && strcmp(c, "epochs") == 0);
    c = bk_closest_word("batchsize", keys, 2);
    CHECK(c && strcmp(c, "batch_size") == 0);
    CHECK(bk_closest_word("lr", keys, 2) == NULL);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s", bk_test_tmpdir("test_io"));
    test_paths();
    test_fs();
    test_st_roundtrip();
    test_st_corrupt();
    test_st_dtypes();
    test_json_locate();
    test_json_syntax();
    test_json_getters();
    test_closest();
    return bk_test_finish("test_io");
}
