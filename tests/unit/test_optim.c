/* Learning-rate schedules against PyTorch's closed forms, and single
 * optimizer updates against hand-computed values. */
#include <math.h>
#include <string.h>
#include "optim/optim.h"
#include "testutil.h"

static void test_schedules(void)
{
    bk_optim_config c;
    memset(&c, 0, sizeof c);
    c.lr = 0.1;
    c.sched = BK_SCHED_STEP;
    c.gamma = 0.5;
    c.step_size = 2;
    CHECK_NEAR(bk_sched_lr(&c, 0), 0.1, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 1), 0.1, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 2), 0.05, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 5), 0.025, 1e-12);
    c.sched = BK_SCHED_MULTISTEP;
    c.gamma = 0.1;
    c.n_milestones = 2;
    c.milestones[0] = 3;
    c.milestones[1] = 5;
    CHECK_NEAR(bk_sched_lr(&c, 2), 0.1, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 3), 0.01, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 6), 0.001, 1e-12);
    c.sched = BK_SCHED_EXPONENTIAL;
    c.gamma = 0.9;
    CHECK_NEAR(bk_sched_lr(&c, 3), 0.1 * 0.729, 1e-12);
    c.sched = BK_SCHED_WARMUP; /* PyTorch LinearLR(start_factor, total_iters) */
    c.start_factor = 0.25;
    c.warmup_epochs = 4;
    CHECK_NEAR(bk_sched_lr(&c, 0), 0.025, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 2), 0.1 * (0.25 + 0.75 * 0.5), 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 4), 0.1, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 9), 0.1, 1e-12);
    c.sched = BK_SCHED_COSINE; /* CosineAnnealingLR(T_max=10, eta_min=0.01) */
    c.t_max = 10;
    c.eta_min = 0.01;
    CHECK_NEAR(bk_sched_lr(&c, 0), 0.1, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 5), 0.01 + 0.09 * 0.5, 1e-12);
    CHECK_NEAR(bk_sched_lr(&c, 10), 0.01, 1e-12);
}

/* One parameter, two steps of Adam by hand. */
static void test_adam_by_hand(void)
{
    bk_model m;
    memset(&m, 0, sizeof m);
    bk_param p;
    memset(&p, 0, sizeof p);
    float w = 1.0f, g = 0.5f;
    p.shape.ndim = 1;
    p.shape.dims[0] = 1;
    p.data = &w;
    p.grad = &g;
    m.params = &p;
    m.n_params = 1;
    m.param_count = 1;
    bk_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = BK_OPT_ADAM;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    bk_optimizer o;
    CHECK_OK(bk_optim_init(&o, &c, &m));
    bk_optim_step(&o, &m, 0.1);
    /* step 1: m=0.05, v=0.00025; mhat=0.5, vhat=0.25 -> w -= 0.1*0.5/0.5 */
    CHECK_NEAR(w, 0.9, 1e-6);
    g = -1.0f;
    bk_optim_step(&o, &m, 0.1);
    double m2 = 0.9 * 0.05 - 0.1, v2 = 0.999 * 0.00025 + 0.001;
    double expect = 0.9 - 0.1 * (m2 / (1 - 0.81)) / (sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK_NEAR(w, expect, 1e-6);
    bk_optim_free(&o);

    /* frozen and buffer parameters are never updated */
    p.frozen = 1;
    w = 1.0f;
    CHECK_OK(bk_optim_init(&o, &c, &m));
    bk_optim_step(&o, &m, 0.1);
    CHECK(w == 1.0f);
    bk_optim_free(&o);
}

int main(void)
{
    test_schedules();
    test_adam_by_hand();
    return bk_test_finish("test_optim");
}
