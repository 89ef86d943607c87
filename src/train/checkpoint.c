#include "checkpoint.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "brisk/brisk.h"
#include "io/safetensors.h"

/* A copy of a flat buffer laid out as the parameters, in PyTorch's layout
 * (checkpoints hold that whatever the machine stores). */
static float *plain_copy(const bk_model *m, const float *flat, bk_status *st)
{
    float *c = bk_alloc(sizeof(float) * (size_t)(m->param_count ? m->param_count : 1));
    *st = c ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory for a copy of %lld parameters", (long long)m->param_count);
    if (!c) return NULL;
    memcpy(c, flat, sizeof(float) * (size_t)m->param_count);
    *st = bk_model_flat_to_plain(m, c);
    return c;
}

bk_status bk_checkpoint_save(const bk_model *m, const char *path)
{
    bk_status st;
    float *plain = plain_copy(m, m->param_data, &st);
    bk_st_entry *e = calloc((size_t)(m->n_params ? m->n_params : 1), sizeof *e);
    if (!st && !e) st = bk_error(BK_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->n_params && !st; i++) {
        e[i].name = m->params[i].name;
        e[i].shape = m->params[i].shape;
        e[i].data = plain + m->params[i].offset;
    }
    const char *keys[] = {"format", "brisk_version", "model"};
    const char *vals[] = {"brisk-weights-1", BRISK_VERSION_STRING, m->name};
    if (!st) st = bk_safetensors_write(path, e, m->n_params, keys, vals, 3);
    free(e);
    bk_free(plain);
    return st;
}

/* The layer part of "layer.weight". */
static void layer_of(const char *param, char *out, size_t n)
{
    snprintf(out, n, "%s", param);
    char *dot = strrchr(out, '.');
    if (dot) *dot = 0;
}

/* Logs the tensors of f the model has no place for, as the reference CLI
 * words it: a layer line when none of the layer's tensors fits, then one
 * line per tensor. */
static void log_unused(const bk_model *m, const bk_st_file *f, FILE *log)
{
    char last[BK_NAME_LEN + 32] = "";
    for (int i = 0; i < bk_safetensors_count(f); i++) {
        const char *name = bk_safetensors_name(f, i);
        int known = 0;
        for (int k = 0; k < m->n_params && !known; k++) known = !strcmp(m->params[k].name, name);
        if (known) continue;
        char layer[BK_NAME_LEN + 32];
        layer_of(name, layer, sizeof layer);
        if (strcmp(layer, last)) {
            int in_model = 0;
            for (int k = 0; k < m->n_nodes && !in_model; k++)
                in_model = m->nodes[k].n_params && !strcmp(m->nodes[k].name, layer);
            if (!in_model) fprintf(log, "   Skipping layer %s: not found in model\n", layer);
            snprintf(last, sizeof last, "%s", layer);
        }
        fprintf(log, "   Skipping parameter %s: not found in model\n", name);
    }
}

bk_status bk_checkpoint_load(bk_model *m, const char *path, int strict, char *warning, size_t warning_len)
{
    return bk_checkpoint_load_logged(m, path, strict, NULL, warning, warning_len);
}

bk_status bk_checkpoint_load_logged(bk_model *m, const char *path, int strict, FILE *log, char *warning,
                                    size_t warning_len)
{
    bk_st_file *f;
    bk_status st = bk_safetensors_open(&f, path);
    if (st) return st;
    if (warning && warning_len) warning[0] = 0;
    size_t used = 0;
    char last_layer[BK_NAME_LEN + 32] = "";
    int loaded = 0;
    for (int i = 0; i < m->n_params && !st; i++) {
        bk_param *p = &m->params[i];
        if (!bk_safetensors_has(f, p->name)) {
            if (strict) {
                st = bk_error(BK_ERR_INVALID, "%s: has no tensor \"%s\"; it was written for another network", path, p->name);
                break;
            }
            char layer[BK_NAME_LEN + 32];
            layer_of(p->name, layer, sizeof layer);
            if (warning && strcmp(layer, last_layer) && used + strlen(layer) + 4 < warning_len)
                used += (size_t)snprintf(warning + used, warning_len - used, "%s\"%s\"", used ? ", " : "", layer);
            snprintf(last_layer, sizeof last_layer, "%s", layer);
            continue;
        }
        bk_shape fs;
        const float *data;
        st = bk_safetensors_get(f, p->name, &fs, &data);
        if (st) break;
        if (!bk_shape_equal(&fs, &p->shape)) {
            char a[64], b[64];
            st = bk_error(BK_ERR_SHAPE, "%s: tensor \"%s\" has shape %s but the model needs %s; the layer's config differs from the saved one",
                          path, p->name, bk_shape_str(&fs, a, sizeof a), bk_shape_str(&p->shape, b, sizeof b));
            break;
        }
        st = bk_param_from_plain(m, p, data, p->data);
        loaded++;
    }
    if (!st && log) log_unused(m, f, log);
    bk_safetensors_close(f);
    if (!st && loaded == 0 && m->n_params > 0)
        st = bk_error(BK_ERR_INVALID, "%s: none of its tensors matches a layer of this model (names like \"%s\")",
                      path, m->params[0].name);
    return st;
}

bk_status bk_train_state_save(const char *path, const bk_model *m, const bk_optimizer *o, const bk_train_state *s)
{
    bk_st_entry e[3];
    char names[3][64];
    float *plain[3] = {NULL, NULL, NULL};
    bk_status st = BK_OK;
    for (int i = 0; i < o->n_slots && !st; i++) {
        snprintf(names[i], sizeof names[i], "optimizer.%s", bk_optim_slot_name(o, i));
        e[i].name = names[i];
        e[i].shape = (bk_shape){.ndim = 1, .dims = {o->count}};
        e[i].data = plain[i] = plain_copy(m, o->slot[i], &st);
    }
    if (st) {
        for (int i = 0; i < 3; i++) bk_free(plain[i]);
        return st;
    }
    char epoch[32], batch[32], step[32], mom[8], sums[256];
    snprintf(epoch, sizeof epoch, "%" PRId64, s->epoch);
    snprintf(batch, sizeof batch, "%" PRId64, s->batch);
    snprintf(step, sizeof step, "%" PRId64, s->opt_step);
    snprintf(mom, sizeof mom, "%d", s->momentum_started);
    snprintf(sums, sizeof sums, "%.17g %.17g %.17g %.17g %.17g %.17g", s->sums[0], s->sums[1], s->sums[2],
             s->sums[3], s->sums[4], s->sums[5]);
    /* per-class counts: "classes inter... pred... true..." */
    int sc = s->seg ? s->seg->seg_classes : 0;
    char *seg = malloc((size_t)(3 * sc + 1) * 26 + 16);
    if (!seg) {
        for (int i = 0; i < 3; i++) bk_free(plain[i]);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    size_t len = (size_t)sprintf(seg, "%d", sc);
    for (int k = 0; k < 3 * sc; k++) {
        const double *arr = k < sc ? s->seg->seg_inter : k < 2 * sc ? s->seg->seg_pred : s->seg->seg_true;
        len += (size_t)sprintf(seg + len, " %.17g", arr[k % sc]);
    }
    const char *keys[] = {"format", "epoch", "batch", "optimizer_step", "momentum_started", "model_file",
                          "history", "sums", "seg_sums", "heads"};
    const char *vals[] = {"brisk-train-state-1", epoch, batch, step, mom, s->model_file,
                          s->history ? s->history : "[]", sums, seg, s->heads};
    st = bk_safetensors_write(path, e, o->n_slots, keys, vals, s->heads ? 10 : 9);
    free(seg);
    for (int i = 0; i < 3; i++) bk_free(plain[i]);
    return st;
}

static bk_status meta_int(bk_st_file *f, const char *path, const char *key, int64_t *out)
{
    const char *v = bk_safetensors_meta(f, key);
    char *end;
    if (!v) return bk_error(BK_ERR_INVALID, "%s: not a brisk training state (no \"%s\")", path, key);
    *out = strtoll(v, &end, 10);
    if (*end) return bk_error(BK_ERR_INVALID, "%s: \"%s\" is not an integer", path, key);
    return BK_OK;
}

/* "classes v..." (written by bk_train_state_save) into seg; absent in
 * states saved before the segmentation metrics existed: zeros. */
static bk_status read_seg_sums(const char *path, const char *text, bk_metric_sums *seg)
{
    seg->seg_classes = 0;
    if (!text) return BK_OK;
    char *end;
    long sc = strtol(text, &end, 10);
    if (sc < 0 || sc > BK_SEG_MAX_CLASSES) return bk_error(BK_ERR_INVALID, "%s: bad \"seg_sums\"", path);
    for (long k = 0; k < 3 * sc; k++) {
        double *arr = k < sc ? seg->seg_inter : k < 2 * sc ? seg->seg_pred : seg->seg_true;
        const char *at = end;
        arr[k % sc] = strtod(at, &end);
        if (end == at) return bk_error(BK_ERR_INVALID, "%s: \"seg_sums\" is cut short", path);
    }
    seg->seg_classes = (int)sc;
    return BK_OK;
}

bk_status bk_train_state_load(const char *path, const bk_model *m, bk_optimizer *o, bk_train_state *s)
{
    bk_st_file *f;
    bk_status st = bk_safetensors_open(&f, path);
    if (st) return st;
    bk_metric_sums *seg = s->seg;
    memset(s, 0, sizeof *s);
    s->seg = seg;
    const char *fmt = bk_safetensors_meta(f, "format");
    int64_t mom = 0;
    if (!fmt || strcmp(fmt, "brisk-train-state-1"))
        st = bk_error(BK_ERR_INVALID, "%s: not a brisk training state (format \"%s\")", path, fmt ? fmt : "none");
    if (!st) st = meta_int(f, path, "epoch", &s->epoch);
    if (!st) st = meta_int(f, path, "batch", &s->batch);
    if (!st) st = meta_int(f, path, "optimizer_step", &s->opt_step);
    if (!st) st = meta_int(f, path, "momentum_started", &mom);
    for (int i = 0; i < o->n_slots && !st; i++) {
        char name[64];
        bk_shape sh;
        const float *d;
        snprintf(name, sizeof name, "optimizer.%s", bk_optim_slot_name(o, i));
        st = bk_safetensors_get(f, name, &sh, &d);
        if (!st && bk_shape_numel(&sh) != o->count)
            st = bk_error(BK_ERR_SHAPE, "%s: optimizer state \"%s\" has %lld values, the model has %lld parameters",
                          path, name, (long long)bk_shape_numel(&sh), (long long)o->count);
        if (!st) memcpy(o->slot[i], d, (size_t)o->count * sizeof(float));
        if (!st) st = bk_model_flat_from_plain(m, o->slot[i]);
    }
    if (!st) {
        const char *mf = bk_safetensors_meta(f, "model_file"), *h = bk_safetensors_meta(f, "history"),
                   *sums = bk_safetensors_meta(f, "sums");
        snprintf(s->model_file, sizeof s->model_file, "%s", mf ? mf : "");
        const char *heads = bk_safetensors_meta(f, "heads");
        s->history = strdup(h ? h : "[]");
        s->heads = heads ? strdup(heads) : NULL;
        if (!s->history || (heads && !s->heads)) st = bk_error(BK_ERR_NOMEM, "out of memory");
        if (sums)
            sscanf(sums, "%lf %lf %lf %lf %lf %lf", &s->sums[0], &s->sums[1], &s->sums[2], &s->sums[3],
                   &s->sums[4], &s->sums[5]);
        if (!st && seg) st = read_seg_sums(path, bk_safetensors_meta(f, "seg_sums"), seg);
    }
    o->step = s->opt_step;
    o->momentum_started = (int)mom;
    bk_safetensors_close(f);
    return st;
}
