/* The reference CLI's per-sample data forms: an .npz with one sample per
 * array (numpy.savez(path, *samples)), a folder of .npy/.npz files, and an
 * HDF5 file with one dataset per sample; sample names; and the errors for
 * forms that cannot be told apart. Every file is written here first. */
#include "brisk/data.h"
#include "testutil.h"
#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static char tmpdir[2048];

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

#define CHECK_ERR(expr, code, sub) do { bk_status e_ = (expr); CHECK(e_ == (code)); \
    if (!contains(bk_last_error(), (sub))) { bk_test_checks++; bk_test_failures++; \
        fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } \
    else bk_test_checks++; } while (0)

static bk_data_options opts(const char *in, const char *tgt)
{
    bk_data_options o;
    memset(&o, 0, sizeof o);
    o.input_path = in;
    o.target_path = tgt;
    return o;
}

/* Sample s's value at flat position j: distinct across samples and positions. */
static float val(int s, int64_t j) { return (float)(1000 * s + j); }

/* A float32 C-order .npy image (malloc'd) holding val(s, j). */
static uint8_t *make_npy(size_t *len, int ndim, const int64_t *shape, int s)
{
    char dict[256], shp[128] = "";
    size_t used = 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(shp + used, sizeof shp - used, "%lld,%s", (long long)shape[i],
                                 i + 1 < ndim ? " " : "");
        n *= shape[i];
    }
    if (ndim > 1) shp[used - 1] = 0; /* "(3, 2)" but "(3,)" */
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
    size_t hlen = (size_t)dl + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    size_t total = 10 + hlen + (size_t)n * 4;
    uint8_t *b = calloc(1, total);
    CHECK(b != NULL);
    if (!b) return NULL;
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)hlen;
    b[9] = (uint8_t)(hlen >> 8);
    memset(b + 10, ' ', hlen);
    memcpy(b + 10, dict, (size_t)dl);
    b[10 + hlen - 1] = '\n';
    for (int64_t j = 0; j < n; j++) {
        float f = val(s, j);
        memcpy(b + 10 + hlen + 4 * j, &f, 4);
    }
    *len = total;
    return b;
}

static void write_npy(const char *path, int ndim, const int64_t *shape, int s)
{
    size_t len = 0;
    uint8_t *b = make_npy(&len, ndim, shape, s);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && b != NULL);
    if (f && b) CHECK(fwrite(b, 1, len, f) == len);
    if (f) fclose(f);
    free(b);
}

/* An .npz of n members names[k] (".npy" appended), member k holding
 * val(first + k, j) with shape shapes[k] (ndim each). */
static void write_npz(const char *path, int n, const char *const *names, const int *ndims,
                      const int64_t (*shapes)[4], int first)
{
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    CHECK(za != NULL);
    for (int k = 0; k < n && za; k++) {
        size_t len = 0;
        uint8_t *b = make_npy(&len, ndims[k], shapes[k], first + k);
        char member[128];
        snprintf(member, sizeof member, "%s.npy", names[k]);
        zip_source_t *src = b ? zip_source_buffer(za, b, len, 1) : NULL;
        CHECK(src != NULL);
        zip_int64_t i = src ? zip_file_add(za, member, src, ZIP_FL_OVERWRITE) : -1;
        CHECK(i >= 0);
        if (i < 0 && src) zip_source_free(src);
        if (!src) free(b);
    }
    if (za) CHECK(zip_close(za) == 0);
}

/* Checks sample idx[i] of ds holds val(expect[i], j) over `numel` values. */
static void check_samples(bk_dataset *ds, int n, const int64_t *idx, const int *expect, int64_t numel, int targets)
{
    float *x = malloc((size_t)(n * numel) * sizeof(float));
    float *y = malloc((size_t)(n * numel) * sizeof(float));
    CHECK(x && y);
    if (x && y) {
        CHECK_OK(ds->read(ds, idx, n, x, targets ? y : NULL));
        int bad = 0;
        for (int i = 0; i < n; i++)
            for (int64_t j = 0; j < numel; j++) {
                bad += x[i * numel + j] != val(expect[i], j);
                if (targets) bad += y[i * numel + j] != val(expect[i], j);
            }
        CHECK(bad == 0);
        if (bad) fprintf(stderr, "  %d wrong values in %s\n", bad, ds->name);
    }
    free(x);
    free(y);
}

static void check_name(bk_dataset *ds, int64_t i, const char *want)
{
    char buf[256];
    CHECK_OK(bk_dataset_sample_name(ds, i, buf, sizeof buf));
    if (strcmp(buf, want)) {
        bk_test_failures++;
        fprintf(stderr, "%s:%d: sample %lld of %s is named \"%s\", expected \"%s\"\n", __FILE__, __LINE__,
                (long long)i, ds->name, buf, want);
    }
    bk_test_checks++;
}

/* numpy.savez(path, *samples) writes arr_0.npy, arr_1.npy, ...: each array
 * is one sample (the reference CLI's form). 11 of them, so archive order
 * (arr_10 last) differs from name order (arr_10 after arr_1). */
static void test_npz_per_sample(void)
{
    enum { N = 11 };
    const char *names[N];
    char nbuf[N][16];
    int ndims[N];
    int64_t shapes[N][4];
    for (int k = 0; k < N; k++) {
        snprintf(nbuf[k], sizeof nbuf[k], "arr_%d", k);
        names[k] = nbuf[k];
        ndims[k] = 3;
        shapes[k][0] = 2; shapes[k][1] = 3; shapes[k][2] = 4;
    }
    write_npz(tp("samples.npz"), N, names, ndims, (const int64_t (*)[4])shapes, 0);
    for (int pre = 0; pre <= 1; pre++) {
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("samples.npz"), NULL);
        o.preload = pre;
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == N);
        CHECK(ds->has_targets == 0);
        CHECK(ds->input_shape.ndim == 3 && ds->input_shape.dims[0] == 2 && ds->input_shape.dims[1] == 3 &&
              ds->input_shape.dims[2] == 4);
        if (ds->count == N && ds->input_shape.ndim == 3) {
            int64_t idx[4] = {10, 0, 2, 10};
            int expect[4] = {10, 0, 2, 10};
            check_samples(ds, 4, idx, expect, 24, 0);
            check_name(ds, 0, "arr_0");
            check_name(ds, 10, "arr_10");
        }
        bk_dataset_destroy(ds);
    }
    /* Targets: the same form in a second archive. */
    write_npz(tp("targets.npz"), N, names, ndims, (const int64_t (*)[4])shapes, 0);
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("samples.npz"), tp("targets.npz"));
    CHECK_OK(bk_dataset_open_numpy(&ds, &o));
    if (ds) {
        CHECK(ds->count == N && ds->has_targets == 1 && ds->target_shape.ndim == 3);
        int64_t idx[2] = {3, 7};
        int expect[2] = {3, 7};
        if (ds->count == N) check_samples(ds, 2, idx, expect, 24, 1);
    }
    bk_dataset_destroy(ds);
}

/* A folder of samples: every .npy is one, every array of an .npz one,
 * sub-folders included, in sorted order of relative path; other files and
 * hidden ones are skipped. */
static void test_folder(void)
{
    char dir[2048], sub[4096];
    snprintf(dir, sizeof dir, "%s", tp("fold"));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    int64_t shp[4] = {1, 3, 2};
    char p[8192];
    snprintf(p, sizeof p, "%s/b.npy", dir); write_npy(p, 3, shp, 1);
    snprintf(p, sizeof p, "%s/a.npy", dir); write_npy(p, 3, shp, 0);
    snprintf(p, sizeof p, "%s/c.npy", sub); write_npy(p, 3, shp, 2);
    snprintf(p, sizeof p, "%s/.hidden.npy", dir); write_npy(p, 2, shp, 9); /* another shape: must be skipped */
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    FILE *f = fopen(p, "w");
    if (f) { fputs("not a sample\n", f); fclose(f); }
    const char *names[2] = {"arr_0", "arr_1"};
    int nd[2] = {3, 3};
    int64_t shapes[2][4] = {{1, 3, 2}, {1, 3, 2}};
    snprintf(p, sizeof p, "%s/d.npz", sub);
    write_npz(p, 2, names, nd, (const int64_t (*)[4])shapes, 3);
    const char *const want[5] = {"a.npy", "b.npy", "sub/c.npy", "sub/d.npz/arr_0", "sub/d.npz/arr_1"};
    for (int pre = 0; pre <= 1; pre++) {
        bk_dataset *ds = NULL;
        /* the Poisson tutorial's form: the targets are the inputs' own folder */
        bk_data_options o = opts(dir, dir);
        o.preload = pre;
        CHECK_OK(bk_dataset_open_numpy(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == 5 && ds->has_targets == 1);
        CHECK(ds->input_shape.ndim == 3 && ds->input_shape.dims[0] == 1 && ds->input_shape.dims[1] == 3);
        CHECK(ds->target_shape.ndim == 3);
        if (ds->count == 5) {
            for (int i = 0; i < 5; i++) check_name(ds, i, want[i]);
            int64_t idx[6] = {4, 0, 3, 1, 2, 4};
            int expect[6] = {4, 0, 3, 1, 2, 4};
            check_samples(ds, 6, idx, expect, 6, 1);
        }
        bk_dataset_destroy(ds);
    }
    /* one file of another shape: named, with both shapes */
    snprintf(p, sizeof p, "%s/e.npy", sub);
    int64_t other[4] = {1, 2, 3};
    write_npy(p, 3, other, 7);
    bk_dataset *ds = NULL;
    bk_data_options o = opts(dir, NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_SHAPE, "sub/e.npy");
    CHECK(contains(bk_last_error(), "(1, 2, 3)") && contains(bk_last_error(), "(1, 3, 2)") &&
          contains(bk_last_error(), "a.npy"));
    CHECK(ds == NULL);
    remove(p);
    /* a key names an array in one file, not in a folder */
    o = opts(dir, NULL);
    o.input_key = "x";
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_INVALID, "input_key");
    /* a folder without samples */
    char empty[4096];
    snprintf(empty, sizeof empty, "%s", tp("empty_fold"));
    mkdir(empty, 0755);
    o = opts(empty, NULL);
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_INVALID, "no .npy or .npz");
    /* five input samples against an array of four targets: the counts and the rule */
    int64_t s4[1] = {4};
    write_npy(tp("y4.npy"), 1, s4, 0);
    o = opts(dir, tp("y4.npy"));
    CHECK_ERR(bk_dataset_open_numpy(&ds, &o), BK_ERR_SHAPE, "5 samples");
    CHECK(contains(bk_last_error(), "have 4") && contains(bk_last_error(), "one sample per .npy file"));
    /* array targets (samples along axis 0) pair with folder inputs */
    int64_t s5[1] = {5};
    write_npy(tp("y5.npy"), 1, s5, 0);
    o = opts(dir, tp("y5.npy"));
    CHECK_OK(bk_dataset_open_numpy(&ds, &o));
    if (ds) {
        CHECK(ds->count == 5 && ds->target_shape.ndim == 0);
        int64_t idx[2] = {3, 1};
        float x[12], y[2];
        CHECK_OK(ds->read(ds, idx, 2, x, y));
        CHECK(y[0] == 3 && y[1] == 1 && x[0] == val(3, 0) && x[6] == val(1, 0));
    }
    bk_dataset_destroy(ds);
}

/* dataset `name` (groups created on the way) of shape dims holding val(s, j) */
static void h5_sample(hid_t f, const char *name, int rank, const hsize_t *dims, int s)
{
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
    CHECK(v != NULL);
    if (!v) return;
    for (hsize_t j = 0; j < n; j++) v[j] = val(s, (int64_t)j);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(d >= 0);
    if (d >= 0) {
        CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
        H5Dclose(d);
    }
    H5Sclose(sp);
    H5Pclose(lcpl);
    free(v);
}

/* An HDF5 file of one dataset per sample: sorted by path, named by it. */
static void test_hdf5_per_sample(void)
{
    hsize_t d23[2] = {2, 3};
    hid_t f = H5Fcreate(tp("ps.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_sample(f, "s2", 2, d23, 3);
    h5_sample(f, "s0", 2, d23, 1);
    h5_sample(f, "s1", 2, d23, 2);
    h5_sample(f, "g/s3", 2, d23, 0);
    H5Fclose(f);
    f = H5Fcreate(tp("ps_t.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    for (int k = 0; k < 4; k++) {
        char n[16];
        snprintf(n, sizeof n, "t%d", k);
        h5_sample(f, n, 2, d23, k);
    }
    H5Fclose(f);
    const char *want[4] = {"g/s3", "s0", "s1", "s2"};
    for (int pre = 0; pre <= 1; pre++) {
        bk_dataset *ds = NULL;
        bk_data_options o = opts(tp("ps.h5"), NULL);
        o.preload = pre;
        CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == 4 && ds->has_targets == 0);
        CHECK(ds->input_shape.ndim == 2 && ds->input_shape.dims[0] == 2 && ds->input_shape.dims[1] == 3);
        if (ds->count == 4) {
            for (int i = 0; i < 4; i++) check_name(ds, i, want[i]);
            int64_t idx[5] = {3, 0, 2, 1, 3};
            int expect[5] = {3, 0, 2, 1, 3};
            check_samples(ds, 5, idx, expect, 6, 0);
        }
        bk_dataset_destroy(ds);
        /* targets: the same form in another file, paired by position */
        o = opts(tp("ps.h5"), tp("ps_t.h5"));
        o.preload = pre;
        CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
        if (ds) {
            CHECK(ds->count == 4 && ds->has_targets && ds->target_shape.ndim == 2);
            int64_t idx[2] = {1, 2};
            int expect[2] = {1, 2};
            if (ds->count == 4) check_samples(ds, 2, idx, expect, 6, 1);
        }
        bk_dataset_destroy(ds);
    }
    /* input_key naming a group: the samples are its datasets */
    f = H5Fcreate(tp("grp.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_sample(f, "train/b", 2, d23, 1);
    h5_sample(f, "train/a", 2, d23, 0);
    h5_sample(f, "other", 1, d23, 5);
    H5Fclose(f);
    bk_dataset *ds = NULL;
    bk_data_options o = opts(tp("grp.h5"), NULL);
    o.input_key = "train";
    CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
    if (ds) {
        CHECK(ds->count == 2);
        if (ds->count == 2) {
            check_name(ds, 0, "a");
            check_name(ds, 1, "b");
            int64_t idx[2] = {1, 0};
            int expect[2] = {1, 0};
            check_samples(ds, 2, idx, expect, 6, 0);
        }
    }
    bk_dataset_destroy(ds);
    /* without a key the whole file is per-sample, and "other" differs in shape */
    o = opts(tp("grp.h5"), NULL);
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_SHAPE, "\"train/a\"");
    CHECK(contains(bk_last_error(), "\"other\"") && contains(bk_last_error(), "(2,)") &&
          contains(bk_last_error(), "(2, 3)") && contains(bk_last_error(), "input_key"));
    /* four inputs, three targets */
    f = H5Fcreate(tp("ps_t3.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    for (int k = 0; k < 3; k++) {
        char n[16];
        snprintf(n, sizeof n, "t%d", k);
        h5_sample(f, n, 2, d23, k);
    }
    H5Fclose(f);
    o = opts(tp("ps.h5"), tp("ps_t3.h5"));
    CHECK_ERR(bk_dataset_open_hdf5(&ds, &o), BK_ERR_SHAPE, "4 samples");
    CHECK(contains(bk_last_error(), "have 3") && contains(bk_last_error(), "one sample per dataset"));
    /* array targets (samples along axis 0) pair with per-sample inputs */
    f = H5Fcreate(tp("arr_t.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d4[1] = {4};
    h5_sample(f, "target", 1, d4, 0);
    H5Fclose(f);
    o = opts(tp("ps.h5"), tp("arr_t.h5"));
    CHECK_OK(bk_dataset_open_hdf5(&ds, &o));
    if (ds) {
        CHECK(ds->count == 4 && ds->target_shape.ndim == 0);
        int64_t idx[2] = {2, 3};
        float x[12], y[2];
        CHECK_OK(ds->read(ds, idx, 2, x, y));
        CHECK(y[0] == 2 && y[1] == 3 && x[0] == val(2, 0));
    }
    bk_dataset_destroy(ds);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", bk_test_tmpdir("test_data_forms"));
    test_npz_per_sample();
    test_folder();
    test_hdf5_per_sample();
    return bk_test_finish("test_data_forms");
}
