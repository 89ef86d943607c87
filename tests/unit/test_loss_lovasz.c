/* The Lovasz losses' values on hand-worked examples (the order of the
 * sorted errors matters: these catch a wrong sort direction or Jaccard
 * gradient, which a finite-difference check cannot), zero for perfect
 * predictions, and the errors for bad targets. */
#include <string.h>
#include "testutil.h"
#include "train/loss.h"

/* Two classes, two pixels; labels 0 1; p(class 0) = 0.8 0.3.
 * class 0: fg 1 0, errors 0.2 0.3 -> sorted: px1 (bg), px0 (fg); G = 1:
 *   J = 1 - 1/2 = 0.5, then 1 - 0/2 = 1 -> weights 0.5 0.5 -> 0.25
 * class 1: fg 0 1, errors 0.2 0.3 -> sorted: px1 (fg), px0 (bg):
 *   J = 1 - 0/1 = 1, then 1 -> weights 1 0 -> 0.3
 * loss (0.25 + 0.3) / 2 = 0.275; dL/dp: class 0 px0 -0.25, px1 +0.25;
 * class 1 px0 0, px1 -0.5. */
static void softmax_worked(void)
{
    const float out[4] = {0.8f, 0.3f, 0.2f, 0.7f}, target[2] = {0, 1};
    bk_shape sh = {2, {2, 2}};
    bk_loss l = {.kind = BK_LOSS_LOVASZ};
    float g[4];
    double loss;
    CHECK_OK(bk_loss_compute(&l, out, &sh, target, 1, g, &loss));
    CHECK_NEAR(loss, 0.275, 1e-7);
    CHECK_NEAR(g[0], -0.25, 1e-7);
    CHECK_NEAR(g[1], 0.25, 1e-7);
    CHECK_NEAR(g[2], 0.0, 1e-7);
    CHECK_NEAR(g[3], -0.5, 1e-7);
}

/* Hinge: logits 2, -0.5, 0.3; labels 1 1 0 -> margins e = 1 - x s =
 * -1, 1.5, 1.3; sorted px1 (fg) 1.5, px2 (bg) 1.3, px0 (fg) -1; G = 2:
 * J = 1 - 1/2, 1 - 1/3, 1 - 0/3 -> weights 1/2, 1/6, 1/3; loss
 * 1.5/2 + 1.3/6 + 0 (clipped) = 0.9666...; dL/dx = 0, -1/2, +1/6. */
static void hinge_worked(void)
{
    const float out[3] = {2.0f, -0.5f, 0.3f}, target[3] = {1, 1, 0};
    bk_shape sh = {3, {1, 1, 3}};
    bk_loss l = {.kind = BK_LOSS_LOVASZ, .source = BK_SOURCE_LOGITS};
    float g[3];
    double loss;
    CHECK_OK(bk_loss_compute(&l, out, &sh, target, 1, g, &loss));
    CHECK_NEAR(loss, 1.5 / 2 + 1.3 / 6, 1e-7);
    CHECK_NEAR(g[0], 0.0, 1e-7);
    CHECK_NEAR(g[1], -0.5, 1e-7);
    CHECK_NEAR(g[2], 1.0 / 6, 1e-7);
}

/* A perfect prediction costs 0: one-hot probabilities (also with a class
 * absent from the labels), logits with margins >= 1, sigmoid outputs
 * beyond those margins; a wrong one costs more. */
static void perfect(void)
{
    const float target[6] = {0, 2, 2, 1, 0, 2}, mask[6] = {1, 0, 0, 1, 1, 0};
    float onehot[4 * 6], logits[6], probs[6];
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 6; s++) onehot[k * 6 + s] = (float)(target[s] == (float)k);
    for (int s = 0; s < 6; s++) {
        logits[s] = mask[s] ? 1.0f + 0.5f * (float)s : -1.0f - 0.25f * (float)s;
        probs[s] = mask[s] ? 0.9f : 0.1f;
    }
    bk_shape sh4 = {3, {4, 2, 3}}, sh1 = {3, {1, 2, 3}};
    bk_loss soft = {.kind = BK_LOSS_LOVASZ}, hinge = {.kind = BK_LOSS_LOVASZ, .source = BK_SOURCE_LOGITS};
    bk_loss hinge_sig = {.kind = BK_LOSS_LOVASZ, .source = BK_SOURCE_SIGMOID};
    double loss;
    float g[4 * 6];
    CHECK_OK(bk_loss_compute(&soft, onehot, &sh4, target, 1, g, &loss));
    CHECK(loss == 0);
    CHECK_OK(bk_loss_compute(&hinge, logits, &sh1, mask, 1, g, &loss));
    CHECK(loss == 0);
    CHECK_OK(bk_loss_compute(&hinge_sig, probs, &sh1, mask, 1, g, &loss));
    CHECK(loss == 0);
    onehot[0] = 0.4f; /* pixel 0: class 0 at 0.4, 0.6 elsewhere */
    onehot[6 + 0] = 0.6f;
    CHECK_OK(bk_loss_compute(&soft, onehot, &sh4, target, 1, g, &loss));
    CHECK(loss > 0.05);
    logits[0] = 0.5f; /* inside the margin */
    CHECK_OK(bk_loss_compute(&hinge, logits, &sh1, mask, 1, g, &loss));
    CHECK(loss > 0.05);
}

static void bad_targets(void)
{
    const float out[3] = {0.2f, -0.1f, 0.4f}, soft_mask[3] = {1, 0.5f, 0};
    bk_shape sh1 = {1, {1}};
    bk_loss hinge = {.kind = BK_LOSS_LOVASZ, .source = BK_SOURCE_LOGITS};
    double loss;
    CHECK(bk_loss_compute(&hinge, out, &sh1, soft_mask, 3, NULL, &loss) == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "not 0 or 1") != NULL);
    const float probs[4] = {0.5f, 0.5f, 0.5f, 0.5f}, cls[2] = {0, 2};
    bk_shape sh2 = {1, {2}};
    bk_loss soft = {.kind = BK_LOSS_LOVASZ};
    CHECK(bk_loss_compute(&soft, probs, &sh2, cls, 2, NULL, &loss) == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "not an integer in [0, 2)") != NULL);
    bk_loss one_softmax = {.kind = BK_LOSS_LOVASZ, .source = BK_SOURCE_SOFTMAX};
    CHECK(bk_loss_compute(&one_softmax, out, &sh1, soft_mask, 3, NULL, &loss) == BK_ERR_INVALID);
}

int main(void)
{
    softmax_worked();
    hinge_worked();
    perfect();
    bad_targets();
    return bk_test_finish("test_loss_lovasz");
}
