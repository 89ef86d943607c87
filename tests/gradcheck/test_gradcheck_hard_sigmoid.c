/* hard_sigmoid by Keras version: Keras 1/2 networks ("keras_version"
 * "2.13.1") get clip(0.2 x + 0.5, 0, 1), Keras 3 ("3.3.3") and networks
 * without a version relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1). Checks the
 * forward values of both the Activation layer and the `activation` key
 * against the formulas at points where the two differ (and where each
 * saturates), and the gradients of both by finite differences. */
#include "gc_harness.h"

/* A Sequential of Keras shape (6,) with the version given as a JSON member (or nothing). */
#define SEQ_V(version, ...)                                                                           \
    "{'class_name': 'Sequential', " version "'config': {'name': 't', 'layers': [{'class_name': "        \
    "'InputLayer', 'config': {'batch_input_shape': [null, 6], 'name': 'in'}}, " __VA_ARGS__ "]}}"
#define K2 "'keras_version': '2.13.1', "
#define K3 "'keras_version': '3.3.3', "
/* a Dense (made the identity below, so its activation sees the input), or an Activation layer */
#define NET_KEY GC_L("Dense", "'name': 'd', 'units': 6, 'activation': 'hard_sigmoid'")
#define NET_LAYER GC_L("Activation", "'name': 'a', 'activation': 'hard_sigmoid'")

static double hsig(double x, double slope) { return fmin(fmax(slope * x + 0.5, 0), 1); }

/* Runs json on x (batch 1, 6 values) and compares the output with hsig(x, slope). */
static void values(const char *what, const char *json_sq, double slope)
{
    static const float x[6] = {-3.0f, -2.0f, -0.7f, 0.9f, 2.2f, 4.0f};
    char *json = strdup(json_sq);
    for (char *c = json; *c; c++)
        if (*c == '\'') *c = '"';
    bk_json_doc doc;
    bk_model m;
    memset(&doc, 0, sizeof doc);
    bk_status st = bk_json_load_string(&doc, json, what);
    if (!st) st = bk_build_keras(&m, &doc, doc.root, "", 1, NULL);
    CHECK_OK(st);
    if (!st) {
        for (int k = 0; k < m.n_params; k++) /* d.weight [6, 6] := I, d.bias := 0 */
            for (int64_t i = 0; i < bk_shape_numel(&m.params[k].shape); i++)
                m.params[k].data[i] = m.params[k].shape.ndim == 2 && i % 7 == 0 ? 1.0f : 0.0f;
        const float *in[1] = {x};
        CHECK_OK(bk_model_forward(&m, in, 1, 0));
        const float *y = m.nodes[m.outputs[0]].out;
        double worst = 0;
        for (int i = 0; i < 6; i++) worst = fmax(worst, fabs(y[i] - hsig(x[i], slope)));
        /* the other version's values differ by far more (up to 0.07 at these points) */
        double other = 0;
        for (int i = 0; i < 6; i++) other = fmax(other, fabs(y[i] - hsig(x[i], slope == 0.2 ? 1.0 / 6 : 0.2)));
        printf("  %-24s slope %.4f: max error %.2e (vs the other slope: %.3f)\n", what, slope, worst, other);
        CHECK(worst < 1e-6);
        CHECK(other > 0.03);
        bk_model_free(&m);
    }
    bk_json_free(&doc);
    free(json);
}

int main(void)
{
    values("keras2_key", SEQ_V(K2, NET_KEY), 0.2);
    values("keras3_key", SEQ_V(K3, NET_KEY), 1.0 / 6);
    values("no_version_key", SEQ_V("", NET_KEY), 1.0 / 6);
    values("keras2_layer", SEQ_V(K2, NET_LAYER), 0.2);
    values("keras3_layer", SEQ_V(K3, NET_LAYER), 1.0 / 6);
    values("keras1_layer", SEQ_V("'keras_version': '1.2.2', ", NET_LAYER), 0.2);
    /* inputs of scale 4 so that both flat parts and the slope are reached */
    gc_opts o = {.batch = 3, .kinks = 1, .in_scale = 4};
    gc_check("grad_keras2_key", SEQ_V(K2, GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'hard_sigmoid'")), &o);
    gc_check("grad_keras3_key", SEQ_V(K3, GC_L("Dense", "'name': 'd', 'units': 5, 'activation': 'hard_sigmoid'")), &o);
    gc_check("grad_keras2_layer", SEQ_V(K2, GC_L("Dense", "'name': 'd', 'units': 5") ", " NET_LAYER), &o);
    gc_summary("gradcheck_hard_sigmoid");
    return bk_test_finish("test_gradcheck_hard_sigmoid");
}
