/* `brisk summary`: a Keras-style table of the network, counting
 * parameters the way Keras does (running statistics are non-trainable). */
#include <string.h>
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "run_ctx.h"

static void count_params(const bk_model *m, int node, int64_t *total, int64_t *trainable)
{
    const bk_node *n = &m->nodes[node];
    for (int k = 0; k < n->n_params; k++) {
        const bk_param *p = &m->params[n->param[k]];
        int64_t c = bk_shape_numel(&p->shape);
        *total += c;
        if (!p->is_buffer && !p->frozen) *trainable += c;
    }
}

bk_status bk_summary(bk_run_config *c, FILE *out)
{
    bk_run_ctx r = {.c = c};
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    bk_status st = bk_build_keras(&r.m, doc, c->net, c->net_path, c->seed, NULL);
    r.m_built = 1;
    if (st) {
        bk_run_ctx_free(&r);
        return st;
    }
    bk_model *m = &r.m;
    fprintf(out, "Model: \"%s\"\n", m->name[0] ? m->name : "model");
    const char *rule = "_________________________________________________________________________________";
    fprintf(out, "%s\n %-34s %-24s %12s\n%s\n", rule, "Layer (type)", "Output Shape", "Param #",
            "=================================================================================");
    int64_t total = 0, trainable = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const bk_node *n = &m->nodes[i];
        if (n->hidden) continue;
        /* a layer's fused activation is its output: report that node's shape */
        const bk_node *shown = n;
        if (i + 1 < m->n_nodes && m->nodes[i + 1].hidden && m->nodes[i + 1].n_in == 1 && m->nodes[i + 1].in[0] == i)
            shown = &m->nodes[i + 1];
        int64_t lt = 0, ltr = 0;
        count_params(m, i, &lt, &ltr);
        total += lt;
        trainable += ltr;
        char label[200], shape[80], dims[64];
        snprintf(label, sizeof label, "%s (%s)", n->name, n->class_name);
        bk_shape k = bk_internal_to_keras(&shown->out_shape);
        bk_shape_str(&k, dims, sizeof dims);
        dims[strlen(dims) - 1] = 0; /* "[a, b]" -> "(None, a, b)" */
        snprintf(shape, sizeof shape, "(None, %s)", dims + 1);
        fprintf(out, " %-34s %-24s %12lld\n", label, shape, (long long)lt);
    }
    fprintf(out, "%s\nTotal params: %lld\nTrainable params: %lld\nNon-trainable params: %lld\n%s\n",
            "=================================================================================",
            (long long)total, (long long)trainable, (long long)(total - trainable), rule);
    bk_run_ctx_free(&r);
    return BK_OK;
}
