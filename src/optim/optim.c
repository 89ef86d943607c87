#include "optim.h"
#include <math.h>
#include <string.h>

static int slots_for(const bk_optim_config *c)
{
    switch (c->kind) {
    case BK_OPT_SGD: return c->momentum != 0 ? 1 : 0;
    case BK_OPT_ADAM:
    case BK_OPT_ADAMW: return c->amsgrad ? 3 : 2;
    case BK_OPT_RMSPROP: return 1 + (c->momentum != 0) + (c->centered != 0);
    case BK_OPT_ADAGRAD: return 1;
    case BK_OPT_LAMB: return 2;
    case BK_OPT_LARS: return c->momentum != 0 ? 1 : 0;
    }
    return 0;
}

const char *bk_optim_slot_name(const bk_optimizer *o, int i)
{
    static const char *sgd[] = {"momentum_buffer"};
    static const char *adam[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    static const char *rms[] = {"square_avg", "momentum_buffer", "grad_avg"};
    switch (o->cfg.kind) {
    case BK_OPT_SGD:
    case BK_OPT_LARS: return sgd[i];
    case BK_OPT_ADAGRAD: return "sum"; /* torch.optim.Adagrad's state name */
    case BK_OPT_ADAM:
    case BK_OPT_ADAMW:
    case BK_OPT_LAMB: return adam[i];
    case BK_OPT_RMSPROP:
        if (i == 0) return rms[0];
        if (i == 1 && o->cfg.momentum != 0) return rms[1];
        return rms[2];
    }
    return "?";
}

bk_status bk_optim_init(bk_optimizer *o, const bk_optim_config *cfg, const bk_model *m)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->count = m->param_count;
    o->n_slots = slots_for(cfg);
    for (int i = 0; i < o->n_slots; i++) {
        o->slot[i] = bk_alloc((size_t)(o->count ? o->count : 1) * sizeof(float));
        if (!o->slot[i]) {
            bk_optim_free(o);
            return bk_error(BK_ERR_NOMEM, "out of memory for optimizer state (%lld floats)", (long long)o->count);
        }
        memset(o->slot[i], 0, (size_t)o->count * sizeof(float));
    }
    if (cfg->kind == BK_OPT_ADAGRAD)
        for (int64_t i = 0; i < o->count; i++) o->slot[0][i] = (float)cfg->initial_accumulator_value;
    return BK_OK;
}

void bk_optim_free(bk_optimizer *o)
{
    for (int i = 0; i < 3; i++) bk_free(o->slot[i]);
    memset(o, 0, sizeof *o);
}

/* Tensors above this many elements are updated by all threads (each
 * element's update is independent, so the result is the same). */
#define PARALLEL_MIN 65536

/* SGD, and LARS with the tensor's local learning rate `scale` (1 for SGD)
 * multiplying the decayed gradient before the momentum. */
static void sgd(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, float lr, float scale)
{
    const bk_optim_config *c = &o->cfg;
    float wd = (float)c->weight_decay, mu = (float)c->momentum, damp = (float)(1 - c->dampening);
    float *buf = o->n_slots ? o->slot[0] + off : NULL;
#pragma omp parallel for if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        float d = scale * (g[i] + wd * p[i]);
        if (buf) {
            buf[i] = o->momentum_started ? mu * buf[i] + damp * d : d;
            d = c->nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

/* Adam and AdamW. The loops carry no branches so that the compiler
 * vectorizes them (sqrt and division included: -fno-math-errno); the
 * update was 5-8% of a ResNet-18-style training step as scalar code.
 * Weight decay is written so that one loop serves both: Adam adds wd * p
 * to the gradient (keep = 1), AdamW shrinks p by keep = 1 - lr * wd
 * (l2 = 0); multiplying by 1 or adding 0 changes no value. */
static void adam(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, float lr)
{
    const bk_optim_config *c = &o->cfg;
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps, wd = (float)c->weight_decay;
    double bc1 = 1 - pow(c->beta1, (double)o->step), bc2 = 1 - pow(c->beta2, (double)o->step);
    float step_size = (float)(lr / bc1), sbc2 = (float)sqrt(bc2);
    float *m1 = o->slot[0] + off, *m2 = o->slot[1] + off;
    int decoupled = c->kind == BK_OPT_ADAMW;
    float keep = decoupled ? 1 - lr * wd : 1.0f, l2 = decoupled ? 0.0f : wd;
    if (c->amsgrad) {
        float *mx = o->slot[2] + off;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + l2 * p[i];
            m1[i] = b1 * m1[i] + (1 - b1) * gi;
            m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
            mx[i] = m2[i] > mx[i] ? m2[i] : mx[i];
            p[i] = p[i] * keep - step_size * m1[i] / (sqrtf(mx[i]) / sbc2 + eps);
        }
        return;
    }
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        m1[i] = b1 * m1[i] + (1 - b1) * gi;
        m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
        p[i] = p[i] * keep - step_size * m1[i] / (sqrtf(m2[i]) / sbc2 + eps);
    }
}

static void rmsprop(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, float lr)
{
    const bk_optim_config *c = &o->cfg;
    float a = (float)c->alpha, eps = (float)c->eps, wd = (float)c->weight_decay, mu = (float)c->momentum;
    float *sq = o->slot[0] + off;
    float *buf = c->momentum != 0 ? o->slot[1] + off : NULL;
    float *ga = c->centered ? o->slot[c->momentum != 0 ? 2 : 1] + off : NULL;
#pragma omp parallel for if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        sq[i] = a * sq[i] + (1 - a) * gi * gi;
        float avg;
        if (ga) {
            ga[i] = a * ga[i] + (1 - a) * gi;
            avg = sqrtf(sq[i] - ga[i] * ga[i]) + eps;
        } else {
            avg = sqrtf(sq[i]) + eps;
        }
        if (buf) {
            buf[i] = mu * buf[i] + gi / avg;
            p[i] -= lr * buf[i];
        } else {
            p[i] -= lr * gi / avg;
        }
    }
}

/* torch.optim.Adagrad: the learning rate decays with the step count. */
static void adagrad(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, double lr)
{
    const bk_optim_config *c = &o->cfg;
    float clr = (float)(lr / (1 + (double)(o->step - 1) * c->lr_decay)), wd = (float)c->weight_decay, eps = (float)c->eps;
    float *sum = o->slot[0] + off;
#pragma omp parallel for if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        sum[i] += gi * gi;
        p[i] -= clr * gi / (sqrtf(sum[i]) + eps);
    }
}

static double norm2(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* LARS (You, Gitman, Ginsburg 2017): each tensor's step is scaled by its
 * trust ratio eta ||w|| / (||g|| + weight_decay ||w||), then taken as SGD
 * with momentum (PyTorch's form: the buffer starts at the first step's
 * value, lr applied after it, so a schedule acts at once). A tensor whose
 * weights or gradient have norm 0 (a zero-initialised bias) gets ratio 1,
 * as in NVIDIA's LARC. */
static void lars(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, float lr)
{
    const bk_optim_config *c = &o->cfg;
    double wn = norm2(p, n), gn = norm2(g, n);
    double trust = wn > 0 && gn > 0 ? c->eta * wn / (gn + c->weight_decay * wn) : 1.0;
    sgd(o, p, g, off, n, lr, (float)trust);
}

/* LAMB (You et al. 2019, Algorithm 2): Adam's bias-corrected step
 * r = m_hat / (sqrt(v_hat) + eps), plus decoupled weight decay,
 * u = r + weight_decay w, scaled per tensor by ||w|| / ||u|| (phi the
 * identity; 1 when either norm is 0). Two passes over the tensor: the
 * norm of u first, then the update, recomputing u from the new moments. */
static void lamb(bk_optimizer *o, float *p, const float *g, int64_t off, int64_t n, float lr)
{
    const bk_optim_config *c = &o->cfg;
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps, wd = (float)c->weight_decay;
    float bc1 = (float)(1 - pow(c->beta1, (double)o->step)), bc2 = (float)(1 - pow(c->beta2, (double)o->step));
    float *m1 = o->slot[0] + off, *m2 = o->slot[1] + off;
    double un = 0, wn = norm2(p, n);
    for (int64_t i = 0; i < n; i++) {
        m1[i] = b1 * m1[i] + (1 - b1) * g[i];
        m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
        float u = (m1[i] / bc1) / (sqrtf(m2[i] / bc2) + eps) + wd * p[i];
        un += (double)u * u;
    }
    un = sqrt(un);
    float step = (float)(lr * (wn > 0 && un > 0 ? wn / un : 1.0));
    for (int64_t i = 0; i < n; i++) p[i] -= step * ((m1[i] / bc1) / (sqrtf(m2[i] / bc2) + eps) + wd * p[i]);
}

void bk_optim_step(bk_optimizer *o, bk_model *m, double lr)
{
    o->step++;
    for (int k = 0; k < m->n_params; k++) {
        bk_param *pp = &m->params[k];
        if (pp->is_buffer || pp->frozen) continue;
        int64_t n = bk_shape_numel(&pp->shape);
        switch (o->cfg.kind) {
        case BK_OPT_SGD: sgd(o, pp->data, pp->grad, pp->offset, n, (float)lr, 1.0f); break;
        case BK_OPT_ADAGRAD: adagrad(o, pp->data, pp->grad, pp->offset, n, lr); break;
        case BK_OPT_LAMB: lamb(o, pp->data, pp->grad, pp->offset, n, (float)lr); break;
        case BK_OPT_LARS: lars(o, pp->data, pp->grad, pp->offset, n, (float)lr); break;
        case BK_OPT_ADAM:
        case BK_OPT_ADAMW: adam(o, pp->data, pp->grad, pp->offset, n, (float)lr); break;
        case BK_OPT_RMSPROP: rmsprop(o, pp->data, pp->grad, pp->offset, n, (float)lr); break;
        }
    }
    o->momentum_started = 1;
}

double bk_sched_lr(const bk_optim_config *c, int64_t epoch)
{
    double base = c->lr;
    switch (c->sched) {
    case BK_SCHED_NONE: return base;
    case BK_SCHED_STEP: return base * pow(c->gamma, (double)(epoch / (c->step_size > 0 ? c->step_size : 1)));
    case BK_SCHED_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < c->n_milestones; i++) passed += epoch >= c->milestones[i];
        return base * pow(c->gamma, passed);
    }
    case BK_SCHED_EXPONENTIAL: return base * pow(c->gamma, (double)epoch);
    case BK_SCHED_WARMUP: {
        int64_t total = c->warmup_epochs > 0 ? c->warmup_epochs : 1;
        double t = epoch < total ? (double)epoch / (double)total : 1.0;
        return base * (c->start_factor + (1 - c->start_factor) * t);
    }
    case BK_SCHED_COSINE: {
        int64_t T = c->t_max > 0 ? c->t_max : 1;
        int64_t e = epoch < T ? epoch : T;
        return c->eta_min + (base - c->eta_min) * (1 + cos(M_PI * (double)e / (double)T)) / 2;
    }
    }
    return base;
}
