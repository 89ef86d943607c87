/* Convolutions to a few output channels (an output head: CookieNetAE's
 * last layer maps 16 channels to 1) from channel-blocked input, as loops
 * vectorised over the input's channel block. oneDNN 2.6 pads the output
 * channels to its block of 16 and so does 16 times the work: CookieNetAE's
 * head took 34 ms of a 225 ms training step (batch 32, 2 threads) for
 * 0.45 GFLOP. Spatial dims are handled as three (1D and 2D get leading
 * dims of 1); the output is plain (the model blocks no tensor whose
 * channels the block does not divide), the weights PyTorch's. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "cpu_plan.h"

#define NARROW_MAX_OUT 4
#define MAX_BLOCK 16

struct bk_narrow_conv {
    int64_t n, cin, cout, blocks, block;  /* blocks: cin / block */
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3], taps;
    int relu, threads;
    float *wr;   /* the weights as [cout][blocks][taps][block] */
    double *acc; /* per thread: the weight gradient in wr's layout, then the bias gradient */
    float *row;  /* per thread: one output row's weight gradient, in wr's layout */
    float *fwd;  /* per thread: one output row's sums, [cout][out columns][block] */
};

int bk_cpu_narrow_conv_fits(const bk_conv_desc *d)
{
    return d->groups == 1 && d->cout <= NARROW_MAX_OUT && d->src_block && d->src_block <= MAX_BLOCK &&
           d->cin % d->src_block == 0 && !d->dst_block && !d->wei_block;
}

bk_status bk_cpu_narrow_conv_create(bk_narrow_conv **out, const bk_conv_desc *d)
{
    bk_narrow_conv *c = calloc(1, sizeof *c);
    if (!c) return bk_error(BK_ERR_NOMEM, "out of memory building a convolution plan");
    c->n = d->n, c->cin = d->cin, c->cout = d->cout, c->block = d->src_block, c->blocks = d->cin / d->src_block;
    c->relu = d->post_relu;
    c->taps = 1;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - d->nd); /* the desc's axis; < 0: a leading axis of 1 */
        c->in[i] = j < 0 ? 1 : d->in[j];
        c->out[i] = j < 0 ? 1 : d->out[j];
        c->k[i] = j < 0 ? 1 : d->k[j];
        c->stride[i] = j < 0 ? 1 : d->stride[j];
        c->dil[i] = j < 0 ? 1 : d->dil[j];
        c->pad[i] = j < 0 ? 0 : d->pad_l[j];
        c->taps *= c->k[i];
    }
    c->threads = omp_get_max_threads();
    int64_t w = c->cout * c->cin * c->taps;
    c->wr = malloc(sizeof(float) * (size_t)w);
    c->acc = malloc(sizeof(double) * (size_t)((w + c->cout) * c->threads));
    c->row = malloc(sizeof(float) * (size_t)(w * c->threads));
    c->fwd = malloc(sizeof(float) * (size_t)(c->cout * c->out[2] * c->block * c->threads));
    if (!c->wr || !c->acc || !c->row || !c->fwd) {
        bk_cpu_narrow_conv_destroy(c);
        return bk_error(BK_ERR_NOMEM, "out of memory building a convolution plan");
    }
    *out = c;
    return BK_OK;
}

void bk_cpu_narrow_conv_destroy(bk_narrow_conv *c)
{
    if (!c) return;
    free(c->wr), free(c->acc), free(c->row), free(c->fwd), free(c);
}

/* PyTorch's [cout][cin][taps] to wr's [cout][blocks][taps][block]. */
static void rearrange_weights(bk_narrow_conv *c, const float *w)
{
    int64_t B = c->block;
    for (int64_t o = 0; o < c->cout; o++)
        for (int64_t i = 0; i < c->cin; i++)
            for (int64_t t = 0; t < c->taps; t++)
                c->wr[((o * c->blocks + i / B) * c->taps + t) * B + i % B] = w[(o * c->cin + i) * c->taps + t];
}

/* The input position of output position o through tap k along axis a;
 * outside the input when < 0 or >= in[a]. */
static inline int64_t in_pos(const bk_narrow_conv *c, int a, int64_t o, int64_t k)
{
    return o * c->stride[a] - c->pad[a] + k * c->dil[a];
}

/* The output position whose tap k reads input position i along axis a, or
 * -1 when none does. */
static inline int64_t out_pos(const bk_narrow_conv *c, int a, int64_t i, int64_t k)
{
    int64_t s = i + c->pad[a] - k * c->dil[a];
    if (s < 0 || s % c->stride[a]) return -1;
    s /= c->stride[a];
    return s < c->out[a] ? s : -1;
}

/* The threads a pass uses: the caller's current count (one for small
 * passes, see src/nn/threads.c), at most those the plan has room for. */
static int pass_threads(const bk_narrow_conv *c)
{
    int t = omp_get_max_threads();
    return t < c->threads ? t : c->threads;
}

/* The output columns [*lo, *hi) whose tap kw reads inside the input row. */
static inline void columns(const bk_narrow_conv *c, int64_t kw, int64_t *lo, int64_t *hi)
{
    int64_t s = c->stride[2], first = kw * c->dil[2] - c->pad[2]; /* input column of output column 0 */
    *lo = first >= 0 ? 0 : (-first + s - 1) / s;
    int64_t last = c->in[2] - 1 - first; /* the largest ow * s that stays inside */
    *hi = last < 0 ? 0 : last / s + 1;
    if (*hi > c->out[2]) *hi = c->out[2];
    if (*lo > *hi) *lo = *hi;
}

/* The row loops take the channel block B as a constant (8 or 16), so each
 * inner loop is one vector instruction per column. */
#define AI static inline __attribute__((always_inline))

/* The input row taps (kd, kh) of output row (od, oh) read, in channel
 * block cb; NULL when it lies in the padding. */
AI const float *input_row(const bk_narrow_conv *c, const float *x, int64_t n, int64_t cb, int64_t od, int64_t oh,
                          int64_t kd, int64_t kh, const int64_t B)
{
    int64_t id = in_pos(c, 0, od, kd), ih = in_pos(c, 1, oh, kh);
    if (id < 0 || id >= c->in[0] || ih < 0 || ih >= c->in[1]) return NULL;
    return x + (((n * c->blocks + cb) * c->in[0] + id) * c->in[1] + ih) * c->in[2] * B;
}

/* acc[o][ow][B] += x row * weights, for every tap whose input row (kd, kh)
 * exists for output row (od, oh). */
AI void forward_row_b(const bk_narrow_conv *c, const float *x, float *acc, int64_t n, int64_t od, int64_t oh,
                      const int64_t B)
{
    const int64_t OW = c->out[2], S = c->stride[2];
    for (int64_t cb = 0; cb < c->blocks; cb++)
        for (int64_t kd = 0; kd < c->k[0]; kd++)
            for (int64_t kh = 0; kh < c->k[1]; kh++) {
                const float *xr = input_row(c, x, n, cb, od, oh, kd, kh, B);
                if (!xr) continue;
                for (int64_t kw = 0; kw < c->k[2]; kw++) {
                    int64_t lo, hi, t = (kd * c->k[1] + kh) * c->k[2] + kw;
                    columns(c, kw, &lo, &hi);
                    const float *xs = xr + (kw * c->dil[2] - c->pad[2]) * B;
                    for (int64_t o = 0; o < c->cout; o++) {
                        const float *wv = c->wr + ((o * c->blocks + cb) * c->taps + t) * B;
                        float *ao = acc + o * OW * B;
                        for (int64_t ow = lo; ow < hi; ow++)
                            #pragma omp simd
                            for (int64_t b = 0; b < B; b++) ao[ow * B + b] += xs[ow * S * B + b] * wv[b];
                    }
                }
            }
}

/* One output row y[n][*][od][oh][*]; acc: cout * OW * block floats. */
BK_WIDE_CLONES static void forward_row(const bk_narrow_conv *c, const float *x, const float *bias, float *y, float *acc,
                                       int64_t n, int64_t od, int64_t oh)
{
    const int64_t B = c->block, O = c->cout, OW = c->out[2];
    memset(acc, 0, sizeof(float) * (size_t)(O * OW * B));
    if (B == 16) forward_row_b(c, x, acc, n, od, oh, 16);
    else forward_row_b(c, x, acc, n, od, oh, 8);
    for (int64_t o = 0; o < O; o++) {
        float *yr = y + (((n * O + o) * c->out[0] + od) * c->out[1] + oh) * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            float s = bias ? bias[o] : 0;
            for (int64_t b = 0; b < B; b++) s += acc[(o * OW + ow) * B + b];
            yr[ow] = c->relu && s < 0 ? 0 : s;
        }
    }
}

/* dx row += every output gradient that reached it times its tap's weights. */
AI void backward_data_row_b(const bk_narrow_conv *c, const float *dy, float *row, int64_t n, int64_t cb, int64_t id,
                            int64_t ih, const int64_t B)
{
    const int64_t S = c->stride[2];
    for (int64_t kd = 0; kd < c->k[0]; kd++) {
        int64_t od = out_pos(c, 0, id, kd);
        if (od < 0) continue;
        for (int64_t kh = 0; kh < c->k[1]; kh++) {
            int64_t oh = out_pos(c, 1, ih, kh);
            if (oh < 0) continue;
            for (int64_t kw = 0; kw < c->k[2]; kw++) {
                int64_t lo, hi, t = (kd * c->k[1] + kh) * c->k[2] + kw;
                columns(c, kw, &lo, &hi);
                float *rs = row + (kw * c->dil[2] - c->pad[2]) * B;
                for (int64_t o = 0; o < c->cout; o++) {
                    const float *g = dy + (((n * c->cout + o) * c->out[0] + od) * c->out[1] + oh) * c->out[2];
                    const float *wv = c->wr + ((o * c->blocks + cb) * c->taps + t) * B;
                    for (int64_t ow = lo; ow < hi; ow++)
                        #pragma omp simd
                        for (int64_t b = 0; b < B; b++) rs[ow * S * B + b] += g[ow] * wv[b];
                }
            }
        }
    }
}

/* One input row dx[n][cb][id][ih][*][*]. */
BK_WIDE_CLONES static void backward_data_row(const bk_narrow_conv *c, const float *dy, float *dx, int64_t n,
                                             int64_t cb, int64_t id, int64_t ih)
{
    const int64_t B = c->block;
    float *row = dx + (((n * c->blocks + cb) * c->in[0] + id) * c->in[1] + ih) * c->in[2] * B;
    memset(row, 0, sizeof(float) * (size_t)(c->in[2] * B));
    if (B == 16) backward_data_row_b(c, dy, row, n, cb, id, ih, 16);
    else backward_data_row_b(c, dy, row, n, cb, id, ih, 8);
}

/* sums[o][cb][t][B] += output gradient row * the input it read. */
AI void backward_weights_row_b(const bk_narrow_conv *c, const float *x, const float *dy, float *sums, int64_t n,
                               int64_t od, int64_t oh, const int64_t B)
{
    const int64_t S = c->stride[2];
    for (int64_t cb = 0; cb < c->blocks; cb++)
        for (int64_t kd = 0; kd < c->k[0]; kd++)
            for (int64_t kh = 0; kh < c->k[1]; kh++) {
                const float *xr = input_row(c, x, n, cb, od, oh, kd, kh, B);
                if (!xr) continue;
                for (int64_t kw = 0; kw < c->k[2]; kw++) {
                    int64_t lo, hi, t = (kd * c->k[1] + kh) * c->k[2] + kw;
                    columns(c, kw, &lo, &hi);
                    const float *xs = xr + (kw * c->dil[2] - c->pad[2]) * B;
                    for (int64_t o = 0; o < c->cout; o++) {
                        const float *g = dy + (((n * c->cout + o) * c->out[0] + od) * c->out[1] + oh) * c->out[2];
                        float acc[MAX_BLOCK] = {0};
                        for (int64_t ow = lo; ow < hi; ow++)
                            #pragma omp simd
                            for (int64_t b = 0; b < B; b++) acc[b] += g[ow] * xs[ow * S * B + b];
                        float *sv = sums + ((o * c->blocks + cb) * c->taps + t) * B;
                        for (int64_t b = 0; b < B; b++) sv[b] += acc[b];
                    }
                }
            }
}

/* Adds one output row's contribution to the weight and bias gradients:
 * float sums over the row (`row`, wr's layout), then into the thread's
 * double sums `acc`. */
BK_WIDE_CLONES static void backward_weights_row(const bk_narrow_conv *c, const float *x, const float *dy, float *row,
                                                double *acc, int64_t n, int64_t od, int64_t oh)
{
    const int64_t B = c->block, w = c->cout * c->cin * c->taps;
    memset(row, 0, sizeof(float) * (size_t)w);
    if (B == 16) backward_weights_row_b(c, x, dy, row, n, od, oh, 16);
    else backward_weights_row_b(c, x, dy, row, n, od, oh, 8);
    for (int64_t i = 0; i < w; i++) acc[i] += row[i];
    for (int64_t o = 0; o < c->cout; o++) {
        const float *g = dy + (((n * c->cout + o) * c->out[0] + od) * c->out[1] + oh) * c->out[2];
        for (int64_t ow = 0; ow < c->out[2]; ow++) acc[w + o] += g[ow];
    }
}

bk_status bk_cpu_narrow_conv_forward(bk_narrow_conv *c, const float *x, const float *w, const float *b, float *y)
{
    rearrange_weights(c, w);
    int nt = pass_threads(c);
    int64_t rows = c->n * c->out[0] * c->out[1], per_thread = c->cout * c->out[2] * c->block;
#pragma omp parallel num_threads(nt)
    {
        float *acc = c->fwd + per_thread * omp_get_thread_num();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            forward_row(c, x, b, y, acc, r / (c->out[0] * c->out[1]), r / c->out[1] % c->out[0], r % c->out[1]);
    }
    return BK_OK;
}

bk_status bk_cpu_narrow_conv_backward(bk_narrow_conv *c, const float *x, const float *w, const float *dy, float *dx,
                                      float *dw, float *db)
{
    rearrange_weights(c, w);
    int nt = pass_threads(c);
    if (dx) {
        int64_t rows = c->n * c->blocks * c->in[0] * c->in[1];
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            backward_data_row(c, dy, dx, r / (c->blocks * c->in[0] * c->in[1]), r / (c->in[0] * c->in[1]) % c->blocks,
                              r / c->in[1] % c->in[0], r % c->in[1]);
    }
    if (!dw) return BK_OK;
    int64_t wn = c->cout * c->cin * c->taps, rows = c->n * c->out[0] * c->out[1];
    memset(c->acc, 0, sizeof(double) * (size_t)((wn + c->cout) * nt));
    /* float sums per row, double across rows: 500k products per weight
     * would lose digits in float */
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        double *acc = c->acc + (wn + c->cout) * t;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            backward_weights_row(c, x, dy, c->row + wn * t, acc, r / (c->out[0] * c->out[1]),
                                 r / c->out[1] % c->out[0], r % c->out[1]);
    }
    const int64_t B = c->block;
    for (int64_t o = 0; o < c->cout; o++) {
        for (int64_t i = 0; i < c->cin; i++)
            for (int64_t t = 0; t < c->taps; t++) {
                double s = 0;
                for (int k = 0; k < nt; k++)
                    s += c->acc[(wn + c->cout) * k + ((o * c->blocks + i / B) * c->taps + t) * B + i % B];
                dw[(o * c->cin + i) * c->taps + t] = (float)s;
            }
        if (db) {
            double s = 0;
            for (int k = 0; k < nt; k++) s += c->acc[(wn + c->cout) * k + wn + o];
            db[o] = (float)s;
        }
    }
    return BK_OK;
}
