/* The PDE losses against solutions known in closed form.
 *
 * Poisson (2-D and 3-D): with constant nu, u = 1 - x is the exact and the
 * finite-element solution; its energy is nu (the unit domain), every
 * interior gradient is zero, and moving any interior node either way
 * raises the energy. With nu varying along x only, the FEM solution is the
 * 1-D one whose element fluxes are equal (nu of an element = its
 * Gauss-point mean); minimising the loss by conjugate gradients from a
 * random start must land on it. The Dirichlet planes are imposed inside
 * the energy and their raw mismatch is the boundary term.
 *
 * Burgers: u = x / (t0 + t) solves the inviscid equation with u(0, t) = 0;
 * on the loss's grid (h = 1/d, implicit Euler) its residual is exactly
 * -x h / ((t0 + t)^2 (t0 + t - h)), so the loss must equal the mean of
 * those squares. The viscous travelling wave u = 1/2 (1 - tanh((x - t/2 -
 * x0) / (4 nu))) has a residual far below waves of the wrong speed or
 * width, and its mean square falls about 4x (the scheme is first order)
 * when the grid is refined twice over. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "testutil.h"
#include "train/loss.h"

/* ---- Poisson ---- */

/* u = 1 - x on an n[0] x ... grid (x: axis 0). */
static void linear_u(float *u, const int64_t *n, int dim)
{
    int64_t plane = 1;
    for (int k = 1; k < dim; k++) plane *= n[k];
    for (int64_t i = 0; i < n[0]; i++)
        for (int64_t j = 0; j < plane; j++) u[i * plane + j] = (float)(1.0 - (double)i / (double)(n[0] - 1));
}

static void poisson_constant(int dim, const int64_t *n, double nu)
{
    bk_loss l = {.kind = dim == 3 ? BK_LOSS_POISSON3D : BK_LOSS_POISSON2D, .boundary_factor = 2.0};
    int64_t dims[4] = {1, n[0], n[1], dim == 3 ? n[2] : 1};
    bk_shape s = bk_shape_make(dim + 1, dims);
    int64_t per = bk_shape_numel(&s), plane = per / n[0];
    float *u = malloc((size_t)per * sizeof *u), *nuv = malloc((size_t)per * sizeof *nuv);
    float *g = malloc((size_t)per * sizeof *g);
    linear_u(u, n, dim);
    for (int64_t i = 0; i < per; i++) nuv[i] = (float)nu;
    double loss, e, bc;
    CHECK_OK(bk_loss_pde_compute(&l, u, &s, nuv, 1, g, &loss, &e, &bc));
    printf("  Poisson%dD %lldx%lldx%lld, nu %g: energy of u = 1 - x: %.15g\n", dim, (long long)n[0], (long long)n[1],
           (long long)(dim == 3 ? n[2] : 1), nu, e);
    CHECK_NEAR(e, nu, 1e-6 * nu);
    CHECK(bc == 0);
    double gmax = 0;
    for (int64_t i = plane; i < per - plane; i++) gmax = fmax(gmax, fabs(g[i]));
    CHECK(gmax < 1e-5 * nu); /* the discrete equations hold at every interior node */
    /* the minimiser: every interior node moved either way raises the energy */
    int raised = 1;
    for (int64_t i = plane; i < per - plane; i++)
        for (int sg = -1; sg <= 1; sg += 2) {
            float keep = u[i];
            double e2;
            u[i] = keep + (float)sg * 0.01f;
            bk_loss_pde_compute(&l, u, &s, nuv, 1, NULL, &loss, &e2, &bc);
            u[i] = keep;
            if (!(e2 > e + 1e-9 * nu)) raised = 0;
        }
    CHECK(raised);
    /* the planes are imposed in the energy: wrong raw values there change
     * only the boundary term, by their mean squared mismatch */
    for (int64_t j = 0; j < plane; j++) {
        u[j] = 0.25f;                     /* want 1: off by 0.75 */
        u[(n[0] - 1) * plane + j] = 0.5f; /* want 0: off by 0.5 */
    }
    CHECK_OK(bk_loss_pde_compute(&l, u, &s, nuv, 1, NULL, &loss, &e, &bc));
    CHECK_NEAR(e, nu, 1e-6 * nu);
    CHECK_NEAR(bc, (0.75 * 0.75 + 0.5 * 0.5) / 2, 1e-12);
    CHECK_NEAR(loss, e + 2.0 * bc, 1e-12);
    free(u);
    free(nuv);
    free(g);
}

/* The loss is quadratic in the interior nodes (the planes are imposed):
 * H p = grad(p) - grad(0), with p scaled to unit size so float rounding
 * stays small. Plane entries of hp are 0. */
enum { NX = 9, NY = 5, N = NX * NY };

static void hess(const bk_loss *l, const bk_shape *s, const float *nu, const double *p, double *hp)
{
    float t[N], g1[N], g0[N];
    double m = 0, loss, e, bc;
    for (int k = 0; k < N; k++) m = fmax(m, fabs(p[k]));
    if (m == 0) m = 1;
    for (int k = 0; k < N; k++) t[k] = (float)(p[k] / m);
    bk_loss_pde_compute(l, t, s, nu, 1, g1, &loss, &e, &bc);
    for (int k = 0; k < N; k++) t[k] = 0;
    bk_loss_pde_compute(l, t, s, nu, 1, g0, &loss, &e, &bc);
    for (int k = 0; k < N; k++) hp[k] = k >= NY && k < N - NY ? m * ((double)g1[k] - g0[k]) : 0;
}

/* Minimises the loss over u (2-D, nu varying along x only) by conjugate
 * gradients from a random start. */
static void poisson_1d_profile(void)
{
    bk_loss l = {.kind = BK_LOSS_POISSON2D, .boundary_factor = 1.0};
    int64_t dims[3] = {1, NX, NY};
    bk_shape s = bk_shape_make(3, dims);
    float u[N], nu[N], g[N];
    double x[N], r[N], p[N], hp[N];
    bk_rng rng;
    bk_rng_seed(&rng, 5, 1);
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NY; j++) {
            nu[i * NY + j] = (float)exp(1.5 * sin(3.0 * i / (NX - 1)));
            x[i * NY + j] = bk_rng_uniform(&rng);
        }
    double loss, e, bc;
    for (int restart = 0; restart < 20; restart++) {
        /* r = -grad at x (interior nodes; the planes do not move) */
        for (int k = 0; k < N; k++) u[k] = (float)x[k];
        bk_loss_pde_compute(&l, u, &s, nu, 1, g, &loss, &e, &bc);
        double rr = 0;
        for (int k = 0; k < N; k++) {
            r[k] = k >= NY && k < N - NY ? -(double)g[k] : 0;
            p[k] = r[k];
            rr += r[k] * r[k];
        }
        for (int step = 0; step < N && rr > 1e-24; step++) {
            hess(&l, &s, nu, p, hp);
            double php = 0, rr2 = 0;
            for (int k = 0; k < N; k++) php += p[k] * hp[k];
            if (php <= 0) break;
            double a = rr / php;
            for (int k = 0; k < N; k++) {
                x[k] += a * p[k];
                r[k] -= a * hp[k];
                rr2 += r[k] * r[k];
            }
            for (int k = 0; k < N; k++) p[k] = r[k] + rr2 / rr * p[k];
            rr = rr2;
        }
    }
    /* the 1-D FEM solution: equal flux nu_e (u_i - u_{i+1}) through every element */
    double inv[NX - 1], sum = 0, want[NX];
    for (int i = 0; i < NX - 1; i++) {
        double a = nu[i * NY], b = nu[(i + 1) * NY];
        inv[i] = 1.0 / (0.5 * (a + b)); /* Gauss-point mean of a linear nu */
        sum += inv[i];
    }
    want[0] = 1;
    for (int i = 0; i < NX - 1; i++) want[i + 1] = want[i] - inv[i] / sum;
    double err = 0;
    for (int i = 1; i < NX - 1; i++)
        for (int j = 0; j < NY; j++) err = fmax(err, fabs(x[i * NY + j] - want[i]));
    printf("  Poisson2D, nu(x) varying: CG minimiser vs the 1-D FEM solution: max error %.3g\n", err);
    CHECK(err < 2e-4);
    /* and the energy of the solution is the 1-D flux times the drop: (1 / sum) per unit width */
    for (int k = 0; k < N; k++) u[k] = (float)want[k / NY];
    bk_loss_pde_compute(&l, u, &s, nu, 1, NULL, &loss, &e, &bc);
    CHECK_NEAR(e, (NX - 1) / sum, 1e-5 * e);
}

/* ---- Burgers ---- */

/* mean squared residual of u(x, t) sampled on the loss's grid (d points, T steps) */
static double burgers_pde(double nu, int64_t d, int64_t T, double (*f)(double, double, double), double par, float *b,
                          double *loss_out, double *bc_out)
{
    bk_loss l = {.kind = BK_LOSS_BURGERS, .nu = nu, .boundary_factor = 1.0};
    int64_t dims[2] = {T, d};
    bk_shape s = bk_shape_make(2, dims);
    float *u = malloc((size_t)(T * d) * sizeof *u), *tb = malloc((size_t)d * sizeof *tb);
    double h = 1.0 / (double)d;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < d; i++) u[t * d + i] = (float)f((double)i * h, (double)t * h, par);
    for (int64_t i = 0; i < d; i++) tb[i] = b ? b[i] : u[i];
    double loss, pde = NAN, bc;
    CHECK_OK(bk_loss_pde_compute(&l, u, &s, tb, 1, NULL, &loss, &pde, &bc));
    if (loss_out) *loss_out = loss;
    if (bc_out) *bc_out = bc;
    free(u);
    free(tb);
    return pde;
}

static double rational(double x, double t, double t0) { return x / (t0 + t); }
static double frozen(double x, double t, double t0) { (void)t; return x / t0; }

static double g_nu = 0.02;
static double wave(double x, double t, double speed) { return 0.5 * (1 - tanh((x - speed * t - 0.4) / (4 * g_nu))); }

static void burgers_exact(void)
{
    const int64_t d = 32, T = 12;
    const double t0 = 1.0, h = 1.0 / (double)d;
    double loss, bc;
    double pde = burgers_pde(0.0, d, T, rational, t0, NULL, &loss, &bc);
    /* the residual of u = x / (t0 + t) under implicit Euler, exactly */
    double want = 0;
    for (int64_t t = 1; t < T; t++)
        for (int64_t i = 1; i < d; i++) {
            double tau = t0 + (double)t * h, r = -(double)i * h * h / (tau * tau * (tau - h));
            want += r * r;
        }
    want /= (double)((T - 1) * (d - 1));
    double wrong = burgers_pde(0.0, d, T, frozen, t0, NULL, NULL, NULL);
    printf("  Burgers inviscid, u = x/(1+t), d %lld, T %lld: mean R^2 %.6g (closed form %.6g); "
           "u frozen at x: %.6g\n", (long long)d, (long long)T, pde, want, wrong);
    CHECK_NEAR(pde, want, 1e-3 * want);
    CHECK(bc < 1e-12);               /* u(0, t) = 0 and u(x, 0) = b exactly */
    CHECK_NEAR(loss, pde + bc, 1e-12);
    CHECK(wrong > 300 * pde);

    /* the viscous travelling wave: speed 1/2 between 1 and 0, 4 nu = 0.08 wide,
     * on grids of 128 and 256 points to the same final time */
    double p128 = burgers_pde(g_nu, 128, 31, wave, 0.5, NULL, NULL, NULL);
    double p256 = burgers_pde(g_nu, 256, 61, wave, 0.5, NULL, NULL, NULL);
    double still = burgers_pde(g_nu, 256, 61, wave, 0.0, NULL, NULL, NULL);
    double fast = burgers_pde(g_nu, 256, 61, wave, 1.0, NULL, NULL, NULL);
    g_nu = 0.06; /* a wave three times as wide as the equation's nu makes it */
    float b256[256];
    for (int i = 0; i < 256; i++) b256[i] = (float)wave(i / 256.0, 0, 0.5);
    double wide = 0;
    {
        bk_loss l = {.kind = BK_LOSS_BURGERS, .nu = 0.02, .boundary_factor = 1.0};
        int64_t dims[2] = {61, 256};
        bk_shape s = bk_shape_make(2, dims);
        static float u[61 * 256];
        for (int t = 0; t < 61; t++)
            for (int i = 0; i < 256; i++) u[t * 256 + i] = (float)wave(i / 256.0, t / 256.0, 0.5);
        double loss2, bc2;
        CHECK_OK(bk_loss_pde_compute(&l, u, &s, b256, 1, NULL, &loss2, &wide, &bc2));
    }
    g_nu = 0.02;
    printf("  Burgers nu 0.02, travelling wave: mean R^2 %.4g (d 128), %.4g (d 256); at d 256: speed 0: %.4g, "
           "speed 1: %.4g, three times as wide: %.4g\n", p128, p256, still, fast, wide);
    CHECK(still > 100 * p256);
    CHECK(fast > 100 * p256);
    CHECK(wide > 10 * p256);
    CHECK(p128 / p256 > 3.0 && p128 / p256 < 5.0); /* the residual of the exact solution is O(h) */
}

/* Runs report the loss only: the metric sums count samples and never read
 * the target as a prediction to compare with (Burgers' target is smaller
 * than its output; under ASan a read past it fails), and the segmentation
 * metrics are refused. */
static void metrics(void)
{
    bk_loss l = {.kind = BK_LOSS_BURGERS, .boundary_factor = 1};
    int64_t dims[2] = {4, 8};
    bk_shape s = bk_shape_make(2, dims);
    float *out = calloc(2 * 32, sizeof *out), *b = calloc(2 * 8, sizeof *b); /* heap: ASan sees overreads */
    bk_metric_sums m;
    memset(&m, 0, sizeof m);
    bk_metric_accumulate(&l, BK_METRIC_DICE, out, &s, b, 2, &m);
    CHECK(m.count == 2 && m.sq_err == 0 && m.abs_err == 0 && m.correct == 0 && m.seg_classes == 0);
    CHECK(bk_loss_target_numel(&l, &s) == 8);
    l.pde_points = 4;
    CHECK(bk_loss_target_numel(&l, &s) == 4);
    CHECK(!bk_loss_has_accuracy(&l) && bk_loss_is_pde(&l) && !bk_loss_is_classification(&l));
    int classes;
    bk_loss p = {.kind = BK_LOSS_POISSON2D};
    int64_t pd[3] = {1, 4, 4};
    bk_shape ps = bk_shape_make(3, pd);
    CHECK(bk_metric_seg_classes(&p, &ps, &classes) == BK_ERR_INVALID);
    CHECK(bk_loss_target_numel(&p, &ps) == 16);
    /* an output the loss cannot read is refused before any batch */
    int64_t two[3] = {2, 4, 4};
    bk_shape bad = bk_shape_make(3, two);
    CHECK(bk_loss_pde_check(&p, &bad) == BK_ERR_SHAPE);
    CHECK(bk_loss_pde_check(&p, &ps) == BK_OK);
    p.kind = BK_LOSS_POISSON3D;
    CHECK(bk_loss_pde_check(&p, &ps) == BK_ERR_SHAPE); /* as [D, H, W]: one node along x */
    int64_t cube[3] = {3, 4, 4};
    bk_shape cs = bk_shape_make(3, cube);
    CHECK(bk_loss_pde_check(&p, &cs) == BK_OK); /* [D, H, W] without a channel axis */
    l.pde_points = 0;
    int64_t one_step[2] = {1, 8};
    bk_shape os = bk_shape_make(2, one_step);
    CHECK(bk_loss_pde_check(&l, &os) == BK_ERR_SHAPE);
    free(out);
    free(b);
}

int main(void)
{
    int64_t n2[2] = {9, 7}, n3[3] = {5, 4, 6}, n2b[2] = {2, 3};
    poisson_constant(2, n2, 2.5);
    poisson_constant(2, n2b, 1.0);
    poisson_constant(3, n3, 0.7);
    poisson_1d_profile();
    burgers_exact();
    metrics();
    return bk_test_finish("test_loss_pde");
}
