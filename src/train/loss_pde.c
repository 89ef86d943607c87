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

enum { MAXC = 8 }; /* corners (and Gauss points) of a 3-D element */

/* Shape functions of the reference element [0, 1]^dim at its Gauss points:
 * N[g][c] and dN[g][c][k] = dN_c / dxi_k. Corner c and Gauss point g are
 * bit patterns, bit k for axis k (bit set: the far node / the far point). */
typedef struct {
    int dim, nc;
    double N[MAXC][MAXC], dN[MAXC][MAXC][3];
} q1_table;

static void q1_init(q1_table *q, int dim)
{
    const double gp[2] = {0.5 - 0.5 / sqrt(3.0), 0.5 + 0.5 / sqrt(3.0)};
    q->dim = dim;
    q->nc = 1 << dim;
    for (int g = 0; g < q->nc; g++)
        for (int c = 0; c < q->nc; c++) {
            double f[3], df[3];
            for (int k = 0; k < dim; k++) {
                double xi = gp[(g >> k) & 1];
                int far = (c >> k) & 1;
                f[k] = far ? xi : 1 - xi;
                df[k] = far ? 1 : -1;
            }
            q->N[g][c] = 1;
            for (int k = 0; k < dim; k++) {
                q->N[g][c] *= f[k];
                q->dN[g][c][k] = df[k];
                for (int j = 0; j < dim; j++)
                    if (j != k) q->dN[g][c][k] *= f[j];
            }
        }
}

/* E(u) of one sample with the Dirichlet planes imposed; ge (may be NULL)
 * gets scale * dE/du (zero on the planes, where E does not depend on u).
 * n[k]: nodes along axis k (n[0]: x); dims beyond dim are 1. */
static double poisson_energy(const q1_table *q, const float *u, const float *nu, const int64_t *n, double scale,
                             float *ge)
{
    int dim = q->dim, nc = q->nc;
    int64_t stride[3] = {1, 1, 1}, ne[3] = {1, 1, 1};
    double h[3] = {1, 1, 1}, vol = 1, w = 1.0 / nc; /* 2-point Gauss on [0, 1]: weights 1/2 per axis */
    for (int k = dim - 1; k >= 0; k--) {
        stride[k] = k == dim - 1 ? 1 : stride[k + 1] * n[k + 1];
        ne[k] = n[k] - 1;
        h[k] = 1.0 / (double)(n[k] - 1);
        vol *= h[k];
    }
    int64_t off[MAXC];
    for (int c = 0; c < nc; c++) {
        off[c] = 0;
        for (int k = 0; k < dim; k++) off[c] += ((c >> k) & 1) * stride[k];
    }
    if (ge) memset(ge, 0, (size_t)(n[0] * stride[0]) * sizeof(float));
    double total = 0;
    for (int64_t e0 = 0; e0 < ne[0]; e0++)
        for (int64_t e1 = 0; e1 < ne[1]; e1++)
            for (int64_t e2 = 0; e2 < ne[2]; e2++) {
                int64_t base = e0 * stride[0] + (dim > 1 ? e1 * stride[1] : 0) + (dim > 2 ? e2 * stride[2] : 0);
                double uc[MAXC], nc_[MAXC], gc[MAXC] = {0};
                int fixed[MAXC];
                for (int c = 0; c < nc; c++) {
                    int64_t xi = e0 + (c & 1);
                    fixed[c] = xi == 0 || xi == n[0] - 1;
                    uc[c] = xi == 0 ? 1.0 : xi == n[0] - 1 ? 0.0 : u[base + off[c]];
                    nc_[c] = nu[base + off[c]];
                }
                double e = 0;
                for (int g = 0; g < nc; g++) {
                    double nug = 0, gr[3] = {0, 0, 0}, g2 = 0;
                    for (int c = 0; c < nc; c++) {
                        nug += q->N[g][c] * nc_[c];
                        for (int k = 0; k < dim; k++) gr[k] += q->dN[g][c][k] * uc[c];
                    }
                    for (int k = 0; k < dim; k++) {
                        gr[k] /= h[k];
                        g2 += gr[k] * gr[k];
                    }
                    e += w * nug * g2;
                    if (!ge) continue;
                    for (int c = 0; c < nc; c++) {
                        double dot = 0;
                        for (int k = 0; k < dim; k++) dot += gr[k] * q->dN[g][c][k] / h[k];
                        gc[c] += 2 * w * nug * dot;
                    }
                }
                total += e * vol;
                if (ge)
                    for (int c = 0; c < nc; c++)
                        if (!fixed[c]) ge[base + off[c]] += (float)(scale * vol * gc[c]);
            }
    return total;
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
    q1_table q;
    q1_init(&q, dim);
    double s_e = 1.0 / (double)batch, s_b = 1.0 / ((double)batch * 2.0 * (double)plane);
    double *parts = malloc((size_t)(2 * batch) * sizeof *parts);
    if (!parts) return bk_error(BK_ERR_NOMEM, "%s: out of memory for a batch of %lld", name, (long long)batch);
#pragma omp parallel for schedule(static) if (batch > 1 && per * batch > 32768)
    for (int64_t s = 0; s < batch; s++) {
        float *g = grad ? grad + s * per : NULL;
        parts[2 * s] = poisson_energy(&q, out + s * per, target + s * per, nn, s_e, g);
        parts[2 * s + 1] = poisson_planes(out + s * per, nn[0], plane, l->boundary_factor * s_b, g);
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
