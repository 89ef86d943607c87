/* Convolutions to at most 4 channels from channel-blocked input
 * (src/backend/cpu/cpu_conv_narrow.c: CookieNetAE's 16 -> 1 head): the
 * forward, input gradient, weight and bias gradients against float64 loops,
 * for 1D to 3D, strides, dilation, uneven padding, blocks of 8 and 16,
 * with and without bias and a fused ReLU. */
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_plan.h"
#include "core/rng.h"
#include "testutil.h"

typedef struct {
    const char *name;
    int nd;
    int64_t cin, cout, in[3], k[3], stride[3], dil[3], pad_l[3], pad_r[3];
} conv_case;

typedef struct { int64_t in[3], out[3], k[3], s[3], d[3], p[3]; } dims3;

/* The case as three spatial dims (leading ones of size 1). */
static void as_3d(const conv_case *c, const int64_t *out, dims3 *g)
{
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - c->nd);
        g->in[i] = j < 0 ? 1 : c->in[j];
        g->out[i] = j < 0 ? 1 : out[j];
        g->k[i] = j < 0 ? 1 : c->k[j];
        g->s[i] = j < 0 ? 1 : c->stride[j];
        g->d[i] = j < 0 ? 1 : c->dil[j];
        g->p[i] = j < 0 ? 0 : c->pad_l[j];
    }
}

/* Calls f(xi, yi, ti) for every input, output and tap index that meet. */
#define FOR_EACH_TAP(g, BODY)                                                                              \
    for (int64_t od = 0; od < g.out[0]; od++)                                                              \
        for (int64_t oh = 0; oh < g.out[1]; oh++)                                                          \
            for (int64_t ow = 0; ow < g.out[2]; ow++)                                                      \
                for (int64_t kd = 0; kd < g.k[0]; kd++)                                                    \
                    for (int64_t kh = 0; kh < g.k[1]; kh++)                                                \
                        for (int64_t kw = 0; kw < g.k[2]; kw++) {                                          \
                            int64_t id = od * g.s[0] - g.p[0] + kd * g.d[0];                               \
                            int64_t ih = oh * g.s[1] - g.p[1] + kh * g.d[1];                               \
                            int64_t iw = ow * g.s[2] - g.p[2] + kw * g.d[2];                               \
                            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) \
                                continue;                                                                  \
                            int64_t xi = (id * g.in[1] + ih) * g.in[2] + iw;                               \
                            int64_t yi = (od * g.out[1] + oh) * g.out[2] + ow;                             \
                            int64_t ti = (kd * g.k[1] + kh) * g.k[2] + kw;                                 \
                            BODY                                                                           \
                        }

static double rel(const float *got, const double *ref, int64_t n)
{
    double worst = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(got[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    return worst / scale;
}

static void run_case(const bk_backend *be, const conv_case *c, int block, int bias, int relu)
{
    const int64_t n = 3;
    bk_conv_desc d = {.nd = c->nd, .n = n, .cin = c->cin, .cout = c->cout, .groups = 1, .has_bias = bias,
                      .post_relu = relu, .src_block = block};
    int64_t out[3];
    for (int i = 0; i < c->nd; i++) {
        d.in[i] = c->in[i], d.k[i] = c->k[i], d.stride[i] = c->stride[i], d.dil[i] = c->dil[i];
        d.pad_l[i] = c->pad_l[i], d.pad_r[i] = c->pad_r[i];
        out[i] = d.out[i] = (c->in[i] + c->pad_l[i] + c->pad_r[i] - (c->k[i] - 1) * c->dil[i] - 1) / c->stride[i] + 1;
    }
    dims3 g;
    as_3d(c, out, &g);
    int64_t si = g.in[0] * g.in[1] * g.in[2], so = g.out[0] * g.out[1] * g.out[2], T = g.k[0] * g.k[1] * g.k[2];
    int64_t nx = n * c->cin * si, ny = n * c->cout * so, nw = c->cout * c->cin * T;
    float *x = malloc(sizeof(float) * (size_t)nx), *xb = malloc(sizeof(float) * (size_t)nx);
    float *dxb = malloc(sizeof(float) * (size_t)nx), *dx = malloc(sizeof(float) * (size_t)nx);
    float *w = malloc(sizeof(float) * (size_t)nw), *dw = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * 4), db[4];
    float *y = malloc(sizeof(float) * (size_t)ny), *dy = malloc(sizeof(float) * (size_t)ny);
    double *ry = calloc((size_t)ny, sizeof(double)), *rdx = calloc((size_t)nx, sizeof(double));
    double *rdw = calloc((size_t)nw, sizeof(double)), rdb[4] = {0};
    bk_rng r;
    bk_rng_seed(&r, 5, 0);
    for (int64_t i = 0; i < nx; i++) x[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < nw; i++) w[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < 4; i++) b[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < ny; i++) dy[i] = (float)bk_rng_normal(&r);
    for (int64_t s = 0; s < n; s++)
        for (int64_t o = 0; o < c->cout; o++) {
            double *yo = ry + (s * c->cout + o) * so;
            const float *dyo = dy + (s * c->cout + o) * so;
            for (int64_t q = 0; q < so; q++) yo[q] = bias ? b[o] : 0, rdb[o] += dyo[q];
            for (int64_t i = 0; i < c->cin; i++) {
                const float *xc = x + (s * c->cin + i) * si, *wc = w + (o * c->cin + i) * T;
                double *dxc = rdx + (s * c->cin + i) * si, *dwc = rdw + (o * c->cin + i) * T;
                FOR_EACH_TAP(g, {
                    yo[yi] += (double)xc[xi] * wc[ti];
                    dxc[xi] += (double)dyo[yi] * wc[ti];
                    dwc[ti] += (double)dyo[yi] * xc[xi];
                })
            }
        }
    if (relu)
        for (int64_t i = 0; i < ny; i++) ry[i] = ry[i] > 0 ? ry[i] : 0;
    bk_plan *p = NULL, *lx = NULL;
    bk_status st = be->conv_plan(&p, &d);
    CHECK(st || p->narrow); /* the case runs the loops, not oneDNN */
    if (!st) st = be->layout_plan(&lx, n, c->cin, si, block);
    if (!st) st = be->layout_convert(lx, x, xb, 1);
    if (!st) st = be->conv_forward(p, xb, w, bias ? b : NULL, y);
    if (!st) st = be->conv_backward(p, xb, w, dy, dxb, dw, bias ? db : NULL);
    if (!st) st = be->layout_convert(lx, dxb, dx, 0);
    CHECK_OK(st);
    if (!st) {
        double e[4] = {rel(y, ry, ny), rel(dx, rdx, nx), rel(dw, rdw, nw), bias ? rel(db, rdb, c->cout) : 0};
        static const char *what[4] = {"output", "input gradient", "weight gradient", "bias gradient"};
        for (int k = 0; k < 4; k++) {
            if (e[k] >= 2e-6)
                fprintf(stderr, "%s (block %d, bias %d, relu %d): %s error %.2e\n", c->name, block, bias, relu,
                        what[k], e[k]);
            CHECK(e[k] < 2e-6);
        }
    }
    be->plan_destroy(p), be->plan_destroy(lx);
    free(x), free(xb), free(dxb), free(dx), free(w), free(dw), free(b), free(y), free(dy);
    free(ry), free(rdx), free(rdw);
}

static const conv_case CASES[] = {
    {"16to1_3x3_same", 2, 16, 1, {9, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},   /* CookieNetAE's head */
    {"32to3_s2_uneven_pad", 2, 32, 3, {8, 9}, {3, 2}, {2, 2}, {1, 1}, {0, 1}, {1, 0}},
    {"16to4_dil2", 2, 16, 4, {9, 8}, {3, 3}, {1, 1}, {2, 2}, {2, 1}, {2, 3}},
    {"16to2_1x1", 2, 16, 2, {5, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
    {"16to1_1d_s3", 1, 16, 1, {17}, {4}, {3}, {1}, {1}, {2}},
    {"16to2_3d", 3, 16, 2, {4, 5, 3}, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 2}},
};

int main(void)
{
    const bk_backend *be = bk_backend_cpu();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        for (int block = 8; block <= 16; block += 8)
            for (int v = 0; v < 3; v++) /* bias; no bias; bias and a fused ReLU */
                run_case(be, &CASES[i], block, v != 1, v == 2);
    return bk_test_finish("test_conv_narrow");
}
