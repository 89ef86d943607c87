/* The images dataset: folder scanning, class labels (sorted, tags, a test
 * set on the training classes), pairing with target images, grayscale,
 * sample names, transforms with their sample index and epoch, preload and
 * not, and every bad input's error. Images are written here (libpng,
 * libtiff) with known pixels, so expected values are exact. */
#include "brisk/data.h"
#include "testutil.h"
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

static char root[2048];

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

#define CHECK_ERR(expr, sub) do { bk_status e_ = (expr); CHECK(e_ != BK_OK); bk_test_checks++; \
    if (!contains(bk_last_error(), (sub))) { bk_test_failures++; \
        fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } } while (0)
#define CHECK_MSG(sub) do { bk_test_checks++; if (!contains(bk_last_error(), (sub))) { bk_test_failures++; \
    fprintf(stderr, "%s:%d: message lacks \"%s\": %s\n", __FILE__, __LINE__, (sub), bk_last_error()); } } while (0)

/* root/<rel>, making its folders */
static const char *at(const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", root, rel);
    for (char *p = b + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(b, 0755);
            *p = '/';
        }
    return b;
}

/* The pixel value every test image holds at (y, x, channel c): distinct per
 * image (seed), position and channel, so a wrong file or order shows. */
static unsigned char pix(int seed, int y, int x, int c) { return (unsigned char)(seed * 40 + y * 7 + x * 3 + c * 50); }

/* An RGB (channels 3) or gray (1) 8-bit PNG of w x h with pix() values;
 * seed < 0: every sample -seed. */
static void png_file(const char *rel, int seed, int w, int h, int channels)
{
    FILE *f = fopen(at(rel), "wb");
    CHECK(f != NULL);
    if (!f) return;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        CHECK(0);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    unsigned char row[256 * 3];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) row[x * channels + c] = seed < 0 ? (unsigned char)-seed : pix(seed, y, x, c);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* A gray 8-bit TIFF mask of w x h holding value v + x. */
static void tiff_mask(const char *rel, int w, int h, int v)
{
    TIFF *t = TIFFOpen(at(rel), "w");
    CHECK(t != NULL);
    if (!t) return;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    unsigned char row[256];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) row[x] = (unsigned char)(v + x);
        TIFFWriteScanline(t, row, (uint32_t)y, 0);
    }
    TIFFClose(t);
}

static void text_file(const char *rel, const char *text)
{
    FILE *f = fopen(at(rel), "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static bk_images_options opts(const char *in, const char *tgt)
{
    bk_images_options o;
    memset(&o, 0, sizeof o);
    o.input_path = at(in);
    o.target_path = tgt ? at(tgt) : NULL;
    o.threads = 3;
    return o;
}

/* Reads samples 0..n-1 in order. */
static bk_status read_all(bk_dataset *ds, float **x, float **y)
{
    int64_t *idx = malloc((size_t)ds->count * sizeof *idx);
    *x = malloc((size_t)(ds->count * bk_shape_numel(&ds->input_shape)) * sizeof **x);
    *y = ds->has_targets ? malloc((size_t)(ds->count * bk_shape_numel(&ds->target_shape)) * sizeof **y) : NULL;
    for (int64_t i = 0; i < ds->count; i++) idx[i] = i;
    bk_status st = ds->read(ds, idx, ds->count, *x, *y);
    free(idx);
    return st;
}

static void name_is(bk_dataset *ds, int64_t i, const char *want)
{
    char buf[256];
    CHECK_OK(bk_dataset_sample_name(ds, i, buf, sizeof buf));
    bk_test_checks++;
    if (strcmp(buf, want)) {
        bk_test_failures++;
        fprintf(stderr, "sample %lld is named \"%s\", expected \"%s\"\n", (long long)i, buf, want);
    }
}

/* Class folders, sorted, BGR pixels, names; hidden and non-image files left out. */
static void test_labels(void)
{
    png_file("lab/train/cls_b/x1.png", 1, 5, 4, 3);
    png_file("lab/train/cls_a/z.png", 2, 5, 4, 3);
    png_file("lab/train/cls_a/y.png", 3, 5, 4, 3);
    png_file("lab/train/cls_c/w.png", 4, 5, 4, 1); /* a gray file read as colour */
    png_file("lab/train/.ipynb_checkpoints/cls_a/y.png", 9, 5, 4, 3);
    png_file("lab/train/cls_a/._y.png", 9, 5, 4, 3);
    text_file("lab/train/notes.txt", "not an image");
    text_file("lab/train/cls_b/labels.csv", "a,b\n");
    for (int preload = 0; preload < 2; preload++) {
        bk_images_options o = opts("lab/train", NULL);
        o.labels = 1;
        o.preload = preload;
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_images(&ds, &o));
        if (!ds) continue;
        CHECK(ds->count == 4);
        CHECK(ds->has_targets && ds->target_shape.ndim == 0);
        int64_t d[3] = {3, 4, 5};
        bk_shape want = bk_shape_make(3, d);
        CHECK(bk_shape_equal(&ds->input_shape, &want));
        CHECK(bk_dataset_num_classes(ds) == 3);
        CHECK(!strcmp(bk_dataset_class_name(ds, 0), "cls_a") && !strcmp(bk_dataset_class_name(ds, 2), "cls_c"));
        CHECK(bk_dataset_class_name(ds, 3) == NULL && bk_dataset_class_name(ds, -1) == NULL);
        name_is(ds, 0, "cls_a/y.png");
        name_is(ds, 1, "cls_a/z.png");
        name_is(ds, 2, "cls_b/x1.png");
        name_is(ds, 3, "cls_c/w.png");
        float *x, *y;
        CHECK_OK(read_all(ds, &x, &y));
        CHECK(y[0] == 0 && y[1] == 0 && y[2] == 1 && y[3] == 2);
        /* sample 2 is x1.png (seed 1): channel 0 is blue, the file's third */
        CHECK(x[2 * 60 + 0 * 20 + 1 * 5 + 2] == (float)pix(1, 1, 2, 2) / 255.0f);
        CHECK(x[2 * 60 + 2 * 20 + 3 * 5 + 4] == (float)pix(1, 3, 4, 0) / 255.0f);
        /* the gray file gives three equal channels */
        CHECK(x[3 * 60 + 0 * 20 + 7] == (float)pix(4, 1, 2, 0) / 255.0f && x[3 * 60 + 2 * 20 + 7] == x[3 * 60 + 7]);
        /* any order, repeats */
        int64_t idx[3] = {3, 0, 3};
        float x3[180], y3[3];
        CHECK_OK(ds->read(ds, idx, 3, x3, y3));
        CHECK(y3[0] == 2 && y3[1] == 0 && y3[2] == 2 && !memcmp(x3, x + 180, 60 * sizeof(float)));
        int64_t bad = 4;
        CHECK_ERR(ds->read(ds, &bad, 1, x3, y3), "outside");
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
}

static void test_grayscale(void)
{
    png_file("gray/in/a.png", 5, 6, 3, 3);
    png_file("gray/mask/a.png", 6, 6, 3, 3);
    bk_images_options o = opts("gray/in", "gray/mask");
    o.input_grayscale = 1;
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (!ds) return;
    CHECK(ds->input_shape.dims[0] == 1 && ds->target_shape.dims[0] == 3);
    float *x, *y;
    CHECK_OK(read_all(ds, &x, &y));
    /* libpng's rgb_to_gray with OpenCV's weights: (9797 R + 19234 G + 3737 B) >> 15 */
    unsigned r = pix(5, 2, 1, 0), g = pix(5, 2, 1, 1), b = pix(5, 2, 1, 2);
    CHECK(x[2 * 6 + 1] == (float)((9797 * r + 19234 * g + 3737 * b) >> 15) / 255.0f);
    CHECK(y[0 * 18 + 2 * 6 + 1] == (float)pix(6, 2, 1, 2) / 255.0f);
    free(x);
    free(y);
    bk_dataset_destroy(ds);
    o.input_grayscale = 0;
    o.target_grayscale = 1;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (!ds) return;
    CHECK(ds->input_shape.dims[0] == 3 && ds->target_shape.dims[0] == 1);
    bk_dataset_destroy(ds);
}

/* training_tag / test_tag: the class is the folder just below the tag's. */
static void test_tags(void)
{
    png_file("tags/data/training/3/a.png", 1, 4, 4, 1);
    png_file("tags/data/training/7/sub/b.png", 2, 4, 4, 1);
    png_file("tags/data/testing/7/c.png", 3, 4, 4, 1);
    png_file("tags/data/testing/9/d.png", 4, 4, 4, 1);
    png_file("tags/data/testing/3/e.png", 5, 4, 4, 1);
    bk_images_options o = opts("tags/data/training", NULL);
    o.labels = 1;
    o.tag = "training";
    o.input_grayscale = 1;
    bk_dataset *tr = NULL, *te = NULL;
    CHECK_OK(bk_dataset_open_images(&tr, &o));
    if (!tr) return;
    /* "7/sub/b.png": the folder below the tag, not the one the file sits in */
    CHECK(bk_dataset_num_classes(tr) == 2 && !strcmp(bk_dataset_class_name(tr, 1), "7"));
    float *x, *y;
    CHECK_OK(read_all(tr, &x, &y));
    CHECK(y[0] == 0 && y[1] == 1);
    free(x);
    free(y);
    /* the test set on the training classes: "9" is not one */
    const char *classes[2] = {bk_dataset_class_name(tr, 0), bk_dataset_class_name(tr, 1)};
    bk_images_options t = opts("tags/data/testing", NULL);
    t.labels = 1;
    t.tag = "testing";
    t.classes = classes;
    t.n_classes = 2;
    CHECK_ERR(bk_dataset_open_images(&te, &t), "class \"9\" is not one of the 2 classes of the training data");
    CHECK_MSG("testing/9/d.png");
    CHECK(te == NULL);
    unlink(at("tags/data/testing/9/d.png"));
    rmdir(at("tags/data/testing/9"));
    CHECK_OK(bk_dataset_open_images(&te, &t));
    if (te) {
        CHECK_OK(read_all(te, &x, &y));
        CHECK(te->count == 2 && y[0] == 0 && y[1] == 1); /* 3/e.png, 7/c.png */
        free(x);
        free(y);
        bk_dataset_destroy(te);
    }
    /* the tag missing from a path, or with no class folder below it */
    t.tag = "validation";
    CHECK_ERR(bk_dataset_open_images(&te, &t), "no folder named \"validation\"");
    png_file("tags/flat/testing/e.png", 5, 4, 4, 1);
    bk_images_options f = opts("tags/flat", NULL);
    f.labels = 1;
    f.tag = "testing";
    CHECK_ERR(bk_dataset_open_images(&te, &f), "testing/e.png: no folder named \"testing\"");
    /* a tag above the configured folder */
    bk_images_options up = opts("tags/data/training/7", NULL);
    up.labels = 1;
    up.tag = "training";
    CHECK_OK(bk_dataset_open_images(&te, &up));
    if (te) {
        CHECK(bk_dataset_num_classes(te) == 1 && !strcmp(bk_dataset_class_name(te, 0), "7"));
        bk_dataset_destroy(te);
    }
    bk_dataset_destroy(tr);
}

/* Images without class folders, some without. */
static void test_no_class_folders(void)
{
    png_file("flat/a.png", 1, 4, 4, 1);
    png_file("flat/b.png", 2, 4, 4, 1);
    bk_images_options o = opts("flat", NULL);
    o.labels = 1;
    bk_dataset *ds = NULL;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "no class folders");
    png_file("flat/c/c.png", 2, 4, 4, 1);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "flat/a.png: lies directly in the data folder");
    CHECK_MSG("(2 such files)");
    /* without labels the same folder is an inference set */
    o.labels = 0;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (ds) {
        CHECK(ds->count == 3 && !ds->has_targets);
        name_is(ds, 2, "c/c.png");
        bk_dataset_destroy(ds);
    }
}

/* Pairing by relative path less extension; masks in another format. */
static void test_pairs(void)
{
    png_file("seg/img/a.png", 1, 6, 5, 3);
    png_file("seg/img/sub/b.png", 2, 6, 5, 3);
    tiff_mask("seg/mask/a.tif", 6, 5, 10);
    tiff_mask("seg/mask/sub/b.tiff", 6, 5, 20);
    tiff_mask("seg/mask/unused.tif", 6, 5, 30); /* a target without input is fine */
    for (int preload = 0; preload < 2; preload++) {
        bk_images_options o = opts("seg/img", "seg/mask");
        o.target_grayscale = 1;
        o.preload = preload;
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_images(&ds, &o));
        if (!ds) continue;
        int64_t d[3] = {1, 5, 6};
        bk_shape want = bk_shape_make(3, d);
        CHECK(ds->count == 2 && bk_shape_equal(&ds->target_shape, &want));
        float *x, *y;
        CHECK_OK(read_all(ds, &x, &y));
        CHECK(y[0 * 30 + 7] == (float)(10 + 1) / 255.0f && y[1 * 30 + 7] == (float)(20 + 1) / 255.0f);
        CHECK(x[1 * 90 + 2 * 30 + 7] == (float)pix(2, 1, 1, 0) / 255.0f);
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
    bk_dataset *ds = NULL;
    /* an input without its mask */
    png_file("seg/img/c.png", 3, 6, 5, 3);
    bk_images_options o = opts("seg/img", "seg/mask");
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "seg/img/c.png: no target image for this input: looked for \"c.*\"");
    CHECK_MSG("seg/mask");
    /* two masks for one input */
    tiff_mask("seg/mask/c.tif", 6, 5, 40);
    tiff_mask("seg/mask/c.tiff", 6, 5, 40);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "two target images match this input");
    CHECK_MSG("seg/mask/c.tif and");
    unlink(at("seg/mask/c.tiff"));
    /* a mask of another size than its image */
    tiff_mask("seg/mask/c.tif", 5, 5, 40);
    o.preload = 1;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "seg/mask/c.tif: target of 5x5 pixels, but its input");
    CHECK_MSG("must be the size of its image");
    o.preload = 0;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (ds) {
        float *x, *y;
        CHECK_ERR(read_all(ds, &x, &y), "seg/mask/c.tif: target of 5x5 pixels");
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
    /* labels and target images at once */
    o.labels = 1;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "keep one");
}

/* target_path = input_path: each image is its own target (inpainting). */
static void test_self_targets(void)
{
    png_file("self/a.png", 1, 4, 3, 3);
    png_file("self/b.png", 2, 4, 3, 3);
    for (int k = 0; k < 4; k++) {
        bk_images_options o = opts("self", "self/");
        o.preload = k & 1;
        o.target_grayscale = k >> 1;
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_images(&ds, &o));
        if (!ds) continue;
        float *x, *y;
        CHECK_OK(read_all(ds, &x, &y));
        if (!o.target_grayscale) CHECK(!memcmp(x, y, 2 * 36 * sizeof(float)));
        else CHECK(ds->target_shape.dims[0] == 1 && y[12 + 5] != 0);
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
}

/* A transform that crops to the top-left 2x2 and adds epoch*100 + sample
 * (+ 0.5 on targets), so the loader is seen passing each. */
typedef struct {
    int calls, vary;
} crop_ctx;

static bk_status crop_shape(void *ctx, int side, const bk_shape *in, bk_shape *out)
{
    (void)side;
    crop_ctx *c = ctx;
    int64_t d[3] = {in->dims[0], c->vary ? -1 : 2, 2};
    *out = bk_shape_make(3, d);
    return BK_OK;
}

static bk_status crop_apply(void *ctx, int side, int64_t sample, int epoch, const float *in, const bk_shape *in_shape,
                            float **out, bk_shape *out_shape)
{
    crop_ctx *c = ctx;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    int64_t ch = in_shape->dims[0], h = in_shape->dims[1], w = in_shape->dims[2];
    if (h < 3) return bk_error(BK_ERR_SHAPE, "crop: too small");
    int64_t d[3] = {ch, 2, 2};
    *out_shape = bk_shape_make(3, d);
    *out = malloc((size_t)ch * 4 * sizeof **out);
    if (!*out) return bk_error(BK_ERR_NOMEM, "crop: out of memory");
    for (int64_t k = 0; k < ch; k++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
                (*out)[(k * 2 + y) * 2 + x] = in[(k * h + y) * w + x] + (float)(epoch * 100 + sample) + (side ? 0.5f : 0);
    return BK_OK;
}

static void test_transform(void)
{
    png_file("tf/img/a.png", 1, 6, 5, 3);
    png_file("tf/img/b.png", 2, 7, 4, 3); /* another size: the crop makes it fit */
    png_file("tf/mask/a.png", 3, 6, 5, 1);
    png_file("tf/mask/b.png", 4, 7, 4, 1);
    crop_ctx cc = {0, 0};
    bk_sample_transform tf = {crop_apply, crop_shape, &cc};
    for (int preload = 0; preload < 2; preload++) {
        bk_images_options o = opts("tf/img", "tf/mask");
        o.target_grayscale = 1;
        o.transform = &tf;
        o.preload = preload;
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_images(&ds, &o));
        if (!ds) continue;
        int64_t d[3] = {3, 2, 2}, dt[3] = {1, 2, 2};
        bk_shape wx = bk_shape_make(3, d), wy = bk_shape_make(3, dt);
        CHECK(bk_shape_equal(&ds->input_shape, &wx) && bk_shape_equal(&ds->target_shape, &wy));
        float *x, *y;
        CHECK_OK(read_all(ds, &x, &y)); /* epoch -1: evaluation */
        CHECK(x[12 + 2 * 4 + 3] == (float)pix(2, 1, 1, 0) / 255.0f - 100 + 1);
        CHECK(y[4 + 1] == (float)pix(4, 0, 1, 0) / 255.0f - 100 + 1 + 0.5f);
        free(x);
        free(y);
        ds->set_epoch(ds, 3);
        CHECK_OK(read_all(ds, &x, &y));
        CHECK(x[0] == (float)pix(1, 0, 0, 2) / 255.0f + 300 && y[4] == (float)pix(4, 0, 0, 0) / 255.0f + 301.5f);
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
    CHECK(cc.calls == 2 * 2 * 2 * 2);
    /* a sample the transform fails on: its file named */
    png_file("tf/img/c.png", 5, 6, 2, 3);
    png_file("tf/mask/c.png", 5, 6, 2, 1);
    bk_images_options o = opts("tf/img", "tf/mask");
    o.target_grayscale = 1;
    o.transform = &tf;
    bk_dataset *ds = NULL;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (ds) {
        float *x, *y;
        CHECK_ERR(read_all(ds, &x, &y), "tf/img/c.png: crop: too small");
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
    /* a transform whose size varies is refused at open */
    cc.vary = 1;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "add a \"resize\" transform");
    CHECK_MSG("tf/img/a.png");
}

/* Mixed sizes without a resize: the file and both sizes named. */
static void test_mixed_sizes(void)
{
    png_file("mixed/a.png", 1, 8, 8, 1);
    png_file("mixed/b.png", 2, 8, 8, 1);
    png_file("mixed/c.png", 3, 9, 8, 1);
    bk_images_options o = opts("mixed", NULL);
    o.preload = 1;
    bk_dataset *ds = NULL;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "mixed/c.png: image of 9x8 pixels, but the first image");
    CHECK_MSG("mixed/a.png, is 8x8");
    CHECK_MSG("add a \"resize\" transform");
    o.preload = 0;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (!ds) return;
    float x[3 * 64 * 3];
    int64_t idx[3] = {0, 1, 2};
    CHECK_OK(ds->read(ds, idx, 2, x, NULL));
    CHECK_ERR(ds->read(ds, idx, 3, x, NULL), "mixed/c.png: image of 9x8 pixels");
    bk_dataset_destroy(ds);
}

static void test_bad_input(void)
{
    bk_dataset *ds = NULL;
    bk_images_options o = opts("nowhere", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "nowhere: no such folder");
    mkdir(at("empty"), 0755);
    o = opts("empty", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "empty: no files in this folder");
    text_file("texts/a.txt", "a");
    text_file("texts/b/c.csv", "a");
    o = opts("texts", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "no PNG, JPEG or TIFF images in this folder or below it (2 other files)");
    o = opts("texts/a.txt", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "a file, not a folder");
    /* named like an image, holding none: an error at open, not a lost sample */
    png_file("named/a.png", 1, 4, 4, 1);
    text_file("named/b.jpg", "");
    o = opts("named", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "named/b.jpg: named like an image but the file is empty");
    /* another image format */
    unlink(at("named/b.jpg"));
    text_file("named/c.gif", "GIF89a\x01\x00\x01\x00");
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "named/c.gif: a GIF image");
    unlink(at("named/c.gif"));
    /* a corrupt image: at open with preload, at read without */
    png_file("corrupt/a.png", 1, 16, 16, 3);
    png_file("corrupt/b.png", 2, 16, 16, 3);
    FILE *f = fopen(at("corrupt/b.png"), "r+b");
    CHECK(f != NULL);
    if (f) {
        CHECK(ftruncate(fileno(f), 80) == 0);
        fclose(f);
    }
    o = opts("corrupt", NULL);
    o.preload = 1;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "corrupt/b.png: corrupt PNG");
    o.preload = 0;
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (ds) {
        float *x, *y;
        CHECK_ERR(read_all(ds, &x, &y), "corrupt/b.png: corrupt PNG");
        free(x);
        free(y);
        bk_dataset_destroy(ds);
    }
    /* the first image corrupt in its header */
    o = opts("corrupt", NULL);
    rename(at("corrupt/b.png"), at("corrupt/0.png"));
    FILE *g = fopen(at("corrupt/0.png"), "r+b");
    if (g) {
        CHECK(ftruncate(fileno(g), 20) == 0);
        fclose(g);
    }
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "corrupt/0.png: corrupt PNG");
    /* a dangling link named like an image; a link back up the tree is walked once */
    png_file("links/a/x.png", 1, 4, 4, 1);
    CHECK(symlink("nowhere.png", at("links/a/broken.png")) == 0);
    o = opts("links", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "links/a/broken.png: cannot be read");
    unlink(at("links/a/broken.png"));
    CHECK(symlink("..", at("links/a/up")) == 0);
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    if (ds) {
        CHECK(ds->count == 1);
        bk_dataset_destroy(ds);
    }
    /* folders nested past any real layout */
    char deep[512] = "deep";
    for (int i = 0; i < 70; i++) strcat(deep, "/d");
    strcat(deep, "/x.png");
    png_file(deep, 1, 4, 4, 1);
    o = opts("deep", NULL);
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "nested more than 64 deep");
    /* options that cannot work */
    o = opts("named", NULL);
    o.input_path = NULL;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "no input folder given");
    bk_sample_transform half = {NULL, NULL, NULL};
    o = opts("named", NULL);
    o.transform = &half;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "lacks its apply or out_shape");
    /* a bad thread count */
    setenv("BRISK_DATA_THREADS", "many", 1);
    o = opts("named", NULL);
    o.threads = 0;
    CHECK_ERR(bk_dataset_open_images(&ds, &o), "BRISK_DATA_THREADS=many");
    unsetenv("BRISK_DATA_THREADS");
    CHECK_OK(bk_dataset_open_images(&ds, &o));
    bk_dataset_destroy(ds);
    CHECK(bk_dataset_num_classes(NULL) == 0);
}

/* Through the batch loader (its thread calls read, read uses the pool):
 * shuffled batches hold the samples their names say, at any thread count. */
static void test_loader(void)
{
    char rel[64];
    for (int i = 0; i < 37; i++) {
        snprintf(rel, sizeof rel, "many/c%d/%02d.png", i % 3, i);
        png_file(rel, -(i + 1), 3, 2, 1);
    }
    for (int threads = 1; threads <= 4; threads += 3) {
        bk_images_options o = opts("many", NULL);
        o.labels = 1;
        o.input_grayscale = 1;
        o.threads = threads;
        bk_dataset *ds = NULL;
        CHECK_OK(bk_dataset_open_images(&ds, &o));
        if (!ds) continue;
        bk_loader *ld = NULL;
        CHECK_OK(bk_loader_create(&ld, ds, 8, 1, 5));
        if (!ld) {
            bk_dataset_destroy(ds);
            continue;
        }
        int seen = 0, right = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            CHECK_OK(bk_loader_begin_epoch(ld, epoch));
            for (;;) {
                bk_batch b;
                int done;
                if (bk_loader_next(ld, &b, &done) || done) break;
                for (int64_t j = 0; j < b.n; j++) {
                    /* image i holds i + 1 everywhere and is of class i % 3 */
                    int i = (int)(b.x[j * 6 + 5] * 255.0f + 0.5f) - 1;
                    seen++;
                    right += i % 3 == (int)b.y[j] && b.x[j * 6] == b.x[j * 6 + 5];
                }
            }
        }
        CHECK(seen == 74 && right == 74);
        bk_loader_destroy(ld);
        bk_dataset_destroy(ds);
    }
}

int main(void)
{
    snprintf(root, sizeof root, "%s", bk_test_tmpdir("images"));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", root);
    if (system(cmd) != 0) fprintf(stderr, "could not empty %s\n", root);
    test_labels();
    test_grayscale();
    test_tags();
    test_no_class_folders();
    test_pairs();
    test_self_targets();
    test_transform();
    test_mixed_sizes();
    test_bad_input();
    test_loader();
    return bk_test_finish("test_images");
}
