#include "regularizer.h"

/* Keras 3 collects regularization losses from trainable weights only, so a
 * frozen layer's penalty (a constant) is not part of the loss. */
static int regularized(const bk_param *p)
{
    return !p->is_buffer && !p->frozen && (p->l1 != 0 || p->l2 != 0);
}

double bk_regularizer_penalty(const bk_model *m)
{
    double total = 0;
    for (int k = 0; k < m->n_params; k++) {
        const bk_param *p = &m->params[k];
        if (!regularized(p)) continue;
        double s1 = 0, s2 = 0;
        int64_t n = bk_shape_numel(&p->shape);
        for (int64_t i = 0; i < n; i++) {
            double w = p->data[i];
            s1 += w < 0 ? -w : w;
            s2 += w * w;
        }
        total += p->l1 * s1 + p->l2 * s2;
    }
    return total;
}

double bk_regularizer_add_grad(bk_model *m)
{
    for (int k = 0; k < m->n_params; k++) {
        bk_param *p = &m->params[k];
        if (!regularized(p)) continue;
        int64_t n = bk_shape_numel(&p->shape);
        float l1 = p->l1, l2x2 = 2 * p->l2;
        for (int64_t i = 0; i < n; i++) {
            float w = p->data[i];
            /* d|w|/dw at 0 is taken as 0, as TensorFlow's sign() gives */
            p->grad[i] += l1 * (float)((w > 0) - (w < 0)) + l2x2 * w;
        }
    }
    return bk_regularizer_penalty(m);
}
