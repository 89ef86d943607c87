/* Simulated angular-streaking (CookieBox) spectrometer images for the
 * CookieNetAE denoising example.
 *
 * An image is 128 angles x 128 energy bins (1 eV per bin, 0..127 eV). An
 * X-ray pulse is a Poisson(3) number (at least one) of sub-spikes with
 * photo-electron energies around 50 eV (normal, sd 5 eV) and random
 * weights. The streaking laser shifts each sub-spike's electrons by
 * kick * cos(angle + phase): the kick (25..35 eV, i.e. 30 +- 5) is shared
 * by the image, the phase is the sub-spike's arrival time, random per
 * sub-spike. Each sub-spike's energy line shape is cos^2 (support +-w
 * eV, w random 2..4 eV); its angular yield follows the dipole anisotropy
 * 1 + beta * P2(cos(angle - axis)) (beta 0..1.5 per image). A background
 * (uniform plus a low-energy tail, 2..8% of the signal) is added.
 *
 *   Ypdf  float32 n x 128 x 128   the dense distribution, scaled to max 1
 *   Ximg  uint8   n x 128 x 128   histogram of Poisson(hits) electron hits
 *                                 drawn from Ypdf (clipped at 255)
 *   kick, beta  float32 n         the per-image streaking kick and anisotropy
 *   nspikes     uint8 n           sub-spikes per image
 *
 * Usage: cookie_sim --out=train.h5 --n=2000 --seed=1 [--hits=1500]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../common/sim_util.h"

enum { NA = 128, NE = 128, MAX_SPIKES = 16 };

/* Index of the first cdf entry > u (cdf increasing, cdf[n-1] = 1). */
static int draw(const double *cdf, int n, double u)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

int main(int argc, char **argv)
{
    const char *out = sim_opt(argc, argv, "out", NULL);
    long n = atol(sim_opt(argc, argv, "n", "1000"));
    unsigned long long seed = strtoull(sim_opt(argc, argv, "seed", "1"), NULL, 10);
    double hits = atof(sim_opt(argc, argv, "hits", "1500"));
    if (!out || n < 1 || hits <= 0) {
        fprintf(stderr, "usage: %s --out=FILE.h5 [--n=1000] [--seed=1] [--hits=1500]\n", argv[0]);
        return 2;
    }
    float *ypdf = malloc((size_t)n * NA * NE * sizeof *ypdf), *kicks = malloc((size_t)n * sizeof *kicks);
    float *betas = malloc((size_t)n * sizeof *betas);
    unsigned char *ximg = calloc((size_t)n * NA * NE, 1), *nsp = malloc((size_t)n);
    double *pdf = malloc(NA * NE * sizeof *pdf), *cdf = malloc(NA * NE * sizeof *cdf);
    if (!ypdf || !kicks || !betas || !ximg || !nsp || !pdf || !cdf) {
        fprintf(stderr, "out of memory for %ld images\n", n);
        return 1;
    }
    sim_rng rng;
    sim_rng_seed(&rng, seed);
    for (long s = 0; s < n; s++) {
        double kick = sim_uniform_in(&rng, 25.0, 35.0), beta = sim_uniform_in(&rng, 0.0, 1.5);
        double axis = sim_uniform_in(&rng, 0.0, 2 * M_PI);
        int k = (int)sim_poisson(&rng, 3.0);
        if (k < 1) k = 1;
        if (k > MAX_SPIKES) k = MAX_SPIKES;
        double e0[MAX_SPIKES], ph[MAX_SPIKES], amp[MAX_SPIKES], w[MAX_SPIKES];
        for (int i = 0; i < k; i++) {
            e0[i] = 50.0 + 5.0 * sim_normal(&rng);
            ph[i] = sim_uniform_in(&rng, 0.0, 2 * M_PI);
            amp[i] = sim_uniform_in(&rng, 0.3, 1.0);
            w[i] = sim_uniform_in(&rng, 2.0, 4.0);
        }
        double total = 0, peak = 0;
        for (int a = 0; a < NA; a++) {
            double ang = 2 * M_PI * a / NA, c = cos(ang - axis);
            double yield = 1.0 + beta * 0.5 * (3 * c * c - 1);
            for (int e = 0; e < NE; e++) {
                double v = 0;
                for (int i = 0; i < k; i++) {
                    double d = e - (e0[i] + kick * cos(ang + ph[i]));
                    if (fabs(d) < w[i]) {
                        double cs = cos(M_PI * d / (2 * w[i]));
                        v += amp[i] * cs * cs;
                    }
                }
                pdf[a * NE + e] = v * yield;
                total += v * yield;
            }
        }
        /* background: a share of the signal spread uniformly and as a tail
         * falling with energy (secondary electrons) */
        double share = sim_uniform_in(&rng, 0.02, 0.08) * total, tail = sim_uniform_in(&rng, 10.0, 30.0), bsum = 0;
        for (int e = 0; e < NE; e++) bsum += NA * (0.5 / NE + 0.5 * exp(-e / tail) / tail);
        for (int a = 0; a < NA; a++)
            for (int e = 0; e < NE; e++) {
                double *p = &pdf[a * NE + e];
                *p += share * (0.5 / NE + 0.5 * exp(-e / tail) / tail) / bsum;
                if (*p > peak) peak = *p;
            }
        double acc = 0;
        for (int i = 0; i < NA * NE; i++) {
            acc += pdf[i];
            cdf[i] = acc;
        }
        for (int i = 0; i < NA * NE; i++) {
            cdf[i] /= acc;
            ypdf[(size_t)s * NA * NE + i] = (float)(pdf[i] / peak);
        }
        cdf[NA * NE - 1] = 1.0;
        unsigned char *x = ximg + (size_t)s * NA * NE;
        for (int64_t h = sim_poisson(&rng, hits); h > 0; h--) {
            int i = draw(cdf, NA * NE, sim_uniform(&rng));
            if (x[i] < 255) x[i]++;
        }
        kicks[s] = (float)kick;
        betas[s] = (float)beta;
        nsp[s] = (unsigned char)k;
    }
    hid_t f = sim_h5_create(out);
    hsize_t d3[3] = {(hsize_t)n, NA, NE}, d1[1] = {(hsize_t)n};
    sim_h5_write(f, "Ximg", H5T_NATIVE_UINT8, 3, d3, ximg);
    sim_h5_write(f, "Ypdf", H5T_NATIVE_FLOAT, 3, d3, ypdf);
    sim_h5_write(f, "kick", H5T_NATIVE_FLOAT, 1, d1, kicks);
    sim_h5_write(f, "beta", H5T_NATIVE_FLOAT, 1, d1, betas);
    sim_h5_write(f, "nspikes", H5T_NATIVE_UINT8, 1, d1, nsp);
    if (H5Fclose(f) < 0) {
        fprintf(stderr, "%s: closing failed (disk full?)\n", out);
        return 1;
    }
    printf("wrote %ld simulated CookieBox images (128 angles x 128 energies) to %s (seed %llu)\n", n, out, seed);
    free(ypdf); free(kicks); free(betas); free(ximg); free(nsp); free(pdf); free(cdf);
    return 0;
}
