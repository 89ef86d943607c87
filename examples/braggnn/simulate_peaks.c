/* Simulated Bragg peaks for the BraggNN example, with a known true centre.
 *
 * Each sample is one 2D pseudo-Voigt peak, eta * Lorentzian + (1 - eta) *
 * Gaussian, with a random sub-pixel centre, widths (per axis), mixing eta,
 * amplitude and background, integrated over each pixel (3x3 sub-samples),
 * then detector noise: Poisson counting noise and Gaussian read noise.
 * Diffraction frames are crowded: with probability --crowding (default
 * 0.5) a neighbouring peak 4 to 7 px away, 10-80% as bright, reaches into
 * the patch. It is what biases centroid estimates on real frames; the
 * target stays the centre of the patch's own peak.
 * An 11x11 patch is cropped around the integer peak position (the pixel
 * holding the true centre), shifted by a random -1..1 px per axis as the
 * published training does, and min-max scaled to [0, 1].
 *
 * Pixel (i, j) of a patch is centred at (i, j); the target is the true
 * centre in patch coordinates divided by the patch size, (row, col) / 11,
 * as BraggNN predicts it.
 *
 * Output (HDF5):
 *   patches     float32 n x 11 x 11 x 1   network input (channels_last)
 *   centers     float32 n x 2             target (row, col) / 11
 *   peak_fidx   uint32  n                 frame index of each peak (the
 *                                         published layout; one peak per
 *                                         simulated frame here)
 *   peak_row, peak_col  float32 n         true centre in frame coordinates
 *   npeaks      uint16  n                 peaks in the patch's frame (1, or 2
 *                                         with a neighbour)
 *   deviations  float32 n                 distance (px) of the true centre
 *                                         from the patch's centre pixel
 *   patch_origin int32  n x 2             frame (row, col) of patch pixel (0, 0)
 *   peak_params float32 n x 7             amplitude, background, eta,
 *                                         sigma_row, sigma_col, gamma_row,
 *                                         gamma_col (px)
 * The simulated frames themselves (2048 x 2048 in the published files) are
 * not stored: only the patches are used.
 *
 * Usage: braggnn_sim --out=train.h5 --n=40000 --seed=1
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../common/sim_util.h"

enum { P = 11, HALF = 5, FRAME = 2048, SUB = 3 };

typedef struct {
    double r0, c0, amp, bg, eta, sr, sc, gr, gc;
} peak;

static double profile(const peak *k, double r, double c)
{
    double dr = r - k->r0, dc = c - k->c0;
    double g = exp(-0.5 * (dr * dr / (k->sr * k->sr) + dc * dc / (k->sc * k->sc)));
    double l = 1.0 / (1.0 + dr * dr / (k->gr * k->gr) + dc * dc / (k->gc * k->gc));
    return k->eta * l + (1.0 - k->eta) * g;
}

/* Expected counts of pixel (r, c): the profiles of the n peaks averaged
 * over the pixel, on the first peak's background. */
static double pixel_mean(const peak *k, int n, int r, int c)
{
    double v = k[0].bg;
    for (int p = 0; p < n; p++) {
        double s = 0;
        for (int i = 0; i < SUB; i++)
            for (int j = 0; j < SUB; j++)
                s += profile(&k[p], r + (i + 0.5) / SUB - 0.5, c + (j + 0.5) / SUB - 0.5);
        v += k[p].amp * s / (SUB * SUB);
    }
    return v;
}

/* Random shape parameters of a peak (widths, mixing). */
static void random_shape(sim_rng *rng, peak *k)
{
    k->eta = sim_uniform(rng);
    k->sr = sim_uniform_in(rng, 0.6, 1.6);
    k->sc = sim_uniform_in(rng, 0.6, 1.6);
    /* Lorentzian HWHM = the Gaussian's HWHM (sigma sqrt(2 ln 2)) times a jitter */
    k->gr = k->sr * 1.1774 * sim_uniform_in(rng, 0.8, 1.25);
    k->gc = k->sc * 1.1774 * sim_uniform_in(rng, 0.8, 1.25);
}

int main(int argc, char **argv)
{
    const char *out = sim_opt(argc, argv, "out", NULL);
    long n = atol(sim_opt(argc, argv, "n", "10000"));
    unsigned long long seed = strtoull(sim_opt(argc, argv, "seed", "1"), NULL, 10);
    double read_noise = atof(sim_opt(argc, argv, "read_noise", "2.0"));
    double crowding = atof(sim_opt(argc, argv, "crowding", "0.5"));
    if (!out || n < 1 || crowding < 0 || crowding > 1) {
        fprintf(stderr, "usage: %s --out=FILE.h5 [--n=10000] [--seed=1] [--read_noise=2.0] [--crowding=0.5 (0..1)]\n",
                argv[0]);
        return 2;
    }
    float *x = malloc((size_t)n * P * P * sizeof *x), *y = malloc((size_t)n * 2 * sizeof *y);
    float *prow = malloc((size_t)n * sizeof *prow), *pcol = malloc((size_t)n * sizeof *pcol);
    float *dev = malloc((size_t)n * sizeof *dev), *par = malloc((size_t)n * 7 * sizeof *par);
    unsigned *fidx = malloc((size_t)n * sizeof *fidx);
    unsigned short *np = malloc((size_t)n * sizeof *np);
    int *orig = malloc((size_t)n * 2 * sizeof *orig);
    if (!x || !y || !prow || !pcol || !dev || !par || !fidx || !np || !orig) {
        fprintf(stderr, "out of memory for %ld peaks\n", n);
        return 1;
    }
    sim_rng rng;
    sim_rng_seed(&rng, seed);
    for (long s = 0; s < n; s++) {
        peak k;
        int ir = sim_int(&rng, 16, FRAME - 17), ic = sim_int(&rng, 16, FRAME - 17);
        k.r0 = ir + sim_uniform_in(&rng, -0.5, 0.5);
        k.c0 = ic + sim_uniform_in(&rng, -0.5, 0.5);
        k.amp = exp(sim_uniform_in(&rng, log(100.0), log(3000.0)));
        k.bg = sim_uniform_in(&rng, 2.0, 40.0);
        random_shape(&rng, &k);
        peak both[2] = {k, k};
        int npk = 1;
        if (sim_uniform(&rng) < crowding) {
            double angle = sim_uniform_in(&rng, 0, 6.283185307179586), dist = sim_uniform_in(&rng, 4.0, 7.0);
            both[1].r0 = k.r0 + dist * sin(angle);
            both[1].c0 = k.c0 + dist * cos(angle);
            both[1].amp = k.amp * sim_uniform_in(&rng, 0.1, 0.8);
            random_shape(&rng, &both[1]);
            npk = 2;
        }
        int top = ir - HALF + sim_int(&rng, -1, 1), left = ic - HALF + sim_int(&rng, -1, 1);
        float *px = x + s * P * P;
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < P; i++)
            for (int j = 0; j < P; j++) {
                double v = (double)sim_poisson(&rng, pixel_mean(both, npk, top + i, left + j)) + read_noise * sim_normal(&rng);
                px[i * P + j] = (float)v;
                if (v < lo) lo = (float)v;
                if (v > hi) hi = (float)v;
            }
        float span = hi > lo ? hi - lo : 1.0f;
        for (int i = 0; i < P * P; i++) px[i] = (px[i] - lo) / span;
        double tr = k.r0 - top, tc = k.c0 - left;
        y[2 * s] = (float)(tr / P);
        y[2 * s + 1] = (float)(tc / P);
        prow[s] = (float)k.r0;
        pcol[s] = (float)k.c0;
        dev[s] = (float)hypot(tr - HALF, tc - HALF);
        fidx[s] = (unsigned)s;
        np[s] = (unsigned short)npk;
        orig[2 * s] = top;
        orig[2 * s + 1] = left;
        float pp[7] = {(float)k.amp, (float)k.bg, (float)k.eta, (float)k.sr, (float)k.sc, (float)k.gr, (float)k.gc};
        for (int i = 0; i < 7; i++) par[7 * s + i] = pp[i];
    }
    hid_t f = sim_h5_create(out);
    hsize_t dx[4] = {(hsize_t)n, P, P, 1}, d2[2] = {(hsize_t)n, 2}, d1[1] = {(hsize_t)n}, d7[2] = {(hsize_t)n, 7};
    sim_h5_write(f, "patches", H5T_NATIVE_FLOAT, 4, dx, x);
    sim_h5_write(f, "centers", H5T_NATIVE_FLOAT, 2, d2, y);
    sim_h5_write(f, "peak_fidx", H5T_NATIVE_UINT32, 1, d1, fidx);
    sim_h5_write(f, "peak_row", H5T_NATIVE_FLOAT, 1, d1, prow);
    sim_h5_write(f, "peak_col", H5T_NATIVE_FLOAT, 1, d1, pcol);
    sim_h5_write(f, "npeaks", H5T_NATIVE_UINT16, 1, d1, np);
    sim_h5_write(f, "deviations", H5T_NATIVE_FLOAT, 1, d1, dev);
    sim_h5_write(f, "patch_origin", H5T_NATIVE_INT32, 2, d2, orig);
    sim_h5_write(f, "peak_params", H5T_NATIVE_FLOAT, 2, d7, par);
    if (H5Fclose(f) < 0) {
        fprintf(stderr, "%s: closing failed (disk full?)\n", out);
        return 1;
    }
    printf("wrote %ld simulated Bragg peaks (11x11 patches) to %s (seed %llu)\n", n, out, seed);
    free(x); free(y); free(prow); free(pcol); free(dev); free(par); free(fidx); free(np); free(orig);
    return 0;
}
