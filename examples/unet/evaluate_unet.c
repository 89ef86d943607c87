/* Dice scores of the UNet's segmentation of the simulated shapes, and of a
 * classic baseline: thresholding the image (at the level, from a fixed
 * list, that scores best on the test set itself, so the baseline is if
 * anything favoured), which finds the shapes but cannot tell them apart.
 *
 * Reads the test file of unet_sim and, when given, brisk's inference output
 * (dataset "output", n x 4 x 64 x 64 per-pixel log-probabilities, as
 * src/io/h5out.c writes brisk's channel-first outputs; n x 64 x 64 x 4,
 * channels_last, is read too). Dice = 2 |P and T| / (|P| + |T|) over the whole test set.
 *
 * Usage: unet_eval --test=test.h5 [--pred=predictions.h5]
 */
#include <stdio.h>
#include <stdlib.h>
#include "../common/sim_util.h"

enum { S = 64, CLASSES = 4 };
static const char *const names[CLASSES] = {"background", "disc", "square", "triangle"};

static double dice(double inter, double p, double t) { return p + t > 0 ? 2 * inter / (p + t) : 1.0; }

int main(int argc, char **argv)
{
    const char *test = sim_opt(argc, argv, "test", NULL), *pred = sim_opt(argc, argv, "pred", NULL);
    if (!test) {
        fprintf(stderr, "usage: %s --test=test.h5 [--pred=predictions.h5]\n", argv[0]);
        return 2;
    }
    int rank;
    hsize_t dx[8], dm[8], dp[8];
    float *x = sim_h5_read_float(test, "images", &rank, dx);
    float *m = sim_h5_read_float(test, "masks", &rank, dm);
    size_t n = dx[0], px = (size_t)S * S;
    if (dx[1] != S || dx[2] != S || dm[0] != n || dm[1] != S || dm[2] != S) {
        fprintf(stderr, "%s: images must be n x 64 x 64 (x 1) and masks n x 64 x 64\n", test);
        return 1;
    }
    double best = -1, best_t = 0;
    for (double t = 0.30; t < 0.61; t += 0.05) {
        double inter = 0, p = 0, tt = 0;
        for (size_t i = 0; i < n * px; i++) {
            int fp = x[i] > t, ft = m[i] > 0;
            inter += fp && ft;
            p += fp;
            tt += ft;
        }
        if (dice(inter, p, tt) > best) best = dice(inter, p, tt), best_t = t;
    }
    printf("threshold at %.2f (baseline): foreground Dice %.3f (shapes not told apart)\n", best_t, best);
    if (pred) {
        float *o = sim_h5_read_float(pred, "output", &rank, dp);
        int first = rank == 4 && dp[0] == n && dp[1] == CLASSES && dp[2] == S && dp[3] == S;
        int last = rank == 4 && dp[0] == n && dp[1] == S && dp[2] == S && dp[3] == CLASSES;
        if (!first && !last) {
            fprintf(stderr, "%s: \"output\" is neither %zu x 4 x 64 x 64 nor %zu x 64 x 64 x 4\n", pred, n, n);
            return 1;
        }
        /* element strides of the class and pixel axes */
        size_t cs = first ? px : 1, ps = first ? 1 : CLASSES;
        double inter[CLASSES] = {0}, p[CLASSES] = {0}, t[CLASSES] = {0}, fg[3] = {0};
        for (size_t s = 0; s < n; s++)
            for (size_t i = 0; i < px; i++) {
                int arg = 0;
                for (int c = 1; c < CLASSES; c++)
                    if (o[s * CLASSES * px + c * cs + i * ps] > o[s * CLASSES * px + arg * cs + i * ps]) arg = c;
                int truth = (int)m[s * px + i];
                inter[arg] += arg == truth;
                p[arg]++;
                t[truth]++;
                fg[0] += arg > 0 && truth > 0;
                fg[1] += arg > 0;
                fg[2] += truth > 0;
            }
        double mean = 0;
        printf("UNet (brisk):               foreground Dice %.3f\n", dice(fg[0], fg[1], fg[2]));
        for (int c = 0; c < CLASSES; c++) {
            printf("  %-10s Dice %.3f\n", names[c], dice(inter[c], p[c], t[c]));
            if (c) mean += dice(inter[c], p[c], t[c]) / (CLASSES - 1);
        }
        printf("  mean Dice over the three shape classes: %.3f\n", mean);
        free(o);
    }
    free(x);
    free(m);
    return 0;
}
