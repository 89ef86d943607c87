/* Times the sample transforms on one core: milliseconds per sample for each
 * entry alone and for a typical augmentation list, on a 500x375 RGB image
 * (a Pascal VOC / ImageNet-sized photo) going to 224x224. Run by hand:
 *   build/bench/tf_bench [seconds per case]
 * Never part of ctest. */
#include "brisk/data.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bk_transform entry(bk_transform_kind k, double v, int64_t w, int64_t h)
{
    bk_transform t;
    memset(&t, 0, sizeof t);
    t.kind = k;
    t.value = v;
    t.width = w;
    t.height = h;
    return t;
}

/* Best of 5 rounds of the mean ms per sample over `secs` / 5 each. */
static double time_case(const bk_transform *list, int n, int side, int mask, const float *img, const bk_shape *s,
                        double secs, bk_shape *out_shape)
{
    bk_transform_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.shared.n = n;
    memcpy(cfg.shared.t, list, (size_t)n * sizeof *list);
    cfg.target_is_mask = mask;
    cfg.seed = 1;
    bk_sample_transform tf;
    if (bk_transforms_create(&tf, &cfg)) {
        fprintf(stderr, "%s\n", bk_last_error());
        exit(1);
    }
    double best = 1e30;
    int64_t sample = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now(), t;
        int64_t iters = 0;
        do {
            float *o = NULL;
            if (tf.apply(tf.ctx, side, sample++, 1, img, s, &o, out_shape)) {
                fprintf(stderr, "%s\n", bk_last_error());
                exit(1);
            }
            free(o);
            iters++;
            t = now();
        } while (t - t0 < secs / 5);
        double ms = 1e3 * (t - t0) / (double)iters;
        if (ms < best) best = ms;
    }
    bk_transforms_destroy(&tf);
    return best;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int64_t dims[3] = {3, 375, 500};
    bk_shape s = bk_shape_make(3, dims), mask_s;
    int64_t mdims[3] = {1, 375, 500};
    mask_s = bk_shape_make(3, mdims);
    float *img = malloc(3 * 375 * 500 * sizeof *img);
    if (!img) return 1;
    for (int i = 0; i < 3 * 375 * 500; i++) img[i] = (float)((i * 2654435761u) >> 24) / 255.0f;
    bk_transform norm = entry(BK_TF_NORMALIZE, 0, 0, 0);
    norm.n_mean = norm.n_std = 3;
    for (int c = 0; c < 3; c++) norm.mean[c] = 0.45f, norm.std[c] = 0.225f;
    bk_transform color = entry(BK_TF_CONVERT_COLOR, 0, 0, 0), hsv = color;
    color.color = BK_COLOR_BGR2RGB;
    hsv.color = BK_COLOR_BGR2HSV;
    bk_transform patches = entry(BK_TF_RANDOM_PATCHES, 0, 0, 0);
    patches.number = 16;
    patches.size = 16;
    struct {
        const char *name;
        bk_transform t[6];
        int n, side, mask;
    } cases[] = {
        {"copy only (no entries)", {{0}}, 0, 0, 0},
        {"resize 500x375 -> 224x224 bilinear", {entry(BK_TF_RESIZE, 0, 224, 224)}, 1, 0, 0},
        {"resize 500x375 -> 224x224 nearest (mask, 1 ch)", {entry(BK_TF_RESIZE, 0, 224, 224)}, 1, 1, 1},
        {"resize 500x375 -> 1000x750 bilinear", {entry(BK_TF_RESIZE, 0, 1000, 750)}, 1, 0, 0},
        {"center_crop 224x224", {entry(BK_TF_CENTER_CROP, 0, 224, 224)}, 1, 0, 0},
        {"random_horizontal_flip 1", {entry(BK_TF_RANDOM_HFLIP, 1, 0, 0)}, 1, 0, 0},
        {"random_vertical_flip 1", {entry(BK_TF_RANDOM_VFLIP, 1, 0, 0)}, 1, 0, 0},
        {"rotate 90", {entry(BK_TF_ROTATE, 90, 0, 0)}, 1, 0, 0},
        {"rotate 15 bilinear", {entry(BK_TF_ROTATE, 15, 0, 0)}, 1, 0, 0},
        {"random_rotate 20", {entry(BK_TF_RANDOM_ROTATE, 20, 0, 0)}, 1, 0, 0},
        {"random_zoom 0.2", {entry(BK_TF_RANDOM_ZOOM, 0.2, 0, 0)}, 1, 0, 0},
        {"jitter_crop 0.1", {entry(BK_TF_JITTER_CROP, 0.1, 0, 0)}, 1, 0, 0},
        {"convert_color BGR2RGB", {color}, 1, 0, 0},
        {"convert_color BGR2HSV", {hsv}, 1, 0, 0},
        {"normalize per channel", {norm}, 1, 0, 0},
        {"random_patches 16 x 16x16 (input)", {patches}, 1, 0, 0},
        {"pipeline: BGR2RGB, hflip .5, jitter .1, random_rotate 20, resize 224, normalize",
         {color, entry(BK_TF_RANDOM_HFLIP, 0.5, 0, 0), entry(BK_TF_JITTER_CROP, 0.1, 0, 0),
          entry(BK_TF_RANDOM_ROTATE, 20, 0, 0), entry(BK_TF_RESIZE, 0, 224, 224), norm}, 6, 0, 0},
        {"pipeline: hflip .5, jitter .1, resize 224, normalize",
         {entry(BK_TF_RANDOM_HFLIP, 0.5, 0, 0), entry(BK_TF_JITTER_CROP, 0.1, 0, 0),
          entry(BK_TF_RESIZE, 0, 224, 224), norm}, 4, 0, 0},
    };
    printf("%-82s %10s %12s  %s\n", "transform (one 3x375x500 float sample, 1 thread)", "ms/sample", "samples/s",
           "output");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bk_shape os;
        char sh[64];
        double ms = time_case(cases[i].t, cases[i].n, cases[i].side, cases[i].mask, img,
                              cases[i].mask ? &mask_s : &s, secs, &os);
        printf("%-82s %10.3f %12.0f  %s\n", cases[i].name, ms, 1e3 / ms, bk_shape_str(&os, sh, sizeof sh));
    }
    free(img);
    return 0;
}
