/* Activations without a oneDNN 2.6 eltwise algorithm (or whose Keras
 * definition differs from oneDNN's), as element-wise loops with Keras'
 * formulas. Gradients at a kink (hard_sigmoid's and relu6's corners) are
 * those of TensorFlow: zero on the clipped side, including the corner. */
#include <math.h>
#include "cpu_plan.h"

int bk_cpu_act_is_loop(bk_act act)
{
    return act == BK_ACT_SOFTPLUS || act == BK_ACT_SOFTSIGN || act == BK_ACT_HARD_SIGMOID ||
           act == BK_ACT_SELU || act == BK_ACT_EXPONENTIAL || act == BK_ACT_RELU6;
}

/* SELU's constants (Klambauer et al.), as Keras. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

static float fwd1(bk_act act, float alpha, float x)
{
    switch (act) {
    case BK_ACT_SOFTPLUS: return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x)));
    case BK_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case BK_ACT_HARD_SIGMOID: {
        float y = alpha * x + 0.5f;
        return y < 0 ? 0.0f : y > 1 ? 1.0f : y;
    }
    case BK_ACT_SELU: return (float)(SELU_SCALE * (x > 0 ? (double)x : SELU_ALPHA * expm1((double)x)));
    case BK_ACT_EXPONENTIAL: return expf(x);
    case BK_ACT_RELU6: return x < 0 ? 0.0f : x > 6 ? 6.0f : x;
    default: return x;
    }
}

static float grad1(bk_act act, float alpha, float x)
{
    switch (act) {
    case BK_ACT_SOFTPLUS: return 1.0f / (1.0f + expf(-x));
    case BK_ACT_SOFTSIGN: {
        float d = 1.0f + fabsf(x);
        return 1.0f / (d * d);
    }
    case BK_ACT_HARD_SIGMOID: {
        float y = alpha * x + 0.5f;
        return y > 0 && y < 1 ? alpha : 0.0f;
    }
    case BK_ACT_SELU: return (float)(SELU_SCALE * (x > 0 ? 1.0 : SELU_ALPHA * exp((double)x)));
    case BK_ACT_EXPONENTIAL: return expf(x);
    case BK_ACT_RELU6: return x > 0 && x < 6 ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

void bk_cpu_act_loop_forward(const bk_plan *p, const float *x, float *y)
{
#pragma omp parallel for if (p->count > 65536)
    for (int64_t i = 0; i < p->count; i++) y[i] = fwd1(p->act, p->alpha, x[i]);
}

void bk_cpu_act_loop_backward(const bk_plan *p, const float *x, const float *dy, float *dx)
{
#pragma omp parallel for if (p->count > 65536)
    for (int64_t i = 0; i < p->count; i++) dx[i] = dy[i] * grad1(p->act, p->alpha, x[i]);
}
