/* Segmentation losses: soft Dice, soft Jaccard and Focal, on outputs
 * [batch, C, S] (S: the flattened spatial size, 1 for a plain classifier).
 *
 * Targets: with C > 1, one class index per pixel ([batch, S]); with C = 1,
 * one value in [0, 1] per pixel (the mask, soft values allowed).
 *
 * `source` says what the outputs are: probabilities (sigmoid for C = 1,
 * softmax over channels for C > 1; the default), log-probabilities
 * (log_softmax, C > 1) or logits (sigmoid or softmax applied here). Each
 * loss is written in the probabilities p; the gradient is taken to the
 * outputs through p's Jacobian (identity, p, p(1-p), or softmax's).
 *
 * Dice:    per class k, over the whole batch, I = sum p t, P = sum p,
 *          T = sum t; dice_k = (2 I + s) / (P + T + s); loss = 1 - mean_k.
 * Jaccard: jac_k = (I + s) / (P + T - I + s); loss = 1 - mean_k.
 *          s (`smooth`, default 1) keeps a class absent from both the
 *          prediction and the labels from dividing by zero (its score is 1)
 *          and softens the gradient of small regions. With C = 1 the one
 *          class is the foreground.
 * Focal (Lin et al. 2017):
 *   C = 1: mean over pixels of a_t (1 - p_t)^gamma BCE(p, t), with
 *          p_t = p t + (1-p)(1-t), a_t = alpha t + (1-alpha)(1-t) (no a_t
 *          when alpha < 0): torchvision.ops.sigmoid_focal_loss.
 *   C > 1: sum_i w_i (1 - p_i)^gamma (-log p_i) / sum_i w_i, p_i the
 *          probability of pixel i's class, w_i its class weight (1 without
 *          `weight`): with gamma 0 exactly NLL / cross-entropy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "loss_seg.h"

/* log of a probability given as such; PyTorch's BCE clamps at -100 too */
static double safe_log(double p) { return p > 0 ? fmax(log(p), -100.0) : -100.0; }

static bk_loss_source source_of(const bk_loss *l, int64_t c)
{
    if (l->source == BK_SOURCE_DEFAULT) return c == 1 ? BK_SOURCE_SIGMOID : BK_SOURCE_SOFTMAX;
    return l->source;
}

/* Reads the target of (b, s): a class index in [0, c) when c > 1, a mask
 * value in [0, 1] when c == 1. */
static bk_status target_at(const float *target, int64_t b, int64_t sp, int64_t s, int64_t c, double *t, int64_t *k)
{
    float v = target[b * sp + s];
    if (c == 1) {
        if (!(v >= 0 && v <= 1))
            return bk_error(BK_ERR_INVALID, "target %g (sample %lld) is not a mask value in [0, 1] (one output channel)",
                            (double)v, (long long)b);
        *t = v;
        *k = 0;
        return BK_OK;
    }
    *k = (int64_t)v;
    if (v != (float)*k || *k < 0 || *k >= c)
        return bk_error(BK_ERR_INVALID, "target class %g (sample %lld) is not an integer in [0, %lld): the model has %lld outputs",
                        (double)v, (long long)b, (long long)c, (long long)c);
    return BK_OK;
}

/* p = the probabilities the outputs stand for, [batch, c, sp]. */
static bk_status probabilities(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp, double *p)
{
    bk_loss_source src = source_of(l, c);
    int64_t n = batch * c * sp;
    switch (src) {
    case BK_SOURCE_SIGMOID:
    case BK_SOURCE_SOFTMAX:
        for (int64_t i = 0; i < n; i++) {
            if (!(out[i] >= 0 && out[i] <= 1))
                return bk_error(BK_ERR_INVALID, "output %g is not a probability; end the model with a %s or set loss.source "
                                "to \"logits\" (or \"log_softmax\")", (double)out[i], c == 1 ? "sigmoid" : "softmax");
            p[i] = out[i];
        }
        return BK_OK;
    case BK_SOURCE_LOG_SOFTMAX:
        for (int64_t i = 0; i < n; i++) p[i] = exp((double)out[i]);
        return BK_OK;
    case BK_SOURCE_LOGITS:
        if (c == 1) {
            for (int64_t i = 0; i < n; i++) p[i] = 1 / (1 + exp(-(double)out[i]));
            return BK_OK;
        }
        for (int64_t b = 0; b < batch; b++)
            for (int64_t s = 0; s < sp; s++) {
                const float *x = out + b * c * sp + s;
                double mx = x[0], se = 0;
                for (int64_t j = 1; j < c; j++) mx = fmax(mx, x[j * sp]);
                for (int64_t j = 0; j < c; j++) se += exp(x[j * sp] - mx);
                for (int64_t j = 0; j < c; j++) p[b * c * sp + j * sp + s] = exp(x[j * sp] - mx) / se;
            }
        return BK_OK;
    case BK_SOURCE_DEFAULT:
        break;
    }
    return bk_error(BK_ERR_INTERNAL, "loss source not resolved");
}

/* grad := (dL/dp) pushed through p's Jacobian w.r.t. the outputs; g holds
 * dL/dp and is overwritten. */
static void to_outputs(bk_loss_source src, const double *p, double *g, int64_t batch, int64_t c, int64_t sp, float *grad)
{
    int64_t n = batch * c * sp;
    if (src == BK_SOURCE_LOGITS && c > 1) {
        for (int64_t b = 0; b < batch; b++)
            for (int64_t s = 0; s < sp; s++) {
                int64_t o = b * c * sp + s;
                double dot = 0;
                for (int64_t j = 0; j < c; j++) dot += g[o + j * sp] * p[o + j * sp];
                for (int64_t j = 0; j < c; j++) g[o + j * sp] = p[o + j * sp] * (g[o + j * sp] - dot);
            }
    } else if (src == BK_SOURCE_LOGITS) {
        for (int64_t i = 0; i < n; i++) g[i] *= p[i] * (1 - p[i]);
    } else if (src == BK_SOURCE_LOG_SOFTMAX) {
        for (int64_t i = 0; i < n; i++) g[i] *= p[i];
    }
    for (int64_t i = 0; i < n; i++) grad[i] = (float)g[i];
}

/* Dice or Jaccard; g (when not NULL) receives dL/dp. */
static bk_status overlap(const bk_loss *l, const double *p, const float *target, int64_t batch, int64_t c, int64_t sp,
                         double *g, double *loss)
{
    double *acc = calloc((size_t)(3 * c), sizeof *acc); /* I, P, T per class */
    if (!acc) return bk_error(BK_ERR_NOMEM, "out of memory");
    double *I = acc, *P = acc + c, *T = acc + 2 * c, s = l->smooth;
    bk_status st = BK_OK;
    for (int64_t b = 0; b < batch && !st; b++)
        for (int64_t i = 0; i < sp && !st; i++) {
            double t;
            int64_t k;
            if ((st = target_at(target, b, sp, i, c, &t, &k))) break;
            for (int64_t j = 0; j < c; j++) {
                double pj = p[(b * c + j) * sp + i], tj = c == 1 ? t : (double)(j == k);
                I[j] += pj * tj;
                P[j] += pj;
                T[j] += tj;
            }
        }
    if (st) { free(acc); return st; }
    int jac = l->kind == BK_LOSS_JACCARD;
    double score = 0;
    for (int64_t j = 0; j < c; j++)
        score += jac ? (I[j] + s) / (P[j] + T[j] - I[j] + s) : (2 * I[j] + s) / (P[j] + T[j] + s);
    *loss = 1 - score / (double)c;
    if (g)
        for (int64_t b = 0; b < batch; b++)
            for (int64_t i = 0; i < sp; i++) {
                double t;
                int64_t k;
                target_at(target, b, sp, i, c, &t, &k); /* checked above */
                for (int64_t j = 0; j < c; j++) {
                    double tj = c == 1 ? t : (double)(j == k), d;
                    if (jac) {
                        double u = P[j] + T[j] - I[j] + s;
                        d = (tj * u - (I[j] + s) * (1 - tj)) / (u * u);
                    } else {
                        double u = P[j] + T[j] + s;
                        d = (2 * tj * u - (2 * I[j] + s)) / (u * u);
                    }
                    g[(b * c + j) * sp + i] = -d / (double)c;
                }
            }
    free(acc);
    return BK_OK;
}

/* (1 - q)^gamma and its derivative w.r.t. q, with 0^(gamma-1) * 0 read as
 * its limit 0 (the derivative term is multiplied by something that
 * vanishes with 1 - q). */
static double focus(double q, double gamma, double *dq)
{
    double r = 1 - q;
    if (r <= 0) { *dq = 0; return gamma == 0 ? 1 : 0; }
    *dq = gamma == 0 ? 0 : -gamma * pow(r, gamma - 1);
    return pow(r, gamma);
}

/* Binary focal on p (from sigmoid or logits); g receives dL/dx directly
 * for logits (dBCE/dx = p - t stays finite where p saturates) and dL/dp
 * otherwise. */
static bk_status focal_binary(const bk_loss *l, const float *out, const double *p, const float *target, int64_t n,
                              int logits, double *g, double *loss)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        double t = 0, pi = p[i], lp, l1p;
        int64_t k;
        bk_status st = target_at(target, i, 1, 0, 1, &t, &k);
        if (st) return st;
        if (logits) {
            double x = out[i]; /* log sigmoid(x) = -softplus(-x) */
            lp = -(fmax(-x, 0) + log1p(exp(-fabs(x))));
            l1p = -(fmax(x, 0) + log1p(exp(-fabs(x))));
        } else {
            lp = safe_log(pi);
            l1p = safe_log(1 - pi);
        }
        double ce = -(t * lp + (1 - t) * l1p), pt = pi * t + (1 - pi) * (1 - t), dw;
        double w = focus(pt, l->gamma, &dw);
        double at = l->alpha >= 0 ? l->alpha * t + (1 - l->alpha) * (1 - t) : 1.0;
        total += at * w * ce;
        if (g) {
            /* dpt/dp = 2t - 1 */
            if (logits) {
                g[i] = at * (dw * (2 * t - 1) * pi * (1 - pi) * ce + w * (pi - t)) / (double)n;
            } else {
                double pc = fmin(fmax(pi, 1e-12), 1 - 1e-12);
                g[i] = at * (dw * (2 * t - 1) * ce + w * (pc - t) / (pc * (1 - pc))) / (double)n;
            }
        }
    }
    *loss = total / (double)n;
    return BK_OK;
}

/* log p of pixel (o + k sp)'s class, from the outputs where they are logs */
static double class_log_prob(bk_loss_source src, const float *out, const double *p, int64_t ok)
{
    if (src == BK_SOURCE_LOG_SOFTMAX) return out[ok];
    return src == BK_SOURCE_LOGITS ? log(p[ok]) : safe_log(p[ok]);
}

/* Multi-class focal; g receives dL/dx (the outputs) directly. */
static bk_status focal_multi(const bk_loss *l, bk_loss_source src, const float *out, const double *p,
                             const float *target, int64_t batch, int64_t c, int64_t sp, double *g, double *loss)
{
    double num = 0, den = 0, dw;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t s = 0; s < sp; s++) {
            double t;
            int64_t k;
            bk_status st = target_at(target, b, sp, s, c, &t, &k);
            if (st) return st;
            double lp = class_log_prob(src, out, p, b * c * sp + s + k * sp), w = l->class_weight ? l->class_weight[k] : 1.0;
            num -= w * focus(exp(lp), l->gamma, &dw) * lp;
            den += w;
        }
    if (den <= 0) return bk_error(BK_ERR_INVALID, "Focal: the class weights of this batch sum to 0");
    *loss = num / den;
    if (!g) return BK_OK;
    memset(g, 0, (size_t)(batch * c * sp) * sizeof *g);
    for (int64_t b = 0; b < batch; b++)
        for (int64_t s = 0; s < sp; s++) {
            int64_t k = (int64_t)target[b * sp + s], o = b * c * sp + s, ok = o + k * sp;
            double lp = class_log_prob(src, out, p, ok), pt = exp(lp), w = l->class_weight ? l->class_weight[k] : 1.0;
            double f = focus(pt, l->gamma, &dw);
            double dlp = -w * (dw * pt * lp + f) / den; /* d(-w f(pt) lp)/dlp, dpt/dlp = pt */
            if (src == BK_SOURCE_LOG_SOFTMAX) g[ok] = dlp;
            else if (src == BK_SOURCE_LOGITS)
                for (int64_t j = 0; j < c; j++) g[o + j * sp] = dlp * ((j == k) - p[o + j * sp]);
            else g[ok] = dlp / fmax(p[ok], 1e-12);
        }
    return BK_OK;
}

bk_status bk_loss_seg_compute(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp,
                              const float *target, float *grad, double *loss)
{
    bk_loss_source src = source_of(l, c);
    if (c == 1 && (src == BK_SOURCE_SOFTMAX || src == BK_SOURCE_LOG_SOFTMAX))
        return bk_error(BK_ERR_INVALID, "loss source \"%s\" over one output channel is constant; use \"sigmoid\" or "
                        "\"logits\", or give the model one output channel per class",
                        src == BK_SOURCE_SOFTMAX ? "softmax" : "log_softmax");
    if (c == 1 && l->class_weight)
        return bk_error(BK_ERR_INVALID, "loss weight: per-class weights need one output channel per class; a one-channel "
                        "(binary) Focal loss weighs positives with \"alpha\"");
    if (l->kind == BK_LOSS_LOVASZ) return bk_loss_lovasz_compute(l, out, batch, c, sp, target, grad, loss);
    int64_t n = batch * c * sp;
    double *p = malloc((size_t)(n ? n : 1) * sizeof *p), *g = grad ? malloc((size_t)(n ? n : 1) * sizeof *g) : NULL;
    bk_status st = !p || (grad && !g) ? bk_error(BK_ERR_NOMEM, "out of memory") : BK_OK;
    if (!st) st = probabilities(l, out, batch, c, sp, p);
    if (!st && l->kind != BK_LOSS_FOCAL) {
        st = overlap(l, p, target, batch, c, sp, g, loss);
        if (!st && g) to_outputs(src, p, g, batch, c, sp, grad);
    } else if (!st && c == 1) {
        st = focal_binary(l, out, p, target, n, src == BK_SOURCE_LOGITS, g, loss);
        /* logits: g is already dL/dx */
        if (!st && g) to_outputs(src == BK_SOURCE_LOGITS ? BK_SOURCE_SIGMOID : src, p, g, batch, c, sp, grad);
    } else if (!st) {
        st = focal_multi(l, src, out, p, target, batch, c, sp, g, loss);
        if (!st && g) for (int64_t i = 0; i < n; i++) grad[i] = (float)g[i];
    }
    free(p);
    free(g);
    return st;
}

bk_loss_source bk_loss_seg_source(const bk_loss *l, int64_t c) { return source_of(l, c); }

bk_status bk_loss_seg_probs(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp, double *p)
{
    return probabilities(l, out, batch, c, sp, p);
}

void bk_loss_seg_to_outputs(const bk_loss *l, const double *p, double *g, int64_t batch, int64_t c, int64_t sp,
                            float *grad)
{
    to_outputs(source_of(l, c), p, g, batch, c, sp, grad);
}

bk_status bk_loss_seg_target(const float *target, int64_t b, int64_t sp, int64_t s, int64_t c, double *t, int64_t *k)
{
    return target_at(target, b, sp, s, c, t, k);
}
