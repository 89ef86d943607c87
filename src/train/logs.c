#include "logs.h"
#include <stdlib.h>
#include <string.h>
#include "brisk/brisk.h"
#include "core/fsutil.h"

int bk_logs_head_seg(const bk_run_ctx *r, int k)
{
    int classes;
    if (!(r->c->metrics & (BK_METRIC_DICE | BK_METRIC_MIOU)) || !r->heads[k].loss) return 0;
    /* one output: checked when the model was built; several: where they apply */
    return r->m.n_outputs == 1 ||
           bk_metric_seg_classes(r->heads[k].loss, &r->m.nodes[r->heads[k].node].out_shape, &classes) == BK_OK;
}

/* Sets the metrics of one output: keys "accuracy"... (prefix "") or
 * "<output>_accuracy"... */
static void add_metrics(json_t *row, const bk_run_ctx *r, int k, const char *prefix, const bk_metric_sums *met)
{
    char key[BK_NAME_LEN + 32];
    double n = met->count > 0 ? met->count : 1;
#define SET(name, v) (snprintf(key, sizeof key, "%s%s", prefix, name), json_object_set_new(row, key, json_real(v)))
    if (bk_loss_has_accuracy(r->heads[k].loss)) SET("accuracy", met->correct / n);
    if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_DICE)) SET("dice", bk_metric_dice(met));
    if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_MIOU)) SET("miou", bk_metric_miou(met));
    if (!bk_loss_is_pde(r->heads[k].loss)) {
        SET("mse", met->sq_err / n);
        SET("mae", met->abs_err / n);
    }
#undef SET
}

bk_status bk_logs_add(bk_run_ctx *r, const char *phase, int64_t epoch, double mean_loss, const double *head_loss,
                      const bk_metric_sums *met, double grad_norm, double lr, double seconds, double samples)
{
    json_t *row = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "phase", phase, "epoch", (json_int_t)epoch + 1,
                            "loss", mean_loss, "grad_norm", grad_norm, "lr", lr, "seconds", seconds,
                            "samples_per_s", seconds > 0 ? samples / seconds : 0.0);
    if (!row) return bk_error(BK_ERR_NOMEM, "out of memory");
    if (r->m.n_outputs == 1) {
        add_metrics(row, r, 0, "", &met[0]);
    } else {
        /* Keras' names: "<output>_loss", "<output>_accuracy"... */
        for (int k = 0; k < r->m.n_outputs; k++) {
            char prefix[BK_NAME_LEN + 2], key[BK_NAME_LEN + 8];
            snprintf(prefix, sizeof prefix, "%s_", r->heads[k].name);
            snprintf(key, sizeof key, "%sloss", prefix);
            json_object_set_new(row, key, json_real(head_loss[k]));
            add_metrics(row, r, k, prefix, &met[k]);
        }
    }
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
    char cols[64][BK_NAME_LEN + 16];
    int ncols = 0;
#define COL(...) snprintf(cols[ncols++], sizeof cols[0], __VA_ARGS__)
    COL("epoch");
    COL("loss");
    for (int k = 0; k < r->m.n_outputs; k++) {
        char pre[BK_NAME_LEN + 2] = "";
        if (r->m.n_outputs > 1) {
            snprintf(pre, sizeof pre, "%s_", r->heads[k].name);
            COL("%sloss", pre);
        }
        if (bk_loss_has_accuracy(r->heads[k].loss)) {
            COL("%saccuracy", pre);
        } else if (!bk_loss_is_pde(r->heads[k].loss)) {
            COL("%smse", pre);
            COL("%smae", pre);
        }
        if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_DICE)) COL("%sdice", pre);
        if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_MIOU)) COL("%smiou", pre);
    }
    COL("seconds");
    COL("samples_per_s");
    if (!strcmp(phase, "train")) {
        COL("grad_norm");
        COL("lr");
    }
#undef COL
    size_t cap = 4096 + (size_t)ncols * sizeof cols[0], len = 0;
    char *buf = malloc(cap);
    if (!buf) return bk_error(BK_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ncols; i++) len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "\t" : "", cols[i]);
    buf[len++] = '\n';
    size_t k;
    json_t *row;
    int rows = 0;
    json_array_foreach(r->history, k, row) {
        if (strcmp(json_string_value(json_object_get(row, "phase")), phase)) continue;
        if (cap - len < 512 + (size_t)ncols * 32) {
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
                                 "brisk_version", BRISK_VERSION_STRING, "seed", (json_int_t)c->seed,
                                 "num_epochs", (json_int_t)c->num_epochs, "batch_size", (json_int_t)c->data.batch_size,
                                 "test_batch_size", (json_int_t)c->data.test_batch_size, "learning_rate", o->lr,
                                 "momentum", o->momentum, "weight_decay", o->weight_decay, "beta1", o->beta1,
                                 "beta2", o->beta2, "eps", o->eps, "input_path", c->data.input_path);
    if (!resolved) { json_decref(root); return bk_error(BK_ERR_NOMEM, "out of memory"); }
    json_object_set_new(resolved, "test_input_path", json_string(c->data.test_input_path));
    json_object_set_new(resolved, "model_parameters", json_integer(r->m.param_count));
    if (c->data.type == BK_DATA_PDE) {
        /* the generator's settings in force, its defaults included (brisk's choices where the reference has none) */
        const bk_pde_options *p = &c->data.pde;
        json_object_set_new(resolved, "pde_data", json_pack("{s:I, s:I, s:I, s:[f, f], s:s, s:i}",
                            "domain_size", (json_int_t)p->domain_size, "num_examples", (json_int_t)c->data.num_examples,
                            "num_test_examples", (json_int_t)c->data.num_test_examples, "bc_frequency", p->cmin,
                            p->cmax, "bc_type", p->fixed_uniform ? "fixed_uniform" : "random_uniform", "bc_terms",
                            p->max_terms));
    }
    if (c->has_loss && !c->n_output_losses && bk_loss_is_pde(&c->loss))
        json_object_set_new(resolved, "pde_loss", json_pack("{s:f, s:f}", "diffusion_coeff", c->loss.nu,
                                                            "boundary_factor", c->loss.boundary_factor));
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
