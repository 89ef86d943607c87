/* Accuracy of BraggNN's predicted peak centres against the simulated truth,
 * next to classic baselines on the same (min-max scaled) patches: the
 * intensity-weighted centroid, and the same after removing the background
 * (the median of the patch's border pixels, negative values set to 0).
 *
 * Reads the test file of braggnn_sim ("centers", "patches") and, when given,
 * brisk's inference output (dataset "output", n x 2, (row, col) / 11, see
 * src/io/h5out.c). Reports the pixel error |predicted - true| (Euclidean,
 * in px) at the median, 75th and 95th percentiles -- the published figures
 * are < 0.29 px (75%) and < 0.57 px (95%) against pseudo-Voigt fits.
 *
 * Usage: braggnn_eval --test=test.h5 [--pred=pred.h5]
 * Exit status 0; 1 on unreadable or mismatched files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../common/sim_util.h"

enum { P = 11 };

static void report(const char *what, double *err, size_t n)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += err[i];
    mean /= (double)n;
    double q50 = sim_quantile(err, n, 0.50), q75 = sim_quantile(err, n, 0.75), q95 = sim_quantile(err, n, 0.95);
    printf("%-26s median %.3f px   75%% %.3f px   95%% %.3f px   (mean %.3f, %zu peaks)\n", what, q50, q75, q95,
           mean, n);
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
    float *x = sim_h5_read_float(test, "patches", &rank, dx);
    size_t n = dx[0];
    if (rank < 3 || dx[1] != P || dx[2] != P) {
        fprintf(stderr, "%s: \"patches\" is not n x 11 x 11 (x 1)\n", test);
        return 1;
    }
    float *y = sim_h5_read_float(test, "centers", &rank, dy);
    if (rank != 2 || dy[0] != n || dy[1] != 2) {
        fprintf(stderr, "%s: \"centers\" is not %zu x 2\n", test, n);
        return 1;
    }
    double *err = malloc(n * sizeof *err);
    if (!err) return 1;
    for (int sub = 0; sub < 2; sub++) {
        for (size_t s = 0; s < n; s++) {
            const float *p = x + s * P * P;
            double bg = 0, border[4 * (P - 1)];
            if (sub) {
                int k = 0;
                for (int i = 0; i < P; i++)
                    for (int j = 0; j < P; j++)
                        if (i == 0 || j == 0 || i == P - 1 || j == P - 1) border[k++] = p[i * P + j];
                bg = sim_quantile(border, (size_t)k, 0.5);
            }
            double w = 0, r = 0, c = 0;
            for (int i = 0; i < P; i++)
                for (int j = 0; j < P; j++) {
                    double v = p[i * P + j] - bg;
                    if (v <= 0) continue;
                    w += v;
                    r += v * i;
                    c += v * j;
                }
            err[s] = w > 0 ? hypot(r / w - y[2 * s] * P, c / w - y[2 * s + 1] * P) : NAN;
        }
        report(sub ? "centroid - background:" : "centroid (baseline):", err, n);
    }
    if (pred) {
        float *o = sim_h5_read_float(pred, "output", &rank, dp);
        if (dp[0] != n || rank != 2 || dp[1] != 2) {
            fprintf(stderr, "%s: \"output\" is not %zu x 2 (predictions of another test file?)\n", pred, n);
            return 1;
        }
        for (size_t s = 0; s < n; s++)
            err[s] = hypot((o[2 * s] - y[2 * s]) * P, (o[2 * s + 1] - y[2 * s + 1]) * P);
        report("BraggNN (brisk):", err, n);
        free(o);
    }
    free(err);
    free(x);
    free(y);
    return 0;
}
