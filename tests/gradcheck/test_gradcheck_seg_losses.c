/* Gradient checks of the segmentation and robust losses: bk_loss_compute's
 * gradient against central differences of its own loss value, for soft
 * Dice and Jaccard (one channel / several; outputs as probabilities,
 * log-probabilities and logits), Focal (binary on probabilities and on
 * logits, with and without alpha, integer and fractional gamma;
 * multi-class on log-probabilities, probabilities and logits, with class
 * weights), per-pixel weighted NLL on [C, H, W] outputs, Huber and
 * SmoothL1 (both sides of the threshold; beta 0). Every case is also run
 * with its gradient scaled by 1.1, which must fail: the check can fail. */
#include "gc_harness.h"
#include "train/loss.h"

typedef enum { OUT_PROBS, OUT_LOGPROBS, OUT_LOGITS, OUT_NEAR_TARGET } out_kind;

typedef struct {
    const char *name;
    bk_loss loss;      /* class_weight set from `weighted` */
    int weighted;
    out_kind outs;
    bk_shape shape;    /* per sample, channel-first */
    int64_t batch;
} seg_case;

/* Random outputs of the kind the case's source expects, and targets: class
 * indices for several channels, soft or hard mask values for one. */
static void fill(const seg_case *c, bk_rng *r, float *out, float *target)
{
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per;
    int64_t ch = c->shape.dims[0], sp = per / ch;
    int dense = c->outs == OUT_NEAR_TARGET;
    for (int64_t i = 0; i < (dense ? n : c->batch * sp); i++)
        target[i] = dense ? (float)gc_uniform(r, -1, 1)
                    : ch > 1 ? (float)bk_rng_below(r, (uint64_t)ch)
                    : i % 3 == 2 ? (float)gc_uniform(r, 0, 1) : (float)bk_rng_below(r, 2);
    for (int64_t i = 0; i < n; i++) {
        switch (c->outs) {
        case OUT_PROBS: out[i] = (float)gc_uniform(r, 0.05, 0.95); break;
        case OUT_LOGPROBS: out[i] = (float)gc_uniform(r, -3.0, -0.05); break;
        case OUT_LOGITS: out[i] = (float)gc_uniform(r, -3.0, 3.0); break;
        case OUT_NEAR_TARGET: {
            /* |out - target| at least 0.05 from the Huber/SmoothL1 threshold, both sides */
            double th = c->loss.delta, d = bk_rng_below(r, 2) ? gc_uniform(r, 0.02, fmax(th - 0.05, 0.03))
                                                                : th + gc_uniform(r, 0.05, 1.0);
            out[i] = target[i] + (float)(bk_rng_below(r, 2) ? d : -d);
            break;
        }
        }
    }
}

/* Returns the number of elements over tolerance (0: the gradient matches).
 * scale multiplies the analytic gradient. */
static int check(const seg_case *c, int idx, double scale, int quiet)
{
    bk_rng r;
    bk_rng_seed(&r, 1234, (uint64_t)idx);
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per;
    float *out = malloc((size_t)n * sizeof *out), *target = malloc((size_t)n * sizeof *target);
    float *grad = malloc((size_t)n * sizeof *grad), weights[16];
    bk_loss l = c->loss;
    if (c->weighted) {
        for (int64_t k = 0; k < c->shape.dims[0]; k++) weights[k] = (float)(0.3 + 0.4 * (double)k);
        l.class_weight = weights; /* borrowed: l is never freed */
        l.n_weights = c->shape.dims[0];
    }
    fill(c, &r, out, target);
    double loss, loss_nograd, worst = 0, worst_num = 0, amax = 0;
    int fails = 0;
    int64_t worst_i = -1;
    bk_status st = bk_loss_compute(&l, out, &c->shape, target, c->batch, grad, &loss);
    if (!st) st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &loss_nograd);
    if (st) {
        fprintf(stderr, "FAIL %s: %s\n", c->name, bk_last_error());
        fails = 1;
        goto done;
    }
    if (loss != loss_nograd) {
        fprintf(stderr, "FAIL %s: loss %.17g with a gradient buffer, %.17g without\n", c->name, loss, loss_nograd);
        fails++;
    }
    for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(grad[i]));
    for (int64_t i = 0; i < n; i++) {
        float orig = out[i], ep = (float)(1e-3 * fmax(fabs(orig), 0.5));
        double lp, lm;
        out[i] = orig + ep;
        float up = out[i];
        st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &lp);
        out[i] = orig - ep;
        float dn = out[i];
        if (!st) st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &lm);
        out[i] = orig;
        if (st) {
            fprintf(stderr, "FAIL %s: %s\n", c->name, bk_last_error());
            fails++;
            break;
        }
        double num = (lp - lm) / ((double)up - (double)dn), rel = gc_rel(scale * grad[i], num, 1e-3 * amax);
        if (rel > 2e-3) fails++;
        if (worst_i < 0 || rel > worst) {
            worst = rel;
            worst_i = i;
            worst_num = num;
        }
    }
    if (amax == 0) {
        fprintf(stderr, "FAIL %s: the gradient is all zero\n", c->name);
        fails++;
    }
    if (!quiet) {
        printf("  %-26s n=%-4lld loss %.5f  worst %.2e  (at [%lld]: analytic %.6g, numeric %.6g)\n", c->name,
               (long long)n, loss, worst, (long long)worst_i, worst_i >= 0 ? (double)grad[worst_i] : 0.0, worst_num);
        if (fails)
            fprintf(stderr, "FAIL %s: %d elements over tolerance; worst rel err %.3g\n", c->name, fails, worst);
        if (worst > gc_worst_overall) {
            gc_worst_overall = worst;
            snprintf(gc_worst_where, sizeof gc_worst_where, "%s", c->name);
        }
    }
done:
    free(out);
    free(target);
    free(grad);
    return fails;
}

/* loss kind, source, smooth, gamma, alpha, delta */
#define L(k, src, sm, g, a, d) {.kind = (k), .source = (src), .smooth = (sm), .gamma = (g), .alpha = (a), .delta = (d)}
#define D BK_SOURCE_DEFAULT
#define SHAPE1 {3, {1, 4, 3}}  /* one channel, 4x3 pixels */
#define SHAPE3 {3, {3, 3, 4}}  /* three classes, 3x4 pixels */

static const seg_case cases[] = {
    {"dice_sigmoid", L(BK_LOSS_DICE, D, 1, 2, 0.25, 1), 0, OUT_PROBS, SHAPE1, 3},
    {"dice_softmax_3cls", L(BK_LOSS_DICE, D, 1, 2, 0.25, 1), 0, OUT_PROBS, SHAPE3, 2},
    {"dice_log_softmax_3cls", L(BK_LOSS_DICE, BK_SOURCE_LOG_SOFTMAX, 1, 2, 0.25, 1), 0, OUT_LOGPROBS, SHAPE3, 2},
    {"dice_logits_binary", L(BK_LOSS_DICE, BK_SOURCE_LOGITS, 1, 2, 0.25, 1), 0, OUT_LOGITS, SHAPE1, 3},
    {"dice_logits_3cls_smooth0.1", L(BK_LOSS_DICE, BK_SOURCE_LOGITS, 0.1, 2, 0.25, 1), 0, OUT_LOGITS, SHAPE3, 2},
    {"dice_volume_2cls", L(BK_LOSS_DICE, BK_SOURCE_SOFTMAX, 1, 2, 0.25, 1), 0, OUT_PROBS, {4, {2, 2, 3, 2}}, 2},
    {"jaccard_sigmoid", L(BK_LOSS_JACCARD, BK_SOURCE_SIGMOID, 1, 2, 0.25, 1), 0, OUT_PROBS, SHAPE1, 3},
    {"jaccard_softmax_3cls", L(BK_LOSS_JACCARD, D, 1, 2, 0.25, 1), 0, OUT_PROBS, SHAPE3, 2},
    {"jaccard_log_softmax_3cls", L(BK_LOSS_JACCARD, BK_SOURCE_LOG_SOFTMAX, 1, 2, 0.25, 1), 0, OUT_LOGPROBS, SHAPE3, 2},
    {"jaccard_logits_binary", L(BK_LOSS_JACCARD, BK_SOURCE_LOGITS, 0.5, 2, 0.25, 1), 0, OUT_LOGITS, SHAPE1, 3},
    {"jaccard_logits_3cls", L(BK_LOSS_JACCARD, BK_SOURCE_LOGITS, 1, 2, 0.25, 1), 0, OUT_LOGITS, SHAPE3, 2},
    {"focal_sigmoid", L(BK_LOSS_FOCAL, D, 1, 2, 0.25, 1), 0, OUT_PROBS, SHAPE1, 3},
    {"focal_logits", L(BK_LOSS_FOCAL, BK_SOURCE_LOGITS, 1, 2, 0.25, 1), 0, OUT_LOGITS, SHAPE1, 3},
    {"focal_logits_noalpha_g0.5", L(BK_LOSS_FOCAL, BK_SOURCE_LOGITS, 1, 0.5, -1, 1), 0, OUT_LOGITS,
     SHAPE1, 3},
    {"focal_log_softmax_3cls", L(BK_LOSS_FOCAL, BK_SOURCE_LOG_SOFTMAX, 1, 2, 0.25, 1), 0, OUT_LOGPROBS, SHAPE3, 2},
    {"focal_softmax_3cls_weights", L(BK_LOSS_FOCAL, D, 1, 1.5, 0.25, 1), 1, OUT_PROBS, SHAPE3, 2},
    {"focal_logits_3cls_weights", L(BK_LOSS_FOCAL, BK_SOURCE_LOGITS, 1, 3, 0.25, 1), 1, OUT_LOGITS, SHAPE3, 2},
    {"nll_weights_2d", L(BK_LOSS_NLL, D, 1, 2, 0.25, 1), 1, OUT_LOGPROBS, {3, {4, 5, 3}}, 2},
    {"huber_delta1", L(BK_LOSS_HUBER, D, 1, 2, 0.25, 1), 0, OUT_NEAR_TARGET, {3, {2, 3, 2}}, 2},
    {"huber_delta0.4", L(BK_LOSS_HUBER, D, 1, 2, 0.25, 0.4), 0, OUT_NEAR_TARGET, {1, {5}}, 4},
    {"smoothl1_beta0.7", L(BK_LOSS_SMOOTH_L1, D, 1, 2, 0.25, 0.7), 0, OUT_NEAR_TARGET, {3, {2, 3, 2}}, 2},
    {"smoothl1_beta0", L(BK_LOSS_SMOOTH_L1, D, 1, 2, 0.25, 0), 0, OUT_NEAR_TARGET, {1, {5}}, 4},
};

int main(void)
{
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        bk_test_checks++;
        if (check(&cases[i], i, 1.0, 0)) bk_test_failures++;
        /* the check can fail: a gradient 10% off is caught */
        CHECK(check(&cases[i], i, 1.1, 1) > 0);
    }
    gc_summary("gradcheck_seg_losses");
    return bk_test_finish("test_gradcheck_seg_losses");
}
