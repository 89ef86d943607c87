/* Lovasz losses (Berman, Triki & Blaschko, "The Lovasz-Softmax loss",
 * CVPR 2018): convex surrogates of the Jaccard loss, the Lovasz extension
 * of 1 - IoU evaluated at a vector of per-pixel errors e.
 *
 * The extension: sort the errors in decreasing order (permutation pi);
 * with g_k the label of the k-th pixel in that order, G = sum g,
 * J_k = 1 - (G - sum_{j<=k} g_j) / (G + sum_{j<=k} (1 - g_j)) is the
 * Jaccard loss of predicting the first k pixels as the class, and
 * loss = sum_k e_pi(k) (J_k - J_{k-1}) (J_{-1} = 0). It is piecewise
 * linear in e, and its gradient where no two errors tie is
 * dloss/de_pi(k) = J_k - J_{k-1} (the paper's lovasz_grad). Ties are
 * broken by pixel index (lower first): the value does not depend on the
 * order within a tie, and that order gives one valid subgradient.
 *
 * Both losses are computed per batch (the paper's per_image=False): all
 * pixels of all samples form one set.
 *
 * Lovasz-Softmax (several output channels; targets: one class index per
 * pixel): for each class c present in the batch's labels (the paper's
 * classes="present"), e_i = |[y_i = c] - p_ic|, with p the probabilities
 * the outputs stand for (loss.source softmax, the default: the outputs;
 * log_softmax: exp(outputs); logits: softmax over the channels); the loss
 * is the mean over the present classes. de_i/dp_ic = -1 for pixels of
 * class c, +1 for the others.
 *
 * Lovasz hinge (one output channel; targets: 0/1 mask values): the errors
 * are hinge margins e_i = 1 - x_i s_i, s_i = 2 y_i - 1, on the logit x of
 * each pixel, and the loss is the extension at max(e, 0). What brisk takes
 * as x: with loss.source "logits" the outputs themselves (end the model
 * without a sigmoid: exact, as the paper does); with "sigmoid" (the
 * default) the outputs are sigmoid probabilities p and
 * x = log(p / (1 - p)), p clamped to [1e-7, 1 - 1e-7] (within float32's
 * reach of a logit of +-16; prefer "logits"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "loss_seg.h"

typedef struct {
    double e;
    int64_t i; /* pixel */
} err_ix;

static int by_error_desc(const void *a, const void *b)
{
    const err_ix *x = a, *y = b;
    if (x->e != y->e) return x->e < y->e ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Sorts v (n errors of pixels with labels fg) and returns the extension
 * at max(e, 0) when hinge, e otherwise; w[k] := dloss/de of the k-th
 * pixel in sorted order (0 where hinge clips). */
static double extension(err_ix *v, int64_t n, const unsigned char *fg, int hinge, double *w)
{
    qsort(v, (size_t)n, sizeof *v, by_error_desc);
    double G = 0, cum_fg = 0, cum_bg = 0, prev = 0, loss = 0;
    for (int64_t i = 0; i < n; i++) G += fg[i];
    for (int64_t k = 0; k < n; k++) {
        int g = fg[v[k].i];
        cum_fg += g;
        cum_bg += 1 - g;
        /* the union is >= 1: G >= 1, or the first pixel is background */
        double jac = 1 - (G - cum_fg) / (G + cum_bg), d = jac - prev;
        prev = jac;
        int active = !hinge || v[k].e > 0;
        loss += active ? v[k].e * d : 0.0;
        w[k] = active ? d : 0.0;
    }
    return loss;
}

/* Lovasz-Softmax over p [batch, c, sp]; g (when not NULL) gets dL/dp. */
static bk_status lovasz_softmax(const double *p, const float *target, int64_t batch, int64_t c, int64_t sp,
                                err_ix *v, unsigned char *fg, double *w, double *g, double *loss)
{
    int64_t n = batch * sp, present = 0;
    int64_t *count = calloc((size_t)c, sizeof *count);
    if (!count) return bk_error(BK_ERR_NOMEM, "out of memory");
    bk_status st = BK_OK;
    for (int64_t b = 0; b < batch && !st; b++)
        for (int64_t s = 0; s < sp; s++) {
            double t;
            int64_t k;
            if ((st = bk_loss_seg_target(target, b, sp, s, c, &t, &k))) break;
            count[k]++;
        }
    for (int64_t j = 0; j < c && !st; j++) present += count[j] > 0;
    if (g) memset(g, 0, (size_t)(batch * c * sp) * sizeof *g);
    double total = 0;
    for (int64_t j = 0; j < c && !st; j++) {
        if (!count[j]) continue;
        for (int64_t i = 0; i < n; i++) {
            int64_t b = i / sp, s = i % sp;
            fg[i] = (int64_t)target[i] == j;
            v[i].e = fabs((double)fg[i] - p[(b * c + j) * sp + s]);
            v[i].i = i;
        }
        total += extension(v, n, fg, 0, w);
        if (g)
            for (int64_t k = 0; k < n; k++) {
                int64_t i = v[k].i, b = i / sp, s = i % sp;
                g[(b * c + j) * sp + s] = (fg[i] ? -w[k] : w[k]) / (double)present;
            }
    }
    free(count);
    if (!st) *loss = present ? total / (double)present : 0.0;
    return st;
}

/* Lovasz hinge over one channel; grad (when not NULL) gets dL/dout. */
static bk_status lovasz_hinge(const bk_loss *l, const float *out, const float *target, int64_t n, err_ix *v,
                              unsigned char *fg, double *w, float *grad, double *loss)
{
    int logits = bk_loss_seg_source(l, 1) == BK_SOURCE_LOGITS;
    for (int64_t i = 0; i < n; i++) {
        double y = target[i], x = out[i];
        if (y != 0 && y != 1)
            return bk_error(BK_ERR_INVALID, "target %g (pixel %lld of the batch) is not 0 or 1: the Lovasz hinge of one "
                            "output channel needs a hard mask", y, (long long)i);
        if (!logits) {
            if (!(x >= 0 && x <= 1))
                return bk_error(BK_ERR_INVALID, "output %g is not a probability; end the model with a sigmoid or set "
                                "loss.source to \"logits\"", x);
            double pc = fmin(fmax(x, 1e-7), 1 - 1e-7);
            x = log(pc) - log1p(-pc);
        }
        fg[i] = y == 1;
        v[i].e = 1 - x * (2 * y - 1);
        v[i].i = i;
    }
    *loss = extension(v, n, fg, 1, w);
    if (grad)
        for (int64_t k = 0; k < n; k++) {
            int64_t i = v[k].i;
            double d = fg[i] ? -w[k] : w[k]; /* de/dx = -s */
            if (!logits) {
                double pc = fmin(fmax((double)out[i], 1e-7), 1 - 1e-7);
                d /= pc * (1 - pc); /* dx/dp */
            }
            grad[i] = (float)d;
        }
    return BK_OK;
}

bk_status bk_loss_lovasz_compute(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp,
                                 const float *target, float *grad, double *loss)
{
    int64_t n = batch * sp, m = n > 0 ? n : 1, all = n * c > 0 ? n * c : 1;
    err_ix *v = malloc((size_t)m * sizeof *v);
    unsigned char *fg = calloc((size_t)m, 1);
    double *w = malloc((size_t)m * sizeof *w);
    double *p = c > 1 ? malloc((size_t)all * sizeof *p) : NULL, *g = c > 1 && grad ? malloc((size_t)all * sizeof *g) : NULL;
    bk_status st = !v || !fg || !w || (c > 1 && !p) || (c > 1 && grad && !g) ? bk_error(BK_ERR_NOMEM, "out of memory") : BK_OK;
    if (!st && c == 1) {
        st = lovasz_hinge(l, out, target, n, v, fg, w, grad, loss);
    } else if (!st) {
        st = bk_loss_seg_probs(l, out, batch, c, sp, p);
        if (!st) st = lovasz_softmax(p, target, batch, c, sp, v, fg, w, g, loss);
        if (!st && g) bk_loss_seg_to_outputs(l, p, g, batch, c, sp, grad);
    }
    free(v);
    free(fg);
    free(w);
    free(p);
    free(g);
    return st;
}
