/* Per-layer timing of training passes (profile.h). oneDNN runs each
 * primitive to completion on the calling thread's stream, so the wall time
 * around a node's forward or backward is that node's cost. */
#include "profile.h"
#include <stdlib.h>
#include <string.h>

double bk_node_forward_flops(const bk_model *m, const bk_node *n)
{
    if (!n->n_params) return 0;
    if (strcmp(n->class_name, "Dense") && strncmp(n->class_name, "Conv", 4)) return 0;
    const bk_param *w = &m->params[n->param[0]];
    /* each weight multiplies once per output position; a transposed
     * convolution applies it once per INPUT position */
    const bk_shape *s = strstr(n->class_name, "Transpose") ? &m->nodes[n->in[0]].out_shape : &n->out_shape;
    double spatial = (double)bk_shape_numel(s) / (double)s->dims[0];
    return 2.0 * (double)bk_shape_numel(&w->shape) * spatial;
}

bk_status bk_profile_attach(bk_model *m)
{
    if (m->prof) return BK_OK;
    bk_profile *p = calloc(1, sizeof *p);
    if (p) p->fwd_s = calloc((size_t)m->n_nodes, sizeof(double));
    if (p) p->bwd_s = calloc((size_t)m->n_nodes, sizeof(double));
    if (!p || !p->fwd_s || !p->bwd_s) {
        if (p) free(p->fwd_s), free(p->bwd_s);
        free(p);
        return bk_error(BK_ERR_NOMEM, "out of memory for the layer profile (BRISK_PROFILE)");
    }
    p->skip_fwd = p->skip_bwd = 1;
    m->prof = p;
    return BK_OK;
}

bk_status bk_profile_attach_if_wanted(bk_model *m)
{
    const char *v = getenv("BRISK_PROFILE");
    if (m->prof || !v || !*v || !strcmp(v, "0")) return BK_OK;
    return bk_profile_attach(m);
}

void bk_profile_reset(bk_model *m)
{
    bk_profile *p = m->prof;
    if (!p) return;
    memset(p->fwd_s, 0, sizeof(double) * (size_t)m->n_nodes);
    memset(p->bwd_s, 0, sizeof(double) * (size_t)m->n_nodes);
    p->fwd_passes = p->bwd_passes = 0;
    p->skip_fwd = p->skip_bwd = 0;
}

void bk_profile_free(bk_model *m)
{
    if (!m->prof) return;
    free(m->prof->fwd_s), free(m->prof->bwd_s), free(m->prof);
    m->prof = NULL;
}

void bk_profile_add(bk_model *m, int node, int backward, double seconds)
{
    bk_profile *p = m->prof;
    if (backward ? p->skip_bwd : p->skip_fwd) return;
    (backward ? p->bwd_s : p->fwd_s)[node] += seconds;
}

void bk_profile_pass_done(bk_model *m, int backward, int64_t batch)
{
    bk_profile *p = m->prof;
    int *skip = backward ? &p->skip_bwd : &p->skip_fwd;
    if (*skip) {
        (*skip)--;
        return;
    }
    if (backward) p->bwd_passes++;
    else p->fwd_passes++;
    p->batch = batch;
}

static const bk_model *sort_model; /* qsort has no context argument in C11 */

static double node_seconds(const bk_profile *p, int i)
{
    return (p->fwd_passes ? p->fwd_s[i] / (double)p->fwd_passes : 0) +
           (p->bwd_passes ? p->bwd_s[i] / (double)p->bwd_passes : 0);
}

static int slower_first(const void *a, const void *b)
{
    const bk_profile *p = sort_model->prof;
    double x = node_seconds(p, *(const int *)a), y = node_seconds(p, *(const int *)b);
    return (x < y) - (x > y);
}

/* FLOPs of the node's backward pass per sample: the weight gradient when
 * it trains, the input gradient when its input needs one. */
static double backward_flops(const bk_model *m, const bk_node *n)
{
    double f = bk_node_forward_flops(m, n), b = 0;
    const bk_param *w = &m->params[n->param[0]];
    if (!f) return 0;
    if (!w->frozen) b += f;
    if (m->nodes[n->in[0]].needs_grad) b += f;
    return b;
}

void bk_profile_print(const bk_model *m, FILE *f)
{
    const bk_profile *p = m->prof;
    if (!p || (!p->fwd_passes && !p->bwd_passes)) return;
    int *order = malloc(sizeof(int) * (size_t)m->n_nodes);
    if (!order) return;
    int rows = 0;
    double total = 0, fwd_total = 0, bwd_total = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        double s = node_seconds(p, i);
        if (s <= 0) continue;
        order[rows++] = i;
        total += s;
        fwd_total += p->fwd_passes ? p->fwd_s[i] / (double)p->fwd_passes : 0;
        bwd_total += p->bwd_passes ? p->bwd_s[i] / (double)p->bwd_passes : 0;
    }
    sort_model = m;
    qsort(order, (size_t)rows, sizeof *order, slower_first);
    fprintf(f, "Layer profile (BRISK_PROFILE): %lld forward and %lld backward passes of %lld samples, "
               "after the first (which builds the plans)\n",
            (long long)p->fwd_passes, (long long)p->bwd_passes, (long long)p->batch);
    fprintf(f, "%-32s %-22s %10s %10s %7s %9s\n", "layer", "class", "fwd ms", "bwd ms", "share", "GFLOP/s");
    for (int r = 0; r < rows; r++) {
        const bk_node *n = &m->nodes[order[r]];
        double fs = p->fwd_passes ? p->fwd_s[n->index] / (double)p->fwd_passes : 0;
        double bs = p->bwd_passes ? p->bwd_s[n->index] / (double)p->bwd_passes : 0;
        double flops = (double)p->batch * (bk_node_forward_flops(m, n) * (p->fwd_passes > 0) +
                                           (p->bwd_passes ? backward_flops(m, n) : 0));
        char rate[32] = "";
        if (flops > 0) snprintf(rate, sizeof rate, "%9.1f", flops / (fs + bs) / 1e9);
        fprintf(f, "%-32.32s %-22.22s %10.3f %10.3f %6.1f%% %9s\n", n->name, n->class_name, fs * 1e3, bs * 1e3,
                100 * (fs + bs) / total, rate);
    }
    fprintf(f, "%-32s %-22s %10.3f %10.3f %6.1f%%\n", "all layers", "", fwd_total * 1e3, bwd_total * 1e3, 100.0);
    free(order);
}
