/* lossopt_runner: the brisk side of tests/parity/test_parity_losses_optim.py.
 *
 * usage: lossopt_runner SPEC.json
 *
 * SPEC.json:
 *   {"config": "run.json",   a brisk run config; its "loss" and "optimizer"
 *                            sections are read by the real config reader, and
 *                            its "layers" give the model (optimizer mode)
 *    "mode": "loss" | "optim",
 *    loss:  "out": "out.npy"       model outputs [N, C, ...] (channel-first)
 *           "target": "t.npy"      targets as the trainer reads them
 *    optim: "weights": "w.safetensors"  every parameter, loaded strictly
 *           "grads": "g.safetensors"    g<s>.<param> for s = 0..steps-1
 *           "steps": 20
 *           "reload_at": 10       save the training state after that many
 *                                 steps and continue from a fresh optimizer
 *                                 that loads it (as --resume does); 0: never
 *    "result": "res.safetensors"}
 * Writes: loss mode: "grad" [N, C, ...] and metadata "loss" (%.17g);
 * optim mode: w<s>.<param> after s = 1..steps steps.
 * Exits 0 on success, 1 with a message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brisk/data.h"
#include "train/config.h"
#include "io/safetensors.h"
#include "nn/builder.h"
#include "train/checkpoint.h"

static int fail(const char *what)
{
    fprintf(stderr, "lossopt_runner: %s: %s\n", what, bk_last_error());
    return 1;
}

/* Reads a whole (output, target) pair of .npy files. */
static bk_status read_all(const char *x_path, const char *y_path, bk_dataset **ds, float **x, float **y)
{
    bk_data_options o = {.input_path = x_path, .target_path = y_path, .preload = 1};
    bk_status st = bk_dataset_open_numpy(ds, &o);
    if (st) return st;
    int64_t n = (*ds)->count, xs = bk_shape_numel(&(*ds)->input_shape), ys = bk_shape_numel(&(*ds)->target_shape);
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    *x = malloc((size_t)(n * xs) * sizeof(float));
    *y = malloc((size_t)(n * (ys ? ys : 1)) * sizeof(float));
    if (!idx || !*x || !*y) st = bk_error(BK_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n && !st; i++) idx[i] = i;
    if (!st) st = (*ds)->read(*ds, idx, n, *x, *y);
    free(idx);
    return st;
}

static int run_loss(const bk_run_config *c, const char *out_path, const char *t_path, const char *result)
{
    bk_dataset *ds = NULL;
    float *x = NULL, *y = NULL, *g = NULL;
    int rc = 1;
    if (read_all(out_path, t_path, &ds, &x, &y)) { rc = fail("reading the data"); goto done; }
    int64_t n = ds->count, per = bk_shape_numel(&ds->input_shape);
    int64_t want = bk_loss_is_classification(&c->loss) ? per / ds->input_shape.dims[0] : per;
    if (bk_shape_numel(&ds->target_shape) != want) {
        fprintf(stderr, "lossopt_runner: %lld target values per sample, the loss needs %lld\n",
                (long long)bk_shape_numel(&ds->target_shape), (long long)want);
        goto done;
    }
    g = malloc((size_t)(n * per) * sizeof *g);
    double loss;
    if (!g || bk_loss_compute(&c->loss, x, &ds->input_shape, y, n, g, &loss)) { rc = fail("loss"); goto done; }
    bk_st_entry e = {.name = "grad", .shape = {.ndim = ds->input_shape.ndim + 1, .dims = {n}}, .data = g};
    for (int i = 0; i < ds->input_shape.ndim; i++) e.shape.dims[i + 1] = ds->input_shape.dims[i];
    char lv[64];
    snprintf(lv, sizeof lv, "%.17g", loss);
    const char *k[] = {"loss"}, *v[] = {lv};
    if (bk_safetensors_write(result, &e, 1, k, v, 1)) { rc = fail("writing the result"); goto done; }
    rc = 0;
done:
    free(x);
    free(y);
    free(g);
    bk_dataset_destroy(ds);
    return rc;
}

static int run_optim(const bk_run_config *c, const char *w_path, const char *g_path, int64_t steps, int64_t reload_at,
                     const char *result, const char *state_path)
{
    bk_model m;
    memset(&m, 0, sizeof m);
    bk_optimizer opt;
    memset(&opt, 0, sizeof opt);
    bk_st_file *gf = NULL;
    bk_st_entry *e = NULL;
    char (*names)[BK_NAME_LEN + 96] = NULL;
    float *hist = NULL;
    int rc = 1, ne = 0;
    const bk_json_doc *doc = c->net_doc.root ? &c->net_doc : &c->doc;
    if (bk_build_keras(&m, doc, c->net, c->net_path, 0, NULL)) { rc = fail("building the network"); goto done; }
    if (bk_checkpoint_load(&m, w_path, 1, NULL, 0)) { rc = fail("loading the weights"); goto done; }
    if (bk_safetensors_open(&gf, g_path)) { rc = fail("opening the gradients"); goto done; }
    if (bk_optim_init(&opt, &c->optim, &m)) { rc = fail("optimizer"); goto done; }
    e = calloc((size_t)(steps * m.n_params), sizeof *e);
    names = calloc((size_t)(steps * m.n_params), sizeof *names);
    hist = malloc((size_t)(steps * (m.param_count ? m.param_count : 1)) * sizeof *hist);
    if (!e || !names || !hist) { fprintf(stderr, "lossopt_runner: out of memory\n"); goto done; }
    double lr = bk_sched_lr(&c->optim, 0);
    for (int64_t s = 0; s < steps; s++) {
        for (int k = 0; k < m.n_params; k++) {
            bk_param *p = &m.params[k];
            if (p->is_buffer || p->frozen) continue;
            char name[BK_NAME_LEN + 96];
            bk_shape sh;
            const float *d;
            snprintf(name, sizeof name, "g%lld.%s", (long long)s, p->name);
            if (bk_safetensors_get(gf, name, &sh, &d)) { rc = fail("reading a gradient"); goto done; }
            if (bk_shape_numel(&sh) != bk_shape_numel(&p->shape)) {
                fprintf(stderr, "lossopt_runner: %s has the wrong size\n", name);
                goto done;
            }
            if (bk_param_from_plain(&m, p, d, p->grad)) { rc = fail("converting a gradient"); goto done; }
        }
        bk_optim_step(&opt, &m, lr);
        if (s + 1 == reload_at) {
            /* what an interrupted run saves, then a fresh optimizer loading it */
            bk_train_state ts = {.epoch = 0, .batch = s + 1, .opt_step = opt.step,
                                 .momentum_started = opt.momentum_started, .history = "[]"};
            snprintf(ts.model_file, sizeof ts.model_file, "none");
            if (bk_train_state_save(state_path, &m, &opt, &ts)) { rc = fail("saving the state"); goto done; }
            bk_optim_free(&opt);
            if (bk_optim_init(&opt, &c->optim, &m)) { rc = fail("optimizer"); goto done; }
            bk_train_state ls = {0};
            if (bk_train_state_load(state_path, &m, &opt, &ls)) { rc = fail("loading the state"); goto done; }
            free(ls.history);
        }
        float *h = hist + s * m.param_count;
        for (int k = 0; k < m.n_params; k++) {
            bk_param *p = &m.params[k];
            snprintf(names[ne], sizeof names[ne], "w%lld.%s", (long long)s + 1, p->name);
            if (bk_param_to_plain(&m, p, p->data, h + p->offset)) { rc = fail("converting a weight"); goto done; }
            e[ne] = (bk_st_entry){.name = names[ne], .shape = p->shape, .data = h + p->offset};
            ne++;
        }
    }
    const char *k[] = {"format"}, *v[] = {"brisk-lossopt-1"};
    if (bk_safetensors_write(result, e, ne, k, v, 1)) { rc = fail("writing the result"); goto done; }
    rc = 0;
done:
    free(e);
    free(names);
    free(hist);
    if (gf) bk_safetensors_close(gf);
    bk_optim_free(&opt);
    bk_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lossopt_runner SPEC.json\n");
        return 2;
    }
    static const char *const keys[] = {"config", "mode", "out", "target", "weights", "grads", "steps", "reload_at",
                                       "result"};
    bk_json_doc spec = {0};
    bk_run_config c;
    memset(&c, 0, sizeof c);
    int rc = 1;
    const char *cfg, *mode, *out, *target, *weights, *grads, *result;
    int64_t steps, reload_at;
    if (bk_json_load_file(&spec, argv[1])) { rc = fail("reading the spec"); goto done; }
    json_t *r = spec.root;
    bk_status st = bk_json_check_keys(&spec, r, "", keys, (int)(sizeof keys / sizeof keys[0]));
    if (!st) st = bk_json_get_string(&spec, r, "", "config", NULL, &cfg);
    if (!st) st = bk_json_get_string(&spec, r, "", "mode", "loss", &mode);
    if (!st) st = bk_json_get_string(&spec, r, "", "out", "", &out);
    if (!st) st = bk_json_get_string(&spec, r, "", "target", "", &target);
    if (!st) st = bk_json_get_string(&spec, r, "", "weights", "", &weights);
    if (!st) st = bk_json_get_string(&spec, r, "", "grads", "", &grads);
    if (!st) st = bk_json_get_string(&spec, r, "", "result", NULL, &result);
    if (!st) st = bk_json_get_int(&spec, r, "", "steps", 20, &steps);
    if (!st) st = bk_json_get_int(&spec, r, "", "reload_at", 0, &reload_at);
    if (!st && (!cfg || !result)) st = bk_error(BK_ERR_INVALID, "%s: config and result are required", argv[1]);
    if (st) { rc = fail("spec"); goto done; }
    if (bk_run_config_load(&c, cfg)) { rc = fail("reading the run config"); goto done; }
    if (!strcmp(mode, "loss")) {
        rc = run_loss(&c, out, target, result);
    } else {
        char state[1200];
        snprintf(state, sizeof state, "%s.state", result);
        rc = run_optim(&c, weights, grads, steps, reload_at, result, state);
    }
done:
    bk_run_config_free(&c);
    bk_json_free(&spec);
    return rc;
}
