/* Metrics besides the loss: accuracy (classification, per pixel for
 * segmentation), MSE/MAE (regression; none for the PDE losses, whose
 * targets are the problem's data, so those runs report the loss only), and the segmentation scores Dice
 * and mean IoU from per-class counts summed over a whole epoch (so a
 * class that is rare in one batch counts as much as in the dataset).
 *
 * A pixel's predicted class: the largest output over channels when there
 * are several (the same for probabilities, log-probabilities and logits);
 * with one channel, class 1 when the output is above 0.5 (0 for logits).
 * Its true class: the target index, or with one channel target > 0.5. */
#include <math.h>
#include <string.h>
#include "loss.h"

static int logits(const bk_loss *l) { return l->from_logits || l->source == BK_SOURCE_LOGITS; }

static int64_t predicted(const bk_loss *l, const float *x, int64_t c, int64_t sp)
{
    if (c == 1) return x[0] > (logits(l) ? 0.0f : 0.5f);
    int64_t best = 0;
    for (int64_t j = 1; j < c; j++)
        if (x[j * sp] > x[best * sp]) best = j;
    return best;
}

bk_status bk_metric_seg_classes(const bk_loss *l, const bk_shape *out_shape, int *classes)
{
    int64_t c = out_shape->ndim ? out_shape->dims[0] : 1;
    if (bk_loss_is_pde(l))
        return bk_error(BK_ERR_INVALID, "the Dice and IoU metrics score classes; a PDE loss's output is a solution "
                        "field: remove them from \"metrics\"");
    if (c > 1 && !bk_loss_is_classification(l))
        return bk_error(BK_ERR_INVALID, "the Dice and IoU metrics need class-index targets (an NLL, CrossEntropy, Dice, "
                        "Jaccard or Focal loss) or a model with one output channel (a mask)");
    if (c > BK_SEG_MAX_CLASSES)
        return bk_error(BK_ERR_UNSUPPORTED, "the Dice and IoU metrics score at most %d classes; the model has %lld outputs",
                        BK_SEG_MAX_CLASSES, (long long)c);
    *classes = c == 1 ? 2 : (int)c;
    return BK_OK;
}

void bk_metric_accumulate(const bk_loss *l, unsigned metrics, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, bk_metric_sums *acc)
{
    int64_t per = bk_shape_numel(out_shape), c = out_shape->ndim ? out_shape->dims[0] : 1, sp = per / c;
    if (bk_loss_is_pde(l)) {
        /* the target is the PDE's data, not an answer: nothing to score but the loss (count: samples seen) */
        acc->count += (double)batch;
        return;
    }
    int seg = (metrics & (BK_METRIC_DICE | BK_METRIC_MIOU)) && bk_metric_seg_classes(l, out_shape, &acc->seg_classes) == BK_OK;
    if (bk_loss_is_classification(l) || seg) {
        for (int64_t b = 0; b < batch; b++)
            for (int64_t s = 0; s < sp; s++) {
                int64_t p = predicted(l, out + b * c * sp + s, c, sp);
                float tv = target[b * sp + s];
                int64_t t = c == 1 ? tv > 0.5f : (int64_t)tv;
                if (seg && t >= 0 && t < acc->seg_classes) {
                    acc->seg_pred[p] += 1;
                    acc->seg_true[t] += 1;
                    acc->seg_inter[p] += p == t;
                }
                if (bk_loss_is_classification(l)) {
                    acc->correct += p == t;
                    acc->count += 1;
                }
            }
        if (bk_loss_is_classification(l)) return;
    }
    for (int64_t i = 0; i < batch * per; i++) {
        double d = (double)out[i] - target[i];
        acc->abs_err += fabs(d);
        acc->sq_err += d * d;
        if (l->kind == BK_LOSS_BCE) acc->correct += predicted(l, out + i, 1, 1) == (target[i] > 0.5);
        acc->count += 1;
    }
}

/* mean over classes predicted or labelled of score(I, P, T) */
static double mean_score(const bk_metric_sums *s, int iou)
{
    double sum = 0;
    int n = 0;
    for (int k = 0; k < s->seg_classes; k++) {
        double i = s->seg_inter[k], p = s->seg_pred[k], t = s->seg_true[k];
        if (p + t == 0) continue;
        sum += iou ? i / (p + t - i) : 2 * i / (p + t);
        n++;
    }
    return n ? sum / n : 1.0;
}

double bk_metric_dice(const bk_metric_sums *s) { return mean_score(s, 0); }
double bk_metric_miou(const bk_metric_sums *s) { return mean_score(s, 1); }
