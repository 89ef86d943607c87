/* Test MSE of CookieNetAE's denoised images against the true distribution
 * Ypdf, next to a classic baseline computed from the same input: the hit
 * histogram Ximg smoothed with a Gaussian (periodic along the angle axis,
 * truncated at the energy edges) and scaled to max 1, as Ypdf is. The
 * baseline's width is the best of a few (1, 1.5, 2, 3 px), chosen on the
 * test set itself, so the baseline is if anything favoured.
 *
 * Reads the test file of cookie_sim and, when given, brisk's inference
 * output (dataset "output", n x 1 x 128 x 128, see src/io/h5out.c).
 *
 * Usage: cookie_eval --test=test.h5 [--pred=predictions.h5]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/sim_util.h"

enum { NA = 128, NE = 128, R = 9 };

/* Separable Gaussian smoothing of one image into out, then max-scaled. */
static void smooth(const float *x, double *tmp, double *out, double sigma)
{
    double k[2 * R + 1], ks = 0;
    for (int i = -R; i <= R; i++) ks += k[i + R] = exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * R; i++) k[i] /= ks;
    for (int a = 0; a < NA; a++)
        for (int e = 0; e < NE; e++) {
            double v = 0, wsum = 0;
            for (int i = -R; i <= R; i++)
                if (e + i >= 0 && e + i < NE) {
                    v += k[i + R] * x[a * NE + e + i];
                    wsum += k[i + R];
                }
            tmp[a * NE + e] = v / wsum;
        }
    double peak = 0;
    for (int a = 0; a < NA; a++)
        for (int e = 0; e < NE; e++) {
            double v = 0;
            for (int i = -R; i <= R; i++) v += k[i + R] * tmp[((a + i + NA) % NA) * NE + e];
            out[a * NE + e] = v;
            if (v > peak) peak = v;
        }
    if (peak > 0)
        for (int i = 0; i < NA * NE; i++) out[i] /= peak;
}

int main(int argc, char **argv)
{
    const char *test = sim_opt(argc, argv, "test", NULL), *pred = sim_opt(argc, argv, "pred", NULL);
    if (!test) {
        fprintf(stderr, "usage: %s --test=test.h5 [--pred=predictions.h5]\n", argv[0]);
        return 2;
    }
    int rank;
    hsize_t dx[8], dy[8], dp[8];
    float *x = sim_h5_read_float(test, "Ximg", &rank, dx);
    float *y = sim_h5_read_float(test, "Ypdf", &rank, dy);
    size_t n = dx[0], px = (size_t)NA * NE;
    if (dx[1] != NA || dx[2] != NE || dy[0] != n || dy[1] != NA || dy[2] != NE) {
        fprintf(stderr, "%s: Ximg and Ypdf must both be n x 128 x 128\n", test);
        return 1;
    }
    double zero = 0;
    for (size_t i = 0; i < n * px; i++) zero += (double)y[i] * y[i];
    printf("%-34s MSE %.3e\n", "all-zero prediction (scale):", zero / (double)(n * px));
    double *tmp = malloc(px * sizeof *tmp), *sm = malloc(px * sizeof *sm);
    if (!tmp || !sm) return 1;
    const double sigmas[] = {1.0, 1.5, 2.0, 3.0};
    double best = INFINITY, best_sigma = 0;
    for (size_t k = 0; k < sizeof sigmas / sizeof *sigmas; k++) {
        double se = 0;
        for (size_t s = 0; s < n; s++) {
            smooth(x + s * px, tmp, sm, sigmas[k]);
            for (size_t i = 0; i < px; i++) se += (sm[i] - y[s * px + i]) * (sm[i] - y[s * px + i]);
        }
        se /= (double)(n * px);
        if (se < best) best = se, best_sigma = sigmas[k];
    }
    char what[64];
    snprintf(what, sizeof what, "smoothed input (sigma %.1f px):", best_sigma);
    printf("%-34s MSE %.3e\n", what, best);
    if (pred) {
        float *o = sim_h5_read_float(pred, "output", &rank, dp);
        size_t per = 1;
        for (int i = 1; i < rank; i++) per *= dp[i];
        if (dp[0] != n || per != px) {
            fprintf(stderr, "%s: \"output\" does not hold %zu images of 128 x 128\n", pred, n);
            return 1;
        }
        double se = 0;
        for (size_t i = 0; i < n * px; i++) se += ((double)o[i] - y[i]) * ((double)o[i] - y[i]);
        printf("%-34s MSE %.3e\n", "CookieNetAE (brisk):", se / (double)(n * px));
        free(o);
    }
    free(tmp); free(sm); free(x); free(y);
    return 0;
}
