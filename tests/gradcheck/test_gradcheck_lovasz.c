/* Gradient checks of the Lovasz losses (src/train/loss_lovasz.c):
 * bk_loss_compute's gradient against central differences of its own loss.
 * Lovasz-Softmax on probabilities, log-probabilities and logits (a class
 * absent from the labels included, and a volume), the Lovasz hinge on
 * logits and on sigmoid probabilities. The losses are piecewise linear in
 * the sorted errors: each random point is redrawn until no two errors of
 * a class (and, for the hinge, no error and 0) are within GAP, so that
 * the steps (5e-5 of the outputs' scale) never cross a change of order or
 * a hinge corner, and the difference is exact up to rounding. Every case
 * is also run with its gradient scaled by 1.1, which must fail. */
#include "gc_harness.h"
#include "train/loss.h"

#define GAP 2e-3

typedef enum { OUT_PROBS, OUT_LOGPROBS, OUT_LOGITS } out_kind;

typedef struct {
    const char *name;
    bk_loss_source source;
    out_kind outs;
    bk_shape shape;  /* per sample, channel-first */
    int64_t batch;
    int absent;      /* class never in the labels (-1: none) */
} lv_case;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 1 when the errors the loss will sort are at least GAP apart (and from 0
 * for the hinge): what the loss computes, written out independently. */
static int well_separated(const lv_case *c, const float *out, const float *target)
{
    int64_t ch = c->shape.dims[0], sp = bk_shape_numel(&c->shape) / ch, n = c->batch * sp;
    double *e = malloc((size_t)(n + 1) * sizeof *e);
    int ok = 1;
    for (int64_t j = 0; j < ch && ok; j++) {
        for (int64_t i = 0; i < n; i++) {
            int64_t b = i / sp, s = i % sp;
            const float *x = out + b * ch * sp + s;
            if (ch == 1) {
                double z = c->outs == OUT_LOGITS ? x[0] : log(x[0] / (1.0 - x[0]));
                e[i] = 1 - z * (2 * target[i] - 1);
                if (fabs(e[i]) < GAP) ok = 0;
                continue;
            }
            double p;
            if (c->outs == OUT_PROBS) p = x[j * sp];
            else if (c->outs == OUT_LOGPROBS) p = exp(x[j * sp]);
            else {
                double se = 0;
                for (int64_t k = 0; k < ch; k++) se += exp(x[k * sp]);
                p = exp(x[j * sp]) / se;
            }
            e[i] = fabs((target[i] == (float)j) - p);
        }
        qsort(e, (size_t)n, sizeof *e, by_value);
        for (int64_t i = 1; i < n; i++)
            if (e[i] - e[i - 1] < GAP) ok = 0;
    }
    free(e);
    return ok;
}

static void fill(const lv_case *c, bk_rng *r, float *out, float *target)
{
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per, ch = c->shape.dims[0], sp = per / ch;
    for (int64_t i = 0; i < c->batch * sp; i++) {
        int64_t k;
        do k = (int64_t)bk_rng_below(r, (uint64_t)(ch > 1 ? ch : 2));
        while (k == c->absent);
        target[i] = (float)k;
    }
    for (int64_t i = 0; i < n; i++) {
        switch (c->outs) {
        case OUT_PROBS: out[i] = (float)gc_uniform(r, 0.05, 0.95); break;
        case OUT_LOGPROBS: out[i] = (float)gc_uniform(r, -3.0, -0.05); break;
        case OUT_LOGITS: out[i] = (float)gc_uniform(r, -3.0, 3.0); break;
        }
    }
}

/* Returns the number of elements over tolerance; scale multiplies the analytic gradient. */
static int check(const lv_case *c, int idx, double scale, int quiet)
{
    bk_rng r;
    bk_rng_seed(&r, 4321, (uint64_t)idx);
    int64_t n = c->batch * bk_shape_numel(&c->shape);
    float *out = malloc((size_t)n * sizeof *out), *target = malloc((size_t)n * sizeof *target);
    float *grad = malloc((size_t)n * sizeof *grad);
    bk_loss l = {.kind = BK_LOSS_LOVASZ, .source = c->source};
    int draws = 0, fails = 0;
    do fill(c, &r, out, target);
    while (!well_separated(c, out, target) && ++draws < 1000);
    double loss, loss_nograd, worst = 0, amax = 0;
    int64_t worst_i = -1;
    bk_status st = bk_loss_compute(&l, out, &c->shape, target, c->batch, grad, &loss);
    if (!st) st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &loss_nograd);
    if (st || draws == 1000) {
        fprintf(stderr, "FAIL %s: %s\n", c->name, st ? bk_last_error() : "no well-separated point in 1000 draws");
        fails = 1;
        goto done;
    }
    if (loss != loss_nograd) fails++;
    for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(grad[i]));
    for (int64_t i = 0; i < n; i++) {
        float orig = out[i], ep = (float)(5e-5 * fmax(fabs(orig), 0.5));
        double lp = 0, lm = 0;
        out[i] = orig + ep;
        float up = out[i];
        st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &lp);
        out[i] = orig - ep;
        float dn = out[i];
        if (!st) st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &lm);
        out[i] = orig;
        if (st) { fails++; break; }
        double num = (lp - lm) / ((double)up - (double)dn), rel = gc_rel(scale * grad[i], num, 1e-3 * amax);
        if (rel > 2e-3) fails++;
        if (worst_i < 0 || rel > worst) { worst = rel; worst_i = i; }
    }
    if (amax == 0) fails++;
    if (!quiet) {
        printf("  %-28s n=%-4lld draws %-3d loss %.5f  worst %.2e\n", c->name, (long long)n, draws + 1, loss, worst);
        if (fails) fprintf(stderr, "FAIL %s: %d elements over tolerance; worst rel err %.3g\n", c->name, fails, worst);
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

static const lv_case cases[] = {
    {"softmax_3cls", BK_SOURCE_DEFAULT, OUT_PROBS, {3, {3, 3, 4}}, 2, -1},
    {"softmax_4cls_absent_class", BK_SOURCE_SOFTMAX, OUT_PROBS, {3, {4, 3, 3}}, 2, 2},
    {"log_softmax_4cls", BK_SOURCE_LOG_SOFTMAX, OUT_LOGPROBS, {3, {4, 2, 3}}, 2, -1},
    {"logits_3cls", BK_SOURCE_LOGITS, OUT_LOGITS, {3, {3, 3, 4}}, 2, -1},
    {"logits_3cls_absent_class", BK_SOURCE_LOGITS, OUT_LOGITS, {3, {3, 4, 2}}, 2, 0},
    {"softmax_volume_2cls", BK_SOURCE_SOFTMAX, OUT_PROBS, {4, {2, 2, 3, 2}}, 2, -1},
    {"hinge_logits", BK_SOURCE_LOGITS, OUT_LOGITS, {3, {1, 4, 3}}, 3, -1},
    {"hinge_sigmoid", BK_SOURCE_DEFAULT, OUT_PROBS, {3, {1, 4, 3}}, 3, -1},
    {"hinge_logits_vector", BK_SOURCE_LOGITS, OUT_LOGITS, {1, {1}}, 16, -1},
};

int main(void)
{
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        bk_test_checks++;
        if (check(&cases[i], i, 1.0, 0)) bk_test_failures++;
        CHECK(check(&cases[i], i, 1.1, 1) > 0); /* the check can fail */
    }
    gc_summary("gradcheck_lovasz");
    return bk_test_finish("test_gradcheck_lovasz");
}
