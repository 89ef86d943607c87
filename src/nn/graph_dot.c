/* The network as a Graphviz .dot file (the run configuration's "debug":
 * true, as the reference CLI writes it): one box per layer with its class
 * and Keras-order output shape, an edge per input. brisk's internal steps
 * (an activation fused into its layer, layout conversions) are drawn
 * dashed, so the picture shows what runs, not only what the JSON said. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/fsutil.h"
#include "graph.h"
#include "graph_dot.h"
#include "layer_util.h"

/* Appends printf output to a growing buffer; returns 0 when out of memory. */
static int put(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) return 0;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return 1;
        }
        size_t cap2 = (*cap + (size_t)n) * 2;
        char *b = realloc(*buf, cap2);
        if (!b) return 0;
        *buf = b;
        *cap = cap2;
    }
}

/* Layer names are the user's: escape what a quoted dot string cannot hold. */
static void dot_escape(char *out, size_t n, const char *s)
{
    size_t j = 0;
    for (; *s && j + 2 < n; s++) {
        if (*s == '"' || *s == '\\') out[j++] = '\\';
        out[j++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    }
    out[j] = 0;
}

bk_status bk_model_write_dot(const bk_model *m, const char *path)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    char title[2 * BK_NAME_LEN + 2];
    dot_escape(title, sizeof title, m->name[0] ? m->name : "model");
    int ok = buf && put(&buf, &len, &cap, "digraph \"%s\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n",
                        title);
    for (int i = 0; ok && i < m->n_nodes; i++) {
        const bk_node *n = &m->nodes[i];
        char name[2 * BK_NAME_LEN + 2], cls[130], dims[96];
        dot_escape(name, sizeof name, n->name);
        dot_escape(cls, sizeof cls, n->class_name);
        bk_shape k = bk_internal_to_keras(&n->out_shape);
        bk_shape_str(&k, dims, sizeof dims);
        int64_t params = 0;
        for (int p = 0; p < n->n_params; p++) params += bk_shape_numel(&m->params[n->param[p]].shape);
        char count[48] = "";
        if (params) snprintf(count, sizeof count, "\\n%lld params", (long long)params);
        ok = put(&buf, &len, &cap, "  n%d [label=\"%s\\n%s\\n%s%s\"%s];\n", i, name, cls, dims, count,
                 n->hidden ? ", style=dashed" : "");
        for (int k2 = 0; ok && k2 < n->n_in; k2++) ok = put(&buf, &len, &cap, "  n%d -> n%d;\n", n->in[k2], i);
    }
    if (ok) ok = put(&buf, &len, &cap, "}\n");
    if (!ok) {
        free(buf);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory writing the network graph", path);
    }
    bk_status st = bk_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}
