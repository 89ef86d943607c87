/* Gradient checks of the losses: bk_loss_compute's gradient against central
 * differences of its own loss value, for NLL and cross-entropy (with and
 * without class weights, per sample and per pixel), BCE on probabilities
 * and on logits, MSE and L1 (away from its kink). The loss is a double
 * computed from float outputs, so the differences are accurate and the
 * tolerance is tighter than for the layers. */
#include "gc_harness.h"
#include "train/loss.h"

typedef struct {
    const char *name;
    bk_loss_kind kind;
    int from_logits;
    int weighted;
    bk_shape shape;   /* per sample, channel-first */
    int64_t batch;
} loss_case;

static void fill_case(const loss_case *c, bk_rng *r, float *out, float *target, float *weights)
{
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per;
    int64_t ch = c->shape.dims[0], sp = per / ch;
    for (int64_t k = 0; k < ch; k++) weights[k] = (float)gc_uniform(r, 0.2, 2.0);
    switch (c->kind) {
    case BK_LOSS_NLL:
    case BK_LOSS_CROSS_ENTROPY:
        for (int64_t i = 0; i < n; i++) out[i] = (float)gc_uniform(r, -2.0, 1.0);
        for (int64_t i = 0; i < c->batch * sp; i++) target[i] = (float)bk_rng_below(r, (uint64_t)ch);
        break;
    case BK_LOSS_BCE:
        for (int64_t i = 0; i < n; i++) {
            out[i] = c->from_logits ? (float)gc_uniform(r, -3.0, 3.0) : (float)gc_uniform(r, 0.05, 0.95);
            /* soft targets too: BCE takes any t in [0, 1] */
            target[i] = i % 3 == 2 ? (float)gc_uniform(r, 0, 1) : (float)(bk_rng_below(r, 2));
        }
        break;
    case BK_LOSS_MSE:
    case BK_LOSS_L1:
        for (int64_t i = 0; i < n; i++) {
            target[i] = (float)gc_uniform(r, -1, 1);
            /* |out - target| >= 0.05: no step crosses the L1 kink */
            double d = gc_uniform(r, 0.05, 1.0);
            out[i] = target[i] + (float)(bk_rng_below(r, 2) ? d : -d);
        }
        break;
    default: /* the segmentation and robust losses: test_gradcheck_seg_losses.c */
        break;
    }
}

/* Returns 0 when the gradient matches. scale multiplies the analytic
 * gradient (1 for the check; 1.1 to show the check can fail). */
static int check_loss(const loss_case *c, double scale, int quiet)
{
    bk_rng r;
    bk_rng_seed(&r, 99, (uint64_t)c->kind * 16 + (uint64_t)c->weighted * 2 + (uint64_t)c->from_logits);
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per;
    float *out = malloc((size_t)n * sizeof *out), *target = malloc((size_t)n * sizeof *target);
    float *grad = malloc((size_t)n * sizeof *grad), weights[16];
    fill_case(c, &r, out, target, weights);
    bk_loss l = {.kind = c->kind, .from_logits = c->from_logits};
    if (c->weighted) {
        l.class_weight = weights; /* borrowed: l is never freed */
        l.n_weights = c->shape.dims[0];
    }
    double loss, loss_nograd, worst = 0;
    int fails = 0;
    int64_t worst_i = -1;
    double worst_num = 0;
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
    double amax = 0;
    for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(grad[i]));
    double floor_ = 1e-3 * amax, tol = 2e-3;
    for (int64_t i = 0; i < n; i++) {
        float orig = out[i];
        float ep = (float)(1e-3 * fmax(fabs(orig), 0.5));
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
        double num = (lp - lm) / ((double)up - (double)dn);
        double rel = gc_rel(scale * grad[i], num, floor_);
        if (rel > tol) fails++;
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
        printf("  %-22s n=%-4lld loss %.5f  worst %.2e", c->name, (long long)n, loss, worst);
        if (worst_i >= 0)
            printf("  (at [%lld]: analytic %.6g, numeric %.6g)", (long long)worst_i, (double)grad[worst_i], worst_num);
        printf("\n");
        if (fails && worst_i >= 0)
            fprintf(stderr, "FAIL %s: %d elements over tol %g; worst rel err %.3g at [%lld]: analytic %.7g, numeric %.7g\n",
                    c->name, fails, tol, worst, (long long)worst_i, (double)grad[worst_i], worst_num);
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

static const loss_case cases[] = {
    {"nll", BK_LOSS_NLL, 0, 0, {1, {5}}, 4},
    {"nll_weights", BK_LOSS_NLL, 0, 1, {1, {5}}, 6},
    {"nll_weights_pixels", BK_LOSS_NLL, 0, 1, {3, {4, 3, 2}}, 2},
    {"ce", BK_LOSS_CROSS_ENTROPY, 0, 0, {1, {4}}, 5},
    {"ce_weights", BK_LOSS_CROSS_ENTROPY, 0, 1, {1, {4}}, 6},
    {"ce_weights_pixels", BK_LOSS_CROSS_ENTROPY, 0, 1, {3, {3, 2, 3}}, 2},
    {"ce_weights_volume", BK_LOSS_CROSS_ENTROPY, 0, 1, {4, {3, 2, 2, 2}}, 2},
    {"bce_probs", BK_LOSS_BCE, 0, 0, {1, {1}}, 8},
    {"bce_probs_multi", BK_LOSS_BCE, 0, 0, {2, {3, 4}}, 2},
    {"bce_logits", BK_LOSS_BCE, 1, 0, {1, {1}}, 8},
    {"bce_logits_multi", BK_LOSS_BCE, 1, 0, {2, {3, 4}}, 2},
    {"mse", BK_LOSS_MSE, 0, 0, {1, {3}}, 4},
    {"mse_pixels", BK_LOSS_MSE, 0, 0, {3, {2, 3, 2}}, 2},
    {"l1", BK_LOSS_L1, 0, 0, {1, {3}}, 4},
    {"l1_pixels", BK_LOSS_L1, 0, 0, {3, {2, 3, 2}}, 2},
};

int main(void)
{
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        bk_test_checks++;
        if (check_loss(&cases[i], 1.0, 0)) bk_test_failures++;
        /* the check can fail: a gradient 10% off is caught */
        CHECK(check_loss(&cases[i], 1.1, 1) > 0);
    }
    gc_summary("gradcheck_losses");
    return bk_test_finish("test_gradcheck_losses");
}
