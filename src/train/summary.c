/* `brisk summary`: a Keras-style table of the network, counting
 * parameters the way Keras does (running statistics are non-trainable),
 * from the network alone: no data, loss or optimizer needed.
 *
 * A network whose input sizes are free (batch_input_shape [null, null,
 * null, 3]) is built at two sizes: the output dims that differ between the
 * two are shown as None, as Keras shows them, and parameters whose shapes
 * differ (a Dense layer after Flatten) cannot be counted without a size. */
#include <string.h>
#include "train/config.h"
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "brisk/train.h"

/* Sizes tried for free dims, two of which must build: multiples of 32 (five
 * halvings, as UNets and ResNets take) at least 75 (InceptionV3's least). */
static const int64_t k_free_sizes[] = {256, 320, 384, 224, 192, 288, 448, 512};

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

/* The first parameter of node i whose shape differs in b; -1 when none. */
static int size_dependent(const bk_model *a, const bk_model *b, int i)
{
    if (!b) return -1;
    const bk_node *n = &a->nodes[i];
    for (int k = 0; k < n->n_params; k++)
        if (!bk_shape_equal(&a->params[n->param[k]].shape, &b->params[n->param[k]].shape)) return n->param[k];
    return -1;
}

/* "(None, None, None, 64)": a's output shape of node i in Keras' order,
 * None for the batch and for the dims that differ in b. */
static void shape_text(const bk_model *a, const bk_model *b, int i, char *buf, size_t n)
{
    bk_shape s = a->nodes[i].out_shape;
    for (int d = 0; b && d < s.ndim; d++)
        if (b->nodes[i].out_shape.dims[d] != s.dims[d]) s.dims[d] = -1;
    bk_shape k = bk_internal_to_keras(&s);
    size_t at = (size_t)snprintf(buf, n, "(None");
    for (int d = 0; d < k.ndim && at < n; d++) {
        if (k.dims[d] < 0) at += (size_t)snprintf(buf + at, n - at, ", None");
        else at += (size_t)snprintf(buf + at, n - at, ", %lld", (long long)k.dims[d]);
    }
    if (at < n) snprintf(buf + at, n - at, ")");
}

/* Writes the table of a; b (or NULL) is the same network at other free sizes. */
static void print_table(const bk_model *a, const bk_model *b, FILE *out)
{
    fprintf(out, "Model: \"%s\"\n", a->name[0] ? a->name : "model");
    const char *rule = "_________________________________________________________________________________";
    const char *dbl = "=================================================================================";
    fprintf(out, "%s\n %-34s %-24s %12s\n%s\n", rule, "Layer (type)", "Output Shape", "Param #", dbl);
    int64_t total = 0, trainable = 0;
    int dependent = -1; /* the first size-dependent parameter */
    for (int i = 0; i < a->n_nodes; i++) {
        const bk_node *n = &a->nodes[i];
        if (n->hidden) continue;
        /* a layer's fused activation is its output: report that node's shape */
        int shown = i;
        if (i + 1 < a->n_nodes && a->nodes[i + 1].hidden && a->nodes[i + 1].n_in == 1 && a->nodes[i + 1].in[0] == i)
            shown = i + 1;
        int64_t lt = 0, ltr = 0;
        count_params(a, i, &lt, &ltr);
        int dep = size_dependent(a, b, i);
        if (dep >= 0 && dependent < 0) dependent = dep;
        total += lt;
        trainable += ltr;
        char label[200], shape[96], count[32];
        snprintf(label, sizeof label, "%s (%s)", n->name, n->class_name);
        shape_text(a, b, shown, shape, sizeof shape);
        if (dep >= 0) snprintf(count, sizeof count, "?");
        else snprintf(count, sizeof count, "%lld", (long long)lt);
        fprintf(out, " %-34s %-24s %12s\n", label, shape, count);
    }
    fprintf(out, "%s\n", dbl);
    if (dependent >= 0) {
        const bk_param *p = &a->params[dependent], *q = &b->params[dependent];
        const bk_node *n = &a->nodes[p->node];
        char sa[64], sb[64], ia[96], ib[96];
        fprintf(out, "Total params: unknown without an input size: layer \"%s\" (%s) has weights whose shape depends "
                "on it (%s is %s at %s, %s at %s); give the sizes in batch_input_shape to count them\n%s\n", n->name,
                n->class_name, p->name, bk_shape_str(&p->shape, sa, sizeof sa),
                bk_input_size_str(&a->nodes[a->inputs[0]].out_shape, ia, sizeof ia),
                bk_shape_str(&q->shape, sb, sizeof sb), bk_input_size_str(&b->nodes[b->inputs[0]].out_shape, ib, sizeof ib),
                rule);
        return;
    }
    fprintf(out, "Total params: %lld\nTrainable params: %lld\nNon-trainable params: %lld\n%s\n", (long long)total,
            (long long)trainable, (long long)(total - trainable), rule);
}

static bk_status summary_of(const bk_json_doc *doc, json_t *net, const char *path, uint64_t seed, FILE *out)
{
    bk_model probe, m[2];
    memset(m, 0, sizeof m);
    bk_status st = bk_keras_inputs(&probe, doc, net, path);
    int free_dims = 0;
    for (int k = 0; !st && k < probe.n_inputs; k++)
        for (int d = 0; d < probe.declared[k].ndim; d++) free_dims |= probe.declared[k].dims[d] < 0;
    bk_model_free(&probe);
    if (st) return st;
    bk_build_opts o = {.seed = seed, .shapes_only = 1};
    if (!free_dims) {
        st = bk_build_keras_opts(&m[0], doc, net, path, &o);
        if (!st) print_table(&m[0], NULL, out);
        bk_model_free(&m[0]);
        return st;
    }
    int built = 0;
    bk_status first = BK_OK;
    char first_msg[2048] = "";
    for (size_t i = 0; i < sizeof k_free_sizes / sizeof *k_free_sizes && built < 2; i++) {
        o.free_size = k_free_sizes[i];
        st = bk_build_keras_opts(&m[built], doc, net, path, &o);
        if (!st) {
            built++;
            continue;
        }
        bk_model_free(&m[built]);
        if (!first) {
            first = st;
            snprintf(first_msg, sizeof first_msg, "%s", bk_last_error());
        }
    }
    st = BK_OK;
    if (built == 2 && (m[0].n_nodes != m[1].n_nodes || m[0].n_params != m[1].n_params))
        st = bk_error(BK_ERR_INTERNAL, "the network has other layers at input size %lld than at %lld",
                      (long long)m[0].nodes[m[0].inputs[0]].out_shape.dims[1],
                      (long long)m[1].nodes[m[1].inputs[0]].out_shape.dims[1]);
    else if (built == 2)
        print_table(&m[0], &m[1], out);
    else
        st = bk_error(first ? first : BK_ERR_INVALID, "the input sizes are free (null) and the network builds at %s "
                       "of the sizes tried (%lld, %lld, ...): give the sizes in batch_input_shape; at %lld: %s",
                       built ? "only one" : "none", (long long)k_free_sizes[0], (long long)k_free_sizes[1],
                       (long long)k_free_sizes[0], first_msg);
    bk_model_free(&m[0]);
    bk_model_free(&m[1]);
    return st;
}

bk_status bk_summary(bk_run_config *c, FILE *out)
{
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    return summary_of(doc, c->net, c->net_path, c->seed, out);
}

bk_status bk_summary_file(const char *path, FILE *out)
{
    bk_json_doc doc;
    bk_status st = bk_json_load_file(&doc, path);
    if (st) return st;
    if (json_object_get(doc.root, "neural_network")) {
        /* a run configuration: its network, read without needing data */
        bk_json_free(&doc);
        bk_run_config c;
        st = bk_run_config_load_network(&c, path);
        if (!st) st = bk_summary(&c, out);
        bk_run_config_free(&c);
        return st;
    }
    st = summary_of(&doc, doc.root, "", 0, out);
    bk_json_free(&doc);
    return st;
}
