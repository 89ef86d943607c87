/* The forward pass of transposed convolutions (backend deconv_plan +
 * conv_forward) against a float64 loop, in every layout the model may give
 * it: the kernel == stride and stride-1 cases that run as convolutions
 * (src/backend/cpu/cpu_deconv_fwd.c), and cases that stay on oneDNN's
 * deconvolution (BRISK_DECONV_DIRECT=1 forces that path for all, and the
 * test runs every case both ways). Backward passes are checked by the
 * gradient checks and the PyTorch parity tests. */
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "core/rng.h"
#include "testutil.h"

typedef struct {
    const char *name;
    int nd;
    int64_t cin, cout, in[3], k[3], stride[3], dil[3], pad_l[3], pad_r[3];
} deconv_case;

static int64_t spatial(const int64_t *dims, int nd)
{
    int64_t s = 1;
    for (int i = 0; i < nd; i++) s *= dims[i];
    return s;
}

/* y[n][o][out] = b[o] + sum x[n][i][p] w[i][o][t] over out = p*stride + t*dil - pad_l */
static void reference(const deconv_case *c, const int64_t *out, int64_t n, const float *x, const float *w,
                      const float *b, int relu, double *y)
{
    int nd = c->nd;
    int64_t si = spatial(c->in, nd), so = spatial(out, nd), taps = spatial(c->k, nd);
    for (int64_t q = 0; q < n * c->cout * so; q++) y[q] = b ? b[(q / so) % c->cout] : 0;
    for (int64_t s = 0; s < n; s++)
        for (int64_t i = 0; i < c->cin; i++)
            for (int64_t p = 0; p < si; p++)
                for (int64_t t = 0; t < taps; t++) {
                    int64_t pos = 0, rp = p, rt = t, inside = 1, scale = 1;
                    for (int d = nd - 1; d >= 0; d--) {
                        int64_t pd = rp % c->in[d], td = rt % c->k[d];
                        rp /= c->in[d], rt /= c->k[d];
                        int64_t od = pd * c->stride[d] + td * c->dil[d] - c->pad_l[d];
                        if (od < 0 || od >= out[d]) inside = 0;
                        pos += od * scale;
                        scale *= out[d];
                    }
                    if (!inside) continue;
                    double xv = x[(s * c->cin + i) * si + p];
                    for (int64_t o = 0; o < c->cout; o++)
                        y[(s * c->cout + o) * so + pos] += xv * w[(i * c->cout + o) * taps + t];
                }
    if (relu)
        for (int64_t q = 0; q < n * c->cout * so; q++) y[q] = y[q] > 0 ? y[q] : 0;
}

/* Runs one case in one layout; returns the error relative to the largest
 * reference value, or 1e30 when the backend failed. */
static double run_case(const bk_backend *be, const deconv_case *c, int block, int bias, int relu)
{
    const int64_t n = 3;
    bk_conv_desc d = {.nd = c->nd, .n = n, .cin = c->cin, .cout = c->cout, .groups = 1, .has_bias = bias,
                      .post_relu = relu};
    int64_t out[3];
    for (int i = 0; i < c->nd; i++) {
        d.in[i] = c->in[i], d.k[i] = c->k[i], d.stride[i] = c->stride[i], d.dil[i] = c->dil[i];
        d.pad_l[i] = c->pad_l[i], d.pad_r[i] = c->pad_r[i];
        out[i] = d.out[i] = (c->in[i] - 1) * c->stride[i] + (c->k[i] - 1) * c->dil[i] + 1 - c->pad_l[i] - c->pad_r[i];
    }
    /* the model blocks a tensor only where the block divides its channels */
    d.src_block = block && c->cin % block == 0 ? block : 0;
    d.dst_block = block && c->cout % block == 0 ? block : 0;
    int64_t si = spatial(c->in, c->nd), so = spatial(out, c->nd), taps = spatial(c->k, c->nd);
    int64_t nx = n * c->cin * si, ny = n * c->cout * so, nw = c->cin * c->cout * taps;
    float *x = malloc(sizeof(float) * (size_t)nx), *xb = malloc(sizeof(float) * (size_t)nx);
    float *w = malloc(sizeof(float) * (size_t)nw), *b = malloc(sizeof(float) * (size_t)c->cout);
    float *y = malloc(sizeof(float) * (size_t)ny), *yb = malloc(sizeof(float) * (size_t)ny);
    double *ref = malloc(sizeof(double) * (size_t)ny);
    bk_rng r;
    bk_rng_seed(&r, 11, 0);
    for (int64_t i = 0; i < nx; i++) x[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < nw; i++) w[i] = (float)bk_rng_normal(&r);
    for (int64_t i = 0; i < c->cout; i++) b[i] = (float)bk_rng_normal(&r);
    reference(c, out, n, x, w, bias ? b : NULL, relu, ref);
    bk_plan *p = NULL, *lx = NULL, *ly = NULL;
    bk_status st = be->deconv_plan(&p, &d);
    if (!st && d.src_block) st = be->layout_plan(&lx, n, c->cin, si, d.src_block);
    if (!st && d.dst_block) st = be->layout_plan(&ly, n, c->cout, so, d.dst_block);
    if (!st && lx) st = be->layout_convert(lx, x, xb, 1);
    if (!st) st = be->conv_forward(p, lx ? xb : x, w, bias ? b : NULL, ly ? yb : y);
    if (!st && ly) st = be->layout_convert(ly, yb, y, 0);
    double err = 1e30;
    if (!st) {
        double worst = 0, scale = 1e-30;
        for (int64_t i = 0; i < ny; i++) {
            worst = fmax(worst, fabs(y[i] - ref[i]));
            scale = fmax(scale, fabs(ref[i]));
        }
        err = worst / scale;
    } else {
        fprintf(stderr, "%s: %s\n", c->name, bk_last_error());
    }
    be->plan_destroy(p), be->plan_destroy(lx), be->plan_destroy(ly);
    free(x), free(xb), free(w), free(b), free(y), free(yb), free(ref);
    return err;
}

static const deconv_case CASES[] = {
    /* kernel == stride: as a 1x1 convolution (CookieNetAE's and UNet's upsampling) */
    {"k2s2", 2, 32, 16, {5, 4}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}},
    {"k2s2_odd_channels", 2, 5, 3, {4, 3}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}},
    {"k3x2_s3x2", 2, 16, 32, {3, 4}, {3, 2}, {3, 2}, {1, 1}, {0, 0}, {0, 0}},
    {"k2s2_1d", 1, 16, 8, {7}, {2}, {2}, {1}, {0}, {0}},
    {"k2s2_3d", 3, 16, 16, {3, 2, 3}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}},
    /* stride 1: as a convolution with the kernel flipped */
    {"k3_same", 2, 32, 16, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
    {"k3_valid", 2, 16, 5, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
    {"k4x3_asymmetric_pad", 2, 16, 16, {5, 6}, {4, 3}, {1, 1}, {1, 1}, {1, 0}, {2, 2}},
    {"k3_dil2", 2, 8, 16, {5, 5}, {3, 3}, {1, 1}, {2, 2}, {2, 1}, {2, 3}},
    {"k3_dil3_1d", 1, 16, 16, {9}, {3}, {1}, {3}, {3}, {3}},
    {"k3_3d", 3, 16, 8, {3, 4, 3}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
    /* neither: oneDNN's deconvolution */
    {"k3s2", 2, 16, 16, {4, 4}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0}},
    {"k2s2_pad", 2, 16, 16, {4, 4}, {2, 2}, {2, 2}, {1, 1}, {1, 1}, {0, 0}},
};

int main(void)
{
    const bk_backend *be = bk_backend_cpu();
    static const int blocks[] = {0, 8, 16};
    for (int direct = 0; direct < 2; direct++) {
        setenv("BRISK_DECONV_DIRECT", direct ? "1" : "0", 1);
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
            for (int bi = 0; bi < 3; bi++)
                for (int v = 0; v < 3; v++) { /* bias; no bias; bias and a fused ReLU */
                    int bias = v != 1, relu = v == 2;
                    double err = run_case(be, &CASES[i], blocks[bi], bias, relu);
                    if (err >= 2e-6)
                        fprintf(stderr, "%s (%s, block %d, bias %d, relu %d): error %.2e\n", CASES[i].name,
                                direct ? "oneDNN deconvolution" : "as a convolution", blocks[bi], bias, relu, err);
                    CHECK(err < 2e-6);
                }
    }
    return bk_test_finish("test_deconv_forward");
}
