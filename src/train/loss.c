#include "loss.h"
#include <math.h>
#include <string.h>

int bk_loss_is_classification(const bk_loss *l)
{
    switch (l->kind) {
    case BK_LOSS_NLL: case BK_LOSS_CROSS_ENTROPY: case BK_LOSS_DICE: case BK_LOSS_JACCARD: case BK_LOSS_FOCAL:
    case BK_LOSS_LOVASZ:
        return 1;
    default:
        return 0;
    }
}

int bk_loss_has_accuracy(const bk_loss *l)
{
    return bk_loss_is_classification(l) || l->kind == BK_LOSS_BCE;
}

int bk_loss_is_pde(const bk_loss *l)
{
    return l->kind == BK_LOSS_BURGERS || l->kind == BK_LOSS_POISSON2D || l->kind == BK_LOSS_POISSON3D;
}

int64_t bk_loss_target_numel(const bk_loss *l, const bk_shape *out_shape)
{
    int64_t n = bk_shape_numel(out_shape);
    if (bk_loss_is_classification(l)) return n / (out_shape->ndim ? out_shape->dims[0] : 1);
    /* Burgers: the initial condition, one value per point in x */
    if (l->kind == BK_LOSS_BURGERS)
        return l->pde_points > 0 ? l->pde_points : out_shape->ndim ? out_shape->dims[out_shape->ndim - 1] : 1;
    return n;
}

/* Huber (delta) and SmoothL1 (beta) of d = out - target: quadratic within
 * the threshold, linear outside, as torch.nn.HuberLoss / SmoothL1Loss.
 * SmoothL1 is Huber divided by beta; beta 0 is L1. Returns the value and
 * sets *dv to its derivative. */
static double huber(double d, double delta, int smooth_l1, double *dv)
{
    double a = fabs(d), sgn = d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0;
    if (smooth_l1) {
        if (a < delta) { *dv = d / delta; return 0.5 * d * d / delta; }
        *dv = sgn;
        return a - 0.5 * delta;
    }
    if (a < delta) { *dv = d; return 0.5 * d * d; }
    *dv = delta * sgn;
    return delta * (a - 0.5 * delta);
}

/* NLL over log-probabilities [batch, C, S]; targets [batch, S]. */
static bk_status nll(const bk_loss *l, const float *logp, int64_t batch, int64_t c, int64_t sp,
                     const float *target, float *grad, double *loss)
{
    double num = 0, den = 0;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t s = 0; s < sp; s++) {
            float t = target[b * sp + s];
            int64_t k = (int64_t)t;
            if (t != (float)k || k < 0 || k >= c)
                return bk_error(BK_ERR_INVALID,
                                "target class %g (sample %lld) is not an integer in [0, %lld): the model has %lld outputs",
                                (double)t, (long long)b, (long long)c, (long long)c);
            double w = l->class_weight ? l->class_weight[k] : 1.0;
            num -= w * logp[(b * c + k) * sp + s];
            den += w;
        }
    if (den <= 0) return bk_error(BK_ERR_INVALID, "NLL: the class weights of this batch sum to 0");
    *loss = num / den;
    if (grad) {
        memset(grad, 0, (size_t)(batch * c * sp) * sizeof(float));
        for (int64_t b = 0; b < batch; b++)
            for (int64_t s = 0; s < sp; s++) {
                int64_t k = (int64_t)target[b * sp + s];
                double w = l->class_weight ? l->class_weight[k] : 1.0;
                grad[(b * c + k) * sp + s] = (float)(-w / den);
            }
    }
    return BK_OK;
}

bk_status bk_loss_compute(const bk_loss *l, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, float *grad, double *loss)
{
    int64_t per = bk_shape_numel(out_shape), count = batch * per;
    int64_t c = out_shape->ndim ? out_shape->dims[0] : 1, sp = per / c;
    if (l->class_weight && l->n_weights != c)
        return bk_error(BK_ERR_SHAPE, "loss weight has %lld entries but the model has %lld classes",
                        (long long)l->n_weights, (long long)c);
    switch (l->kind) {
    case BK_LOSS_NLL:
        return nll(l, out, batch, c, sp, target, grad, loss);
    case BK_LOSS_CROSS_ENTROPY: {
        /* log_softmax over channels, then NLL; grad = softmax - onehot, weighted */
        float *logp = grad ? grad : NULL;
        double total = 0, den = 0;
        for (int64_t b = 0; b < batch; b++)
            for (int64_t s = 0; s < sp; s++) {
                const float *x = out + b * c * sp + s;
                float t = target[b * sp + s];
                int64_t k = (int64_t)t;
                if (t != (float)k || k < 0 || k >= c)
                    return bk_error(BK_ERR_INVALID, "target class %g (sample %lld) is not an integer in [0, %lld)",
                                    (double)t, (long long)b, (long long)c);
                double mx = x[0];
                for (int64_t j = 1; j < c; j++) if (x[j * sp] > mx) mx = x[j * sp];
                double se = 0;
                for (int64_t j = 0; j < c; j++) se += exp(x[j * sp] - mx);
                double lse = mx + log(se), w = l->class_weight ? l->class_weight[k] : 1.0;
                total -= w * (x[k * sp] - lse);
                den += w;
                if (logp)
                    for (int64_t j = 0; j < c; j++)
                        logp[b * c * sp + j * sp + s] = (float)(w * (exp(x[j * sp] - lse) - (j == k)));
            }
        if (den <= 0) return bk_error(BK_ERR_INVALID, "cross-entropy: the class weights of this batch sum to 0");
        *loss = total / den;
        if (grad) for (int64_t i = 0; i < count; i++) grad[i] = (float)(grad[i] / den);
        return BK_OK;
    }
    case BK_LOSS_BCE: {
        double total = 0;
        for (int64_t i = 0; i < count; i++) {
            double x = out[i], t = target[i];
            if (l->from_logits) {
                /* stable: max(x,0) - x t + log(1 + e^-|x|) */
                total += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
                if (grad) grad[i] = (float)((1.0 / (1.0 + exp(-x)) - t) / (double)count);
            } else {
                if (x < 0 || x > 1)
                    return bk_error(BK_ERR_INVALID, "BCE: output %g is not a probability; end the model with a sigmoid "
                                    "or set loss.source to \"logits\"", x);
                double lx = log(x), l1x = log(1 - x);
                if (lx < -100) lx = -100; /* PyTorch clamps the logs at -100 */
                if (l1x < -100) l1x = -100;
                total -= t * lx + (1 - t) * l1x;
                if (grad) {
                    double xc = x < 1e-12 ? 1e-12 : x > 1 - 1e-12 ? 1 - 1e-12 : x;
                    grad[i] = (float)((xc - t) / (xc * (1 - xc)) / (double)count);
                }
            }
        }
        *loss = total / (double)count;
        return BK_OK;
    }
    case BK_LOSS_MSE:
    case BK_LOSS_L1:
    case BK_LOSS_HUBER:
    case BK_LOSS_SMOOTH_L1: {
        double total = 0;
        for (int64_t i = 0; i < count; i++) {
            double d = (double)out[i] - target[i], dv;
            switch (l->kind) {
            case BK_LOSS_MSE: total += d * d; dv = 2 * d; break;
            case BK_LOSS_L1: total += fabs(d); dv = d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0; break;
            default: total += huber(d, l->delta, l->kind == BK_LOSS_SMOOTH_L1, &dv); break;
            }
            if (grad) grad[i] = (float)(dv / (double)count);
        }
        *loss = total / (double)count;
        return BK_OK;
    }
    case BK_LOSS_DICE:
    case BK_LOSS_JACCARD:
    case BK_LOSS_FOCAL:
    case BK_LOSS_LOVASZ:
        return bk_loss_seg_compute(l, out, batch, c, sp, target, grad, loss);
    case BK_LOSS_BURGERS:
    case BK_LOSS_POISSON2D:
    case BK_LOSS_POISSON3D:
        return bk_loss_pde_compute(l, out, out_shape, target, batch, grad, loss, NULL, NULL);
    }
    return bk_error(BK_ERR_INTERNAL, "unknown loss kind");
}
