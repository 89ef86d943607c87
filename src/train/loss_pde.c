/* The PDE losses of the neural PDE solver (`--app=pde`): the network's
 * output is the solution u, the target is the problem's data, and the loss
 * is small when u solves the PDE. Gradients w.r.t. u are exact (checked
 * against finite differences in tests/gradcheck/test_gradcheck_pde.c).
 *
 * Burgers_PDE: u_t + u u_x = nu u_xx, u(x, 0) = b(x), u(0, t) = 0.
 *   Output: T time steps of d points in x, x the fastest axis (brisk's
 *   channel-first order: [T, d], [1, T, d]; a Conv1D's output (d, T)
 *   channels_last, one channel per time step). d is the pde loader's
 *   domain_size, else the output's last axis. Target: b, d values.
 *   Grid: x_i = i h, t_n = n h with h = 1/d (the unit interval in x, as
 *   b(x) = 1/2 (1 - cos(2 pi c x / d)) has c periods over d points; time
 *   steps as long as space steps, so speed 1 moves one point per step).
 *   Residual at t = 1..T-1, x = 1..d-1, implicit (backward) Euler in time:
 *     R = (u[t][i] - u[t-1][i]) / h + u[t][i] (u[t][i] - u[t][i-1]) / h
 *         - nu (u[t][i+1] - 2 u[t][i] + u[t][i-1]) / h^2
 *   The one boundary condition sits at x = 0, so information flows to
 *   the right (b >= 0 keeps u >= 0): u_x is the upwind (backward)
 *   difference, and the open end x = d-1 is an outflow whose ghost point
 *   is extrapolated linearly, u[t][d] = 2 u[t][d-1] - u[t][d-2], so the
 *   diffusion term is 0 there (no condition is imposed on the outflow).
 *   The scheme is monotone: every implicit step was solvable and kept
 *   0 <= u <= max b (Newton on the scheme, d = 32 and 64, c = 1 to 5.5,
 *   nu = 0 to 0.1), so the loss's minimiser exists and is sound. Central
 *   differences for u_x, or a one-sided second difference at x = d-1,
 *   gave steps without any solution once a steep front formed or reached
 *   the open end, and values up to 3.5 from a b in [0, 1]; a mirrored
 *   ghost (zero gradient) made the residual of exact solutions sloped at
 *   x = 1 grow as the grid is refined. First order in x and t: the
 *   residual of a smooth exact solution is O(h).
 *   loss = mean R^2 + boundary_factor (mean_x (u[0][x] - b(x))^2
 *                                      + mean_t u[t][0]^2), means also over
 *   the samples.
 *
 * Poisson2D_PDE / Poisson3D_PDE: -div(nu grad u) = 0 on the unit square /
 *   cube, u = 1 at x = 0, u = 0 at x = 1, zero normal derivative elsewhere;
 *   x is the first spatial axis of the channel-first sample ([1, H, W]:
 *   H; [1, D, H, W]: D). Output u and target nu: [1, H, W] or [H, W]
 *   (3-D: [1, D, H, W] or [D, H, W]), nu > 0 at every node.
 *   The energy E(u) = integral of nu |grad u|^2 with bilinear (trilinear)
 *   elements on the node grid, spacing 1/(N_k - 1) along axis k, nu and
 *   grad u evaluated at the 2x2(x2) Gauss points of each element (nu
 *   interpolated from the nodes with the same shape functions). Its
 *   minimiser under the Dirichlet conditions is the finite-element
 *   solution, so the conditions are imposed inside E (the nodes of the
 *   planes x = 0 and x = 1 taken as 1 and 0, whatever the network gives
 *   there) and, so the network's own output meets them too, its
 *   mismatch there is added:
 *   loss = mean_samples E(u with the planes imposed)
 *          + boundary_factor mean_(samples, plane nodes) (u - u_D)^2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loss.h"

/* The grid an output of shape os holds: Burgers g = {T, d}; Poisson the
 * nodes along each spatial axis, g[0] along x (1 for axes it lacks). */
static bk_status pde_grid(const bk_loss *l, const bk_shape *os, int64_t *g)
{
    char sb[64];
    g[0] = g[1] = g[2] = 1;
    if (l->kind == BK_LOSS_BURGERS) {
        int64_t n = bk_shape_numel(os), last = os->ndim ? os->dims[os->ndim - 1] : 1;
        int64_t d = l->pde_points > 0 ? l->pde_points : last;
        if (d < 3 || last % d)
            return bk_error(BK_ERR_SHAPE, "Burgers_PDE: the model's output %s must hold the time steps of %lld point(s) "
                            "in x with x the last axis (channel-first [T, d]: in Keras terms a Conv1D output (d, T), one "
                            "channel per time step); at least 3 points in x are needed", bk_shape_str(os, sb, sizeof sb),
                            (long long)d);
        if (n / d < 2)
            return bk_error(BK_ERR_SHAPE, "Burgers_PDE: the model's output %s holds %lld time step(s) of %lld points; "
                            "the equation needs at least 2 (time steps come from the network: T channels of d points)",
                            bk_shape_str(os, sb, sizeof sb), (long long)(n / d), (long long)d);
        g[0] = n / d;
        g[1] = d;
        return BK_OK;
    }
    int dim = l->kind == BK_LOSS_POISSON3D ? 3 : 2;
    const char *name = dim == 3 ? "Poisson3D_PDE" : "Poisson2D_PDE";
    int lead = os->ndim == dim + 1;
    if ((os->ndim != dim && !lead) || (lead && os->dims[0] != 1))
        return bk_error(BK_ERR_SHAPE, "%s: the model's output %s must be one %d-D field u: [1, %s] channel-first "
                        "(Keras (%s, 1))", name, bk_shape_str(os, sb, sizeof sb), dim, dim == 3 ? "D, H, W" : "H, W",
                        dim == 3 ? "D, H, W" : "H, W");
    for (int k = 0; k < dim; k++) {
        g[k] = os->dims[lead + k];
        if (g[k] < 2)
            return bk_error(BK_ERR_SHAPE, "%s: the model's output %s has fewer than 2 nodes along a spatial axis",
                            name, bk_shape_str(os, sb, sizeof sb));
    }
    return BK_OK;
}

bk_status bk_loss_pde_check(const bk_loss *l, const bk_shape *out_shape)
{
    int64_t g[3];
    return pde_grid(l, out_shape, g);
}

/* ---- Burgers ---- */

/* The residual terms of one sample; grad (may be NULL) gets
 * dloss/du with the sample's share of the means in s_* (1 / count). */
static void burgers_sample(const float *u, const float *b, int64_t T, int64_t d, double nu, double bf,
                           double s_pde, double s_ic, double s_bc, float *grad, double *pde, double *ic, double *bc)
{
    const double h = 1.0 / (double)d, dt = h;
    double sr = 0, si = 0, sb = 0;
    if (grad) memset(grad, 0, (size_t)(T * d) * sizeof(float));
    for (int64_t t = 1; t < T; t++) {
        const float *v = u + t * d, *p = u + (t - 1) * d;
        float *g = grad ? grad + t * d : NULL, *gp = grad ? grad + (t - 1) * d : NULL;
        for (int64_t i = 1; i < d; i++) {
            double ui = v[i], ux = (ui - v[i - 1]) / h;
            int edge = i == d - 1;
            double uxx = edge ? 0.0 : ((double)v[i + 1] - 2 * ui + v[i - 1]) / (h * h);
            double r = (ui - p[i]) / dt + ui * ux - nu * uxx;
            sr += r * r;
            if (!g) continue;
            double a = 2 * r * s_pde, k = edge ? 0.0 : nu / (h * h); /* dloss/dR; the diffusion stencil's weight */
            gp[i] -= (float)(a / dt);
            g[i] += (float)(a * (1 / dt + ux + ui / h + 2 * k));
            g[i - 1] += (float)(a * (-ui / h - k));
            if (!edge) g[i + 1] += (float)(a * -k);
        }
    }
    for (int64_t i = 0; i < d; i++) {
        double e = (double)u[i] - b[i];
        si += e * e;
        if (grad) grad[i] += (float)(2 * bf * s_ic * e);
    }
    for (int64_t t = 0; t < T; t++) {
        double e = u[t * d];
        sb += e * e;
        if (grad) grad[t * d] += (float)(2 * bf * s_bc * e);
    }
    *pde = sr;
    *ic = si;
    *bc = sb;
}

static bk_status burgers(const bk_loss *l, const float *out, const bk_shape *os, const float *target, int64_t batch,
                         float *grad, double *loss, double *pde_out, double *bc_out)
{
    int64_t g[3], n = bk_shape_numel(os);
    bk_status st = pde_grid(l, os, g);
    if (st) return st;
    int64_t T = g[0], d = g[1];
    double nb = (double)batch;
    double s_pde = 1.0 / (nb * (double)(T - 1) * (double)(d - 1)), s_ic = 1.0 / (nb * (double)d),
           s_bc = 1.0 / (nb * (double)T);
    double *parts = malloc((size_t)(3 * batch) * sizeof *parts);
    if (!parts) return bk_error(BK_ERR_NOMEM, "Burgers_PDE: out of memory for a batch of %lld", (long long)batch);
    /* samples are independent: threads over them, sums in sample order (results do not depend on threads) */
#pragma omp parallel for schedule(static) if (batch > 1 && T * d * batch > 32768)
    for (int64_t s = 0; s < batch; s++)
        burgers_sample(out + s * n, target + s * d, T, d, l->nu, l->boundary_factor, s_pde, s_ic, s_bc,
                       grad ? grad + s * n : NULL, &parts[3 * s], &parts[3 * s + 1], &parts[3 * s + 2]);
    double pde = 0, ic = 0, bc = 0;
    for (int64_t s = 0; s < batch; s++) {
        pde += parts[3 * s];
        ic += parts[3 * s + 1];
        bc += parts[3 * s + 2];
    }
    free(parts);
    pde *= s_pde;
    double bnd = ic * s_ic + bc * s_bc;
    *loss = pde + l->boundary_factor * bnd;
    if (pde_out) *pde_out = pde;
    if (bc_out) *bc_out = bnd;
    return BK_OK;
}

/* ---- Poisson: Q1 finite elements ---- */

/* The element energy w vol sum_g nu_g |grad u_g|^2 splits by axis: du/dx_k
 * is constant along x_k inside an element, so it takes one value per Gauss
 * point of the element's face across x_k, interpolated from the 2^(dim-1)
 * differences D_k = u(far) - u(near) along x_k; and summing nu_g over the
 * two Gauss points along x_k leaves the face interpolation of F_k =
 * nu(near) + nu(far). So with f, g the face interpolations of F_k, D_k,
 *   E_el = w vol sum_k sum_(face Gauss points) f g^2
 * (w = 2^-dim, the Gauss weights on [0, 1]^dim): about 60 products per
 * element in 3-D where the plain loops over 8 Gauss points and 8 corners
 * take about 250. M1[p][s]: 1-D linear shape function s (0: near node)
 * at Gauss point p. */
#define GAUSS_A 0.21132486540518712 /* 1/2 - 1/(2 sqrt(3)) */
static const double M1[2][2] = {{1 - GAUSS_A, GAUSS_A}, {GAUSS_A, 1 - GAUSS_A}};

/* out[i][j] = sum_(s,t) M1[i][s] M1[j][t] in[s][t] (t: 1 for the 1-D faces of 2-D elements) */
static inline void face2(const double in[2][2], double out[2][2])
{
    double t[2][2];
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 2; c++) t[i][c] = M1[i][0] * in[0][c] + M1[i][1] * in[1][c];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) out[i][j] = M1[j][0] * t[i][0] + M1[j][1] * t[i][1];
}

/* the transpose: out[s][t] = sum_(i,j) M1[i][s] M1[j][t] in[i][j] */
static inline void face2_t(const double in[2][2], double out[2][2])
{
    double t[2][2];
    for (int s = 0; s < 2; s++)
        for (int j = 0; j < 2; j++) t[s][j] = M1[0][s] * in[0][j] + M1[1][s] * in[1][j];
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++) out[s][c] = M1[0][c] * t[s][0] + M1[1][c] * t[s][1];
}

/* One axis of one 3-D element: returns sum f g^2 and sets dd = d/dD (sum f g^2). */
static inline double axis3(const double F[2][2], const double D[2][2], double dd[2][2])
{
    double f[2][2], g[2][2], gg[2][2], e = 0;
    face2(F, f);
    face2(D, g);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            e += f[i][j] * g[i][j] * g[i][j];
            gg[i][j] = 2 * f[i][j] * g[i][j];
        }
    face2_t(gg, dd);
    return e;
}

/* One axis of one 2-D element (1-D faces). */
static inline double axis2(const double F[2], const double D[2], double dd[2])
{
    double e = 0, gg[2];
    for (int i = 0; i < 2; i++) {
        double f = M1[i][0] * F[0] + M1[i][1] * F[1], g = M1[i][0] * D[0] + M1[i][1] * D[1];
        e += f * g * g;
        gg[i] = 2 * f * g;
    }
    for (int s = 0; s < 2; s++) dd[s] = M1[0][s] * gg[0] + M1[1][s] * gg[1];
    return e;
}

/* Workspace of one sample's energy: per-corner gradients of a row of
 * elements (8 rows of n_last doubles), and rows of ones and zeros that
 * stand for the Dirichlet planes. NULL when out of memory. */
typedef struct {
    double *rb;
    float *one, *zero;
} q1_work;

static int q1_work_init(q1_work *w, int64_t n_last)
{
    w->rb = malloc((size_t)(8 * n_last) * sizeof *w->rb);
    w->one = malloc((size_t)n_last * sizeof *w->one);
    w->zero = calloc((size_t)n_last, sizeof *w->zero);
    if (!w->rb || !w->one || !w->zero) return -1;
    for (int64_t i = 0; i < n_last; i++) w->one[i] = 1;
    return 0;
}

static void q1_work_free(q1_work *w)
{
    free(w->rb);
    free(w->one);
    free(w->zero);
}

/* E(u) of one sample with the Dirichlet planes imposed; ge (may be NULL)
 * gets scale * dE/du (zero on the planes, where E does not depend on u).
 * n[k]: nodes along axis k (n[0]: x); n[2] = 1 in 2-D. Elements are taken
 * a row at a time along the last axis, with their corner gradients kept
 * per row and added afterwards, so the row loop has no dependence between
 * elements and vectorises. */
static double poisson_energy(int dim, const float *u, const float *nu, const int64_t *n, double scale, float *ge,
                             q1_work *wk)
{
    int64_t nl = n[dim - 1], ne = nl - 1; /* nodes and elements along the last axis */
    int64_t rows1 = dim == 3 ? n[1] - 1 : 1, st0 = dim == 3 ? n[1] * n[2] : n[1], st1 = dim == 3 ? n[2] : 0;
    double ih0 = (double)(n[0] - 1), ih1 = (double)(n[1] - 1), ih2 = dim == 3 ? (double)(n[2] - 1) : 1;
    double vol = 1 / (ih0 * ih1 * ih2), w = dim == 3 ? 0.125 : 0.25, total = 0;
    double *rb = wk->rb;
    if (ge) memset(ge, 0, (size_t)(n[0] * st0) * sizeof(float));
    for (int64_t e0 = 0; e0 < n[0] - 1; e0++) {
        int lo = e0 == 0, hi = e0 == n[0] - 2; /* the planes x = 0 and x = 1 hold 1 and 0 */
        for (int64_t e1 = 0; e1 < rows1; e1++) {
            int64_t r00 = e0 * st0 + e1 * st1, r10 = r00 + st0, r01 = r00 + st1, r11 = r10 + st1;
            double row = 0;
            if (dim == 3) {
                const float *u00 = lo ? wk->one : u + r00, *u01 = lo ? wk->one : u + r01;
                const float *u10 = hi ? wk->zero : u + r10, *u11 = hi ? wk->zero : u + r11;
                const float *v00 = nu + r00, *v01 = nu + r01, *v10 = nu + r10, *v11 = nu + r11;
#pragma omp simd reduction(+ : row)
                for (int64_t e = 0; e < ne; e++) {
                    /* corners [a][b][c]: a along x (axis 0), b axis 1, c axis 2 */
                    double uc[2][2][2] = {{{u00[e], u00[e + 1]}, {u01[e], u01[e + 1]}},
                                          {{u10[e], u10[e + 1]}, {u11[e], u11[e + 1]}}};
                    double vc[2][2][2] = {{{v00[e], v00[e + 1]}, {v01[e], v01[e + 1]}},
                                          {{v10[e], v10[e + 1]}, {v11[e], v11[e + 1]}}};
                    double F0[2][2], D0[2][2], F1[2][2], D1[2][2], F2[2][2], D2[2][2], d0[2][2], d1[2][2], d2[2][2];
                    for (int x = 0; x < 2; x++)
                        for (int y = 0; y < 2; y++) {
                            F0[x][y] = vc[0][x][y] + vc[1][x][y];
                            D0[x][y] = (uc[1][x][y] - uc[0][x][y]) * ih0;
                            F1[x][y] = vc[x][0][y] + vc[x][1][y];
                            D1[x][y] = (uc[x][1][y] - uc[x][0][y]) * ih1;
                            F2[x][y] = vc[x][y][0] + vc[x][y][1];
                            D2[x][y] = (uc[x][y][1] - uc[x][y][0]) * ih2;
                        }
                    row += axis3(F0, D0, d0) + axis3(F1, D1, d1) + axis3(F2, D2, d2);
                    if (!ge) continue;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            for (int c = 0; c < 2; c++) {
                                /* dD_k / du: +ih_k at the far corner, -ih_k at the near one */
                                double v = (a ? d0[b][c] : -d0[b][c]) * ih0 + (b ? d1[a][c] : -d1[a][c]) * ih1 +
                                           (c ? d2[a][b] : -d2[a][b]) * ih2;
                                rb[(a * 4 + b * 2 + c) * ne + e] = v;
                            }
                }
            } else {
                const float *u0 = lo ? wk->one : u + r00, *u1 = hi ? wk->zero : u + r10;
                const float *v0 = nu + r00, *v1 = nu + r10;
#pragma omp simd reduction(+ : row)
                for (int64_t e = 0; e < ne; e++) {
                    double uc[2][2] = {{u0[e], u0[e + 1]}, {u1[e], u1[e + 1]}};
                    double vc[2][2] = {{v0[e], v0[e + 1]}, {v1[e], v1[e + 1]}};
                    double F0[2] = {vc[0][0] + vc[1][0], vc[0][1] + vc[1][1]};
                    double D0[2] = {(uc[1][0] - uc[0][0]) * ih0, (uc[1][1] - uc[0][1]) * ih0};
                    double F1[2] = {vc[0][0] + vc[0][1], vc[1][0] + vc[1][1]};
                    double D1[2] = {(uc[0][1] - uc[0][0]) * ih1, (uc[1][1] - uc[1][0]) * ih1};
                    double d0[2], d1[2];
                    row += axis2(F0, D0, d0) + axis2(F1, D1, d1);
                    if (!ge) continue;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            rb[(a * 2 + b) * ne + e] = (a ? d0[b] : -d0[b]) * ih0 + (b ? d1[a] : -d1[a]) * ih1;
                }
            }
            total += row;
            if (!ge) continue;
            /* corner gradients onto the nodes; none onto the imposed planes */
            double f = w * vol * scale;
            int nr = dim == 3 ? 4 : 2;
            for (int r = 0; r < nr; r++) {
                int a = dim == 3 ? r >> 1 : r;
                if (a ? hi : lo) continue;
                int64_t start = dim == 3 ? (r == 0 ? r00 : r == 1 ? r01 : r == 2 ? r10 : r11) : (r ? r10 : r00);
                const double *near = rb + (2 * r) * ne, *far = rb + (2 * r + 1) * ne;
                float *gr = ge + start;
                for (int64_t e = 0; e < ne; e++) gr[e] += (float)(f * near[e]);
                for (int64_t e = 0; e < ne; e++) gr[e + 1] += (float)(f * far[e]);
            }
        }
    }
    return total * w * vol;
}

/* Adds the Dirichlet mismatch of one sample's raw output: returns the
 * sum of (u - u_D)^2 over both planes; grad (may be NULL) += scale * its
 * derivative. */
static double poisson_planes(const float *u, int64_t n0, int64_t plane, double scale, float *grad)
{
    double s = 0;
    for (int side = 0; side < 2; side++) {
        const float *p = u + (side ? (n0 - 1) * plane : 0);
        double want = side ? 0.0 : 1.0;
        for (int64_t j = 0; j < plane; j++) {
            double e = (double)p[j] - want;
            s += e * e;
            if (grad) grad[(side ? (n0 - 1) * plane : 0) + j] += (float)(2 * scale * e);
        }
    }
    return s;
}

static bk_status poisson(const bk_loss *l, const float *out, const bk_shape *os, const float *target, int64_t batch,
                         float *grad, double *loss, double *pde_out, double *bc_out)
{
    int dim = l->kind == BK_LOSS_POISSON3D ? 3 : 2;
    const char *name = dim == 3 ? "Poisson3D_PDE" : "Poisson2D_PDE";
    int64_t nn[3];
    bk_status st = pde_grid(l, os, nn);
    if (st) return st;
    int64_t per = bk_shape_numel(os), plane = per / nn[0];
    for (int64_t i = 0; i < batch * per; i++)
        if (!(target[i] > 0) || isinf(target[i])) {
            int64_t j = i % per, c[3] = {j / (nn[1] * nn[2]), j / nn[2] % nn[1], j % nn[2]};
            char at[96];
            if (dim == 3) snprintf(at, sizeof at, "[%lld, %lld, %lld]", (long long)c[0], (long long)c[1], (long long)c[2]);
            else snprintf(at, sizeof at, "[%lld, %lld]", (long long)c[0], (long long)c[1]);
            return bk_error(BK_ERR_INVALID, "%s: the target (the diffusivity nu, the same data as the input) is %g at "
                            "node %s of sample %lld of the batch; nu must be positive and finite", name,
                            (double)target[i], at, (long long)(i / per));
        }
    double s_e = 1.0 / (double)batch, s_b = 1.0 / ((double)batch * 2.0 * (double)plane);
    double *parts = malloc((size_t)(2 * batch) * sizeof *parts);
    if (!parts) return bk_error(BK_ERR_NOMEM, "%s: out of memory for a batch of %lld", name, (long long)batch);
    int nomem = 0;
#pragma omp parallel for schedule(static) if (batch > 1 && per * batch > 32768) reduction(| : nomem)
    for (int64_t s = 0; s < batch; s++) {
        float *g = grad ? grad + s * per : NULL;
        q1_work wk;
        if (q1_work_init(&wk, nn[dim - 1])) {
            nomem = 1;
        } else {
            parts[2 * s] = poisson_energy(dim, out + s * per, target + s * per, nn, s_e, g, &wk);
            parts[2 * s + 1] = poisson_planes(out + s * per, nn[0], plane, l->boundary_factor * s_b, g);
        }
        q1_work_free(&wk);
    }
    if (nomem) {
        free(parts);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for the element workspace", name);
    }
    double en = 0, bn = 0;
    for (int64_t s = 0; s < batch; s++) {
        en += parts[2 * s];
        bn += parts[2 * s + 1];
    }
    free(parts);
    en *= s_e;
    bn *= s_b;
    *loss = en + l->boundary_factor * bn;
    if (pde_out) *pde_out = en;
    if (bc_out) *bc_out = bn;
    return BK_OK;
}

bk_status bk_loss_pde_compute(const bk_loss *l, const float *out, const bk_shape *out_shape, const float *target,
                              int64_t batch, float *grad, double *loss, double *pde, double *bc)
{
    if (batch < 1) return bk_error(BK_ERR_INVALID, "PDE loss: empty batch");
    if (l->kind == BK_LOSS_BURGERS) return burgers(l, out, out_shape, target, batch, grad, loss, pde, bc);
    if (l->kind == BK_LOSS_POISSON2D || l->kind == BK_LOSS_POISSON3D)
        return poisson(l, out, out_shape, target, batch, grad, loss, pde, bc);
    return bk_error(BK_ERR_INTERNAL, "bk_loss_pde_compute: not a PDE loss");
}
