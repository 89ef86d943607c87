#include "logs.h"
#include <stdlib.h>
#include <string.h>
#include "core/fsutil.h"

bk_status bk_logs_add(bk_run_ctx *r, const char *phase, int64_t epoch, const bk_loss *loss, double mean_loss,
                      const bk_metric_sums *met, double grad_norm, double lr, double seconds, double samples)
{
    json_t *row = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "phase", phase, "epoch", (json_int_t)epoch + 1,
                            "loss", mean_loss, "grad_norm", grad_norm, "lr", lr, "seconds", seconds,
                            "samples_per_s", seconds > 0 ? samples / seconds : 0.0);
    if (!row) return bk_error(BK_ERR_NOMEM, "out of memory");
    double n = met->count > 0 ? met->count : 1;
    if (bk_loss_has_accuracy(loss))
        json_object_set_new(row, "accuracy", json_real(met->correct / n));
    if (r->c->metrics & BK_METRIC_DICE) json_object_set_new(row, "dice", json_real(bk_metric_dice(met)));
    if (r->c->metrics & BK_METRIC_MIOU) json_object_set_new(row, "miou", json_real(bk_metric_miou(met)));
    json_object_set_new(row, "mse", json_real(met->sq_err / n));
    json_object_set_new(row, "mae", json_real(met->abs_err / n));
    json_array_append_new(r->history, row);
    return BK_OK;
}

/* "out.txt" -> "out_train.txt" */
static void log_name(const char *outfile, const char *phase, char *buf, size_t n)
{
    const char *dot = strrchr(outfile, '.'), *slash = strrchr(outfile, '/');
    if (!dot || (slash && dot < slash)) snprintf(buf, n, "%s_%s.txt", outfile, phase);
    else snprintf(buf, n, "%.*s_%s%s", (int)(dot - outfile), outfile, phase, dot);
}

static bk_status write_table(bk_run_ctx *r, const char *phase)
{
    /* the test table has no gradient norm or learning rate: they belong to training */
    const char *cols[10];
    int ncols = 0;
    cols[ncols++] = "epoch";
    cols[ncols++] = "loss";
    if (bk_loss_has_accuracy(&r->c->loss)) {
        cols[ncols++] = "accuracy";
    } else {
        cols[ncols++] = "mse";
        cols[ncols++] = "mae";
    }
    if (r->c->metrics & BK_METRIC_DICE) cols[ncols++] = "dice";
    if (r->c->metrics & BK_METRIC_MIOU) cols[ncols++] = "miou";
    cols[ncols++] = "seconds";
    cols[ncols++] = "samples_per_s";
    if (!strcmp(phase, "train")) {
        cols[ncols++] = "grad_norm";
        cols[ncols++] = "lr";
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return bk_error(BK_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ncols; i++) len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "\t" : "", cols[i]);
    buf[len++] = '\n';
    size_t k;
    json_t *row;
    int rows = 0;
    json_array_foreach(r->history, k, row) {
        if (strcmp(json_string_value(json_object_get(row, "phase")), phase)) continue;
        if (cap - len < 512) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); return bk_error(BK_ERR_NOMEM, "out of memory"); }
            buf = nb;
            cap *= 2;
        }
        for (int i = 0; i < ncols; i++) {
            json_t *v = json_object_get(row, cols[i]);
            if (!strcmp(cols[i], "epoch")) len += (size_t)snprintf(buf + len, cap - len, "%lld", (long long)json_integer_value(v));
            else len += (size_t)snprintf(buf + len, cap - len, "\t%.6g", json_number_value(v));
        }
        buf[len++] = '\n';
        rows++;
    }
    bk_status st = BK_OK;
    if (rows) {
        char path[1200];
        log_name(r->c->outfile, phase, path, sizeof path);
        st = bk_write_file_atomic(path, buf, len);
    }
    free(buf);
    return st;
}

bk_status bk_logs_write(bk_run_ctx *r)
{
    bk_status st = write_table(r, "train");
    return st ? st : write_table(r, "test");
}

bk_status bk_logs_write_config(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    json_t *root = json_deep_copy(c->doc.root);
    if (!root) return bk_error(BK_ERR_NOMEM, "out of memory");
    json_t *nn = json_object_get(root, "neural_network");
    if (c->net_doc.root) json_object_set(nn, "layers", c->net_doc.root); /* self-contained */
    const bk_optim_config *o = &c->optim;
    json_t *resolved = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:s}",
                                 "brisk_version", BRISK_VERSION, "seed", (json_int_t)c->seed,
                                 "num_epochs", (json_int_t)c->num_epochs, "batch_size", (json_int_t)c->data.batch_size,
                                 "test_batch_size", (json_int_t)c->data.test_batch_size, "learning_rate", o->lr,
                                 "momentum", o->momentum, "weight_decay", o->weight_decay, "beta1", o->beta1,
                                 "beta2", o->beta2, "eps", o->eps, "input_path", c->data.input_path);
    if (!resolved) { json_decref(root); return bk_error(BK_ERR_NOMEM, "out of memory"); }
    json_object_set_new(resolved, "test_input_path", json_string(c->data.test_input_path));
    json_object_set_new(resolved, "model_parameters", json_integer(r->m.param_count));
    /* Exactly which hub versions (manifest digests) this run read. */
    if (c->hub_refs) json_object_set(resolved, "hub", c->hub_refs);
    json_object_set_new(root, "brisk_resolved", resolved);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return bk_error(BK_ERR_NOMEM, "out of memory");
    char path[1200];
    bk_path_join(path, sizeof path, c->save_dir, "config.json");
    bk_status st = bk_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}
