/* Simulated segmentation data for the UNet example: 1 to 3 shapes (disc,
 * square, triangle; random size, position, rotation for squares and
 * triangles, brightness) on a noisy background with a smooth brightness
 * gradient. Later shapes cover earlier ones. Classes: 0 background,
 * 1 disc, 2 square, 3 triangle.
 *
 *   images        float32 n x 64 x 64 x 1   input, roughly in [0, 1]
 *   masks         uint8   n x 64 x 64       class of each pixel (NLL target)
 *   masks_onehot  uint8   n x 4 x 64 x 64   the same, one-hot, channel-first
 *                                           (brisk's internal output layout,
 *                                           for a Dice loss)
 *
 * Usage: unet_sim --out=train.h5 --n=2000 --seed=1 [--noise=0.15]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../common/sim_util.h"

enum { S = 64, CLASSES = 4 };

/* 1 when (x, y) lies inside the shape of class cls centred at (cx, cy)
 * with size r and rotation th. */
static int inside(int cls, double x, double y, double cx, double cy, double r, double th)
{
    double dx = x - cx, dy = y - cy;
    double u = cos(th) * dx + sin(th) * dy, v = -sin(th) * dx + cos(th) * dy;
    if (cls == 1) return dx * dx + dy * dy <= r * r;
    if (cls == 2) return fabs(u) <= r * 0.85 && fabs(v) <= r * 0.85;
    /* equilateral triangle with circumradius 1.4 r (about the area of the
     * disc and square): inside all three edges */
    for (int k = 0; k < 3; k++) {
        double a = th + 2 * M_PI * k / 3 + M_PI / 2;
        if (dx * cos(a) + dy * sin(a) > r * 0.7) return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *out = sim_opt(argc, argv, "out", NULL);
    long n = atol(sim_opt(argc, argv, "n", "1000"));
    unsigned long long seed = strtoull(sim_opt(argc, argv, "seed", "1"), NULL, 10);
    double noise = atof(sim_opt(argc, argv, "noise", "0.15"));
    if (!out || n < 1) {
        fprintf(stderr, "usage: %s --out=FILE.h5 [--n=1000] [--seed=1] [--noise=0.15]\n", argv[0]);
        return 2;
    }
    float *img = malloc((size_t)n * S * S * sizeof *img);
    unsigned char *mask = calloc((size_t)n * S * S, 1), *hot = calloc((size_t)n * CLASSES * S * S, 1);
    if (!img || !mask || !hot) {
        fprintf(stderr, "out of memory for %ld images\n", n);
        return 1;
    }
    sim_rng rng;
    sim_rng_seed(&rng, seed);
    for (long s = 0; s < n; s++) {
        float *im = img + (size_t)s * S * S;
        unsigned char *m = mask + (size_t)s * S * S;
        double base = sim_uniform_in(&rng, 0.1, 0.3), gx = sim_uniform_in(&rng, -0.1, 0.1),
               gy = sim_uniform_in(&rng, -0.1, 0.1);
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) im[i * S + j] = (float)(base + gx * (j - S / 2) / S + gy * (i - S / 2) / S);
        int shapes = sim_int(&rng, 1, 3);
        for (int k = 0; k < shapes; k++) {
            int cls = sim_int(&rng, 1, 3);
            double r = sim_uniform_in(&rng, 5.0, 13.0), th = sim_uniform_in(&rng, 0, 2 * M_PI);
            double cx = sim_uniform_in(&rng, r, S - r), cy = sim_uniform_in(&rng, r, S - r);
            double level = sim_uniform_in(&rng, 0.45, 0.9);
            for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++)
                    if (inside(cls, j, i, cx, cy, r, th)) {
                        im[i * S + j] = (float)level;
                        m[i * S + j] = (unsigned char)cls;
                    }
        }
        for (int i = 0; i < S * S; i++) {
            im[i] += (float)(noise * sim_normal(&rng));
            hot[((size_t)s * CLASSES + m[i]) * S * S + i] = 1;
        }
    }
    hid_t f = sim_h5_create(out);
    hsize_t di[4] = {(hsize_t)n, S, S, 1}, dm[3] = {(hsize_t)n, S, S}, dh[4] = {(hsize_t)n, CLASSES, S, S};
    sim_h5_write(f, "images", H5T_NATIVE_FLOAT, 4, di, img);
    sim_h5_write(f, "masks", H5T_NATIVE_UINT8, 3, dm, mask);
    sim_h5_write(f, "masks_onehot", H5T_NATIVE_UINT8, 4, dh, hot);
    if (H5Fclose(f) < 0) {
        fprintf(stderr, "%s: closing failed (disk full?)\n", out);
        return 1;
    }
    printf("wrote %ld simulated 64x64 shape images with masks to %s (seed %llu)\n", n, out, seed);
    free(img); free(mask); free(hot);
    return 0;
}
