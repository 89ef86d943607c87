/* Activation layouts (src/nn/layout.c): which nodes compute channel-blocked,
 * where conversions go, and that a network gives the same outputs, running
 * statistics and gradients blocked as plain (BRISK_PLAIN_LAYOUT=1), for
 * training, inference and two batch sizes. The gradient checks
 * (test_gradcheck_layout) check the blocked kernels' gradients themselves. */
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "nn/builder.h"
#include "optim/optim.h"
#include "train/checkpoint.h"
#include "testutil.h"

#define L(name, cls, cfg, inbound)                                                             \
    "{'class_name': '" cls "', 'name': '" name "', 'config': {'name': '" name "'" cfg "}, " \
    "'inbound_nodes': [[" inbound "]]}"
#define IN(name) "['" name "', 0, 0, {}]"

/* Two inputs (an 8x8x3 image and an 8x8x16 map added further on); 16
 * channels wherever a block could apply, 12 where none divides. */
static const char *NET =
    "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
    "{'class_name': 'InputLayer', 'name': 'img', 'config': {'name': 'img', 'batch_input_shape': [null, 8, 8, 3]}, 'inbound_nodes': []}, "
    "{'class_name': 'InputLayer', 'name': 'map', 'config': {'name': 'map', 'batch_input_shape': [null, 4, 4, 16]}, 'inbound_nodes': []}, "
    L("c1", "Conv2D", ", 'filters': 16, 'kernel_size': 3, 'padding': 'same', 'activation': 'relu'", IN("img")) ", "
    L("bn", "BatchNormalization", "", IN("c1")) ", "
    L("r1", "Activation", ", 'activation': 'elu'", IN("bn")) ", "
    L("pool", "MaxPooling2D", ", 'pool_size': 2", IN("r1")) ", "
    L("c2", "Conv2D", ", 'filters': 16, 'kernel_size': 3, 'padding': 'same', 'use_bias': false", IN("pool")) ", "
    L("bnf", "BatchNormalization", ", 'trainable': false", IN("c2")) ", "
    L("add", "Add", "", IN("bnf") ", " IN("pool") ", " IN("map")) ", "
    L("r2", "ReLU", ", 'negative_slope': 0.1", IN("add")) ", "
    L("up", "Conv2DTranspose", ", 'filters': 16, 'kernel_size': 2, 'strides': 2, 'activation': 'tanh'", IN("r2")) ", "
    L("avg", "AveragePooling2D", ", 'pool_size': 2", IN("up")) ", "
    L("odd", "Conv2D", ", 'filters': 12, 'kernel_size': 1", IN("avg")) ", "
    L("gap", "GlobalAveragePooling2D", "", IN("avg")) ", "
    L("flat", "Flatten", "", IN("odd")) ", "
    L("fc", "Dense", ", 'units': 5", IN("flat")) ", "
    L("head", "Dense", ", 'units': 3", IN("gap")) ", "
    L("seg", "Conv2D", ", 'filters': 16, 'kernel_size': 1", IN("up")) "],"
    " 'input_layers': [['img', 0, 0], ['map', 0, 0]], 'output_layers': [['fc', 0, 0], ['head', 0, 0], ['seg', 0, 0]]}}";

/* NET with the single quotes made double (malloc'd). */
static char *net_json(void)
{
    char *json = strdup(NET);
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    return json;
}

static bk_node *node(bk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return &m->nodes[i];
    return NULL;
}

/* layout: MACHINE (the backend's block), 0 (BRISK_PLAIN_LAYOUT=1), or a
 * block forced with BRISK_CHANNEL_BLOCK (8 on AVX2 machines, 16 on AVX-512). */
enum { MACHINE = -1 };

static int build(bk_model *m, int layout)
{
    char *json = net_json();
    char forced[8];
    snprintf(forced, sizeof forced, "%d", layout);
    if (layout == 0) setenv("BRISK_PLAIN_LAYOUT", "1", 1);
    if (layout > 0) setenv("BRISK_CHANNEL_BLOCK", forced, 1);
    bk_json_doc doc;
    memset(m, 0, sizeof *m);
    bk_status st = bk_json_load_string(&doc, json, "layout.json");
    if (!st) {
        st = bk_build_keras(m, &doc, doc.root, "", 7, NULL);
        bk_json_free(&doc);
    }
    free(json);
    unsetenv("BRISK_PLAIN_LAYOUT");
    unsetenv("BRISK_CHANNEL_BLOCK");
    CHECK_OK(st);
    return st == BK_OK;
}

/* The reader's input i: its name, or NULL. */
static const char *input_name(bk_model *m, const char *reader, int i)
{
    bk_node *r = node(m, reader);
    return r && i < r->n_in ? m->nodes[r->in[i]].name : NULL;
}

static void choices(int layout)
{
    bk_model m;
    if (!build(&m, layout)) return;
    int B = layout > 0 ? layout : m.be->channel_block();
    if (layout == MACHINE) fprintf(stderr, "channel block on this machine: %d\n", B);
    if (!B) {
        /* nothing to check: the backend computes plain everywhere */
        for (int i = 0; i < m.n_nodes; i++) CHECK(m.nodes[i].block == 0);
        bk_model_free(&m);
        return;
    }
    /* blocked from the first convolution to the last one that feeds a follower */
    const char *blocked[] = {"c1", "c1/relu", "bn", "r1", "pool", "c2", "bnf", "add", "r2", "up", "up/tanh", "avg", "map/layout"};
    for (size_t i = 0; i < sizeof blocked / sizeof *blocked; i++) {
        bk_node *n = node(&m, blocked[i]);
        CHECK(n != NULL);
        if (n && n->block != B) fprintf(stderr, "  %s: block %d, expected %d\n", blocked[i], n->block, B);
        CHECK(n && n->block == B);
    }
    /* plain: inputs, outputs, 12 channels, rank 1, and what reads only plain */
    const char *plain[] = {"img", "map", "odd", "gap", "flat", "fc", "head", "seg", "avg/layout"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        bk_node *n = node(&m, plain[i]);
        CHECK(n != NULL);
        CHECK(n && n->block == 0);
    }
    /* the conv reads the plain image itself; the Add gets the map converted;
     * the 1x1 conv "odd" reads blocked "avg" directly, GAP through a conversion */
    CHECK(input_name(&m, "c1", 0) && !strcmp(input_name(&m, "c1", 0), "img"));
    CHECK(input_name(&m, "add", 2) && !strcmp(input_name(&m, "add", 2), "map/layout"));
    CHECK(input_name(&m, "odd", 0) && !strcmp(input_name(&m, "odd", 0), "avg"));
    CHECK(input_name(&m, "gap", 0) && !strcmp(input_name(&m, "gap", 0), "avg/layout"));
    CHECK(input_name(&m, "seg", 0) && !strcmp(input_name(&m, "seg", 0), "up/tanh"));
    int layouts = 0;
    for (int i = 0; i < m.n_nodes; i++) {
        layouts += !strcmp(m.nodes[i].class_name, "Layout");
        CHECK(m.nodes[i].index == i);
        for (int k = 0; k < m.nodes[i].n_in; k++) CHECK(m.nodes[i].in[k] < i);
    }
    CHECK(layouts == 2);
    /* kernels stored blocked: 16 -> 16 convolutions only (not 3 -> 16, not
     * 16 -> 12, not transposed) */
    for (int k = 0; k < m.n_params; k++) {
        const char *nm = m.params[k].name;
        int want = !strcmp(nm, "c2.weight") || !strcmp(nm, "seg.weight") ? B : 0;
        if (m.params[k].block != want) fprintf(stderr, "  %s: stored with block %d, expected %d\n", nm, m.params[k].block, want);
        CHECK(m.params[k].block == want);
    }
    for (int k = 0; k < m.n_params; k++) CHECK(!strncmp(m.params[k].name, m.nodes[m.params[k].node].name, strlen(m.nodes[m.params[k].node].name)));
    bk_model_free(&m);
}

static double max_rel_diff(const float *a, const float *b, int64_t n)
{
    double worst = 0, scale = 1e-3;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(a[i]));
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
    return worst;
}

static void fill(float *x, int64_t n, bk_rng *r)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)(bk_rng_uniform(r) * 2 - 1);
}

/* One training step's outputs and gradients, and an inference pass, at batch. */
static void same_results_at(bk_model *blk, bk_model *pln, int64_t batch, uint64_t seed)
{
    bk_rng r;
    bk_rng_seed(&r, seed, 0);
    float *x[2];
    for (int i = 0; i < 2; i++) {
        int64_t n = batch * bk_shape_numel(&blk->nodes[blk->inputs[i]].out_shape);
        x[i] = malloc(sizeof(float) * (size_t)n);
        fill(x[i], n, &r);
    }
    CHECK_OK(bk_model_forward(blk, (const float *const *)x, batch, 1));
    CHECK_OK(bk_model_forward(pln, (const float *const *)x, batch, 1));
    bk_model_begin_backward(blk);
    bk_model_begin_backward(pln);
    for (int k = 0; k < blk->n_outputs; k++) {
        bk_node *a = &blk->nodes[blk->outputs[k]], *b = &pln->nodes[pln->outputs[k]];
        int64_t n = batch * bk_shape_numel(&a->out_shape);
        double d = max_rel_diff(b->out, a->out, n);
        if (d > 1e-5) fprintf(stderr, "  output %s differs by %g (batch %lld)\n", a->name, d, (long long)batch);
        CHECK(d <= 1e-5);
        fill(a->grad, n, &r);
        memcpy(b->grad, a->grad, sizeof(float) * (size_t)n);
        a->grad_written = b->grad_written = 1;
    }
    CHECK_OK(bk_model_backward(blk));
    CHECK_OK(bk_model_backward(pln));
    for (int k = 0; k < blk->n_params; k++) {
        bk_param *a = &blk->params[k], *b = &pln->params[k];
        int64_t n = bk_shape_numel(&a->shape);
        float *ad = malloc(sizeof(float) * (size_t)n), *ag = malloc(sizeof(float) * (size_t)n);
        CHECK_OK(bk_param_to_plain(blk, a, a->data, ad));
        CHECK_OK(bk_param_to_plain(blk, a, a->grad, ag));
        double dd = max_rel_diff(b->data, ad, n), dg = max_rel_diff(b->grad, ag, n);
        free(ad), free(ag);
        if (dd > 1e-5 || dg > 1e-4) fprintf(stderr, "  %s: values differ by %g, gradients by %g\n", a->name, dd, dg);
        CHECK(dd <= 1e-5); /* running statistics updated alike */
        CHECK(dg <= 1e-4);
    }
    const float *oa[3], *ob[3];
    CHECK_OK(bk_model_infer(blk, (const float *const *)x, batch, oa));
    CHECK_OK(bk_model_infer(pln, (const float *const *)x, batch, ob));
    for (int k = 0; k < blk->n_outputs; k++) {
        int64_t n = batch * bk_shape_numel(&blk->nodes[blk->outputs[k]].out_shape);
        CHECK(max_rel_diff(ob[k], oa[k], n) <= 1e-5);
    }
    free(x[0]), free(x[1]);
}

static void same_results(int layout)
{
    bk_model blk, pln;
    if (!build(&blk, layout)) return;
    if (!build(&pln, 0)) {
        bk_model_free(&blk);
        return;
    }
    for (int i = 0; i < pln.n_nodes; i++) CHECK(pln.nodes[i].block == 0);
    CHECK(blk.param_count == pln.param_count);
    /* the same initial weights, whatever the storage */
    float *flat = malloc(sizeof(float) * (size_t)blk.param_count);
    memcpy(flat, blk.param_data, sizeof(float) * (size_t)blk.param_count);
    CHECK_OK(bk_model_flat_to_plain(&blk, flat));
    CHECK(!memcmp(flat, pln.param_data, sizeof(float) * (size_t)blk.param_count));
    free(flat);
    /* statistics and scales that differ per channel, so that a channel
     * read from the wrong place shows (fresh ones are all 0 or 1) */
    bk_rng r;
    bk_rng_seed(&r, 9, 0);
    for (int k = 0; k < blk.n_params; k++)
        if (!strncmp(blk.params[k].name, "bn", 2))
            for (int64_t i = 0; i < bk_shape_numel(&blk.params[k].shape); i++)
                blk.params[k].data[i] = pln.params[k].data[i] = (float)(0.5 + bk_rng_uniform(&r));
    same_results_at(&blk, &pln, 6, 1);
    same_results_at(&blk, &pln, 3, 2); /* a smaller last batch: other plans */
    same_results_at(&blk, &pln, 6, 3);
    bk_model_free(&blk);
    bk_model_free(&pln);
}

/* Weights and optimizer state written by a model that stores kernels one
 * way load into one that stores them another way (another machine) with
 * the same values, and back: files hold PyTorch's layout. */
static void files_are_plain(int layout, int other)
{
    bk_model blk, pln;
    if (!build(&blk, layout)) return;
    if (!build(&pln, other)) {
        bk_model_free(&blk);
        return;
    }
    char wpath[512], spath[512];
    snprintf(wpath, sizeof wpath, "%s/w.safetensors", bk_test_tmpdir("test_layout"));
    snprintf(spath, sizeof spath, "%s/state.safetensors", bk_test_tmpdir("test_layout"));
    bk_rng r;
    bk_rng_seed(&r, 5, 0);
    for (int64_t i = 0; i < blk.param_count; i++) blk.param_data[i] = (float)bk_rng_uniform(&r);
    bk_optim_config oc = {.kind = BK_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-7};
    bk_optimizer ob, op;
    CHECK_OK(bk_optim_init(&ob, &oc, &blk));
    CHECK_OK(bk_optim_init(&op, &oc, &pln));
    for (int s = 0; s < 2; s++)
        for (int64_t i = 0; i < blk.param_count; i++) ob.slot[s][i] = (float)bk_rng_uniform(&r);
    bk_train_state ts = {.history = "[]"}, ls = {0};
    CHECK_OK(bk_checkpoint_save(&blk, wpath));
    CHECK_OK(bk_train_state_save(spath, &blk, &ob, &ts));
    CHECK_OK(bk_checkpoint_load(&pln, wpath, 1, NULL, 0));
    CHECK_OK(bk_train_state_load(spath, &pln, &op, &ls));
    free(ls.history);
    float *flat = malloc(sizeof(float) * (size_t)blk.param_count);
    const float *mine[3] = {blk.param_data, ob.slot[0], ob.slot[1]}, *theirs[3] = {pln.param_data, op.slot[0], op.slot[1]};
    for (int t = 0; t < 3; t++) {
        memcpy(flat, mine[t], sizeof(float) * (size_t)blk.param_count);
        CHECK_OK(bk_model_flat_to_plain(&blk, flat));
        float *other_plain = malloc(sizeof(float) * (size_t)blk.param_count);
        memcpy(other_plain, theirs[t], sizeof(float) * (size_t)blk.param_count);
        CHECK_OK(bk_model_flat_to_plain(&pln, other_plain));
        CHECK(!memcmp(flat, other_plain, sizeof(float) * (size_t)blk.param_count));
        free(other_plain);
    }
    /* and back into a blocked model */
    bk_model blk2;
    if (build(&blk2, layout)) {
        CHECK_OK(bk_checkpoint_save(&pln, wpath));
        CHECK_OK(bk_checkpoint_load(&blk2, wpath, 1, NULL, 0));
        CHECK(!memcmp(blk2.param_data, blk.param_data, sizeof(float) * (size_t)blk.param_count));
        bk_model_free(&blk2);
    }
    free(flat);
    bk_optim_free(&ob);
    bk_optim_free(&op);
    bk_model_free(&blk);
    bk_model_free(&pln);
}

/* A block other than 8 or 16 is refused by name, not ignored. */
static void bad_block_refused(void)
{
    char *json = net_json();
    bk_json_doc doc;
    bk_model m;
    memset(&m, 0, sizeof m);
    CHECK_OK(bk_json_load_string(&doc, json, "layout.json"));
    setenv("BRISK_CHANNEL_BLOCK", "12", 1);
    bk_status st = bk_build_keras(&m, &doc, doc.root, "", 7, NULL);
    unsetenv("BRISK_CHANNEL_BLOCK");
    CHECK(st == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "BRISK_CHANNEL_BLOCK=12") && strstr(bk_last_error(), "8 or 16"));
    bk_model_free(&m);
    bk_json_free(&doc);
    free(json);
}

int main(void)
{
    bad_block_refused();
    choices(MACHINE);
    same_results(MACHINE);
    files_are_plain(MACHINE, 0);
    /* both blocks whatever this machine prefers: AVX2 machines use 8 */
    for (int b = 8; b <= 16; b += 8) {
        choices(b);
        same_results(b);
    }
    files_are_plain(8, 16);
    return bk_test_finish("test_layout");
}
