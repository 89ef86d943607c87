/* The segmentation metrics (Dice score, mean IoU) and pixel accuracy on
 * hand-made masks whose values are worked out in the comments. */
#include <string.h>
#include "testutil.h"
#include "train/loss.h"

/* 3 classes, one 2x3 image. Predicted (argmax) and true classes:
 *   pred 0 0 1 / 1 2 2     true 0 1 1 / 1 2 0
 * class 0: I 1, P 2, T 2 -> Dice 2/4,  IoU 1/3
 * class 1: I 2, P 2, T 3 -> Dice 4/5,  IoU 2/3
 * class 2: I 1, P 2, T 1 -> Dice 2/3,  IoU 1/2
 * mean Dice 0.655556, mIoU 0.5, accuracy 4/6. A fourth class that is
 * neither predicted nor labelled does not count. */
static void multi_class(int classes)
{
    const int pred[6] = {0, 0, 1, 1, 2, 2};
    const float target[6] = {0, 1, 1, 1, 2, 0};
    float out[4 * 6];
    for (int k = 0; k < classes; k++)
        for (int s = 0; s < 6; s++) out[k * 6 + s] = k == pred[s] ? 0.7f : 0.1f - 0.01f * (float)k;
    bk_shape sh = {3, {classes, 2, 3}};
    bk_loss l = {.kind = BK_LOSS_NLL};
    bk_metric_sums m;
    memset(&m, 0, sizeof m);
    bk_metric_accumulate(&l, BK_METRIC_DICE | BK_METRIC_MIOU, out, &sh, target, 1, &m);
    CHECK(m.seg_classes == classes);
    CHECK_NEAR(bk_metric_dice(&m), (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12);
    CHECK_NEAR(bk_metric_miou(&m), 0.5, 1e-12);
    CHECK_NEAR(m.correct / m.count, 4.0 / 6, 1e-12);
}

/* One channel: p > 0.5 (logit > 0) is foreground.
 *   p 0.9 0.2 0.7 0.4 -> pred 1 0 1 0;  true 1 0 0 0
 * foreground: I 1, P 2, T 1 -> Dice 2/3, IoU 1/2
 * background: I 2, P 2, T 3 -> Dice 4/5, IoU 2/3 */
static void binary(void)
{
    const float probs[4] = {0.9f, 0.2f, 0.7f, 0.4f}, logits[4] = {2.0f, -1.0f, 0.5f, -0.2f}, target[4] = {1, 0, 0, 0};
    bk_shape sh = {3, {1, 2, 2}};
    for (int lg = 0; lg < 2; lg++) {
        bk_loss l = {.kind = BK_LOSS_DICE, .source = lg ? BK_SOURCE_LOGITS : BK_SOURCE_SIGMOID};
        bk_metric_sums m;
        memset(&m, 0, sizeof m);
        bk_metric_accumulate(&l, BK_METRIC_DICE | BK_METRIC_MIOU, lg ? logits : probs, &sh, target, 1, &m);
        CHECK(m.seg_classes == 2);
        CHECK_NEAR(bk_metric_dice(&m), (2.0 / 3 + 0.8) / 2, 1e-12);
        CHECK_NEAR(bk_metric_miou(&m), (0.5 + 2.0 / 3) / 2, 1e-12);
        CHECK_NEAR(m.correct / m.count, 0.75, 1e-12);
    }
    /* a regression loss on a one-channel mask can be scored too; without
     * the metrics asked for, no per-class counts are kept */
    bk_loss mse = {.kind = BK_LOSS_MSE};
    bk_metric_sums m;
    memset(&m, 0, sizeof m);
    bk_metric_accumulate(&mse, BK_METRIC_MIOU, probs, &sh, target, 1, &m);
    CHECK_NEAR(bk_metric_miou(&m), (0.5 + 2.0 / 3) / 2, 1e-12);
    CHECK_NEAR(m.sq_err, 0.01 + 0.04 + 0.49 + 0.16, 1e-6);
    memset(&m, 0, sizeof m);
    bk_metric_accumulate(&mse, 0, probs, &sh, target, 1, &m);
    CHECK(m.seg_classes == 0 && m.seg_pred[1] == 0);
}

/* Counts are summed over batches: two batches score like one with both
 * images (not like the mean of two per-batch scores). */
static void epoch_sums(void)
{
    /* image A: pred 1 1, true 1 1 (Dice of class 1: 1); image B: pred 0 0 0 1, true 1 1 1 1 */
    const float a[2] = {0.9f, 0.8f}, ta[2] = {1, 1}, b[4] = {0.1f, 0.2f, 0.3f, 0.9f}, tb[4] = {1, 1, 1, 1};
    bk_loss l = {.kind = BK_LOSS_FOCAL};
    bk_metric_sums m;
    memset(&m, 0, sizeof m);
    bk_shape sa = {1, {1}};
    bk_metric_accumulate(&l, BK_METRIC_DICE, a, &sa, ta, 2, &m);
    bk_metric_accumulate(&l, BK_METRIC_DICE, b, &sa, tb, 4, &m);
    /* class 1: I 3, P 3, T 6 -> 6/9; class 0: I 0, P 3, T 0 -> 0 */
    CHECK_NEAR(bk_metric_dice(&m), (6.0 / 9 + 0) / 2, 1e-12);
    bk_metric_sums none;
    memset(&none, 0, sizeof none);
    CHECK_NEAR(bk_metric_dice(&none), 1.0, 0);
}

static void refusals(void)
{
    int k;
    bk_loss mse = {.kind = BK_LOSS_MSE}, nll = {.kind = BK_LOSS_NLL};
    bk_shape three = {3, {3, 4, 4}}, one = {3, {1, 4, 4}}, many = {1, {BK_SEG_MAX_CLASSES + 1}};
    CHECK(bk_metric_seg_classes(&mse, &three, &k) == BK_ERR_INVALID);
    CHECK(bk_metric_seg_classes(&mse, &one, &k) == BK_OK && k == 2);
    CHECK(bk_metric_seg_classes(&nll, &three, &k) == BK_OK && k == 3);
    CHECK(bk_metric_seg_classes(&nll, &many, &k) == BK_ERR_UNSUPPORTED);
}

int main(void)
{
    multi_class(3);
    multi_class(4);
    binary();
    epoch_sums();
    refusals();
    return bk_test_finish("test_metrics");
}
