/* Gradient checks of the PDE losses (Burgers_PDE, Poisson2D_PDE,
 * Poisson3D_PDE): bk_loss_pde_compute's gradient against central
 * differences of its own value, at every output value of small grids, so
 * the interior, the Dirichlet planes, the initial row, the x = 0 column
 * and Burgers' one-sided stencil at the open end are all covered. nu
 * varies from node to node; the boundary factor is not 1, so a boundary
 * term weighted wrongly shows. Each case must also fail with its gradient
 * scaled by 1.1 (the check can fail). */
#include "gc_harness.h"
#include "train/loss.h"

typedef struct {
    const char *name;
    bk_loss_kind kind;
    bk_shape shape;    /* per sample, channel-first */
    int64_t batch;
    double nu, bf;     /* Burgers' diffusion_coeff; boundary_factor */
    int64_t points;    /* Burgers: pde_points (0: the last axis) */
} pde_case;

static const pde_case cases[] = {
    {"burgers_inviscid", BK_LOSS_BURGERS, {2, {4, 5}}, 2, 0.0, 3.0, 0},
    {"burgers_viscous", BK_LOSS_BURGERS, {3, {1, 5, 6}}, 2, 0.05, 2.5, 0},
    {"burgers_d3", BK_LOSS_BURGERS, {2, {3, 3}}, 3, 0.2, 0.5, 0},
    {"burgers_flat_points", BK_LOSS_BURGERS, {1, {24}}, 2, 0.1, 4.0, 6},
    {"poisson2d", BK_LOSS_POISSON2D, {3, {1, 4, 5}}, 2, 0, 2.0, 0},
    {"poisson2d_no_channel", BK_LOSS_POISSON2D, {2, {5, 3}}, 3, 0, 0.7, 0},
    {"poisson2d_2x2", BK_LOSS_POISSON2D, {3, {1, 2, 2}}, 2, 0, 1.5, 0},
    {"poisson3d", BK_LOSS_POISSON3D, {4, {1, 3, 4, 3}}, 2, 0, 1.5, 0},
    {"poisson3d_no_channel", BK_LOSS_POISSON3D, {3, {4, 2, 3}}, 2, 0, 3.0, 0},
};

/* Returns the number of mismatching elements (0: pass). scale multiplies
 * the analytic gradient. */
static int check_case(const pde_case *c, double scale, int quiet)
{
    bk_rng r;
    bk_rng_seed(&r, 314, (uint64_t)(c - cases));
    bk_loss l = {.kind = c->kind, .nu = c->nu, .boundary_factor = c->bf, .pde_points = c->points};
    int64_t per = bk_shape_numel(&c->shape), n = c->batch * per;
    int64_t tper = bk_loss_target_numel(&l, &c->shape), tn = c->batch * tper;
    float *out = malloc((size_t)n * sizeof *out), *grad = malloc((size_t)n * sizeof *grad);
    float *target = malloc((size_t)tn * sizeof *target);
    for (int64_t i = 0; i < n; i++) out[i] = (float)gc_uniform(&r, -0.2, 1.2);
    /* Burgers: an initial condition in [0, 1]; Poisson: a diffusivity in [0.3, 3] */
    for (int64_t i = 0; i < tn; i++)
        target[i] = c->kind == BK_LOSS_BURGERS ? (float)gc_uniform(&r, 0, 1) : (float)gc_uniform(&r, 0.3, 3.0);
    double loss, loss2, pde, bc, worst = 0, worst_num = 0;
    int64_t worst_i = -1;
    int fails = 0;
    bk_status st = bk_loss_pde_compute(&l, out, &c->shape, target, c->batch, grad, &loss, &pde, &bc);
    if (!st) st = bk_loss_compute(&l, out, &c->shape, target, c->batch, NULL, &loss2);
    if (st) {
        fprintf(stderr, "FAIL %s: %s\n", c->name, bk_last_error());
        fails = 1;
        goto done;
    }
    if (loss != loss2 || fabs(loss - (pde + c->bf * bc)) > 1e-12 * fabs(loss)) {
        fprintf(stderr, "FAIL %s: loss %.17g (with gradient), %.17g (without), parts %.17g + %g * %.17g\n", c->name,
                loss, loss2, pde, c->bf, bc);
        fails++;
    }
    double amax = 0;
    for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(grad[i]));
    double floor_ = 1e-4 * amax, tol = 2e-3;
    for (int64_t i = 0; i < n; i++) {
        float orig = out[i];
        float ep = (float)(1e-3 * fmax(fabs(orig), 0.5));
        double lp, lm;
        out[i] = orig + ep;
        double up = out[i];
        st = bk_loss_pde_compute(&l, out, &c->shape, target, c->batch, NULL, &lp, NULL, NULL);
        out[i] = orig - ep;
        double dn = out[i];
        if (!st) st = bk_loss_pde_compute(&l, out, &c->shape, target, c->batch, NULL, &lm, NULL, NULL);
        out[i] = orig;
        if (st) {
            fprintf(stderr, "FAIL %s: %s\n", c->name, bk_last_error());
            fails++;
            break;
        }
        double num = (lp - lm) / (up - dn);
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
        printf("  %-22s n=%-4lld loss %-12.6g worst %.2e", c->name, (long long)n, loss, worst);
        if (worst_i >= 0)
            printf("  (at [%lld]: analytic %.6g, numeric %.6g)", (long long)worst_i, (double)grad[worst_i], worst_num);
        printf("\n");
        if (fails && worst_i >= 0)
            fprintf(stderr, "FAIL %s: %d element(s) over tol %g; worst rel err %.3g at [%lld]: analytic %.7g, "
                    "numeric %.7g\n", c->name, fails, tol, worst, (long long)worst_i, (double)grad[worst_i], worst_num);
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

int main(void)
{
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        bk_test_checks++;
        if (check_case(&cases[i], 1.0, 0)) bk_test_failures++;
        CHECK(check_case(&cases[i], 1.1, 1) > 0);
    }
    gc_summary("gradcheck_pde");
    return bk_test_finish("test_gradcheck_pde");
}
