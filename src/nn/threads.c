/* How many threads a pass gets (see graph.h, bk_pass_threads). */
#include <omp.h>
#include "graph.h"

/* A parallel region costs microseconds of fork, join and wake-up, once per
 * kernel. When the kernels of a pass average less work than that buys, the
 * pass is faster on one thread. Measured on the 2-core machine of
 * BENCHMARKS.md: BraggNN at batch 1 (~0.1 MFLOP per node) took 0.139 ms on
 * two threads and 0.063 ms on one, the Fashion-MNIST CNN at batch 1 (~0.9
 * MFLOP per node) 0.12 ms on two and 0.13 ms on one; switching the count
 * per node instead cost the Fashion CNN more than it saved. */
#define SERIAL_FLOPS_PER_NODE 3.0e5

/* Work of one node: 2 FLOPs per weight and output position for weighted
 * layers (conv, dense), one per output element for the others. */
static double node_flops(const bk_model *m, const bk_node *n, int64_t batch)
{
    double out = (double)batch * (double)bk_shape_numel(&n->out_shape);
    if (!n->n_params || !n->out_shape.ndim) return out;
    const bk_param *w = &m->params[n->param[0]];
    double weighted = 2.0 * out / (double)n->out_shape.dims[0] * (double)bk_shape_numel(&w->shape);
    return weighted > out ? weighted : out;
}

int bk_pass_threads(const bk_model *m, int64_t batch, int max_threads)
{
    if (max_threads <= 1) return max_threads;
    double flops = 0;
    int nodes = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        if (!m->nodes[i].cls->forward) continue;
        flops += node_flops(m, &m->nodes[i], batch);
        nodes++;
    }
    return nodes && flops / nodes < SERIAL_FLOPS_PER_NODE ? 1 : max_threads;
}

int bk_threads_begin(const bk_model *m, int64_t batch)
{
    int max_threads = omp_get_max_threads();
    int t = bk_pass_threads(m, batch, max_threads);
    if (t != max_threads) omp_set_num_threads(t);
    return max_threads;
}

void bk_threads_end(int max_threads)
{
    if (omp_get_max_threads() != max_threads) omp_set_num_threads(max_threads);
}
