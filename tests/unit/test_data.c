/* Dataset loaders (IDX, npy/npz, HDF5), subsets and the batch loader.
 * Every file read here is written here first, so expected values are known. */
#include "brisk/data.h"
#include "testutil.h"
#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

static char tmpdir[2048];

/* tmp/<name>; the buffers rotate so a few paths can be alive at once. */
static const char *tp(const char *name)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    int w = snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    if (w < 0 || (size_t)w >= sizeof bufs[0]) b[0] = 0;
    return b;
}

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

/* The status must be code and the message must mention `sub`. */
#define CHECK_ERR(expr, code, sub) do { bk_status e_ = (expr); CHECK(e_ == (code)); \
    if (!contains(bk_last_error(), (sub))) { bk_test_checks++; bk_test_failures++; \
        fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } \
    else bk_test_checks++; } while (0)

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static bk_data_options opts(const char *in, const char *tgt)
{
    bk_data_options o;
    memset(&o, 0, sizeof o);
    o.input_path = in;
    o.target_path = tgt;
    return o;
}

/* ---------------- IDX ---------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Writes an IDX file; drop removes that many bytes from the end. */
static void write_idx(const char *path, int gz, uint32_t magic, int ndim, const uint32_t *dims,
                      const uint8_t *data, size_t len, size_t drop)
{
    size_t total = 4 + 4 * (size_t)ndim + len;
    uint8_t *buf = malloc(total);
    CHECK(buf != NULL);
    if (!buf) return;
    put_be32(buf, magic);
    for (int i = 0; i < ndim; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    memcpy(buf + 4 + 4 * ndim, data, len);
    total -= drop;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK(gzwrite(f, buf, (unsigned)total) == (int)total);
            gzclose(f);
        }
    } else {
        write_file(path, buf, total);
    }
    free(buf);
}

enum { NI = 5, ROWS = 2, COLS = 3 };

static void write_mnist_pair(const char *img, const char *lab, int gz, int n, int nlabels)
{
    uint8_t px[NI * ROWS * COLS], lb[NI];
    for (int i = 0; i < NI * ROWS * COLS; i++) px[i] = (uint8_t)(i * 8 + 7);
    px[1] = 255;
    for (int i = 0; i < NI; i++) lb[i] = (uint8_t)(9 - i);
    uint32_t d[3] = {(uint32_t)n, ROWS, COLS}, dl[1] = {(uint32_t)nlabels};
    write_idx(img, gz, 0x803, 3, d, px, (size_t)n * ROWS * COLS, 0);
    write_idx(lab, gz, 0x801, 1, dl, lb, (size_t)nlabels, 0);
}

static void check_mnist_values(bk_dataset *ds, int n)
{
    CHECK(ds->count == n);
    CHECK(ds->input_shape.ndim == 3 && ds->input_shape.dims[0] == 1 &&
          ds->input_shape.dims[1] == ROWS && ds->input_shape.dims[2] == COLS);
    CHECK(ds->target_shape.ndim == 0);
    CHECK(ds->has_targets == 1);
    int64_t idx[2] = {n - 1, 0};
    float x[2 * ROWS * COLS], y[2];
    CHECK_OK(ds->read(ds, idx, 2, x, y));
    for (int j = 0; j < ROWS * COLS; j++) {
        int p0 = (n - 1) * ROWS * COLS + j;
        CHECK_NEAR(x[j], (p0 * 8 + 7) / 255.0, 1e-7);
    }
    CHECK_NEAR(x[ROWS * COLS + 1], 1.0, 0);
    CHECK_NEAR(x[ROWS * COLS + 0], 7 / 255.0, 1e-7);
    CHECK_NEAR(y[0], 9 - (n - 1), 0);
    CHECK_NEAR(y[1], 9, 0);
}

static void test_idx(void)
{
    mkdir(tp("mnist"), 0755);
    /* Train split gzip'd, test split plain: both spellings in one folder. */
    write_mnist_pair(tp("mnist/train-images-idx3-ubyte.gz"), tp("mnist/train-labels-idx1-ubyte.gz"), 1, NI, NI);
    write_mnist_pair(tp("mnist/t10k-images-idx3-ubyte"), tp("mnist/t10k-labels-idx1-ubyte"), 0, 3, 3);

    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("mnist"), NULL);
    o.train = 1;
    CHECK_OK(bk_dataset_open_mnist(&ds, &o));
    if (ds) check_mnist_values(ds, NI);
    bk_dataset_destroy(ds);

    o.train = 0;
    CHECK_OK(bk_dataset_open_mnist(&ds, &o));
    if (ds) check_mnist_values(ds, 3);
    bk_dataset_destroy(ds);

    /* An images file alone finds its labels by the standard name. */
    o = opts(tp("mnist/t10k-images-idx3-ubyte"), NULL);
    CHECK_OK(bk_dataset_open_mnist(&ds, &o));
    if (ds) check_mnist_values(ds, 3);
    bk_dataset_destroy(ds);

    /* Explicit paths with arbitrary names. */
    write_mnist_pair(tp("imgs.bin"), tp("labs.bin.gz"), 0, NI, NI);
    o = opts(tp("imgs.bin"), tp("labs.bin.gz"));
    CHECK_OK(bk_dataset_open_mnist(&ds, &o));
    if (ds) check_mnist_values(ds, NI);
    bk_dataset_destroy(ds);

    /* Without labels: inputs only. */
    o = opts(tp("imgs.bin"), NULL);
    CHECK_OK(bk_dataset_open_mnist(&ds, &o));
    if (ds) {
        CHECK(ds->has_targets == 0 && ds->count == NI);
        float x[ROWS * COLS];
        int64_t i = 1;
        CHECK_OK(ds->read(ds, &i, 1, x, NULL));
        CHECK_NEAR(x[0], (ROWS * COLS * 8 + 7) / 255.0, 1e-7);
    }
    bk_dataset_destroy(ds);
}

static void test_idx_errors(void)
{
    bk_dataset *ds = (bk_dataset *)1;
    bk_data_options o = opts(tp("no-such-images-idx3-ubyte"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "no-such-images-idx3-ubyte");
    CHECK(ds == NULL);

    o = opts(tp("empty-dir-that-is-missing"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "empty-dir-that-is-missing");
    mkdir(tp("emptydir"), 0755);
    o = opts(tp("emptydir"), NULL);
    o.train = 1;
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "train-images-idx3-ubyte");

    /* Labels passed as images: wrong magic. */
    o = opts(tp("labs.bin.gz"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "magic 0x00000801");

    /* Truncated pixel data, plain and gzip'd. */
    uint8_t px[NI * ROWS * COLS] = {0};
    uint32_t d[3] = {NI, ROWS, COLS};
    write_idx(tp("trunc.idx"), 0, 0x803, 3, d, px, sizeof px, 7);
    o = opts(tp("trunc.idx"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "truncated");
    write_idx(tp("trunc.idx.gz"), 1, 0x803, 3, d, px, sizeof px, 7);
    o = opts(tp("trunc.idx.gz"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "trunc.idx.gz");

    /* A gzip stream cut short (a broken download). */
    uint8_t big[4000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7919u >> 3);
    uint32_t db[3] = {40, 10, 10};
    write_idx(tp("cut.gz"), 1, 0x803, 3, db, big, sizeof big, 0);
    struct stat st;
    CHECK(stat(tp("cut.gz"), &st) == 0);
    CHECK(truncate(tp("cut.gz"), st.st_size / 2) == 0);
    o = opts(tp("cut.gz"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "cut.gz");

    /* All pixels there but the gzip trailer is missing, or its CRC wrong. */
    write_idx(tp("notrailer.gz"), 1, 0x803, 3, db, big, sizeof big, 0);
    CHECK(stat(tp("notrailer.gz"), &st) == 0);
    CHECK(truncate(tp("notrailer.gz"), st.st_size - 8) == 0);
    o = opts(tp("notrailer.gz"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "notrailer.gz");
    write_idx(tp("badcrc.gz"), 1, 0x803, 3, db, big, sizeof big, 0);
    FILE *f = fopen(tp("badcrc.gz"), "r+b");
    CHECK(f != NULL);
    if (f) {
        CHECK(fseek(f, -8, SEEK_END) == 0);
        int c = fgetc(f);
        CHECK(fseek(f, -8, SEEK_END) == 0);
        fputc(c ^ 0x5a, f);
        fclose(f);
    }
    o = opts(tp("badcrc.gz"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "corrupt");

    /* Header cut inside the dims. */
    write_idx(tp("hdr.idx"), 0, 0x803, 3, d, px, 0, 5);
    o = opts(tp("hdr.idx"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "hdr.idx");

    /* Extra bytes after the data mean the header lies. */
    uint32_t d4[3] = {NI - 1, ROWS, COLS};
    write_idx(tp("long.idx"), 0, 0x803, 3, d4, px, sizeof px, 0);
    o = opts(tp("long.idx"), NULL);
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "long.idx");

    /* 5 images, 4 labels: both files named. */
    write_mnist_pair(tp("mm-img"), tp("mm-lab"), 0, NI, NI - 1);
    o = opts(tp("mm-img"), tp("mm-lab"));
    CHECK_ERR(bk_dataset_open_mnist(&ds, &o), BK_ERR_IO, "mm-img");
    CHECK(contains(bk_last_error(), "mm-lab"));
    CHECK(ds == NULL);
}

/* ---------------- npy / npz ---------------- */

static uint16_t float_to_half(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
    if ((b & 0x7fffffff) == 0) return sign;
    int e = (int)((b >> 23) & 0xff) - 127 + 15;
    return (uint16_t)(sign | (uint16_t)(e << 10) | (uint16_t)((b >> 13) & 0x3ff));
}

/* Encodes v as dtype descr ("<i2", ">f8", "|b1"...). */
static void encode(double v, const char *descr, uint8_t *out)
{
    int big = descr[0] == '>';
    char kind = descr[1];
    int size = atoi(descr + 2);
    uint64_t u = 0;
    if (kind == 'f' && size == 2) u = float_to_half((float)v);
    else if (kind == 'f' && size == 4) { float f = (float)v; uint32_t w; memcpy(&w, &f, 4); u = w; }
    else if (kind == 'f') memcpy(&u, &v, 8);
    else if (kind == 'i') { int64_t s = (int64_t)v; memcpy(&u, &s, 8); }
    else u = (uint64_t)v;
    for (int i = 0; i < size; i++) {
        uint8_t byte = (uint8_t)(u >> (8 * i));
        out[big ? size - 1 - i : i] = byte;
    }
}

/* Builds a .npy image in memory (malloc'd); `vals` are in the file's own
 * element order (already Fortran-ordered when fortran is set). */
static uint8_t *make_npy(size_t *len, const char *descr, int fortran, int ndim, const int64_t *shape,
                         const double *vals, int version, size_t drop)
{
    char dict[512], shp[128] = "";
    size_t used = 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(shp + used, sizeof shp - used, "%lld, ", (long long)shape[i]);
        n *= shape[i];
    }
    if (ndim > 1) shp[used - 2] = 0; /* "(3, 2)" but "(3,)" */
    else if (ndim == 1) shp[used - 1] = 0;
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }",
                      descr, fortran ? "True" : "False", shp);
    size_t pre = version == 1 ? 10 : 12;
    size_t hlen = (size_t)dl + 1;
    hlen += (64 - (pre + hlen) % 64) % 64;
    int size = atoi(descr + 2);
    size_t total = pre + hlen + (size_t)n * (size_t)size;
    uint8_t *b = calloc(1, total);
    CHECK(b != NULL);
    if (!b) return NULL;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)version;
    if (version == 1) { b[8] = (uint8_t)hlen; b[9] = (uint8_t)(hlen >> 8); }
    else for (int i = 0; i < 4; i++) b[8 + i] = (uint8_t)(hlen >> (8 * i));
    memset(b + pre, ' ', hlen);
    memcpy(b + pre, dict, (size_t)dl);
    b[pre + hlen - 1] = '\n';
    for (int64_t i = 0; i < n; i++) encode(vals[i], descr, b + pre + hlen + i * size);
    *len = total - drop;
    return b;
}

static void write_npy(const char *path, const char *descr, int fortran, int ndim, const int64_t *shape,
                      const double *vals, int version, size_t drop)
{
    size_t len;
    uint8_t *b = make_npy(&len, descr, fortran, ndim, shape, vals, version, drop);
    if (b) write_file(path, b, len);
    free(b);
}

/* Zips members (name, npy image) into an .npz; deflate picks compression. */
static void write_npz(const char *path, int deflate, int n, const char *const *names,
                      uint8_t **bufs, const size_t *lens)
{
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    CHECK(za != NULL);
    for (int i = 0; i < n; i++) {
        if (!za) { free(bufs[i]); continue; }
        zip_source_t *src = zip_source_buffer(za, bufs[i], lens[i], 1);
        CHECK(src != NULL);
        zip_int64_t k = src ? zip_file_add(za, names[i], src, ZIP_FL_OVERWRITE) : -1;
        CHECK(k >= 0);
        if (k < 0 && src) zip_source_free(src);
        if (k >= 0) CHECK(zip_set_file_compression(za, (zip_uint64_t)k,
                                                   deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) == 0);
    }
    if (za) CHECK(zip_close(za) == 0);
}

static const double svals[6] = {0, 1, -2, 3, 100, -5};
static const double uvals[6] = {0, 1, 2, 3, 100, 5};
static const double bvals[6] = {0, 1, 0, 1, 1, 0};

static void test_npy_dtypes(void)
{
    static const char *const descrs[] = {"<f4", ">f4", "<f8", ">f8", "<f2", "|i1", "<i2", ">i4",
                                         "<i8", "|u1", "<u2", ">u4", "<u8", "|b1"};
    int64_t shape[2] = {3, 2};
    for (size_t d = 0; d < sizeof descrs / sizeof descrs[0]; d++) {
        const char *ds_ = descrs[d];
        const double *v = ds_[1] == 'u' ? uvals : ds_[1] == 'b' ? bvals : svals;
        for (int version = 1; version <= 3; version += 2) {
            write_npy(tp("dt.npy"), ds_, 0, 2, shape, v, version, 0);
            bk_dataset *ds = NULL;
            bk_data_options o = opts(tp("dt.npy"), NULL);
            bk_status st = bk_dataset_open_numpy(&ds, &o);
            CHECK_OK(st);
            if (st) { fprintf(stderr, "  dtype %s v%d\n", ds_, version); continue; }
            CHECK(ds->count == 3 && ds->input_shape.ndim == 1 && ds->input_shape.dims[0] == 2);
            CHECK(ds->has_targets == 0);
            int64_t idx[3] = {2, 0, 1};
            float x[6];
            CHECK_OK(ds->read(ds, idx, 3, x, NULL));
            int bad = 0;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 2; j++) bad += x[i * 2 + j] != (float)v[idx[i] * 2 + j];
            CHECK(bad == 0);
            if (bad) fprintf(stderr, "  dtype %s v%d has %d wrong values\n", ds_, version, bad);
            bk_dataset_destroy(ds);
        }
    }
    /* Wide integers keep their magnitude and sign. */
    double wide[2] = {-1099511627776.0, 4294967296.0};
    int64_t s1[1] = {2};
    write_npy(tp("wide.npy"), ">i8", 0, 1, s1, wide, 1, 0);
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("wide.npy"), NULL);
    CHECK_OK(bk_dataset_open_numpy(&ds, &o));
    if (ds) {
        CHECK(ds->input_shape.ndim == 1 && ds->input_shape.dims[0] == 1);
        int64_t idx[2] = {0, 1};
        float x[2];
        CHECK_OK(ds->read(ds, idx, 2, x, NULL));
        CHECK(x[0] == -1099511627776.0f && x[1] == 4294967296.0f);
    }
    bk_dataset_destroy(ds);
}

/* A[i][j][k] = 100i + 10j + k, shape (2, 3, 2), stored Fortran-ordered. */
static void test_npy_fortran(void)
{
    int64_t shape[3] = {2, 3, 2};
    double f[12];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) f[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
    const char *const descrs[] = {"<f8", ">i2"};
    for (int d = 0; d < 2; d++) {
        write_npy(tp("fort.npy"), descrs[d], 1, 3, shape, f, 1, 0);
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("fort.npy"), NULL);
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == 2 && ds->input_shape.ndim == 2 && ds->input_shape.dims[0] == 3 &&
              ds->input_shape.dims[1] == 2);
        int64_t idx[2] = {0, 1};
        float x[12];
        CHECK_OK(ds->read(ds, idx, 2, x, NULL));
        int bad = 0;
        for (int i = 0; i < 12; i++) bad += x[i] != (float)(100 * (i / 6) + 10 * ((i / 2) % 3) + i % 2);
        CHECK(bad == 0);
        bk_dataset_destroy(ds);
    }
}

/* x: (4, 3) with x[i][j] = 10i + j; y: (4,) with y[i] = i + 0.5. */
static uint8_t *make_x(size_t *len, int n)
{
    double v[64];
    for (int i = 0; i < n * 3; i++) v[i] = 10 * (i / 3) + i % 3;
    int64_t s[2] = {n, 3};
    return make_npy(len, "<f4", 0, 2, s, v, 1, 0);
}

static uint8_t *make_y(size_t *len, int n)
{
    double v[64];
    for (int i = 0; i < n; i++) v[i] = i + 0.5;
    int64_t s[1] = {n};
    return make_npy(len, "<f8", 0, 1, s, v, 1, 0);
}

static void check_xy(bk_dataset *ds, int n)
{
    CHECK(ds->count == n && ds->has_targets == 1);
    CHECK(ds->input_shape.ndim == 1 && ds->input_shape.dims[0] == 3);
    CHECK(ds->target_shape.ndim == 0);
    int64_t idx[2] = {n - 1, 1};
    float x[6], y[2];
    CHECK_OK(ds->read(ds, idx, 2, x, y));
    CHECK(x[0] == 10 * (n - 1) && x[2] == 10 * (n - 1) + 2 && x[3] == 10 && x[5] == 12);
    CHECK(y[0] == n - 0.5f && y[1] == 1.5f);
}

static void test_npz(void)
{
    for (int deflate = 0; deflate <= 1; deflate++) {
        const char *names[3] = {"y.npy", "junk.npy", "x.npy"};
        uint8_t *bufs[3];
        size_t lens[3];
        bufs[0] = make_y(&lens[0], 4);
        bufs[1] = make_y(&lens[1], 2);
        bufs[2] = make_x(&lens[2], 4);
        write_npz(tp("d.npz"), deflate, 3, names, bufs, lens);
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("d.npz"), NULL);
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (ds) check_xy(ds, 4);
        bk_dataset_destroy(ds);
    }
    /* Named keys. */
    {
        const char *names[2] = {"feat.npy", "lab.npy"};
        uint8_t *bufs[2];
        size_t lens[2];
        bufs[0] = make_x(&lens[0], 5);
        bufs[1] = make_y(&lens[1], 5);
        write_npz(tp("k.npz"), 1, 2, names, bufs, lens);
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("k.npz"), NULL);
        o.input_key = "feat";
        o.target_key = "lab";
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (ds) check_xy(ds, 5);
        bk_dataset_destroy(ds);
        /* No x/y names and no keys: one sample per array (the reference
         * CLI's form), so arrays of two shapes are an error that says how
         * to name inputs and targets, not a guess at which is which. */
        o = opts(tp("k.npz"), NULL);
        CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_SHAPE, "name them x and y");
        CHECK(contains(bk_last_error(), "lab.npy") && contains(bk_last_error(), "(5, 3)"));
        CHECK(ds == NULL);
        /* Missing key: the message lists what is there. */
        o.input_key = "images";
        CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_INVALID, "feat.npy");
        CHECK(contains(bk_last_error(), "\"images\""));
        CHECK(ds == NULL);
    }
    /* Inputs and targets in two .npy files. */
    {
        size_t lx, ly;
        uint8_t *bx = make_x(&lx, 6), *by = make_y(&ly, 6);
        if (bx) write_file(tp("x6.npy"), bx, lx);
        if (by) write_file(tp("y6.npy"), by, ly);
        free(bx);
        free(by);
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("x6.npy"), tp("y6.npy"));
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (ds) check_xy(ds, 6);
        bk_dataset_destroy(ds);
        /* Mismatched counts name both files. */
        by = make_y(&ly, 5);
        if (by) write_file(tp("y5.npy"), by, ly);
        free(by);
        o = opts(tp("x6.npy"), tp("y5.npy"));
        CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_SHAPE, "x6.npy");
        CHECK(contains(bk_last_error(), "y5.npy"));
    }
}

/* Files written by numpy itself, when python3 with numpy is at hand. */
static void test_numpy_written(void)
{
    /* A python3 first on PATH (pyenv, venv) may lack numpy; the system one
     * may have it. */
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    int made = 0;
    for (size_t i = 0; i < 2 && !made; i++) {
        char cmd[8192];
        int w = snprintf(cmd, sizeof cmd,
            "%s -c \"import numpy as np, sys; d=sys.argv[1]; "
            "x=np.asfortranarray(np.arange(24, dtype=np.float64).reshape(4,3,2)); "
            "np.save(d+'/np_f.npy', x); "
            "np.savez_compressed(d+'/np_c.npz', x=x.astype(np.int16), y=np.array([3,1,4,1], dtype=np.uint8))\" '%s'"
            " 2>/dev/null", pythons[i], tmpdir);
        made = w > 0 && (size_t)w < sizeof cmd && system(cmd) == 0;
    }
    if (!made) {
        printf("test_data: python3 with numpy not available, skipping numpy-written files\n");
        return;
    }
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("np_f.npy"), NULL);
    CHECK_OK(bk_dataset_open_numpy(&ds, &o));
    if (ds) {
        CHECK(ds->count == 4 && ds->input_shape.ndim == 2);
        int64_t idx[1] = {2};
        float x[6];
        CHECK_OK(ds->read(ds, idx, 1, x, NULL));
        for (int i = 0; i < 6; i++) CHECK(x[i] == 12 + i);
    }
    bk_dataset_destroy(ds);
    o = opts(tp("np_c.npz"), NULL);
    CHECK_OK(bk_dataset_open_numpy(&ds, &o));
    if (ds) {
        CHECK(ds->count == 4 && ds->has_targets && ds->target_shape.ndim == 0);
        int64_t idx[1] = {3};
        float x[6], y[1];
        CHECK_OK(ds->read(ds, idx, 1, x, y));
        CHECK(x[0] == 18 && x[5] == 23 && y[0] == 1);
    }
    bk_dataset_destroy(ds);
}

static void test_npy_errors(void)
{
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("missing.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_IO, "missing.npy");

    write_file(tp("garbage.npy"), "hello, world, not numpy", 23);
    o = opts(tp("garbage.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_IO, "garbage.npy");

    /* A header that is not the dict numpy writes. */
    uint8_t bad[64];
    memset(bad, ' ', sizeof bad);
    static const char hdr[] = "\x93NUMPY\x01\x00\x36\x00{'shape': (2,), 'nonsense': 1}";
    memcpy(bad, hdr, sizeof hdr - 1);
    bad[63] = '\n';
    write_file(tp("badhdr.npy"), bad, sizeof bad);
    o = opts(tp("badhdr.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_IO, "badhdr.npy");

    int64_t s[2] = {3, 2};
    write_npy(tp("trunc.npy"), "<f4", 0, 2, s, svals, 1, 3);
    o = opts(tp("trunc.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_IO, "truncated");

    /* Header length field pointing past the end. */
    write_npy(tp("short.npy"), "<f4", 0, 2, s, svals, 1, 0);
    write_file(tp("short.npy"), bad, 20);
    o = opts(tp("short.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_IO, "short.npy");

    write_npy(tp("cplx.npy"), "<c8", 0, 2, s, svals, 1, 0);
    o = opts(tp("cplx.npy"), NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_UNSUPPORTED, "<c8");
    CHECK(ds == NULL);
}

/* ---------------- HDF5 ---------------- */

static void h5_put(hid_t f, const char *name, hid_t file_type, hid_t mem_type, int rank,
                   const hsize_t *dims, const void *data, int chunked)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunked) {
        hsize_t c[8];
        memcpy(c, dims, sizeof(hsize_t) * (size_t)rank);
        c[0] = 3;
        H5Pset_chunk(dcpl, rank, c);
        H5Pset_deflate(dcpl, 4);
    }
    hid_t d = H5Dcreate2(f, name, file_type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(d >= 0);
    CHECK(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

enum { HN = 10 };

/* x: float32 (10, 2, 3), x[i][j] = 100i + j; y: int32 (10,), y[i] = 9 - i. */
static void write_h5(const char *path, const char *xname, const char *yname, int ny, int chunked)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0);
    float x[HN * 6];
    int32_t y[HN];
    for (int i = 0; i < HN * 6; i++) x[i] = (float)(100 * (i / 6) + i % 6);
    for (int i = 0; i < HN; i++) y[i] = 9 - i;
    hsize_t dx[3] = {HN, 2, 3}, dy[1] = {(hsize_t)ny};
    if (xname) h5_put(f, xname, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, dx, x, chunked);
    if (yname) h5_put(f, yname, H5T_STD_I32BE, H5T_NATIVE_INT32, 1, dy, y, chunked);
    H5Fclose(f);
}

static void check_h5(bk_dataset *ds)
{
    CHECK(ds->count == HN && ds->has_targets == 1);
    CHECK(ds->input_shape.ndim == 2 && ds->input_shape.dims[0] == 2 && ds->input_shape.dims[1] == 3);
    CHECK(ds->target_shape.ndim == 0);
    /* Unsorted, with a duplicate and a contiguous run. */
    int64_t idx[7] = {7, 2, 3, 2, 9, 0, 4};
    float x[7 * 6], y[7];
    CHECK_OK(ds->read(ds, idx, 7, x, y));
    int bad = 0;
    for (int i = 0; i < 7; i++) {
        for (int j = 0; j < 6; j++) bad += x[i * 6 + j] != (float)(100 * idx[i] + j);
        bad += y[i] != (float)(9 - idx[i]);
    }
    CHECK(bad == 0);
}

static void test_hdf5(void)
{
    write_h5(tp("a.h5"), "x", "y", HN, 0);
    write_h5(tp("c.h5"), "data", "labels", HN, 1);
    for (int pre = 0; pre <= 1; pre++) {
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("a.h5"), NULL);
        o.preload = pre;
        CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
        if (ds) check_h5(ds);
        bk_dataset_destroy(ds);
        o = opts(tp("c.h5"), NULL);
        o.preload = pre;
        CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
        if (ds) check_h5(ds);
        bk_dataset_destroy(ds);
    }
    /* preload=0 and 1 give the same values over the whole file. */
    bk_dataset *lazy = NULL, *eager = NULL;
    bk_data_options o = opts(tp("c.h5"), NULL);
    CHECK_OK(bk_dataset_open_hdf5(&lazy, &o));
    o.preload = 1;
    CHECK_OK(bk_dataset_open_hdf5(&eager, &o));
    if (lazy && eager) {
        int64_t idx[HN];
        for (int i = 0; i < HN; i++) idx[i] = (i * 7) % HN;
        float x1[HN * 6], x2[HN * 6], y1[HN], y2[HN];
        CHECK_OK(lazy->read(lazy, idx, HN, x1, y1));
        CHECK_OK(eager->read(eager, idx, HN, x2, y2));
        CHECK(memcmp(x1, x2, sizeof x1) == 0 && memcmp(y1, y2, sizeof y1) == 0);
        int64_t out = HN;
        CHECK_ERR(lazy->read(lazy, &out, 1, x1, y1), BK_ERR_INVALID, "10");
    }
    bk_dataset_destroy(lazy);
    bk_dataset_destroy(eager);

    /* Explicit keys, targets in a second file. */
    write_h5(tp("in.h5"), "feats", NULL, HN, 0);
    write_h5(tp("tg.h5"), NULL, "cls", HN, 0);
    bk_dataset *ds = NULL;
    o = opts(tp("in.h5"), tp("tg.h5"));
    o.input_key = "feats";
    o.target_key = "cls";
    CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
    if (ds) check_h5(ds);
    bk_dataset_destroy(ds);

    /* Inputs only. */
    o = opts(tp("in.h5"), NULL);
    o.input_key = "feats";
    CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
    if (ds) CHECK(ds->has_targets == 0 && ds->count == HN);
    bk_dataset_destroy(ds);
}

static void test_hdf5_errors(void)
{
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("nope.h5"), NULL);
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_IO, "nope.h5");
    o = opts(tp("garbage.npy"), NULL);
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_IO, "not an HDF5 file");

    o = opts(tp("a.h5"), NULL);
    o.input_key = "pixels";
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_INVALID, "\"pixels\"");
    CHECK(contains(bk_last_error(), "a.h5") && contains(bk_last_error(), "x, y"));
    o = opts(tp("a.h5"), NULL);
    o.target_key = "targets";
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_INVALID, "\"targets\"");
    o = opts(tp("in.h5"), NULL);
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_INVALID, "feats");

    write_h5(tp("mm.h5"), "x", "y", HN - 1, 0);
    o = opts(tp("mm.h5"), NULL);
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_SHAPE, "\"x\"");
    CHECK(contains(bk_last_error(), "\"y\"") && contains(bk_last_error(), "mm.h5"));
    CHECK(ds == NULL);
}

/* ---------------- subset ---------------- */

static void test_subset(void)
{
    size_t lx, ly;
    uint8_t *bx = make_x(&lx, 8), *by = make_y(&ly, 8);
    if (bx) write_file(tp("x8.npy"), bx, lx);
    if (by) write_file(tp("y8.npy"), by, ly);
    free(bx);
    free(by);
    bk_dataset *base = NULL, *sub = NULL, *sub2 = NULL;
    bk_data_options o = opts(tp("x8.npy"), tp("y8.npy"));
    CHECK_OK(bk_dataset_open_numpy(&base, &o));
    if (!base) return;
    CHECK_OK(bk_dataset_subset(&sub, base, 2, 5));
    if (sub) {
        CHECK(sub->count == 5 && sub->has_targets && bk_shape_equal(&sub->input_shape, &base->input_shape));
        int64_t idx[2] = {4, 0};
        float x[6], y[2];
        CHECK_OK(sub->read(sub, idx, 2, x, y));
        CHECK(x[0] == 60 && x[3] == 20 && y[0] == 6.5f && y[1] == 2.5f);
        int64_t out = 5;
        CHECK_ERR(sub->read(sub, &out, 1, x, y), BK_ERR_INVALID, "5");
        CHECK_OK(bk_dataset_subset(&sub2, sub, 1, 4));
        if (sub2) {
            int64_t i = 3;
            CHECK_OK(sub2->read(sub2, &i, 1, x, y));
            CHECK(x[0] == 60);
        }
    }
    bk_dataset *bad = NULL;
    CHECK_ERR(bk_dataset_subset(&bad, base, 6, 3), BK_ERR_INVALID, "x8.npy");
    CHECK_ERR(bk_dataset_subset(&bad, base, -1, 2), BK_ERR_INVALID, "x8.npy");
    CHECK(bad == NULL);
    CHECK_OK(bk_dataset_subset(&bad, base, 8, 0));
    if (bad) CHECK(bad->count == 0);
    bk_dataset_destroy(bad);
    bk_dataset_destroy(sub2);
    bk_dataset_destroy(sub);
    bk_dataset_destroy(base);
}

/* ---------------- loader ---------------- */

/* x[i] = {i, -i}, y[i] = 10 i; fails on index fail_at; sleeps per read. */
typedef struct {
    int64_t fail_at;
    long sleep_ns;
} synth;

static bk_status synth_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    synth *s = ds->impl;
    if (s->sleep_ns) {
        struct timespec ts = {0, s->sleep_ns};
        nanosleep(&ts, NULL);
    }
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] == s->fail_at) return bk_error(BK_ERR_IO, "synth: boom at sample %lld", (long long)idx[i]);
        x[2 * i] = (float)idx[i];
        x[2 * i + 1] = (float)-idx[i];
        if (y) y[i] = 10.0f * (float)idx[i];
    }
    return BK_OK;
}

static bk_dataset make_synth(synth *s, int64_t count, int targets)
{
    bk_dataset ds;
    memset(&ds, 0, sizeof ds);
    int64_t two = 2;
    ds.count = count;
    ds.input_shape = bk_shape_make(1, &two);
    ds.has_targets = targets;
    ds.read = synth_read;
    ds.impl = s;
    snprintf(ds.name, sizeof ds.name, "synth");
    return ds;
}

/* Runs one epoch, writing the sample order into order[]; returns batches. */
static int64_t run_epoch(bk_loader *ld, int epoch, int64_t *order, int64_t cap, int64_t *sizes)
{
    int64_t got = 0, nb = 0;
    CHECK_OK(bk_loader_begin_epoch(ld, epoch));
    for (;;) {
        bk_batch b;
        int done = 0;
        bk_status st = bk_loader_next(ld, &b, &done);
        CHECK_OK(st);
        if (st || done) {
            if (done) CHECK(b.n == 0 && b.x == NULL && b.y == NULL);
            break;
        }
        if (sizes) sizes[nb] = b.n;
        nb++;
        for (int64_t i = 0; i < b.n && got < cap; i++) {
            CHECK(b.x[2 * i + 1] == -b.x[2 * i]);
            if (b.y) CHECK(b.y[i] == 10 * b.x[2 * i]);
            order[got++] = (int64_t)b.x[2 * i];
        }
    }
    CHECK(got == cap);
    return nb;
}

static int is_perm(const int64_t *o, int64_t n)
{
    char seen[256] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (o[i] < 0 || o[i] >= n || seen[o[i]]) return 0;
        seen[o[i]] = 1;
    }
    return 1;
}

static void test_loader(void)
{
    synth s = {-1, 0};
    bk_dataset ds = make_synth(&s, 10, 1);
    bk_loader *ld = NULL;
    int64_t order[10], sizes[8];

    /* Plain order, last batch partial. */
    CHECK_OK(bk_loader_create(&ld, &ds, 4, 0, 1));
    if (!ld) return;
    CHECK(bk_loader_num_batches(ld) == 3);
    CHECK(run_epoch(ld, 0, order, 10, sizes) == 3);
    CHECK(sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
    for (int i = 0; i < 10; i++) CHECK(order[i] == i);
    bk_batch b;
    int done = 0;
    CHECK_OK(bk_loader_next(ld, &b, &done));
    CHECK(done == 1 && b.n == 0);
    CHECK(bk_loader_wait_seconds(ld) >= 0);
    bk_loader_destroy(ld);

    /* Shuffled: (seed, epoch) alone fixes the order. */
    int64_t a0[10], a1[10], b0[10], c0[10];
    CHECK_OK(bk_loader_create(&ld, &ds, 3, 1, 42));
    if (!ld) return;
    CHECK(bk_loader_num_batches(ld) == 4);
    run_epoch(ld, 0, a0, 10, NULL);
    run_epoch(ld, 1, a1, 10, NULL);
    bk_loader_destroy(ld);
    CHECK_OK(bk_loader_create(&ld, &ds, 4, 1, 42)); /* batch size does not matter */
    if (!ld) return;
    run_epoch(ld, 1, b0, 10, NULL);
    CHECK(memcmp(a1, b0, sizeof a1) == 0);
    run_epoch(ld, 0, b0, 10, NULL);
    CHECK(memcmp(a0, b0, sizeof a0) == 0);
    bk_loader_destroy(ld);
    CHECK(memcmp(a0, a1, sizeof a0) != 0);
    CHECK(is_perm(a0, 10) && is_perm(a1, 10));
    int identity = 1;
    for (int i = 0; i < 10; i++) identity &= a0[i] == i;
    CHECK(!identity);
    CHECK_OK(bk_loader_create(&ld, &ds, 4, 1, 43));
    if (!ld) return;
    run_epoch(ld, 0, c0, 10, NULL);
    CHECK(memcmp(a0, c0, sizeof a0) != 0 && is_perm(c0, 10));
    bk_loader_destroy(ld);

    /* Larger set: every sample exactly once over several epochs. */
    synth s2 = {-1, 0};
    bk_dataset big = make_synth(&s2, 200, 0);
    CHECK_OK(bk_loader_create(&ld, &big, 7, 1, 5));
    if (!ld) return;
    int64_t ob[200];
    for (int e = 0; e < 3; e++) {
        CHECK(run_epoch(ld, e, ob, 200, NULL) == 29);
        CHECK(is_perm(ob, 200));
    }
    bk_loader_destroy(ld);
}

static void test_loader_edges(void)
{
    synth s = {-1, 0};
    bk_dataset ds = make_synth(&s, 10, 1);
    bk_loader *ld = NULL;
    bk_batch b;
    int done = 0;

    CHECK_ERR(bk_loader_create(&ld, &ds, 0, 0, 0), BK_ERR_INVALID, "synth");
    CHECK(ld == NULL);

    /* next before begin_epoch. */
    CHECK_OK(bk_loader_create(&ld, &ds, 3, 1, 0));
    if (!ld) return;
    CHECK_ERR(bk_loader_next(ld, &b, &done), BK_ERR_INVALID, "begin_epoch");
    /* Abandon an epoch midway, restart, then destroy mid-epoch. */
    CHECK_OK(bk_loader_begin_epoch(ld, 0));
    CHECK_OK(bk_loader_next(ld, &b, &done));
    CHECK(b.n == 3 && done == 0);
    int64_t order[10];
    run_epoch(ld, 0, order, 10, NULL);
    CHECK(is_perm(order, 10));
    CHECK_OK(bk_loader_begin_epoch(ld, 1));
    CHECK_OK(bk_loader_next(ld, &b, &done));
    bk_loader_destroy(ld);

    /* Batch larger than the dataset: one batch of everything. */
    CHECK_OK(bk_loader_create(&ld, &ds, 64, 0, 0));
    if (ld) {
        CHECK(bk_loader_num_batches(ld) == 1);
        CHECK(run_epoch(ld, 0, order, 10, NULL) == 1);
        bk_loader_destroy(ld);
    }

    /* Empty dataset: done at once. */
    bk_dataset empty = make_synth(&s, 0, 1);
    CHECK_OK(bk_loader_create(&ld, &empty, 4, 1, 0));
    if (ld) {
        CHECK(bk_loader_num_batches(ld) == 0);
        CHECK_OK(bk_loader_begin_epoch(ld, 0));
        CHECK_OK(bk_loader_next(ld, &b, &done));
        CHECK(done == 1);
        bk_loader_destroy(ld);
    }

    /* An error on the worker thread reaches the caller with its message. */
    synth sf = {5, 0};
    bk_dataset failing = make_synth(&sf, 10, 1);
    CHECK_OK(bk_loader_create(&ld, &failing, 2, 0, 0));
    if (ld) {
        CHECK_OK(bk_loader_begin_epoch(ld, 0));
        CHECK_OK(bk_loader_next(ld, &b, &done));
        CHECK_OK(bk_loader_next(ld, &b, &done));
        bk_error_clear();
        CHECK_ERR(bk_loader_next(ld, &b, &done), BK_ERR_IO, "boom at sample 5");
        CHECK(contains(bk_last_error(), "batch 2"));
        CHECK(b.n == 0 && done == 0);
        CHECK_ERR(bk_loader_next(ld, &b, &done), BK_ERR_IO, "boom"); /* stays failed */
        bk_loader_destroy(ld);
    }

    /* A slow reader: the caller's waiting is measured. */
    synth slow = {-1, 20 * 1000 * 1000};
    bk_dataset sd = make_synth(&slow, 6, 1);
    CHECK_OK(bk_loader_create(&ld, &sd, 2, 0, 0));
    if (ld) {
        run_epoch(ld, 0, order, 6, NULL);
        CHECK(bk_loader_wait_seconds(ld) >= 0.015);
        CHECK_OK(bk_loader_begin_epoch(ld, 1));
        CHECK(bk_loader_wait_seconds(ld) == 0);
        bk_loader_destroy(ld); /* with a read in flight */
    }

    /* Through the HDF5 reader on the worker thread, over a subset. */
    bk_dataset *h = NULL, *sub = NULL;
    bk_data_options o = opts(tp("c.h5"), NULL);
    CHECK_OK(bk_dataset_open_hdf5(&h, &o));
    if (h) CHECK_OK(bk_dataset_subset(&sub, h, 1, 8));
    if (sub) CHECK_OK(bk_loader_create(&ld, sub, 3, 1, 9));
    if (sub && ld) {
        int64_t seen = 0, sum = 0;
        CHECK_OK(bk_loader_begin_epoch(ld, 0));
        while (bk_loader_next(ld, &b, &done) == BK_OK && !done) {
            for (int64_t i = 0; i < b.n; i++) {
                int64_t k = (int64_t)b.x[i * 6] / 100;
                CHECK(b.x[i * 6 + 5] == 100 * k + 5 && b.y[i] == 9 - k);
                sum += k;
                seen++;
            }
        }
        CHECK(seen == 8 && sum == 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8);
        bk_loader_destroy(ld);
    }
    bk_dataset_destroy(sub);
    bk_dataset_destroy(h);
}

/* ---------------- the real Fashion-MNIST ---------------- */

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("test_data: %s not present, skipping the Fashion-MNIST check\n", dir);
        return;
    }
    for (int train = 1; train >= 0; train--) {
        bk_dataset *ds = NULL;
        bk_data_options o = opts(dir, NULL);
        o.train = train;
        CHECK_OK(bk_dataset_open_mnist(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == (train ? 60000 : 10000));
        CHECK(ds->input_shape.ndim == 3 && ds->input_shape.dims[0] == 1 &&
              ds->input_shape.dims[1] == 28 && ds->input_shape.dims[2] == 28);
        CHECK(ds->has_targets && ds->target_shape.ndim == 0);
        int64_t idx[3] = {0, ds->count / 2, ds->count - 1};
        float x[3 * 784], y[3];
        CHECK_OK(ds->read(ds, idx, 3, x, y));
        int ok = 1;
        float mx = 0;
        for (int i = 0; i < 3 * 784; i++) {
            ok &= x[i] >= 0 && x[i] <= 1;
            if (x[i] > mx) mx = x[i];
        }
        for (int i = 0; i < 3; i++) ok &= y[i] >= 0 && y[i] <= 9 && y[i] == (float)(int)y[i];
        CHECK(ok && mx > 0.5f);
        bk_dataset_destroy(ds);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", bk_test_tmpdir("test_data"));
    test_idx();
    test_idx_errors();
    test_npy_dtypes();
    test_npy_fortran();
    test_npz();
    test_numpy_written();
    test_npy_errors();
    test_hdf5();
    test_hdf5_errors();
    test_subset();
    test_loader();
    test_loader_edges();
    test_fashion_mnist();
    return bk_test_finish("test_data");
}
