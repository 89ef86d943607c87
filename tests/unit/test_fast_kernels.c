/* oneDNN serves some shapes and layouts only with its reference kernels,
 * 10-100x slower, and every other test passes with them (a 3D matmul
 * descriptor with batch stride 0 did that to the dense layers once).
 * BRISK_FAST_KERNELS_ONLY=1 turns such a choice into an error; here every
 * example network trains a step and infers at batch 1 and 3 with it set,
 * in this machine's channel block and in the 8-channel block of AVX2
 * machines (oneDNN's AVX2 kernels, which run on any x86-64 here). */
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/dnnl_util.h"
#include "core/rng.h"
#include "nn/builder.h"
#include "testutil.h"

static const char *NETS[] = {"examples/fashion-mnist/fashion_cnn.json", "examples/braggnn/braggnn.json",
                             "examples/cookienetae/cookienetae.json", "examples/unet/unet.json"};

static void run(const char *src, const char *net, const char *block)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src, net);
    if (block) setenv("BRISK_CHANNEL_BLOCK", block, 1);
    bk_json_doc doc;
    bk_model m;
    memset(&m, 0, sizeof m);
    bk_status st = bk_json_load_file(&doc, path);
    if (!st) {
        st = bk_build_keras(&m, &doc, doc.root, "", 3, NULL);
        bk_json_free(&doc);
    }
    unsetenv("BRISK_CHANNEL_BLOCK");
    CHECK_OK(st);
    if (st) return;
    const int64_t batch = 3;
    bk_node *in = &m.nodes[m.inputs[0]];
    int64_t per = bk_shape_numel(&in->out_shape);
    float *x = malloc(sizeof(float) * (size_t)(batch * per));
    bk_rng r;
    bk_rng_seed(&r, 1, 0);
    for (int64_t i = 0; i < batch * per; i++) x[i] = (float)bk_rng_normal(&r);
    const float *xs = x, *y;
    st = bk_model_forward(&m, &xs, batch, 1);
    if (!st) {
        bk_model_begin_backward(&m);
        for (int k = 0; k < m.n_outputs; k++) {
            bk_node *o = &m.nodes[m.outputs[k]];
            for (int64_t i = 0; i < batch * bk_shape_numel(&o->out_shape); i++) o->grad[i] = 0.01f;
            o->grad_written = 1;
        }
        st = bk_model_backward(&m);
    }
    if (!st) st = bk_model_infer(&m, &xs, 1, &y);
    if (!st) st = bk_model_infer(&m, &xs, batch, &y);
    if (st) fprintf(stderr, "%s (block %s): %s\n", net, block ? block : "of this machine", bk_last_error());
    CHECK(st == BK_OK);
    free(x);
    bk_model_free(&m);
}

/* The check itself: a convolution oneDNN 2.6 serves only with its
 * reference kernel (backward data from a 1-channel plain gradient into a
 * 16-channel blocked input) must be refused with the variable set and
 * created without it. */
static void refuses_reference_kernels(void)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sd = {2, 16, 9, 9}, wd = {1, 16, 3, 3}, dd = {2, 1, 9, 9}, one = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nChw16c);
    dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_f32, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nchw);
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, NULL,
                                             &dst, one, pad, pad) == dnnl_success);
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, bk_dnnl_engine(), NULL) == dnnl_success);
    CHECK(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &wei, &dst, one, pad, pad) ==
          dnnl_success);
    CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, bk_dnnl_engine(), fpd) == dnnl_success);
    const char *impl = "";
    dnnl_primitive_desc_query(bpd, dnnl_query_impl_info_str, 0, &impl);
    CHECK(!strncmp(impl, "ref", 3)); /* else this control needs another shape */
    dnnl_primitive_t prim = NULL;
    setenv("BRISK_FAST_KERNELS_ONLY", "1", 1);
    CHECK(bk_dnnl_create(&prim, bpd, "control") != BK_OK);
    CHECK(strstr(bk_last_error(), "reference kernel") != NULL);
    unsetenv("BRISK_FAST_KERNELS_ONLY");
    CHECK_OK(bk_dnnl_create(&prim, bpd, "control"));
    if (prim) dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(fpd), dnnl_primitive_desc_destroy(bpd);
}

int main(void)
{
    refuses_reference_kernels();
    const char *src = getenv("BRISK_SOURCE_DIR");
    if (!src) src = ".";
    setenv("BRISK_FAST_KERNELS_ONLY", "1", 1);
    for (size_t i = 0; i < sizeof NETS / sizeof *NETS; i++) {
        run(src, NETS[i], NULL);
        run(src, NETS[i], "8");
    }
    return bk_test_finish("test_fast_kernels");
}
