/* The sample transforms: each entry against values worked out by hand on
 * small images, out_shape for each, shared draws between an input and its
 * mask, determinism over (seed, epoch, sample), evaluation, the dataset
 * wrapper, and apply from several threads at once. */
#include "brisk/data.h"
#include "data/data_internal.h"
#include "data/tf_internal.h"
#include "testutil.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

#define CHECK_ERR(expr, sub) do { bk_status e_ = (expr); CHECK(e_ != BK_OK); \
    bk_test_checks++; if (!contains(bk_last_error(), (sub))) { bk_test_failures++; \
        fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } } while (0)

static bk_shape shp(int n, int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t dims[4] = {a, b, c, d};
    return bk_shape_make(n, dims);
}

static bk_transform tf_kind(bk_transform_kind k)
{
    bk_transform t;
    memset(&t, 0, sizeof t);
    t.kind = k;
    return t;
}
static bk_transform tf_size(bk_transform_kind k, int64_t w, int64_t h)
{
    bk_transform t = tf_kind(k);
    t.width = w;
    t.height = h;
    return t;
}
static bk_transform tf_val(bk_transform_kind k, double v)
{
    bk_transform t = tf_kind(k);
    t.value = v;
    return t;
}
static bk_transform tf_color(bk_color_code c)
{
    bk_transform t = tf_kind(BK_TF_CONVERT_COLOR);
    t.color = c;
    return t;
}

/* A config holding `n` shared entries. */
static bk_transform_config shared_cfg(int n, const bk_transform *t)
{
    bk_transform_config c;
    memset(&c, 0, sizeof c);
    c.shared.n = n;
    for (int i = 0; i < n; i++) c.shared.t[i] = t[i];
    c.seed = 5;
    return c;
}

/* Applies cfg to one sample; returns the malloc'd result (NULL on error, with the status in *st). */
static float *run(const bk_transform_config *cfg, int side, int64_t sample, int epoch, const float *in,
                  bk_shape in_shape, bk_shape *out_shape, bk_status *st)
{
    bk_sample_transform tf;
    float *out = NULL;
    bk_status s = bk_transforms_create(&tf, cfg);
    if (!s) s = tf.apply(tf.ctx, side, sample, epoch, in, &in_shape, &out, out_shape);
    bk_transforms_destroy(&tf);
    if (st) *st = s;
    else CHECK_OK(s);
    return out;
}

static bk_shape out_shape_of(const bk_transform_config *cfg, int side, bk_shape in, bk_status *st)
{
    bk_sample_transform tf;
    bk_shape out;
    memset(&out, 0, sizeof out);
    bk_status s = bk_transforms_create(&tf, cfg);
    if (!s) s = tf.out_shape(tf.ctx, side, &in, &out);
    bk_transforms_destroy(&tf);
    if (st) *st = s;
    else CHECK_OK(s);
    return out;
}

static int shape_is(const bk_shape *s, int n, int64_t a, int64_t b, int64_t c, int64_t d)
{
    bk_shape w = shp(n, a, b, c, d);
    return bk_shape_equal(s, &w);
}

static void check_values(const float *got, const float *want, int n, double tol, const char *what)
{
    int bad = 0;
    for (int i = 0; got && i < n; i++)
        if (!(fabs((double)got[i] - (double)want[i]) <= tol)) {
            if (bad++ < 4) fprintf(stderr, "%s: [%d] = %g, expected %g\n", what, i, (double)got[i], (double)want[i]);
        }
    CHECK(got != NULL);
    CHECK(bad == 0);
}

static float ramp16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; /* 4x4: x[i][j] = 4i + j */

static void test_resize(void)
{
    bk_shape os;
    /* 4x4 -> 2x2 bilinear: half-pixel centres average 2x2 blocks */
    bk_transform t = tf_size(BK_TF_RESIZE, 2, 2);
    bk_transform_config c = shared_cfg(1, &t);
    float *o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float down[4] = {2.5f, 4.5f, 10.5f, 12.5f};
    check_values(o, down, 4, 0, "resize 4x4->2x2 bilinear");
    CHECK(shape_is(&os, 3, 1, 2, 2, 0));
    free(o);

    /* nearest (a mask on the target side): floor(x * 4 / 2) = 0, 2 */
    c.target_is_mask = 1;
    o = run(&c, 1, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float down_nn[4] = {0, 2, 8, 10};
    check_values(o, down_nn, 4, 0, "resize 4x4->2x2 nearest");
    free(o);
    /* the input side of the same config stays bilinear */
    o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    check_values(o, down, 4, 0, "resize input side of a mask config");
    free(o);

    /* 4x4 -> 8x8 bilinear: source x/2 - 0.25, clamped at both edges, so a
     * row 0 1 2 3 becomes 0 .25 .75 1.25 1.75 2.25 2.75 3; the ramp is
     * linear, so out[y][x] = 4 r[y] + r[x] */
    t = tf_size(BK_TF_RESIZE, 8, 8);
    c = shared_cfg(1, &t);
    o = run(&c, 0, 0, 0, ramp16, shp(2, 4, 4, 0, 0), &os, NULL);
    float r[8] = {0, .25f, .75f, 1.25f, 1.75f, 2.25f, 2.75f, 3}, up[64];
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) up[y * 8 + x] = 4 * r[y] + r[x];
    check_values(o, up, 64, 1e-6, "resize 4x4->8x8 bilinear");
    CHECK(shape_is(&os, 2, 8, 8, 0, 0)); /* [H, W] stays [H, W] */
    free(o);

    /* a non-linear row: [0 10 0 20] to width 8, height 1 (Sx = width) */
    float row[4] = {0, 10, 0, 20};
    t = tf_size(BK_TF_RESIZE, 8, 1);
    c = shared_cfg(1, &t);
    o = run(&c, 0, 0, 0, row, shp(3, 1, 1, 4, 0), &os, NULL);
    float row_up[8] = {0, 2.5f, 7.5f, 7.5f, 2.5f, 5, 15, 20};
    check_values(o, row_up, 8, 1e-6, "resize a row 4->8 bilinear");
    CHECK(shape_is(&os, 3, 1, 1, 8, 0));
    free(o);

    /* 4x4 -> 8x8 nearest: floor(x / 2) */
    c.target_is_mask = 1;
    t = tf_size(BK_TF_RESIZE, 8, 8);
    c.shared.t[0] = t;
    o = run(&c, 1, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float up_nn[64];
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) up_nn[y * 8 + x] = ramp16[(y / 2) * 4 + x / 2];
    check_values(o, up_nn, 64, 0, "resize 4x4->8x8 nearest");
    free(o);

    /* [Sx, Sy] = [width, height]: [3, 2] of a 1x4x6 gives 1x2x3, per channel */
    t = tf_size(BK_TF_RESIZE, 3, 2);
    c = shared_cfg(1, &t);
    os = out_shape_of(&c, 0, shp(3, 2, 4, 6, 0), NULL);
    CHECK(shape_is(&os, 3, 2, 2, 3, 0));
    float two[48];
    for (int i = 0; i < 48; i++) two[i] = i < 24 ? 1.0f : 3.0f;
    o = run(&c, 0, 0, 0, two, shp(3, 2, 4, 6, 0), &os, NULL);
    float want2[12] = {1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3};
    check_values(o, want2, 12, 1e-6, "resize keeps channels apart");
    free(o);
}

/* OpenCV's INTER_LINEAR written out per output pixel, in double. */
static double ref_bilinear(const float *img, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t y, int64_t x)
{
    double fy = ((double)y + 0.5) * (double)h / (double)oh - 0.5, fx = ((double)x + 0.5) * (double)w / (double)ow - 0.5;
    int64_t y0 = (int64_t)floor(fy), x0 = (int64_t)floor(fx);
    double ay = fy - (double)y0, ax = fx - (double)x0;
    if (y0 < 0) y0 = 0, ay = 0;
    if (y0 >= h - 1) y0 = h - 1, ay = 0;
    if (x0 < 0) x0 = 0, ax = 0;
    if (x0 >= w - 1) x0 = w - 1, ax = 0;
    int64_t y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
    return (1 - ay) * ((1 - ax) * img[y0 * w + x0] + ax * img[y0 * w + x1]) +
           ay * ((1 - ax) * img[y1 * w + x0] + ax * img[y1 * w + x1]);
}

/* Many sizes up and down (the row reuse of upsampling included) against
 * the per-pixel formula. */
static void test_resize_sizes(void)
{
    static const int64_t sz[][4] = {{7, 5, 13, 11}, {5, 7, 3, 2}, {1, 9, 4, 17}, {9, 1, 30, 1}, {6, 6, 6, 6},
                                    {11, 13, 29, 12}, {13, 11, 2, 40}, {4, 4, 1, 1}, {3, 8, 9, 24}};
    float img[2 * 13 * 13];
    for (int i = 0; i < 2 * 13 * 13; i++) img[i] = (float)((i * 37) % 101) / 7.0f;
    for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
        int64_t h = sz[k][0], w = sz[k][1], oh = sz[k][2], ow = sz[k][3];
        bk_transform t = tf_size(BK_TF_RESIZE, ow, oh);
        bk_transform_config c = shared_cfg(1, &t);
        bk_shape os;
        float *o = run(&c, 0, 0, 0, img, shp(3, 2, h, w, 0), &os, NULL);
        CHECK(o && shape_is(&os, 3, 2, oh, ow, 0));
        int bad = 0;
        for (int64_t p = 0; o && p < 2; p++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t x = 0; x < ow; x++) {
                    double want = ref_bilinear(img + p * h * w, h, w, oh, ow, y, x);
                    if (fabs(o[(p * oh + y) * ow + x] - want) > 1e-4) bad++;
                }
        if (bad) fprintf(stderr, "resize %lldx%lld -> %lldx%lld: %d values off\n", (long long)w, (long long)h,
                         (long long)ow, (long long)oh, bad);
        CHECK(bad == 0);
        free(o);
    }
}

static void test_crops_flips(void)
{
    bk_shape os;
    bk_transform t = tf_size(BK_TF_CENTER_CROP, 2, 2);
    bk_transform_config c = shared_cfg(1, &t);
    float *o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float mid[4] = {5, 6, 9, 10};
    check_values(o, mid, 4, 0, "center_crop [2, 2]");
    free(o);
    /* width 3, height 1: row (4-1)/2 = 1, columns from (4-3)/2 = 0 */
    c.shared.t[0] = tf_size(BK_TF_CENTER_CROP, 3, 1);
    o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float strip[3] = {4, 5, 6};
    check_values(o, strip, 3, 0, "center_crop [3, 1]");
    CHECK(shape_is(&os, 3, 1, 1, 3, 0));
    free(o);
    /* larger than the sample: zeros around it */
    c.shared.t[0] = tf_size(BK_TF_CENTER_CROP, 6, 4);
    o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float pad[24];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++) pad[y * 6 + x] = x >= 1 && x <= 4 ? ramp16[y * 4 + x - 1] : 0;
    check_values(o, pad, 24, 0, "center_crop larger than the sample");
    free(o);

    c.shared.t[0] = tf_val(BK_TF_RANDOM_HFLIP, 1.0);
    o = run(&c, 0, 3, 2, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float hf[16];
    for (int i = 0; i < 16; i++) hf[i] = ramp16[(i / 4) * 4 + 3 - i % 4];
    check_values(o, hf, 16, 0, "random_horizontal_flip p=1");
    free(o);
    c.shared.t[0] = tf_val(BK_TF_RANDOM_VFLIP, 1.0);
    o = run(&c, 0, 3, 2, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float vf[16];
    for (int i = 0; i < 16; i++) vf[i] = ramp16[(3 - i / 4) * 4 + i % 4];
    check_values(o, vf, 16, 0, "random_vertical_flip p=1");
    free(o);
    c.shared.t[0] = tf_val(BK_TF_RANDOM_VFLIP, 0.0);
    o = run(&c, 0, 3, 2, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    check_values(o, ramp16, 16, 0, "random_vertical_flip p=0");
    free(o);
    /* p = 0.5 flips about half the samples */
    c.shared.t[0] = tf_val(BK_TF_RANDOM_HFLIP, 0.5);
    int flipped = 0;
    for (int s = 0; s < 400; s++) {
        o = run(&c, 0, s, 1, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
        flipped += o && o[0] == 3.0f;
        free(o);
    }
    CHECK(flipped > 150 && flipped < 250);

    /* jitter_crop: a window of (1 - c) of each side, c < Cmax, inside the sample */
    float big[400];
    for (int i = 0; i < 400; i++) big[i] = (float)i;
    c.shared.t[0] = tf_val(BK_TF_JITTER_CROP, 0.5);
    os = out_shape_of(&c, 0, shp(3, 1, 20, 20, 0), NULL);
    CHECK(shape_is(&os, 3, 1, -1, -1, 0));
    int sizes_seen = 0, last = -1;
    for (int s = 0; s < 50; s++) {
        o = run(&c, 0, s, 0, big, shp(3, 1, 20, 20, 0), &os, NULL);
        int64_t h = os.dims[1], w = os.dims[2];
        CHECK(h == w && h > 10 && h <= 20); /* one c for both axes of a square */
        if (o && h != last) sizes_seen++, last = (int)h;
        /* a plain window: rows step by 20, columns by 1 */
        int ok = o != NULL;
        for (int64_t y = 0; ok && y < h; y++)
            for (int64_t x = 0; ok && x < w; x++) ok = o[y * w + x] == o[0] + (float)(20 * y + x);
        int64_t x0 = o ? (int64_t)o[0] % 20 : 0, y0 = o ? (int64_t)o[0] / 20 : 0;
        CHECK(ok && x0 + w <= 20 && y0 + h <= 20);
        free(o);
    }
    CHECK(sizes_seen > 5);
    /* followed by a resize, the size is fixed again */
    bk_transform jr[2] = {tf_val(BK_TF_JITTER_CROP, 0.5), tf_size(BK_TF_RESIZE, 7, 5)};
    c = shared_cfg(2, jr);
    os = out_shape_of(&c, 0, shp(3, 3, 20, 20, 0), NULL);
    CHECK(shape_is(&os, 3, 3, 5, 7, 0));
}

static void test_rotate_zoom(void)
{
    bk_shape os;
    float g3[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    bk_transform t = tf_val(BK_TF_ROTATE, 90);
    bk_transform_config c = shared_cfg(1, &t);
    float *o = run(&c, 0, 0, 0, g3, shp(3, 1, 3, 3, 0), &os, NULL);
    float cw[9] = {6, 3, 0, 7, 4, 1, 8, 5, 2}; /* clockwise: numpy rot90(k=-1) */
    check_values(o, cw, 9, 0, "rotate 90 (3x3)");
    CHECK(shape_is(&os, 3, 1, 3, 3, 0));
    free(o);
    c.shared.t[0] = tf_val(BK_TF_ROTATE, -90);
    o = run(&c, 0, 0, 0, g3, shp(3, 1, 3, 3, 0), &os, NULL);
    float ccw[9] = {2, 5, 8, 1, 4, 7, 0, 3, 6};
    check_values(o, ccw, 9, 0, "rotate -90");
    free(o);
    c.shared.t[0] = tf_val(BK_TF_ROTATE, 180);
    o = run(&c, 0, 0, 0, g3, shp(3, 1, 3, 3, 0), &os, NULL);
    float half[9] = {8, 7, 6, 5, 4, 3, 2, 1, 0};
    check_values(o, half, 9, 0, "rotate 180");
    free(o);
    /* even size: the centre (1.5, 1.5) is between pixels, still a permutation */
    c.shared.t[0] = tf_val(BK_TF_ROTATE, 450);
    o = run(&c, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float cw4[16];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) cw4[y * 4 + x] = ramp16[(3 - x) * 4 + y];
    check_values(o, cw4, 16, 0, "rotate 450 = 90 (4x4)");
    free(o);
    /* a wide 2x6 turned 90 degrees: the centre (2.5, 0.5) keeps a 2x2
     * middle, out[y][x] = in[3 - x][y + 2]; the rest samples far outside,
     * past every edge of the frame (zeros) */
    float wide[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    c.shared.t[0] = tf_val(BK_TF_ROTATE, 90);
    o = run(&c, 0, 0, 0, wide, shp(3, 1, 2, 6, 0), &os, NULL);
    float wide_cw[12] = {0, 0, 9, 3, 0, 0, 0, 0, 10, 4, 0, 0};
    check_values(o, wide_cw, 12, 0, "rotate 90 (2x6)");
    free(o);
    c.target_is_mask = 1;
    o = run(&c, 1, 0, 0, wide, shp(3, 1, 2, 6, 0), &os, NULL);
    check_values(o, wide_cw, 12, 0, "rotate 90 (2x6) nearest");
    free(o);
    c.target_is_mask = 0;
    /* 45 degrees: the centre stays; the top-left corner samples (-0.414, 1),
     * between a zero outside and x[1][0] = 3 with weight 2 - sqrt(2) */
    c.shared.t[0] = tf_val(BK_TF_ROTATE, 45);
    o = run(&c, 0, 0, 0, g3, shp(3, 1, 3, 3, 0), &os, NULL);
    CHECK(o != NULL);
    if (o) {
        CHECK_NEAR(o[4], 4.0, 1e-6);
        CHECK_NEAR(o[0], (2 - sqrt(2.0)) * 3, 1e-5);
        /* bottom-right (2, 2): source (2.414, 1): x[1][2] = 5 with weight 1 - 0.414 and a zero beyond */
        CHECK_NEAR(o[8], (2 - sqrt(2.0)) * 5, 1e-5);
    }
    free(o);

    /* the warp kernel at zoom scale 0.5 about the centre of a 1x4 row */
    float row[4] = {0, 10, 20, 30}, zr[4];
    double m[6] = {0.5, 0, 1.5 * 0.5, 0, 0.5, 0};
    CHECK_OK(bk_tf_warp(row, 1, 1, 4, zr, m, 0));
    float zwant[4] = {7.5f, 12.5f, 17.5f, 22.5f};
    check_values(zr, zwant, 4, 1e-6, "zoom warp bilinear");
    CHECK_OK(bk_tf_warp(row, 1, 1, 4, zr, m, 1));
    float zwant_nn[4] = {10, 10, 20, 20}; /* floor(x + 0.5) of 0.75, 1.25, 1.75, 2.25 */
    check_values(zr, zwant_nn, 4, 0, "zoom warp nearest");

    /* random_zoom keeps the size, magnifies (the centre pixel of an odd
     * image stays), and is off at evaluation */
    float big[121];
    for (int i = 0; i < 121; i++) big[i] = (float)(i % 11) + 100.0f * (float)(i / 11);
    c.shared.t[0] = tf_val(BK_TF_RANDOM_ZOOM, 0.5);
    os = out_shape_of(&c, 0, shp(3, 1, 11, 11, 0), NULL);
    CHECK(shape_is(&os, 3, 1, 11, 11, 0));
    o = run(&c, 0, 4, 1, big, shp(3, 1, 11, 11, 0), &os, NULL);
    CHECK(o && fabsf(o[60] - big[60]) < 1e-3f);
    /* a zoom of scale s maps x to 5 + s (x - 5): the corner moves inward */
    CHECK(o && o[0] > big[0] && o[0] < big[60]);
    free(o);
    o = run(&c, 0, 4, -1, big, shp(3, 1, 11, 11, 0), &os, NULL);
    check_values(o, big, 121, 0, "random_zoom at evaluation");
    free(o);

    /* random_rotate: within [-alpha, alpha]; 0 leaves the sample alone */
    c.shared.t[0] = tf_val(BK_TF_RANDOM_ROTATE, 0);
    o = run(&c, 0, 4, 1, big, shp(3, 1, 11, 11, 0), &os, NULL);
    check_values(o, big, 121, 0, "random_rotate 0");
    free(o);
}

static void test_color_normalize(void)
{
    bk_shape os;
    /* one pixel per channel plane, two pixels: BGR (0.1, 0.2, 0.3), (1, 0.5, 0) */
    float bgr[6] = {0.1f, 1.0f, 0.2f, 0.5f, 0.3f, 0.0f};
    bk_transform t = tf_color(BK_COLOR_BGR2RGB);
    bk_transform_config c = shared_cfg(1, &t);
    float *o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    float rgb[6] = {0.3f, 0.0f, 0.2f, 0.5f, 0.1f, 1.0f};
    check_values(o, rgb, 6, 0, "BGR2RGB");
    free(o);
    c.shared.t[0] = tf_color(BK_COLOR_BGR2GRAY);
    o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    float gray[2] = {0.114f * 0.1f + 0.587f * 0.2f + 0.299f * 0.3f, 0.114f * 1.0f + 0.587f * 0.5f};
    check_values(o, gray, 2, 1e-6, "BGR2GRAY");
    CHECK(shape_is(&os, 3, 1, 1, 2, 0));
    free(o);
    c.shared.t[0] = tf_color(BK_COLOR_RGB2GRAY);
    o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    float gray2[2] = {0.299f * 0.1f + 0.587f * 0.2f + 0.114f * 0.3f, 0.299f * 1.0f + 0.587f * 0.5f};
    check_values(o, gray2, 2, 1e-6, "RGB2GRAY");
    free(o);
    /* an [H, W] sample made colour becomes [3, H, W] */
    float g2[2] = {0.25f, 0.75f};
    c.shared.t[0] = tf_color(BK_COLOR_GRAY2BGR);
    o = run(&c, 0, 0, 0, g2, shp(2, 1, 2, 0, 0), &os, NULL);
    float g2c[6] = {0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.75f};
    check_values(o, g2c, 6, 0, "GRAY2BGR");
    CHECK(shape_is(&os, 3, 3, 1, 2, 0));
    free(o);
    c.shared.t[0] = tf_color(BK_COLOR_BGR2BGRA);
    o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    float bgra[8] = {0.1f, 1.0f, 0.2f, 0.5f, 0.3f, 0.0f, 1.0f, 1.0f};
    check_values(o, bgra, 8, 0, "BGR2BGRA");
    free(o);
    c.shared.t[0] = tf_color(BK_COLOR_RGBA2RGB);
    o = run(&c, 0, 0, 0, bgra, shp(3, 4, 1, 2, 0), &os, NULL);
    check_values(o, bgr, 6, 0, "RGBA2RGB");
    free(o);
    /* HSV: pure red, green, blue hues are 0, 120, 240 */
    float prim[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}; /* RGB planes of 3 pixels: red, green, blue */
    c.shared.t[0] = tf_color(BK_COLOR_RGB2HSV);
    o = run(&c, 0, 0, 0, prim, shp(3, 3, 1, 3, 0), &os, NULL);
    float hsv[9] = {0, 120, 240, 1, 1, 1, 1, 1, 1};
    check_values(o, hsv, 9, 1e-3, "RGB2HSV");
    free(o);
    bk_transform rt[2] = {tf_color(BK_COLOR_BGR2HSV), tf_color(BK_COLOR_HSV2BGR)};
    c = shared_cfg(2, rt);
    o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    check_values(o, bgr, 6, 1e-5, "BGR -> HSV -> BGR");
    free(o);
    rt[0] = tf_color(BK_COLOR_RGB2YCrCb);
    rt[1] = tf_color(BK_COLOR_YCrCb2RGB);
    c = shared_cfg(2, rt);
    o = run(&c, 0, 0, 0, bgr, shp(3, 3, 1, 2, 0), &os, NULL);
    check_values(o, bgr, 6, 2e-3, "RGB -> YCrCb -> RGB");
    free(o);
    /* wrong channel count: a clear error */
    t = tf_color(BK_COLOR_BGR2GRAY);
    c = shared_cfg(1, &t);
    bk_status st;
    out_shape_of(&c, 0, shp(3, 1, 4, 4, 0), &st);
    CHECK(st == BK_ERR_SHAPE && contains(bk_last_error(), "BGR2GRAY reads 3 channels"));
    bk_color_code code;
    CHECK(bk_color_code_from_name("bgr2rgb", &code) && code == BK_COLOR_BGR2RGB);
    CHECK(!bk_color_code_from_name("BGR2XYZ", &code));
    CHECK(!strcmp(bk_color_code_name(BK_COLOR_YCrCb2RGB), "YCrCb2RGB"));

    /* normalize per channel, and {"std": s} alone (mean 0) */
    float two[4] = {1, 0.5f, 3, 5};
    t = tf_kind(BK_TF_NORMALIZE);
    t.n_mean = t.n_std = 2;
    t.mean[0] = 0.5f; t.mean[1] = 1;
    t.std[0] = 0.5f; t.std[1] = 2;
    c = shared_cfg(1, &t);
    o = run(&c, 0, 0, 0, two, shp(3, 2, 1, 2, 0), &os, NULL);
    float nw[4] = {1, 0, 1, 2};
    check_values(o, nw, 4, 1e-6, "normalize per channel");
    free(o);
    t = tf_kind(BK_TF_NORMALIZE);
    t.n_mean = t.n_std = 1;
    t.std[0] = 0.25f;
    c = shared_cfg(1, &t);
    o = run(&c, 0, 0, 0, two, shp(3, 2, 1, 2, 0), &os, NULL);
    float nw2[4] = {4, 2, 12, 20};
    check_values(o, nw2, 4, 1e-6, "normalize std only");
    free(o);
    /* three means on a one-channel target: an error that says where it belongs */
    t.n_mean = t.n_std = 3;
    for (int i = 0; i < 3; i++) t.mean[i] = 0.5f, t.std[i] = 0.5f;
    c = shared_cfg(1, &t);
    out_shape_of(&c, 1, shp(3, 1, 4, 4, 0), &st);
    CHECK(st == BK_ERR_SHAPE && contains(bk_last_error(), "input_transforms"));

    /* the mask recipe: k/255 divided by 0.003921568 is exactly k on a mask */
    t = tf_kind(BK_TF_NORMALIZE);
    t.n_mean = t.n_std = 1;
    t.std[0] = 0.003921568f;
    c = shared_cfg(1, &t);
    c.target_is_mask = 1;
    float lab[4] = {0, 1.0f / 255, 2.0f / 255, 255.0f / 255};
    o = run(&c, 1, 0, 0, lab, shp(3, 1, 2, 2, 0), &os, NULL);
    float labw[4] = {0, 1, 2, 255};
    check_values(o, labw, 4, 0, "mask recipe gives exact labels");
    free(o);
    o = run(&c, 0, 0, 0, lab, shp(3, 1, 2, 2, 0), &os, NULL); /* inputs are not snapped */
    CHECK(o && o[1] != 1.0f && fabsf(o[1] - 1.0f) < 1e-5f);
    free(o);
}

static void test_patches(void)
{
    bk_transform t = tf_kind(BK_TF_RANDOM_PATCHES);
    t.number = 3;
    t.size = 4;
    bk_transform_config c = shared_cfg(1, &t);
    enum { H = 16, W = 12, C = 2 };
    float img[C * H * W];
    for (int i = 0; i < C * H * W; i++) img[i] = 1.0f + (float)(i % 7);
    bk_shape s = shp(3, C, H, W, 0), os;
    for (int epoch = -1; epoch < 3; epoch++) {
        float *in = run(&c, 0, 9, epoch, img, s, &os, NULL);
        float *tg = run(&c, 1, 9, epoch, img, s, &os, NULL);
        int ok = in && tg, zeros = 0;
        for (int i = 0; ok && i < C * H * W; i++) {
            ok = in[i] + tg[i] == img[i] && in[i] * tg[i] == 0;
            zeros += in[i] == 0;
        }
        CHECK(ok); /* input and target split the image between them */
        /* 3 squares of 16 pixels on each channel, overlaps allowed */
        CHECK(zeros >= C * 16 && zeros <= C * 48 && zeros % C == 0);
        /* the same squares on every channel */
        for (int i = 0; ok && i < H * W; i++) ok = (in[i] == 0) == (in[H * W + i] == 0);
        CHECK(ok);
        free(in);
        free(tg);
    }
    /* evaluation draws the same squares each time, training redraws each epoch */
    float *e1 = run(&c, 0, 9, -1, img, s, &os, NULL), *e2 = run(&c, 0, 9, -1, img, s, &os, NULL);
    float *a = run(&c, 0, 9, 0, img, s, &os, NULL), *b = run(&c, 0, 9, 1, img, s, &os, NULL);
    CHECK(e1 && e2 && !memcmp(e1, e2, sizeof img));
    CHECK(a && b && memcmp(a, b, sizeof img) != 0);
    free(e1); free(e2); free(a); free(b);
    /* too big for the sample: out_shape says so */
    c.shared.t[0].size = 13;
    bk_status st;
    out_shape_of(&c, 0, s, &st);
    CHECK(st == BK_ERR_SHAPE && contains(bk_last_error(), "do not fit"));
}

/* An input (3 channels) and its mask (channel 0 of the input, integral
 * labels) through random geometry: they must move together. */
static void test_shared_draws(void)
{
    enum { H = 10, W = 14 };
    float img[3 * H * W], mask[H * W];
    for (int i = 0; i < H * W; i++) {
        mask[i] = (float)((i * 7 + i / W) % 3);
        img[i] = mask[i];
        img[H * W + i] = 0.5f;
        img[2 * H * W + i] = (float)i;
    }
    bk_transform t[5] = {tf_val(BK_TF_RANDOM_HFLIP, 0.5), tf_val(BK_TF_RANDOM_VFLIP, 0.5),
                         tf_val(BK_TF_JITTER_CROP, 0.4), tf_val(BK_TF_RANDOM_ROTATE, 30),
                         tf_size(BK_TF_RESIZE, 9, 7)};
    /* not a mask: the same interpolation, so channel 0 equals the target */
    bk_transform_config c = shared_cfg(5, t);
    int same = 1, moved = 0;
    for (int s = 0; s < 20; s++) {
        bk_shape ai, at;
        float *a = run(&c, 0, s, 3, img, shp(3, 3, H, W, 0), &ai, NULL);
        float *m = run(&c, 1, s, 3, mask, shp(3, 1, H, W, 0), &at, NULL);
        CHECK(shape_is(&ai, 3, 3, 7, 9, 0) && shape_is(&at, 3, 1, 7, 9, 0));
        same &= a && m && !memcmp(a, m, 63 * sizeof(float));
        free(a);
        free(m);
    }
    CHECK(same);
    /* a mask: flips and crops (no interpolation) give exactly channel 0;
     * a rotation gives labels only (nearest), never blends */
    c = shared_cfg(3, t);
    c.target_is_mask = 1;
    for (int s = 0; s < 20; s++) {
        bk_shape ai, at;
        float *a = run(&c, 0, s, 2, img, shp(3, 3, H, W, 0), &ai, NULL);
        float *m = run(&c, 1, s, 2, mask, shp(3, 1, H, W, 0), &at, NULL);
        CHECK(ai.dims[1] == at.dims[1] && ai.dims[2] == at.dims[2]);
        int64_t n = at.dims[1] * at.dims[2];
        same = a && m && !memcmp(a, m, (size_t)n * sizeof(float));
        CHECK(same);
        moved += a && n != H * W;
        free(a);
        free(m);
    }
    CHECK(moved > 10);
    bk_transform rot[2] = {tf_val(BK_TF_RANDOM_ROTATE, 40), tf_val(BK_TF_RANDOM_ZOOM, 0.5)};
    c = shared_cfg(2, rot);
    c.target_is_mask = 1;
    int labels_only = 1, blended = 0;
    for (int s = 0; s < 10; s++) {
        bk_shape os;
        float *m = run(&c, 1, s, 0, mask, shp(3, 1, H, W, 0), &os, NULL);
        float *a = run(&c, 0, s, 0, img, shp(3, 3, H, W, 0), &os, NULL);
        for (int i = 0; m && i < H * W; i++) labels_only &= m[i] == 0 || m[i] == 1 || m[i] == 2;
        for (int i = 0; a && i < H * W; i++) blended |= a[i] != floorf(a[i]);
        free(m);
        free(a);
    }
    CHECK(labels_only);
    CHECK(blended); /* the input side was interpolated */
}

static void test_determinism_eval(void)
{
    bk_transform t[3] = {tf_val(BK_TF_RANDOM_HFLIP, 0.5), tf_val(BK_TF_RANDOM_ROTATE, 45),
                         tf_val(BK_TF_RANDOM_ZOOM, 0.3)};
    bk_transform_config c = shared_cfg(3, t);
    float img[64];
    for (int i = 0; i < 64; i++) img[i] = (float)(i * i % 17);
    bk_shape s = shp(3, 1, 8, 8, 0), os;
    float *a = run(&c, 0, 11, 4, img, s, &os, NULL), *b = run(&c, 0, 11, 4, img, s, &os, NULL);
    CHECK(a && b && !memcmp(a, b, sizeof img));
    float *d = run(&c, 0, 11, 5, img, s, &os, NULL), *e = run(&c, 0, 12, 4, img, s, &os, NULL);
    CHECK(d && memcmp(a, d, sizeof img) != 0); /* another epoch, another draw */
    CHECK(e && memcmp(a, e, sizeof img) != 0); /* another sample, another draw */
    c.seed = 6;
    float *f = run(&c, 0, 11, 4, img, s, &os, NULL);
    CHECK(f && memcmp(a, f, sizeof img) != 0); /* another seed */
    free(a); free(b); free(d); free(e); free(f);
    /* evaluation: the random geometry does nothing */
    c.shared.t[0].value = 1.0;
    bk_transform j = tf_val(BK_TF_JITTER_CROP, 0.9);
    c.shared.t[c.shared.n++] = j;
    float *g = run(&c, 0, 11, -1, img, s, &os, NULL);
    check_values(g, img, 64, 0, "random geometry at evaluation");
    CHECK(shape_is(&os, 3, 1, 8, 8, 0));
    free(g);
    /* side lists: the target list runs after the shared one, on targets only */
    bk_transform_config c2 = shared_cfg(1, t);
    c2.shared.t[0].value = 1.0; /* hflip always */
    c2.target.n = 1;
    c2.target.t[0] = tf_size(BK_TF_RESIZE, 2, 2);
    c2.input.n = 1;
    c2.input.t[0] = tf_size(BK_TF_CENTER_CROP, 2, 2);
    float *ti = run(&c2, 0, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float *tt = run(&c2, 1, 0, 0, ramp16, shp(3, 1, 4, 4, 0), &os, NULL);
    float wi[4] = {6, 5, 10, 9}, wt[4] = {4.5f, 2.5f, 12.5f, 10.5f};
    check_values(ti, wi, 4, 0, "shared then input_transforms");
    check_values(tt, wt, 4, 0, "shared then target_transforms");
    free(ti);
    free(tt);
}

/* The caller's input is read only: in-place entries work on a copy. */
static void test_input_untouched(void)
{
    float img[16], keep[16];
    for (int i = 0; i < 16; i++) img[i] = keep[i] = (float)i + 1;
    bk_transform p = tf_kind(BK_TF_RANDOM_PATCHES), n = tf_kind(BK_TF_NORMALIZE);
    p.number = 2;
    p.size = 2;
    n.n_mean = n.n_std = 1;
    n.std[0] = 2;
    bk_transform lists[4][2] = {{tf_val(BK_TF_RANDOM_HFLIP, 1), n}, {n, tf_val(BK_TF_RANDOM_VFLIP, 1)}, {p, n},
                                {tf_val(BK_TF_RANDOM_VFLIP, 1), tf_val(BK_TF_RANDOM_HFLIP, 1)}};
    for (int k = 0; k < 4; k++) {
        bk_transform_config c = shared_cfg(2, lists[k]);
        bk_shape os;
        for (int side = 0; side < 2; side++) {
            float *o = run(&c, side, 1, 1, img, shp(3, 1, 4, 4, 0), &os, NULL);
            CHECK(o != NULL && o != img);
            free(o);
        }
        CHECK(!memcmp(img, keep, sizeof img));
    }
    /* both flips: a 180-degree turn, through the copy-then-in-place path */
    bk_transform_config c = shared_cfg(2, lists[3]);
    bk_shape os;
    float *o = run(&c, 0, 1, 1, img, shp(3, 1, 4, 4, 0), &os, NULL);
    for (int i = 0; o && i < 16; i++) CHECK(o[i] == img[15 - i]);
    free(o);
}

static void test_shapes_and_errors(void)
{
    bk_status st;
    bk_transform t = tf_val(BK_TF_RANDOM_HFLIP, 1);
    bk_transform_config c = shared_cfg(1, &t);
    /* a class-index target passes through the shared list */
    float label = 3;
    bk_shape os;
    float *o = run(&c, 1, 0, 0, &label, shp(0, 0, 0, 0, 0), &os, NULL);
    CHECK(o && o[0] == 3 && os.ndim == 0);
    free(o);
    /* but an input vector is no image */
    float vec[5] = {0};
    o = run(&c, 0, 0, 0, vec, shp(1, 5, 0, 0, 0), &os, &st);
    CHECK(st == BK_ERR_SHAPE && contains(bk_last_error(), "transforms work on image samples"));
    free(o);
    /* and a target list on a class index is a mistake */
    c.target.n = 1;
    c.target.t[0] = t;
    out_shape_of(&c, 1, shp(0, 0, 0, 0, 0), &st);
    CHECK(st == BK_ERR_SHAPE && contains(bk_last_error(), "target_transforms"));
    /* 3-D samples: flips apply per slice, a resize is refused by name */
    c = shared_cfg(1, &t);
    float vol[24];
    for (int i = 0; i < 24; i++) vol[i] = (float)i;
    o = run(&c, 0, 0, 0, vol, shp(4, 1, 2, 3, 4), &os, NULL);
    CHECK(o && o[0] == 3 && o[12] == 15 && shape_is(&os, 4, 1, 2, 3, 4));
    free(o);
    c.shared.t[0] = tf_size(BK_TF_RESIZE, 2, 2);
    out_shape_of(&c, 0, shp(4, 1, 2, 3, 4), &st);
    CHECK(st == BK_ERR_UNSUPPORTED && contains(bk_last_error(), "transforms[0] (resize)") &&
          contains(bk_last_error(), "3-D"));
    /* invalid parameters from an embedder */
    c.shared.t[0] = tf_val(BK_TF_RANDOM_VFLIP, 1.5);
    bk_sample_transform tf;
    CHECK_ERR(bk_transforms_create(&tf, &c), "p must be in [0, 1]");
    c.shared.t[0] = tf_size(BK_TF_CENTER_CROP, 0, 3);
    CHECK_ERR(bk_transforms_create(&tf, &c), "width and height");
    c.shared.t[0] = tf_kind(BK_TF_NORMALIZE);
    c.shared.t[0].n_mean = c.shared.t[0].n_std = 1;
    CHECK_ERR(bk_transforms_create(&tf, &c), "std must be positive");
    CHECK(bk_transform_config_any(&c) && !bk_transform_config_any(NULL));
    bk_transforms_destroy(NULL);
}

static void test_dataset(void)
{
    /* 6 samples [1, 4, 4] (sample k = ramp + 100 k), class targets */
    enum { N = 6 };
    float *x = malloc(N * 16 * sizeof(float)), *y = malloc(N * sizeof(float));
    CHECK(x && y);
    if (!x || !y) return;
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < 16; i++) x[k * 16 + i] = ramp16[i] + 100.0f * (float)k;
        y[k] = (float)k;
    }
    bk_dataset *base, *tr, *te;
    bk_shape in = shp(3, 1, 4, 4, 0), tg = shp(0, 0, 0, 0, 0);
    CHECK_OK(bk_data_from_floats(&base, "mem", N, &in, x, &tg, y));
    bk_transform t[2] = {tf_val(BK_TF_RANDOM_HFLIP, 0.5), tf_size(BK_TF_RESIZE, 2, 2)};
    bk_transform_config c = shared_cfg(2, t);
    bk_sample_transform tf;
    CHECK_OK(bk_transforms_create(&tf, &c));
    CHECK_OK(bk_dataset_transformed(&tr, base, &tf, 1));
    CHECK_OK(bk_dataset_transformed(&te, base, &tf, 0));
    CHECK(shape_is(&tr->input_shape, 3, 1, 2, 2, 0) && tr->target_shape.ndim == 0 && tr->count == N);
    int64_t idx[N] = {5, 0, 3, 1, 4, 2};
    float bx[N * 4], by[N], ex[N * 4];
    /* a test set: no flips, whatever epoch the loader announces */
    te->set_epoch(te, 7);
    CHECK_OK(te->read(te, idx, N, ex, by));
    for (int i = 0; i < N; i++) {
        float want[4] = {2.5f, 4.5f, 10.5f, 12.5f};
        for (int j = 0; j < 4; j++) want[j] += 100.0f * (float)idx[i];
        check_values(ex + 4 * i, want, 4, 1e-4, "test set read");
        CHECK(by[i] == (float)idx[i]);
    }
    /* training: each epoch its own flips, the same again when repeated */
    float e0[N * 4], e1[N * 4];
    tr->set_epoch(tr, 0);
    CHECK_OK(tr->read(tr, idx, N, e0, by));
    tr->set_epoch(tr, 1);
    CHECK_OK(tr->read(tr, idx, N, e1, by));
    tr->set_epoch(tr, 0);
    CHECK_OK(tr->read(tr, idx, N, bx, by));
    CHECK(!memcmp(bx, e0, sizeof bx));
    int flips0 = 0, diff = 0;
    for (int i = 0; i < N; i++) {
        flips0 += e0[4 * i] != ex[4 * i];
        diff += e0[4 * i] != e1[4 * i];
    }
    CHECK(diff > 0);
    CHECK(flips0 > 0 && flips0 < N);
    bk_dataset_destroy(tr);
    bk_dataset_destroy(te);
    bk_transforms_destroy(&tf);
    /* a random crop without a resize after it cannot make batches */
    bk_transform j = tf_val(BK_TF_JITTER_CROP, 0.2);
    c = shared_cfg(1, &j);
    CHECK_OK(bk_transforms_create(&tf, &c));
    CHECK_ERR(bk_dataset_transformed(&tr, base, &tf, 1), "add a \"resize\"");
    /* several arrays per sample: which would be "the" input is unclear */
    bk_dataset two;
    memset(&two, 0, sizeof two);
    snprintf(two.name, sizeof two.name, "pair");
    two.n_inputs = 2;
    two.count = 1;
    CHECK_ERR(bk_dataset_transformed(&tr, &two, &tf, 1), "this one has 2 inputs");
    bk_transforms_destroy(&tf);
    bk_dataset_destroy(base);
}

/* apply from several threads at once gives what it gives on one */
typedef struct {
    const bk_sample_transform *tf;
    const float *img;
    float *out;
    int first;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    bk_shape s = shp(3, 3, 32, 40, 0), os;
    for (int k = 0; k < 24; k++) {
        float *o = NULL;
        int sample = (j->first + k) % 24;
        if (j->tf->apply(j->tf->ctx, 0, sample, 2, j->img, &s, &o, &os) == BK_OK && o) {
            memcpy(j->out + (size_t)sample * 3 * 24 * 24, o, 3 * 24 * 24 * sizeof(float));
            free(o);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    bk_transform t[5] = {tf_val(BK_TF_RANDOM_HFLIP, 0.5), tf_val(BK_TF_JITTER_CROP, 0.3),
                         tf_val(BK_TF_RANDOM_ROTATE, 20), tf_size(BK_TF_RESIZE, 24, 24), tf_kind(BK_TF_RANDOM_PATCHES)};
    t[4].number = 4;
    t[4].size = 3;
    bk_transform_config c = shared_cfg(5, t);
    bk_sample_transform tf;
    CHECK_OK(bk_transforms_create(&tf, &c));
    static float img[3 * 32 * 40];
    for (int i = 0; i < 3 * 32 * 40; i++) img[i] = (float)(i % 97) / 97.0f;
    size_t n = (size_t)24 * 3 * 24 * 24;
    float *serial = calloc(n, sizeof(float)), *par = calloc(4 * n, sizeof(float));
    CHECK(serial && par);
    if (serial && par) {
        job one = {&tf, img, serial, 0};
        worker(&one);
        pthread_t th[4];
        job jobs[4];
        for (int i = 0; i < 4; i++) {
            jobs[i] = (job){&tf, img, par + (size_t)i * n, i * 6};
            CHECK(pthread_create(&th[i], NULL, worker, &jobs[i]) == 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < 4; i++) CHECK(!memcmp(serial, par + (size_t)i * n, n * sizeof(float)));
    }
    free(serial);
    free(par);
    bk_transforms_destroy(&tf);
}

int main(void)
{
    test_resize();
    test_resize_sizes();
    test_crops_flips();
    test_rotate_zoom();
    test_color_normalize();
    test_patches();
    test_shared_draws();
    test_determinism_eval();
    test_input_untouched();
    test_shapes_and_errors();
    test_dataset();
    test_threads();
    return bk_test_finish("test_transforms");
}
