/* Slicers: the count rule against brute-force enumeration (and the
 * seismic tutorial's 4455), every sample's values against a naive
 * reference (mirrored padding walked step by step, transposition, dropped
 * axes, channels), HDF5 box-by-box reads against preloaded ones, the
 * reassembly of identity outputs into the input volume (exact, with NaN
 * where nothing reached), and the errors for bad sets. */
#include "brisk/data.h"
#include "testutil.h"
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[2048];

static const char *tp(const char *name)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

#define CHECK_ERR(expr, code, sub) do { bk_status e_ = (expr); CHECK(e_ == (code)); \
    if (!contains(bk_last_error(), (sub))) { bk_test_checks++; bk_test_failures++; \
        fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } \
    else bk_test_checks++; } while (0)

static bk_slicer set3(const char *name, int n, const int64_t *sizes, const int64_t *strides, const int64_t *lo,
                      const int64_t *hi, int discard, int transpose)
{
    bk_slicer s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    s.n_axes = n;
    for (int k = 0; k < n; k++) {
        s.sizes[k] = sizes[k];
        s.strides[k] = strides ? strides[k] : sizes[k];
        s.pad_lo[k] = lo ? lo[k] : 0;
        s.pad_hi[k] = hi ? hi[k] : 0;
    }
    s.discard_remainders = discard;
    s.transpose = transpose;
    return s;
}

/* ---------------- counting ---------------- */

/* Origins 0, T, 2T... inside the array: every full slice, and with
 * remainders kept a partial one when it covers a voxel no slice did. */
static int64_t brute_count(int64_t n, int64_t size, int64_t stride, int discard)
{
    char *cov = calloc((size_t)n, 1);
    int64_t c = 0;
    for (int64_t o = 0; o < n; o += stride) {
        if (o + size <= n) {
            c++;
            memset(cov + o, 1, (size_t)size);
            continue;
        }
        if (discard) continue;
        int fresh = 0;
        for (int64_t i = o; i < n; i++) fresh |= !cov[i];
        if (fresh) {
            c++;
            memset(cov + o, 1, (size_t)(n - o));
        }
    }
    free(cov);
    return c;
}

static void test_count(void)
{
    int bad = 0;
    for (int64_t n = 1; n <= 40; n++)
        for (int64_t size = 1; size <= n; size++)
            for (int64_t stride = 1; stride <= 12; stride++)
                for (int d = 0; d <= 1; d++) {
                    bk_slicer s = set3("c", 1, &size, &stride, NULL, NULL, d, 0);
                    int64_t per, total;
                    bk_status st = bk_slicer_count(&s, &n, &per, &total, NULL);
                    int64_t want = brute_count(n, size, stride, d);
                    if (st || total != want || per != want) {
                        if (bad++ < 5)
                            fprintf(stderr, "  n=%lld size=%lld stride=%lld discard=%d: %lld, expected %lld\n",
                                    (long long)n, (long long)size, (long long)stride, d, (long long)total, (long long)want);
                    }
                }
    CHECK(bad == 0);
    /* the seismic tutorial: 704 x 590 x 1006, bricks 64 x 64 x 256, strides 64 x 64 x 17 */
    int64_t full[3] = {704, 590, 1006}, sizes[3] = {64, 64, 256}, strides[3] = {64, 64, 17}, per[3], total;
    bk_slicer s = set3("samples", 3, sizes, strides, NULL, NULL, 1, 0);
    CHECK_OK(bk_slicer_count(&s, full, per, &total, NULL));
    CHECK(total == 4455 && per[0] == 11 && per[1] == 9 && per[2] == 45);
    /* its test block (78 x 590 x 1006): 405 */
    full[0] = 78;
    CHECK_OK(bk_slicer_count(&s, full, per, &total, NULL));
    CHECK(total == 405);
    /* remainders kept: 11 x 10 x 46 */
    full[0] = 704;
    s.discard_remainders = 0;
    CHECK_OK(bk_slicer_count(&s, full, per, &total, NULL));
    CHECK(total == 11 * 10 * 46);
    /* the smoke test's two sets over 64^3: 256 and 64 */
    int64_t cube[3] = {64, 64, 64}, a[3] = {1, 32, 32}, b[3] = {64, 64, 1};
    s = set3("a", 3, a, NULL, NULL, NULL, 0, 0);
    CHECK_OK(bk_slicer_count(&s, cube, per, &total, NULL));
    CHECK(total == 256);
    s = set3("b", 3, b, NULL, NULL, NULL, 0, 0);
    CHECK_OK(bk_slicer_count(&s, cube, per, &total, NULL));
    CHECK(total == 64);
    /* larger than the array */
    int64_t big[3] = {64, 80, 8};
    int axis = -1;
    s = set3("big", 3, big, NULL, NULL, NULL, 0, 0);
    CHECK_ERR(bk_slicer_count(&s, cube, per, &total, &axis), BK_ERR_SHAPE, "larger than the array");
    CHECK(axis == 1);
}

static void test_check(void)
{
    const char *key;
    int64_t sz[3] = {1, 8, 8}, neg[3] = {0, 1, 1}, pad[3] = {1, 0, 0}, zero[3] = {0, 4, 4};
    bk_slicer s = set3("ok", 3, sz, NULL, NULL, NULL, 0, 1);
    CHECK_OK(bk_slicer_check(&s, &key));
    s = set3("p", 3, sz, NULL, pad, pad, 0, 0);
    CHECK_ERR(bk_slicer_check(&s, &key), BK_ERR_INVALID, "size 1");
    CHECK(key && !strcmp(key, "padding"));
    s = set3("n", 3, sz, NULL, NULL, NULL, 0, 0);
    s.strides[0] = 0;
    CHECK_ERR(bk_slicer_check(&s, &key), BK_ERR_INVALID, "strides");
    CHECK(key && !strcmp(key, "strides"));
    s = set3("z", 3, zero, NULL, NULL, NULL, 0, 0);
    CHECK_ERR(bk_slicer_check(&s, &key), BK_ERR_INVALID, ">= 1");
    CHECK(key && !strcmp(key, "sizes"));
    int64_t three[3] = {4, 4, 4};
    s = set3("t", 3, three, NULL, NULL, NULL, 0, 1);
    CHECK_ERR(bk_slicer_check(&s, &key), BK_ERR_INVALID, "2-D samples only");
    CHECK(key && !strcmp(key, "transpose"));
    s = set3("l", 3, sz, NULL, neg, NULL, 0, 0);
    s.pad_lo[0] = -1;
    CHECK_ERR(bk_slicer_check(&s, &key), BK_ERR_INVALID, "negative");
}

/* ---------------- contents ---------------- */

enum { C = 2, G0 = 7, G1 = 9, G2 = 5 };

/* the array: channel c, voxel (i, j, k) */
static float vol(int64_t c, int64_t i, int64_t j, int64_t k) { return (float)(10000 * c + 100 * i + 10 * j + k) * 0.5f; }

static void write_npy(const char *path, int rank, const int64_t *dims, const float *v)
{
    char dict[256], shp[128] = "";
    size_t used = 0;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        used += (size_t)snprintf(shp + used, sizeof shp - used, "%lld, ", (long long)dims[i]);
        n *= dims[i];
    }
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
    size_t hlen = (size_t)dl + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)hlen, (uint8_t)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    char *h = malloc(hlen);
    memset(h, ' ', hlen);
    memcpy(h, dict, (size_t)dl);
    h[hlen - 1] = '\n';
    fwrite(h, 1, hlen, f);
    free(h);
    fwrite(v, sizeof(float), (size_t)n, f);
    fclose(f);
}

static void write_h5(const char *path, const char *name, int rank, const int64_t *dims, const float *v, int chunk)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[4], c[4];
    for (int i = 0; i < rank; i++) {
        d[i] = (hsize_t)dims[i];
        c[i] = d[i] > 3 ? 3 : d[i];
    }
    hid_t sp = H5Screate_simple(rank, d, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk) H5Pset_chunk(dcpl, rank, c);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(ds >= 0);
    CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
}

/* numpy.pad "reflect", walked the long way: mirror at each edge until inside. */
static int64_t mirror(int64_t i, int64_t n)
{
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* Checks every sample of ds against the definition: set after set, origins
 * in row-major order, mirrored padding, dropped axes, transposition. */
static int check_contents(bk_dataset *ds, const bk_slicer *sets, int n_sets, int64_t channels)
{
    const int64_t full[3] = {G0, G1, G2};
    int64_t numel = bk_shape_numel(&ds->input_shape);
    float *x = malloc((size_t)numel * sizeof(float));
    int bad = 0;
    int64_t i = 0;
    for (int k = 0; k < n_sets; k++) {
        const bk_slicer *s = &sets[k];
        int64_t per[3] = {1, 1, 1}, total;
        CHECK_OK(bk_slicer_count(s, full, per, &total, NULL));
        for (int64_t r = 0; r < total; r++, i++) {
            int64_t g[3] = {r / (per[1] * per[2]), (r / per[2]) % per[1], r % per[2]}, o[3], e[3], P[3];
            for (int a = 0; a < 3; a++) {
                o[a] = g[a] * s->strides[a];
                e[a] = full[a] - o[a] < s->sizes[a] ? full[a] - o[a] : s->sizes[a];
                P[a] = s->sizes[a] + s->pad_lo[a] + s->pad_hi[a];
            }
            CHECK_OK(ds->read(ds, &i, 1, x, NULL));
            int set;
            int64_t bo[3], be[3];
            CHECK_OK(bk_slice_box(ds, i, &set, bo, be));
            bad += set != k || memcmp(bo, o, sizeof o) || memcmp(be, e, sizeof e);
            /* kept axes, in sample order */
            int kept[3], nk = 0;
            for (int a = 0; a < 3; a++)
                if (s->sizes[a] > 1) kept[nk++] = a;
            if (s->transpose) {
                int t = kept[0];
                kept[0] = kept[1];
                kept[1] = t;
            }
            int64_t at = 0;
            for (int64_t c = 0; c < channels; c++) {
                int64_t q[3] = {0, 0, 0};
                int64_t n_pos = 1;
                for (int j = 0; j < nk; j++) n_pos *= P[kept[j]];
                for (int64_t pos = 0; pos < n_pos; pos++, at++) {
                    int64_t rem = pos;
                    for (int j = nk - 1; j >= 0; j--) {
                        q[kept[j]] = rem % P[kept[j]];
                        rem /= P[kept[j]];
                    }
                    int64_t src[3];
                    for (int a = 0; a < 3; a++) src[a] = o[a] + mirror(q[a] - s->pad_lo[a], e[a]);
                    float want = vol(c, src[0], src[1], src[2]);
                    if (x[at] != want) {
                        if (bad < 5)
                            fprintf(stderr, "  set %d sample %lld value %lld: %g, expected %g\n", k, (long long)i,
                                    (long long)at, x[at], want);
                        bad++;
                    }
                }
            }
            bad += at != numel;
        }
    }
    bad += i != ds->count;
    free(x);
    return bad;
}

static float *make_volume(int64_t channels)
{
    float *v = malloc((size_t)(channels * G0 * G1 * G2) * sizeof(float));
    for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < G0; i++)
            for (int64_t j = 0; j < G1; j++)
                for (int64_t k = 0; k < G2; k++) v[((c * G0 + i) * G1 + j) * G2 + k] = vol(c, i, j, k);
    return v;
}

static bk_slice_options sopts(const char *in, int hdf5, int preload, int n, const bk_slicer *sets)
{
    bk_slice_options o;
    memset(&o, 0, sizeof o);
    o.input_path = in;
    o.hdf5 = hdf5;
    o.preload = preload;
    o.n_sets = n;
    o.sets = sets;
    return o;
}

/* The seismic tutorial's volume at full size, as a file whose chunks were
 * never written (so it takes no space): opened box by box, the dataset has
 * the tutorial's 4455 training bricks, and a brick reads HDF5's fill value. */
static void test_seismic_size(void)
{
    hid_t f = H5Fcreate(tp("parihaka.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[3] = {704, 590, 1006}, c[3] = {64, 64, 128};
    hid_t sp = H5Screate_simple(3, d, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, c);
    float fill = 0.25f;
    H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &fill);
    hid_t ds5 = H5Dcreate2(f, "input", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(ds5 >= 0);
    H5Dclose(ds5);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    int64_t sizes[3] = {64, 64, 256}, strides[3] = {64, 64, 17};
    bk_slicer s = set3("samples", 3, sizes, strides, NULL, NULL, 1, 0);
    bk_slice_options o = sopts(tp("parihaka.h5"), 1, 0, 1, &s);
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_sliced(&ds, &o));
    if (!ds) return;
    CHECK(ds->count == 4455);
    CHECK(ds->input_shape.ndim == 4 && ds->input_shape.dims[0] == 1 && ds->input_shape.dims[1] == 64 &&
          ds->input_shape.dims[3] == 256);
    const bk_slice_layout *L = bk_dataset_slices(ds);
    CHECK(L && L->full[0] == 704 && L->full[2] == 1006 && L->channels == 1);
    int64_t last = ds->count - 1, n = bk_shape_numel(&ds->input_shape);
    float *x = malloc((size_t)n * sizeof(float));
    CHECK_OK(ds->read(ds, &last, 1, x, NULL));
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += x[i] != fill;
    CHECK(bad == 0);
    int set;
    int64_t org[3], ext[3];
    CHECK_OK(bk_slice_box(ds, last, &set, org, ext));
    CHECK(org[0] == 640 && org[1] == 512 && org[2] == 44 * 17 && ext[2] == 256);
    free(x);
    bk_dataset_destroy(ds);
}

static void test_contents(void)
{
    float *v2 = make_volume(C), *v1 = make_volume(1);
    int64_t d4[4] = {C, G0, G1, G2}, d3[3] = {G0, G1, G2};
    write_npy(tp("v.npy"), 4, d4, v2);
    write_npy(tp("v1.npy"), 3, d3, v1);
    write_h5(tp("v.h5"), "input", 4, d4, v2, 1);
    write_h5(tp("v1.h5"), "input", 3, d3, v1, 0);

    int64_t s_a[3] = {3, 4, 2}, st_a[3] = {2, 3, 2}, lo_a[3] = {1, 0, 2}, hi_a[3] = {2, 3, 0};
    int64_t s_b[3] = {1, 5, 5}, st_b[3] = {3, 2, 5}, lo_b[3] = {0, 2, 1}, hi_b[3] = {0, 1, 3};
    int64_t s_c[3] = {4, 1, 3}, lo_c[3] = {1, 0, 3}, hi_c[3] = {1, 0, 2};
    int64_t s_d[3] = {7, 9, 5};
    struct { bk_slicer sets[2]; int n; } cases[] = {
        {{set3("overlap+pad", 3, s_a, st_a, lo_a, hi_a, 0, 0)}, 1},
        {{set3("overlap+pad, discard", 3, s_a, st_a, lo_a, hi_a, 1, 0)}, 1},
        {{set3("2-D yz, transposed", 3, s_b, st_b, lo_b, hi_b, 0, 1)}, 1},
        {{set3("2-D xz", 3, s_c, NULL, lo_c, hi_c, 0, 0)}, 1},
        {{set3("whole", 3, s_d, NULL, NULL, NULL, 1, 0)}, 1},
        /* two sets pooled: padded to one shape [C, 7, 8] */
        {{set3("xy", 3, (int64_t[3]){4, 6, 1}, NULL, (int64_t[3]){1, 1, 0}, (int64_t[3]){2, 1, 0}, 0, 0),
          set3("xz", 3, (int64_t[3]){5, 1, 5}, (int64_t[3]){2, 4, 1}, (int64_t[3]){1, 0, 1}, (int64_t[3]){1, 0, 2}, 0, 0)}, 2},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (int form = 0; form < 4; form++) {
            /* npy with channels; HDF5 with channels, box by box and preloaded; npy without a channel axis */
            const char *path = form == 0 ? tp("v.npy") : form == 3 ? tp("v1.npy") : tp("v.h5");
            int64_t ch = form == 3 ? 1 : C;
            bk_slice_options o = sopts(path, form == 1 || form == 2, form == 2, cases[t].n, cases[t].sets);
            bk_dataset *ds = NULL;
            CHECK_OK(bk_dataset_open_sliced(&ds, &o));
            if (!ds) continue;
            CHECK(ds->input_shape.dims[0] == ch);
            int bad = check_contents(ds, cases[t].sets, cases[t].n, ch);
            CHECK(bad == 0);
            if (bad) fprintf(stderr, "  case \"%s\", form %d: %d mismatches\n", cases[t].sets[0].name, form, bad);
            bk_dataset_destroy(ds);
        }
    }
    /* the shapes: [C, padded kept axes], transposed */
    bk_slicer b = set3("b", 3, s_b, st_b, lo_b, hi_b, 0, 1);
    bk_shape sh = bk_slicer_sample_shape(&b, C);
    CHECK(sh.ndim == 3 && sh.dims[0] == C && sh.dims[1] == 9 && sh.dims[2] == 8);
    sh = bk_slicer_sample_shape(&b, 0);
    CHECK(sh.ndim == 2 && sh.dims[0] == 9 && sh.dims[1] == 8);
    free(v2);
    free(v1);
}

/* Targets sliced like the inputs: a class map without a channel axis. */
static void test_targets(void)
{
    float *v2 = make_volume(C), *lab = malloc(G0 * G1 * G2 * sizeof(float));
    for (int i = 0; i < G0 * G1 * G2; i++) lab[i] = (float)(i % 3);
    int64_t d4[4] = {C, G0, G1, G2}, d3[3] = {G0, G1, G2};
    write_h5(tp("in.h5"), "input", 4, d4, v2, 0);
    write_h5(tp("tg.h5"), "target", 3, d3, lab, 0);
    int64_t sz[3] = {4, 4, 4}, st[3] = {3, 3, 3}, lo[3] = {0, 1, 0}, hi[3] = {1, 0, 2};
    bk_slicer s = set3("s", 3, sz, st, lo, hi, 0, 0);
    bk_slice_options o = sopts(tp("in.h5"), 1, 0, 1, &s);
    o.target_path = tp("tg.h5");
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_sliced(&ds, &o));
    if (ds) {
        CHECK(ds->has_targets && ds->target_shape.ndim == 3 && ds->target_shape.dims[0] == 5 &&
              ds->target_shape.dims[2] == 6);
        CHECK(ds->input_shape.ndim == 4 && ds->input_shape.dims[0] == C);
        int64_t n = bk_shape_numel(&ds->target_shape), idx[2] = {ds->count - 1, 3};
        float *x = malloc((size_t)(2 * bk_shape_numel(&ds->input_shape)) * sizeof(float));
        float *y = malloc((size_t)(2 * n) * sizeof(float));
        CHECK_OK(ds->read(ds, idx, 2, x, y));
        int bad = 0;
        for (int j = 0; j < 2; j++) {
            int set;
            int64_t o3[3], e3[3];
            bk_slice_box(ds, idx[j], &set, o3, e3);
            for (int64_t p0 = 0; p0 < 5; p0++)
                for (int64_t p1 = 0; p1 < 5; p1++)
                    for (int64_t p2 = 0; p2 < 6; p2++) {
                        int64_t a = o3[0] + mirror(p0 - lo[0], e3[0]), b = o3[1] + mirror(p1 - lo[1], e3[1]),
                                c = o3[2] + mirror(p2 - lo[2], e3[2]);
                        bad += y[j * n + (p0 * 5 + p1) * 6 + p2] != lab[(a * G1 + b) * G2 + c];
                    }
        }
        CHECK(bad == 0);
        free(x);
        free(y);
    }
    bk_dataset_destroy(ds);
    /* targets of another geometric size */
    int64_t d3b[3] = {G0, G1, G2 - 1};
    write_h5(tp("tg_bad.h5"), "target", 3, d3b, lab, 0);
    o.target_path = tp("tg_bad.h5");
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_SHAPE, "same size");
    CHECK(contains(bk_last_error(), "[7, 9, 4]") && contains(bk_last_error(), "[7, 9, 5]"));
    free(v2);
    free(lab);
}

/* ---------------- reassembly ---------------- */

static void test_assemble(void)
{
    float *v2 = make_volume(C);
    int64_t d4[4] = {C, G0, G1, G2};
    write_npy(tp("va.npy"), 4, d4, v2);
    int64_t s_a[3] = {3, 4, 2}, st_a[3] = {2, 3, 2}, lo_a[3] = {1, 0, 2}, hi_a[3] = {2, 3, 0};
    int64_t s_b[3] = {1, 5, 5}, st_b[3] = {1, 2, 5}, lo_b[3] = {0, 2, 1}, hi_b[3] = {0, 1, 3};
    bk_slicer sets[3] = {set3("a", 3, s_a, st_a, lo_a, hi_a, 0, 0), set3("b", 3, s_b, st_b, lo_b, hi_b, 0, 1),
                         set3("gaps", 3, (int64_t[3]){2, 2, 2}, (int64_t[3]){3, 4, 3}, NULL, NULL, 1, 0)};
    for (int k = 0; k < 3; k++) {
        bk_slice_options o = sopts(tp("va.npy"), 0, 0, 1, &sets[k]);
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_sliced(&ds, &o));
        if (!ds) continue;
        bk_slice_volume *v = NULL;
        CHECK_OK(bk_slice_volume_create(&v, ds, 0, C));
        int64_t numel = bk_shape_numel(&ds->input_shape);
        float *x = malloc((size_t)numel * sizeof(float));
        /* the identity network: each output is its input slice; read in reverse to show order does not matter */
        for (int64_t i = ds->count - 1; v && i >= 0; i--) {
            CHECK_OK(ds->read(ds, &i, 1, x, NULL));
            CHECK_OK(bk_slice_volume_add(v, i, x));
        }
        if (v) {
            bk_shape sh;
            const float *out = bk_slice_volume_finish(v, &sh);
            CHECK(sh.ndim == 4 && sh.dims[0] == C && sh.dims[1] == G0 && sh.dims[2] == G1 && sh.dims[3] == G2);
            int bad = 0, nan = 0;
            for (int64_t j = 0; j < C * G0 * G1 * G2; j++) {
                int64_t vox = j % (G0 * G1 * G2), i = vox / (G1 * G2), jj = (vox / G2) % G1, kk = vox % G2;
                /* the "gaps" set covers only voxels whose position mod stride is below the size */
                int covered = k < 2 || (i % 3 < 2 && jj % 4 < 2 && kk % 3 < 2 && i < 6 && jj < 6 && kk < 5);
                if (covered) bad += out[j] != v2[j];
                else nan += isnan(out[j]) != 0;
                if (!covered && !isnan(out[j])) bad++;
            }
            CHECK(bad == 0);
            if (k == 2) CHECK(nan > 0);
            if (bad) fprintf(stderr, "  set %s: %d voxels differ\n", sets[k].name, bad);
        }
        /* a sample of another set */
        free(x);
        bk_slice_volume_destroy(v);
        bk_dataset_destroy(ds);
    }
    /* overlapping slices with different values average */
    bk_slicer ov = set3("ov", 1, (int64_t[1]){4}, (int64_t[1]){2}, NULL, NULL, 1, 0);
    float line[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t d1[1] = {8};
    write_npy(tp("line.npy"), 1, d1, line);
    bk_slice_options o = sopts(tp("line.npy"), 0, 0, 1, &ov);
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_sliced(&ds, &o));
    if (ds) {
        CHECK(ds->count == 3 && ds->input_shape.ndim == 2 && ds->input_shape.dims[0] == 1 && ds->input_shape.dims[1] == 4);
        bk_slice_volume *v = NULL;
        CHECK_OK(bk_slice_volume_create(&v, ds, 0, 1));
        for (int64_t i = 0; v && i < 3; i++) {
            float y[4] = {(float)i, (float)i, (float)i, (float)i}; /* slice i says i everywhere */
            CHECK_OK(bk_slice_volume_add(v, i, y));
        }
        if (v) {
            bk_shape sh;
            const float *out = bk_slice_volume_finish(v, &sh);
            float want[8] = {0, 0, 0.5f, 0.5f, 1.5f, 1.5f, 2, 2};
            CHECK(sh.ndim == 2 && memcmp(out, want, sizeof want) == 0);
        }
        bk_slice_volume_destroy(v);
        CHECK_ERR(bk_slice_volume_create(&v, ds, 1, 1), BK_ERR_INVALID, "no slicer set 1");
    }
    bk_dataset_destroy(ds);
    free(v2);
}

/* ---------------- errors ---------------- */

static void test_errors(void)
{
    bk_dataset *ds = NULL;
    int64_t big[3] = {4, 10, 2};
    bk_slicer s = set3("too big", 3, big, NULL, NULL, NULL, 0, 0);
    bk_slice_options o = sopts(tp("v.npy"), 0, 0, 1, &s);
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_SHAPE, "entry 1 (10) is larger than the array's extent 9");
    CHECK(contains(bk_last_error(), "too big") && contains(bk_last_error(), "[7, 9, 5]"));
    CHECK(o.bad_set == 0 && o.bad_key && !strcmp(o.bad_key, "sizes"));
    /* two entries for a 3-D array with channels (4 dims) */
    bk_slicer s2 = set3("2d", 2, (int64_t[2]){2, 2}, NULL, NULL, NULL, 0, 0);
    o = sopts(tp("v.npy"), 0, 0, 1, &s2);
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_SHAPE, "4 dims");
    CHECK(contains(bk_last_error(), "2 entries"));
    /* sets of different sample shapes */
    bk_slicer two[2] = {set3("a", 3, (int64_t[3]){2, 2, 2}, NULL, NULL, NULL, 0, 0),
                        set3("b", 3, (int64_t[3]){3, 3, 3}, NULL, NULL, NULL, 0, 0)};
    o = sopts(tp("v.npy"), 0, 0, 2, two);
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_SHAPE, "need one shape");
    CHECK(o.bad_set == 1);
    /* a bad set is found before any file is read */
    two[1].strides[2] = 0;
    o = sopts(tp("nothing-here.npy"), 0, 0, 2, two);
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_INVALID, "strides must be >= 1");
    CHECK(o.bad_set == 1 && !strcmp(o.bad_key, "strides"));
    /* HDF5 without the default dataset names */
    float z[4] = {0};
    int64_t d2[2] = {2, 2};
    write_h5(tp("noname.h5"), "vol", 2, d2, z, 0);
    bk_slicer s3 = set3("s", 2, (int64_t[2]){1, 1}, NULL, NULL, NULL, 0, 0);
    o = sopts(tp("noname.h5"), 1, 0, 1, &s3);
    CHECK_ERR(bk_dataset_open_sliced(&ds, &o), BK_ERR_INVALID, "input_key");
    o.input_key = "vol";
    CHECK_OK(bk_dataset_open_sliced(&ds, &o));
    if (ds) CHECK(ds->count == 4 && ds->input_shape.ndim == 1 && ds->input_shape.dims[0] == 1);
    bk_dataset_destroy(ds);
    /* not a sliced dataset */
    int set;
    int64_t a[3], b[3];
    CHECK(bk_dataset_slices(NULL) == NULL);
    CHECK_ERR(bk_slice_box(NULL, 0, &set, a, b), BK_ERR_INVALID, "not a dataset cut by slicers");
}

/* The console lines: as the reference prints them. */
static void test_log(void)
{
    char buf[8192] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    int64_t sz[3] = {3, 4, 2}, st[3] = {2, 3, 2}, lo[3] = {1, 0, 2}, hi[3] = {2, 3, 0};
    bk_slicer s = set3("bricks", 3, sz, st, lo, hi, 1, 0);
    bk_slice_options o = sopts(tp("v.h5"), 1, 0, 1, &s);
    o.log = f;
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_sliced(&ds, &o));
    fclose(f);
    bk_dataset_destroy(ds);
    const char *want[] = {"Slicing dataset 'input' from HDF5 file: ", "Full size: [2, 7, 9, 5]", "Slicer: bricks",
                          "Sizes       : [3, 4, 2]", "Padding     : [(1,2)(0,3)(2,0)]", "Padded sizes: [6, 7, 4]",
                          "Strides     : [2, 3, 2]", "Remainders  : discarded", "Transpose   : false",
                          "Num samples : 12"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!contains(buf, want[i])) {
            bk_test_failures++;
            fprintf(stderr, "%s:%d: console lacks \"%s\":\n%s\n", __FILE__, __LINE__, want[i], buf);
        }
        bk_test_checks++;
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", bk_test_tmpdir("test_slicer"));
    test_count();
    test_check();
    test_contents();
    test_seismic_size();
    test_targets();
    test_assemble();
    test_errors();
    test_log();
    return bk_test_finish("test_slicer");
}
