/* The training plan's memory (graph.c, liveness.c): buffers alive at the
 * same time never overlap, dead gradients are reused, and an in-place
 * activation shares its input's buffer only where that is safe. The
 * values themselves are checked by the gradient checks and parity tests,
 * which all run on this plan. */
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "nn/builder.h"
#include "nn/liveness.h"
#include "testutil.h"

static int ranges_overlap(int64_t a, int64_t alen, int64_t b, int64_t blen)
{
    return a < b + blen && b < a + alen;
}

static void random_lifetimes(void)
{
    enum { N = 300 };
    bk_lifetime b[N];
    int64_t off[N], total, sum = 0;
    bk_rng r;
    bk_rng_seed(&r, 11, 0);
    for (int i = 0; i < N; i++) {
        int first = (int)bk_rng_below(&r, 100) - 1;
        b[i] = (bk_lifetime){(int64_t)bk_rng_below(&r, 1000) + (i % 7 ? 1 : -1000), first,
                             first + (int)bk_rng_below(&r, 20)};
        if (b[i].len > 0) sum += (b[i].len + 15) & ~15;
    }
    CHECK_OK(bk_place_lifetimes(b, N, off, &total));
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (b[i].len <= 0) {
            bad += off[i] != -1;
            continue;
        }
        bad += off[i] % 16 != 0 || off[i] < 0 || off[i] + b[i].len > total;
        for (int j = 0; j < i; j++)
            if (b[j].len > 0 && b[i].first <= b[j].last && b[j].first <= b[i].last)
                bad += ranges_overlap(off[i], b[i].len, off[j], b[j].len);
    }
    CHECK(bad == 0);
    CHECK(total < sum / 2); /* short lifetimes: most memory is reused */
}

static bk_node *node(bk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return NULL;
}

/* conv -> relu (shares), bn -> relu (shares), a conv read by two layers
 * (no sharing), relu after an Add (shares), softmax (never in place), and
 * two identity Reshapes after a conv (outputs and gradients shared). */
static const char *NET =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 8, 8, 3]}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c1\", \"config\": {\"name\": \"c1\", \"filters\": 4, \"kernel_size\": 3, \"padding\": \"same\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c2\", \"config\": {\"name\": \"c2\", \"filters\": 4, \"kernel_size\": 3, \"padding\": \"same\"}, \"inbound_nodes\": [[[\"c1\", 0, 0, {}]]]},"
    "{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"name\": \"bn\"}, \"inbound_nodes\": [[[\"c2\", 0, 0, {}]]]},"
    "{\"class_name\": \"Activation\", \"name\": \"r2\", \"config\": {\"name\": \"r2\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"bn\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c3\", \"config\": {\"name\": \"c3\", \"filters\": 4, \"kernel_size\": 1}, \"inbound_nodes\": [[[\"r2\", 0, 0, {}]]]},"
    "{\"class_name\": \"Activation\", \"name\": \"t3\", \"config\": {\"name\": \"t3\", \"activation\": \"tanh\"}, \"inbound_nodes\": [[[\"c3\", 0, 0, {}]]]},"
    "{\"class_name\": \"Add\", \"name\": \"add\", \"config\": {\"name\": \"add\"}, \"inbound_nodes\": [[[\"t3\", 0, 0, {}], [\"c3\", 0, 0, {}]]]},"
    "{\"class_name\": \"Activation\", \"name\": \"r4\", \"config\": {\"name\": \"r4\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"add\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c5\", \"config\": {\"name\": \"c5\", \"filters\": 2, \"kernel_size\": 1}, \"inbound_nodes\": [[[\"r4\", 0, 0, {}]]]},"
    "{\"class_name\": \"Conv2D\", \"name\": \"c6\", \"config\": {\"name\": \"c6\", \"filters\": 2, \"kernel_size\": 1}, \"inbound_nodes\": [[[\"r4\", 0, 0, {}]]]},"
    "{\"class_name\": \"Reshape\", \"name\": \"v\", \"config\": {\"name\": \"v\", \"target_shape\": [64, 2]}, \"inbound_nodes\": [[[\"c6\", 0, 0, {}]]]},"
    "{\"class_name\": \"Reshape\", \"name\": \"w\", \"config\": {\"name\": \"w\", \"target_shape\": [8, 8, 2]}, \"inbound_nodes\": [[[\"v\", 0, 0, {}]]]},"
    "{\"class_name\": \"Add\", \"name\": \"add2\", \"config\": {\"name\": \"add2\"}, \"inbound_nodes\": [[[\"c5\", 0, 0, {}], [\"w\", 0, 0, {}]]]},"
    "{\"class_name\": \"Activation\", \"name\": \"sm\", \"config\": {\"name\": \"sm\", \"activation\": \"softmax\"}, \"inbound_nodes\": [[[\"add2\", 0, 0, {}]]]}],"
    " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"sm\", 0, 0]]}}";

static void model_plan(void)
{
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(bk_json_load_string(&doc, NET, "plan.json"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 5, NULL));
    int64_t B = 3;
    CHECK_OK(bk_model_plan(&m, B));
    bk_node *c1 = node(&m, "c1"), *c1r = node(&m, "c1/relu"), *bn = node(&m, "bn"), *r2 = node(&m, "r2"),
            *c3 = node(&m, "c3"), *t3 = node(&m, "t3"), *add = node(&m, "add"), *r4 = node(&m, "r4"),
            *c5 = node(&m, "c5"), *sm = node(&m, "sm");
    CHECK(c1 && c1r && bn && r2 && c3 && t3 && add && r4 && c5 && sm);
    if (!(c1 && c1r && bn && r2 && c3 && t3 && add && r4 && c5 && sm)) return;
    CHECK(c1r->out == c1->out); /* conv's backward never reads its output */
    CHECK(r2->out == bn->out);  /* nor does batch normalization's */
    CHECK(t3->out != c3->out);  /* c3 has a second reader */
    CHECK(r4->out == add->out); /* Add's backward passes the gradient on */
    CHECK(sm->out != c5->out);  /* softmax's gradient needs more than its output */
    /* c1 applies its ReLU itself (a post-op); c3 has a second reader, c5 a softmax */
    CHECK(c1->relu_fused && !c3->relu_fused && !c5->relu_fused && !bn->relu_fused);
    bk_node *c6 = node(&m, "c6"), *v = node(&m, "v"), *w = node(&m, "w");
    CHECK(c6 && v && w);
    if (!(c6 && v && w)) return;
    /* the Reshapes' backward copies the gradient on: one buffer for the three */
    CHECK(v->grad == c6->grad && w->grad == c6->grad);
    /* no two distinct buffers overlap in the activations; gradients alive
     * at the same time in the backward pass (node i runs at step n-1-i)
     * never overlap, and never overlap an activation */
    int n = m.n_nodes, bad = 0;
    int *last = malloc(sizeof *last * (size_t)n);
    for (int i = 0; i < n; i++) last[i] = i;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m.nodes[i].n_in; k++) last[m.nodes[i].in[k]] = i;
    last[m.outputs[0]] = n;
    int64_t grad_sum = 0, grad_max_end = 0;
    for (int i = 0; i < n; i++) {
        const bk_node *a = &m.nodes[i];
        int64_t alen = B * bk_shape_numel(&a->out_shape);
        if (a->grad) {
            grad_sum += alen;
            if (a->grad + alen - m.arena > grad_max_end) grad_max_end = a->grad + alen - m.arena;
        }
        for (int j = 0; j < i; j++) {
            const bk_node *b = &m.nodes[j];
            int64_t blen = B * bk_shape_numel(&b->out_shape);
            if (a->out != b->out) bad += ranges_overlap(a->out - m.arena, alen, b->out - m.arena, blen);
            int shared = (a == v || a == w) && (b == c6 || b == v); /* meant to share */
            if (a->grad && b->grad && i <= last[j] && !shared)
                bad += ranges_overlap(a->grad - m.arena, alen, b->grad - m.arena, blen);
            if (a->grad) bad += ranges_overlap(a->grad - m.arena, alen, b->out - m.arena, blen);
            if (b->grad) bad += ranges_overlap(b->grad - m.arena, blen, a->out - m.arena, alen);
        }
        if (a->grad) bad += ranges_overlap(a->grad - m.arena, alen, a->out - m.arena, alen);
    }
    CHECK(bad == 0);
    int64_t act_end = 0;
    for (int i = 0; i < n; i++) {
        int64_t e = m.nodes[i].out + B * bk_shape_numel(&m.nodes[i].out_shape) - m.arena;
        if (e > act_end) act_end = e;
    }
    CHECK(grad_max_end - act_end < grad_sum); /* some gradients share memory */
    free(last);
    bk_model_free(&m);
    bk_json_free(&doc);
}

int main(void)
{
    random_lifetimes();
    model_plan();
    return bk_test_finish("test_memory_plan");
}
