/* The per-pass thread count (src/nn/threads.c): tiny passes run on one
 * thread, large ones on all, and every pass gives the caller's OpenMP
 * thread count back, whatever it chose. */
#include <omp.h>
#include <stdlib.h>
#include "nn/builder.h"
#include "testutil.h"

/* A dense layer of 16x16 weights: 512 FLOPs per sample, about 0.3 MFLOP
 * per node from batch ~1200 on. */
static const char *NET =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 16]}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 16, \"activation\": \"relu\"}}]}}";

int main(void)
{
    bk_json_doc doc;
    bk_model m;
    CHECK_OK(bk_json_load_string(&doc, NET, "threads.json"));
    CHECK_OK(bk_build_keras(&m, &doc, doc.root, "", 1, NULL));
    CHECK(bk_pass_threads(&m, 1, 4) == 1);
    CHECK(bk_pass_threads(&m, 100000, 4) == 4);
    CHECK(bk_pass_threads(&m, 100000, 1) == 1); /* never more than the caller's */

    omp_set_num_threads(2);
    int64_t B = 4;
    float *x = calloc((size_t)(B * 16), sizeof *x);
    const float *xp = x, *y = NULL;
    CHECK_OK(bk_model_forward(&m, &xp, B, 1));
    CHECK(omp_get_max_threads() == 2);
    bk_model_begin_backward(&m);
    bk_node *out = &m.nodes[m.outputs[0]];
    for (int64_t k = 0; k < B * 16; k++) out->grad[k] = 1.0f;
    out->grad_written = 1;
    CHECK_OK(bk_model_backward(&m));
    CHECK(omp_get_max_threads() == 2);
    CHECK_OK(bk_model_infer(&m, &xp, B, &y));
    CHECK(omp_get_max_threads() == 2);
    free(x);
    bk_model_free(&m);
    bk_json_free(&doc);
    return bk_test_finish("test_pass_threads");
}
