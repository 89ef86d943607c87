/* Finite-difference check of the multi-output objective (train/heads.c):
 * a model with two inputs and two outputs, the second output computed from
 * the first (so the first output's gradient is its own loss's seed plus
 * what flows back from the second), and total = 1 * NLL(a) + 0.7 * MSE(b).
 * Every parameter gradient of one backward pass must match central
 * differences of the total; the control (the weights left out of the
 * seeds) must not. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "io/json.h"
#include "nn/builder.h"
#include "testutil.h"
#include "train/heads.h"

#define B 3

static const char *NET =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"g\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"u\", \"config\": {\"name\": \"u\", \"batch_input_shape\": [null, 4]}, \"inbound_nodes\": []},"
    "{\"class_name\": \"InputLayer\", \"name\": \"v\", \"config\": {\"name\": \"v\", \"batch_input_shape\": [null, 3]}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"name\": \"d\", \"units\": 5, \"activation\": \"tanh\"}, \"inbound_nodes\": [[[\"u\", 0, 0, {}]]]},"
    "{\"class_name\": \"Concatenate\", \"name\": \"c\", \"config\": {\"name\": \"c\", \"axis\": -1}, \"inbound_nodes\": [[[\"d\", 0, 0, {}], [\"v\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 3, \"activation\": \"log_softmax\"}, \"inbound_nodes\": [[[\"c\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 2, \"activation\": \"tanh\"}, \"inbound_nodes\": [[[\"a\", 0, 0, {}]]]}],"
    "\"input_layers\": [[\"u\", 0, 0], [\"v\", 0, 0]], \"output_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]]}}";

static float xu[B * 4], xv[B * 3], ya[B] = {0, 2, 1}, yb[B * 2];

/* The total loss at the current weights; with grads, also the backward pass. */
static double total(bk_model *m, bk_head *h, int backward)
{
    const float *in[2] = {xu, xv}, *outs[2], *tg[2] = {ya, yb};
    float *grads[2];
    double per[2], l = NAN;
    if (bk_model_forward(m, in, B, 1)) return NAN;
    bk_model_begin_backward(m);
    for (int k = 0; k < 2; k++) {
        outs[k] = m->nodes[h[k].node].out;
        grads[k] = backward ? m->nodes[h[k].node].grad : NULL;
    }
    if (bk_heads_loss(h, 2, m, outs, tg, B, grads, per, &l)) return NAN;
    if (backward) {
        for (int k = 0; k < 2; k++) m->nodes[h[k].node].grad_written = 1;
        if (bk_model_backward(m)) return NAN;
    }
    return l;
}

/* Worst relative error of the analytic gradients (heads an) against
 * central differences of the total (heads fd). */
static double worst_error(bk_model *m, bk_head *fd, bk_head *an)
{
    bk_head *h = fd;
    total(m, an, 1);
    double worst = 0, gmax = 0;
    for (int64_t i = 0; i < m->param_count; i++) gmax = fmax(gmax, fabs(m->param_grad[i]));
    float *g = malloc((size_t)m->param_count * sizeof *g);
    memcpy(g, m->param_grad, (size_t)m->param_count * sizeof *g);
    for (int64_t i = 0; i < m->param_count; i++) {
        float w = m->param_data[i];
        double eps = 1e-2 * fmax(fabs(w), 1.0);
        m->param_data[i] = (float)(w + eps);
        double lp = total(m, h, 0);
        m->param_data[i] = (float)(w - eps);
        double lm = total(m, h, 0);
        m->param_data[i] = w;
        double n = (lp - lm) / (2 * eps), e = fabs(n - g[i]) / fmax(fmax(fabs(n), fabs(g[i])), 2e-3 * gmax);
        worst = fmax(worst, e);
    }
    free(g);
    return worst;
}

int main(void)
{
    bk_json_doc doc;
    bk_model m;
    memset(&doc, 0, sizeof doc);
    memset(&m, 0, sizeof m);
    CHECK_OK(bk_json_load_string(&doc, NET, "multi_io"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 7, NULL));
    if (m.n_inputs != 2 || m.n_outputs != 2) {
        CHECK(!"model built with 2 inputs and 2 outputs");
        return bk_test_finish("test_gradcheck_multi_io");
    }
    CHECK_OK(bk_model_plan(&m, B));
    for (int i = 0; i < B * 4; i++) xu[i] = (float)sin(1.7 * i + 0.3);
    for (int i = 0; i < B * 3; i++) xv[i] = (float)cos(0.9 * i);
    for (int i = 0; i < B * 2; i++) yb[i] = (float)(0.3 * sin(2.1 * i));
    bk_loss nll = {.kind = BK_LOSS_NLL}, mse = {.kind = BK_LOSS_MSE};
    bk_head h[2] = {{.node = m.outputs[0], .loss = &nll, .weight = 1.0},
                    {.node = m.outputs[1], .loss = &mse, .weight = 0.7}};
    double e = worst_error(&m, h, h);
    printf("weights 1 and 0.7: worst relative gradient error %.2e\n", e);
    CHECK(e < 2e-2);
    /* control: seeds without the weight must be caught */
    bk_head unweighted[2] = {h[0], h[1]};
    unweighted[1].weight = 1.0;
    e = worst_error(&m, h, unweighted);
    printf("control (weight left out of the seed): %.2e\n", e);
    CHECK(e > 2e-2);
    h[1].weight = 0.7;
    total(&m, h, 1);
    float saved = m.param_grad[m.param_count - 1];
    /* the gradient of b's last bias must scale with b's weight alone */
    h[1].weight = 1.4;
    total(&m, h, 1);
    CHECK(fabs(m.param_grad[m.param_count - 1] - 2 * saved) < 1e-5 * fmax(1, fabs(saved)));
    bk_model_free(&m);
    bk_json_free(&doc);
    return bk_test_finish("test_gradcheck_multi_io");
}
