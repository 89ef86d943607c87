/* Keras HDF5 weights (src/io/keras_h5.c, src/train/keras_load.c) and the
 * checkpoints.load dispatch (src/train/load_weights.c), on files written
 * here with the HDF5 C API in Keras 2's model.save layout:
 *   - every converted value against Keras' index formulas (conv
 *     W[o][i][y][x] = K[y][x][i][o], dense W[o][i] = K[i][o]), with the
 *     convolution kernels stored channel-blocked (BRISK_CHANNEL_BLOCK=8);
 *   - a model layer the file lacks keeps its weights and is listed; a file
 *     layer the model lacks and a weight it has no place for (gamma of a
 *     BatchNormalization with scale off) are logged;
 *   - a shape mismatch names the layer, the Keras weight and both shapes;
 *   - truncated, non-Keras, empty, unknown, zip and pickle files are clear
 *     errors; model_checkpoint_N.pt falls back to model_epoch_N.safetensors. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "core/fsutil.h"
#include "nn/builder.h"
#include "train/checkpoint.h"
#include "train/load_weights.h"
#include "testutil.h"

static const char *NET =
    "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
    "{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 5, 4, 16]}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'c1', 'filters': 16, 'kernel_size': [3, 2], 'padding': 'same'}},"
    "{'class_name': 'Conv2D', 'config': {'name': 'c2', 'filters': 16, 'kernel_size': 3, 'padding': 'same'}},"
    "{'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'scale': false}},"
    "{'class_name': 'Flatten', 'config': {'name': 'flat'}},"
    "{'class_name': 'Dense', 'config': {'name': 'fc', 'units': 3}}]}}";

static int build(bk_model *m)
{
    char *json = strdup(NET);
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    setenv("BRISK_CHANNEL_BLOCK", "8", 1);
    bk_json_doc doc;
    memset(m, 0, sizeof *m);
    bk_status st = bk_json_load_string(&doc, json, "keras_h5.json");
    if (!st) {
        st = bk_build_keras(m, &doc, doc.root, "", 3, NULL);
        bk_json_free(&doc);
    }
    unsetenv("BRISK_CHANNEL_BLOCK");
    free(json);
    CHECK_OK(st);
    return st == BK_OK;
}

/* ---- writing Keras 2 model.save files ---- */

/* A list of strings as numpy's fixed-length bytes ('S<n>', NULL-padded). */
static void attr_strings(hid_t obj, const char *name, const char *const *s, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len = strlen(s[i]) > len ? strlen(s[i]) : len;
    char *buf = calloc((size_t)n, len);
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, t, buf) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
}

typedef struct {
    const char *var;  /* "kernel" */
    int rank;
    hsize_t dims[5];
} kw;

/* Keras' value of element i of a weight: distinct, sign-varying. */
static float kval(int layer, int w, int64_t i) { return (float)(layer * 1000 + w * 100) + (float)((i * 37) % 101) / 64.0f - 0.8f; }

/* Layer `name` (index li for kval) with weights ws under group g. */
static void write_layer(hid_t g, const char *name, int li, const kw *ws, int n)
{
    hid_t lg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *names[4];
    char buf[4][128];
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (int k = 0; k < n; k++) {
        snprintf(buf[k], sizeof buf[k], "%s/%s:0", name, ws[k].var);
        names[k] = buf[k];
        hsize_t count = 1;
        for (int d = 0; d < ws[k].rank; d++) count *= ws[k].dims[d];
        float *v = malloc(sizeof(float) * count);
        for (hsize_t i = 0; i < count; i++) v[i] = kval(li, k, (int64_t)i);
        if (!strcmp(ws[k].var, "moving_variance"))
            for (hsize_t i = 0; i < count; i++) v[i] = 1.0f + (float)i / 8;
        hid_t sp = H5Screate_simple(ws[k].rank, ws[k].dims, NULL);
        hid_t d = H5Dcreate2(lg, buf[k], H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        CHECK(d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
        H5Dclose(d);
        H5Sclose(sp);
        free(v);
    }
    H5Pclose(lcpl);
    if (n) attr_strings(lg, "weight_names", names, n);
    else {
        /* numpy's [] is a float64 array of 0 elements */
        hsize_t z = 0;
        hid_t sp = H5Screate_simple(1, &z, NULL);
        hid_t a = H5Acreate2(lg, "weight_names", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Aclose(a);
        H5Sclose(sp);
    }
    H5Gclose(lg);
}

enum { WITH_C1 = 1, EXTRA_LAYER = 2, BAD_FC = 4 };

static void write_file(const char *path, int flags)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *all[] = {"in", "c1", "c2", "bn", "flat", "fc", "old_head"};
    const char *names[7];
    int n = 0;
    for (int i = 0; i < 7; i++)
        if ((i != 1 || (flags & WITH_C1)) && (i != 6 || (flags & EXTRA_LAYER))) names[n++] = all[i];
    attr_strings(g, "layer_names", names, n);
    const char *ver[] = {"2.13.1"};
    attr_strings(f, "keras_version", ver, 1);
    write_layer(g, "in", 0, NULL, 0);
    if (flags & WITH_C1) write_layer(g, "c1", 1, (kw[]){{"kernel", 4, {3, 2, 16, 16}}, {"bias", 1, {16}}}, 2);
    write_layer(g, "c2", 2, (kw[]){{"kernel", 4, {3, 3, 16, 16}}, {"bias", 1, {16}}}, 2);
    write_layer(g, "bn", 3, (kw[]){{"gamma", 1, {16}}, {"beta", 1, {16}}, {"moving_mean", 1, {16}},
                                   {"moving_variance", 1, {16}}}, 4);
    write_layer(g, "flat", 4, NULL, 0);
    write_layer(g, "fc", 5, (kw[]){{"kernel", 2, {(flags & BAD_FC) ? 321 : 320, 3}}, {"bias", 1, {3}}}, 2);
    if (flags & EXTRA_LAYER) write_layer(g, "old_head", 6, (kw[]){{"kernel", 2, {4, 2}}, {"bias", 1, {2}}}, 2);
    H5Gclose(g);
    H5Fclose(f);
}

static bk_param *param(bk_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

/* Parameter `name` in PyTorch's layout (malloc'd). */
static float *plain(bk_model *m, const char *name)
{
    bk_param *p = param(m, name);
    if (!p) return NULL;
    float *v = malloc(sizeof(float) * (size_t)bk_shape_numel(&p->shape));
    CHECK_OK(bk_param_to_plain(m, p, p->data, v));
    return v;
}

/* Runs bk_load_weights with its console lines captured into log. */
static bk_status load(bk_model *m, const char *path, char *log, size_t n)
{
    FILE *out = tmpfile();
    bk_status st = bk_load_weights(m, path, out, out);
    rewind(out);
    size_t got = fread(log, 1, n - 1, out);
    log[got] = 0;
    fclose(out);
    return st;
}

static void conversions(const char *dir)
{
    char path[1024], log[4096];
    snprintf(path, sizeof path, "%s/full.h5", dir);
    write_file(path, WITH_C1 | EXTRA_LAYER);
    bk_model m;
    if (!build(&m)) return;
    int blocked = 0;
    for (int i = 0; i < m.n_params; i++) blocked |= m.params[i].block != 0;
    CHECK(blocked); /* the test is about stored-blocked kernels too */
    CHECK_OK(load(&m, path, log, sizeof log));
    CHECK(strstr(log, "Loading model checkpoint from HDF5 file: ") != NULL);
    CHECK(strstr(log, "   Skipping layer old_head: not found in model\n"
                      "   Skipping parameter old_head.weight (old_head/kernel:0): not found in model\n"
                      "   Skipping parameter old_head.bias (old_head/bias:0): not found in model\n") != NULL);
    CHECK(strstr(log, "   Skipping parameter bn.weight (bn/gamma:0): not found in model\n") != NULL);
    /* conv: W[o][i][y][x] = K[y][x][i][o] */
    const struct { const char *name; int li, kh, kw; } convs[] = {{"c1.weight", 1, 3, 2}, {"c2.weight", 2, 3, 3}};
    for (int c = 0; c < 2; c++) {
        float *w = plain(&m, convs[c].name);
        int bad = !w;
        for (int o = 0; o < 16 && w; o++)
            for (int i = 0; i < 16; i++)
                for (int y = 0; y < convs[c].kh; y++)
                    for (int x = 0; x < convs[c].kw; x++) {
                        int64_t ki = (((int64_t)y * convs[c].kw + x) * 16 + i) * 16 + o;
                        int64_t wi = (((int64_t)o * 16 + i) * convs[c].kh + y) * convs[c].kw + x;
                        bad += w[wi] != kval(convs[c].li, 0, ki);
                    }
        CHECK(bad == 0);
        free(w);
    }
    /* dense: W[o][i] = K[i][o]; the rows are Keras' flatten order, which
     * is brisk's Flatten output order (the parity test runs it) */
    float *fw = plain(&m, "fc.weight"), *fb = plain(&m, "fc.bias"), *bb = plain(&m, "bn.bias"),
          *bv = plain(&m, "bn.running_var");
    int bad = !fw || !fb || !bb || !bv;
    for (int o = 0; o < 3 && !bad; o++) {
        for (int i = 0; i < 320; i++) bad += fw[o * 320 + i] != kval(5, 0, i * 3 + o);
        bad += fb[o] != kval(5, 1, o);
    }
    for (int c = 0; c < 16 && !bad; c++) bad += bb[c] != kval(3, 1, c) || bv[c] != 1.0f + (float)c / 8;
    CHECK(bad == 0);
    free(fw), free(fb), free(bb), free(bv);
    bk_model_free(&m);
}

static void missing_and_mismatch(const char *dir)
{
    char path[1024], log[4096];
    bk_model m;
    if (!build(&m)) return;
    float *before = plain(&m, "c1.weight");
    snprintf(path, sizeof path, "%s/no_c1.h5", dir);
    write_file(path, 0);
    CHECK_OK(load(&m, path, log, sizeof log));
    CHECK(strstr(log, "warning: ") && strstr(log, "no_c1.h5 has no weights for layer(s) \"c1\"; they keep"));
    float *after = plain(&m, "c1.weight");
    CHECK(before && after && !memcmp(before, after, sizeof(float) * 16 * 16 * 6)); /* kept its initial values */
    free(before), free(after);
    bk_model_free(&m);

    if (!build(&m)) return;
    snprintf(path, sizeof path, "%s/bad_fc.h5", dir);
    write_file(path, WITH_C1 | BAD_FC);
    bk_status st = load(&m, path, log, sizeof log);
    CHECK(st == BK_ERR_SHAPE);
    const char *e = bk_last_error();
    CHECK(strstr(e, "layer \"fc\"") && strstr(e, "\"fc/kernel:0\"") && strstr(e, "[321, 3]") && strstr(e, "[3, 321]") &&
          strstr(e, "fc.weight is [3, 320]"));
    if (st != BK_ERR_SHAPE || !strstr(e, "[321, 3]")) fprintf(stderr, "message: %s\n", e);

    /* a truncated copy of a good file */
    char good[512], cut[512], *bytes = NULL;
    size_t len = 0;
    snprintf(good, sizeof good, "%s/full.h5", dir);
    snprintf(cut, sizeof cut, "%s/cut.h5", dir);
    CHECK_OK(bk_read_file(good, &bytes, &len));
    CHECK_OK(bk_write_file_atomic(cut, bytes, len / 2));
    free(bytes);
    st = load(&m, cut, log, sizeof log);
    CHECK(st != BK_OK && strstr(bk_last_error(), "cut.h5") != NULL);
    fprintf(stderr, "(truncated file: %s)\n", bk_last_error());
    bk_model_free(&m);
}

static void write_bytes(const char *path, const void *b, size_t n) { CHECK_OK(bk_write_file_atomic(path, b, n)); }

static void formats(const char *dir)
{
    char path[1024], log[4096];
    bk_model m;
    if (!build(&m)) return;
    /* HDF5, but not Keras */
    snprintf(path, sizeof path, "%s/data.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d = 4;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    H5Dclose(H5Dcreate2(f, "images", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp);
    H5Fclose(f);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_INVALID);
    CHECK(strstr(bk_last_error(), "not Keras weights") && strstr(bk_last_error(), "it holds: images"));

    snprintf(path, sizeof path, "%s/empty.pt", dir);
    write_bytes(path, "", 0);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "empty") && strstr(bk_last_error(), "safetensors"));

    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_bytes(path, "just some text, not weights\n", 28);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "notes.txt") && strstr(bk_last_error(), "Keras HDF5"));

    /* PyTorch: a pickle (torch.save before 1.6) and a zip (since 1.6, libtorch) */
    snprintf(path, sizeof path, "%s/old.pt", dir);
    write_bytes(path, "\x80\x02\x8a\x0alots of pickle", 18);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "PyTorch") && strstr(bk_last_error(), "python3 -c") &&
          strstr(bk_last_error(), "old.pt\" OUT.safetensors"));
    snprintf(path, sizeof path, "%s/model.pt", dir);
    int err;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    static const char pkl[] = "\x80\x02}q\x00.";
    zip_source_t *src = z ? zip_source_buffer(z, pkl, sizeof pkl - 1, 0) : NULL;
    CHECK(z && src && zip_file_add(z, "archive/data.pkl", src, 0) >= 0 && zip_close(z) == 0);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "PyTorch") && strstr(bk_last_error(), "zip archive") &&
          strstr(bk_last_error(), "torch.jit.load"));

    /* a .keras archive whose weights are not h5, and a directory */
    snprintf(path, sizeof path, "%s/npz.keras", dir);
    z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    static const char js[] = "{}";
    const char *members[] = {"config.json", "metadata.json", "model.weights.npz"};
    for (int k = 0; k < 3 && z; k++) {
        src = zip_source_buffer(z, js, 2, 0);
        CHECK(src && zip_file_add(z, members[k], src, 0) >= 0);
    }
    CHECK(z && zip_close(z) == 0);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "a Keras .keras archive without model.weights.h5"));
    CHECK(load(&m, dir, log, sizeof log) == BK_ERR_UNSUPPORTED);
    CHECK(strstr(bk_last_error(), "a directory"));

    /* the reference CLI's checkpoint name after a brisk run */
    char sub[600], saved[700];
    snprintf(sub, sizeof sub, "%s/run", dir);
    CHECK_OK(bk_mkdir_p(sub));
    snprintf(saved, sizeof saved, "%s/model_epoch_3.safetensors", sub);
    CHECK_OK(bk_checkpoint_save(&m, saved));
    snprintf(path, sizeof path, "%s/model_checkpoint_3.pt", sub);
    CHECK_OK(load(&m, path, log, sizeof log));
    CHECK(strstr(log, "model_checkpoint_3.pt is not there; brisk saved that epoch as ") &&
          strstr(log, "Loading model checkpoint from file: ") && strstr(log, "model_epoch_3.safetensors\n"));
    snprintf(path, sizeof path, "%s/model_checkpoint_4.pt", sub);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_IO);
    CHECK(strstr(bk_last_error(), "model_checkpoint_4.pt: no such file, nor ") &&
          strstr(bk_last_error(), "model_epoch_4.safetensors"));
    snprintf(path, sizeof path, "%s/model_checkpoint_3.pth", sub);
    CHECK(load(&m, path, log, sizeof log) == BK_ERR_IO);
    bk_model_free(&m);
}

int main(void)
{
    const char *dir = bk_test_tmpdir("test_keras_h5");
    conversions(dir);
    missing_and_mismatch(dir);
    formats(dir);
    return bk_test_finish("test_keras_h5");
}
