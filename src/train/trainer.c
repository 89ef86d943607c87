/* The run: training epochs, evaluation, checkpoints, resume and inference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "regularizer.h"
#include "checkpoint.h"
#include "core/fsutil.h"
#include "io/h5out.h"
#include "logs.h"
#include "nn/layer_util.h"
#include "run_ctx.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Moves a batch to channel-first when the data was stored channels_last. */
static const float *model_input(bk_run_ctx *r, const bk_batch *b, float **tmp, int64_t *tmp_len)
{
    if (!r->transpose_input) return b->x;
    const bk_shape *mi = &r->m.nodes[r->m.inputs[0]].out_shape;
    int64_t need = b->n * bk_shape_numel(mi);
    if (*tmp_len < need) {
        bk_free(*tmp);
        *tmp = bk_alloc((size_t)need * sizeof(float));
        *tmp_len = *tmp ? need : 0;
        if (!*tmp) return NULL;
    }
    bk_from_keras_order(b->x, *tmp, b->n, mi);
    return *tmp;
}

static double grad_norm(const bk_model *m)
{
    double s = 0;
    for (int k = 0; k < m->n_params; k++) {
        const bk_param *p = &m->params[k];
        if (p->is_buffer || p->frozen) continue;
        int64_t n = bk_shape_numel(&p->shape);
        for (int64_t i = 0; i < n; i++) s += (double)p->grad[i] * p->grad[i];
    }
    return sqrt(s);
}

typedef struct { double loss, samples, seconds, grad_norm; bk_metric_sums met; } epoch_sums;

/* Evaluates ds; fills loss and metrics. Writes predictions when h5 is given. */
static bk_status evaluate(bk_run_ctx *r, bk_dataset *ds, bk_h5out *h5, epoch_sums *e)
{
    bk_run_config *c = r->c;
    bk_loader *ld;
    memset(e, 0, sizeof *e);
    bk_status st = bk_loader_create(&ld, ds, c->data.test_batch_size, 0, c->seed);
    if (st) return st;
    bk_node *out = &r->m.nodes[r->m.outputs[0]];
    float *tmp = NULL;
    int64_t tmp_len = 0, row = 0;
    double t0 = now(), penalty = bk_regularizer_penalty(&r->m); /* Keras reports it in evaluate too */
    st = bk_loader_begin_epoch(ld, 0);
    while (!st) {
        bk_batch b;
        int done;
        st = bk_loader_next(ld, &b, &done);
        if (st || done) break;
        const float *x = model_input(r, &b, &tmp, &tmp_len);
        if (!x) { st = bk_error(BK_ERR_NOMEM, "out of memory"); break; }
        const float *y;
        st = bk_model_infer(&r->m, &x, b.n, &y);
        if (st) break;
        if (h5 && (st = bk_h5out_write(h5, row, b.n, y))) break;
        row += b.n;
        if (c->has_loss && ds->has_targets) {
            double l;
            st = bk_loss_compute(&c->loss, y, &out->out_shape, b.y, b.n, NULL, &l);
            if (st) {
                st = bk_error_context(st, "%s: ", ds->name);
                break;
            }
            e->loss += (l + penalty) * (double)b.n;
            bk_metric_accumulate(&c->loss, c->metrics, y, &out->out_shape, b.y, b.n, &e->met);
        }
        e->samples += (double)b.n;
    }
    e->seconds = now() - t0;
    bk_free(tmp);
    bk_loader_destroy(ld);
    return st;
}

static void print_eval(bk_run_ctx *r, const char *what, int64_t epoch, const epoch_sums *e)
{
    bk_run_config *c = r->c;
    if (!c->has_loss || e->met.count == 0) {
        fprintf(r->out, "%s: %.0f samples in %.2f s\n", what, e->samples, e->seconds);
        return;
    }
    double loss = e->loss / e->samples;
    if (epoch >= 0)
        fprintf(r->out, "%s Epoch [%3lld/%3lld] : Loss = %.4f", what, (long long)epoch + 1,
                (long long)c->num_epochs, loss);
    else
        fprintf(r->out, "%s : Loss = %.4f", what, loss);
    if (bk_loss_has_accuracy(&c->loss))
        fprintf(r->out, " | Accuracy: %.4f", e->met.correct / e->met.count);
    else
        fprintf(r->out, " | MSE: %.6g | MAE: %.6g", e->met.sq_err / e->met.count, e->met.abs_err / e->met.count);
    if (c->metrics & BK_METRIC_DICE) fprintf(r->out, " | Dice: %.4f", bk_metric_dice(&e->met));
    if (c->metrics & BK_METRIC_MIOU) fprintf(r->out, " | mIoU: %.4f", bk_metric_miou(&e->met));
    fputc('\n', r->out);
    fflush(r->out);
}

static void progress(bk_run_ctx *r, int64_t epoch, int64_t done, int64_t total, double samples, double t)
{
    if (!r->o->progress) return;
    int width = 30, fill = total ? (int)(width * done / total) : width;
    double rate = t > 0 ? samples / t : 0, eta = done ? t * (double)(total - done) / (double)done : 0;
    fprintf(stderr, "\r  epoch %lld [", (long long)epoch + 1);
    for (int i = 0; i < width; i++) fputc(i < fill ? '=' : (i == fill ? '>' : ' '), stderr);
    fprintf(stderr, "] %lld/%lld  %.0f samples/s  ETA %.0fs   ", (long long)done, (long long)total, rate, eta);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* Saves weights and training state; the state file is written last and
 * names the weights, so a crash between the two keeps the previous pair. */
static bk_status save_checkpoint(bk_run_ctx *r, int64_t epochs_done, int64_t batch, epoch_sums *e)
{
    bk_run_config *c = r->c;
    if (!c->save_dir[0]) return BK_OK;
    char name[256], path[1200], spath[1200];
    if (batch == 0) snprintf(name, sizeof name, "model_epoch_%lld.safetensors", (long long)epochs_done);
    else snprintf(name, sizeof name, "model_interrupted.safetensors");
    bk_path_join(path, sizeof path, c->save_dir, name);
    bk_status st = bk_checkpoint_save(&r->m, path);
    if (st) return st;
    bk_train_state s = {.epoch = epochs_done, .batch = batch, .opt_step = r->opt.step,
                        .momentum_started = r->opt.momentum_started, .seg = e ? &e->met : NULL};
    snprintf(s.model_file, sizeof s.model_file, "%s", name);
    if (e) {
        s.sums[0] = e->loss; s.sums[1] = e->samples; s.sums[2] = e->grad_norm;
        s.sums[3] = e->met.correct; s.sums[4] = e->met.abs_err; s.sums[5] = e->met.count;
    }
    s.history = json_dumps(r->history, JSON_COMPACT);
    bk_path_join(spath, sizeof spath, c->save_dir, "train_state.safetensors");
    st = s.history ? bk_train_state_save(spath, &r->opt, &s) : bk_error(BK_ERR_NOMEM, "out of memory");
    free(s.history);
    return st;
}

static bk_status resume(bk_run_ctx *r, int64_t *epoch, int64_t *batch, epoch_sums *e)
{
    char spath[1200], mpath[1200];
    bk_path_join(spath, sizeof spath, r->o->resume_dir, "train_state.safetensors");
    if (!bk_path_exists(spath))
        return bk_error(BK_ERR_IO, "%s: no training state to resume from; was the run saved there (checkpoints.save)?", spath);
    bk_train_state s = {.seg = &e->met};
    memset(e, 0, sizeof *e);
    bk_status st = bk_train_state_load(spath, &r->opt, &s);
    if (st) return st;
    bk_path_join(mpath, sizeof mpath, r->o->resume_dir, s.model_file);
    st = bk_checkpoint_load(&r->m, mpath, 1, NULL, 0);
    json_error_t je;
    json_t *h = st ? NULL : json_loads(s.history, 0, &je);
    free(s.history);
    if (st) return st;
    if (!json_is_array(h)) {
        json_decref(h);
        return bk_error(BK_ERR_INVALID, "%s: the saved history is not readable", spath);
    }
    json_decref(r->history);
    r->history = h;
    *epoch = s.epoch;
    *batch = s.batch;
    e->loss = s.sums[0]; e->samples = s.sums[1]; e->grad_norm = s.sums[2];
    e->met.correct = s.sums[3]; e->met.abs_err = s.sums[4]; e->met.count = s.sums[5];
    fprintf(r->out, "Resuming from %s: epoch %lld, batch %lld\n", r->o->resume_dir, (long long)s.epoch + 1, (long long)s.batch);
    return BK_OK;
}

static bk_status train(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    bk_model *m = &r->m;
    bk_status st = bk_optim_init(&r->opt, &c->optim, m);
    if (st) return st;
    if (c->save_dir[0] && (st = bk_mkdir_p(c->save_dir))) return st;
    int64_t start_epoch = 0, skip = 0;
    epoch_sums e;
    memset(&e, 0, sizeof e);
    if (r->o->resume_dir && (st = resume(r, &start_epoch, &skip, &e))) return st;
    if (c->save_dir[0] && (st = bk_logs_write_config(r))) return st;
    bk_loader *ld;
    st = bk_loader_create(&ld, r->train, c->data.batch_size, c->data.shuffle, c->seed);
    if (st) return st;
    bk_node *out = &m->nodes[m->outputs[0]];
    int64_t nb = bk_loader_num_batches(ld);
    float *tmp = NULL;
    int64_t tmp_len = 0;
    m->step = (uint64_t)r->opt.step;
    for (int64_t epoch = start_epoch; epoch < c->num_epochs && !st; epoch++) {
        double lr = bk_sched_lr(&c->optim, epoch);
        if (c->optim.sched != BK_SCHED_NONE && c->optim.sched_verbose)
            fprintf(r->out, "Epoch %lld: learning rate %.6g\n", (long long)epoch + 1, lr);
        double t0 = now(), t_compute = 0;
        if (!skip) memset(&e, 0, sizeof e);
        st = bk_loader_begin_epoch(ld, (int)epoch);
        for (int64_t bi = 0; !st; bi++) {
            bk_batch b;
            int done;
            st = bk_loader_next(ld, &b, &done);
            if (st || done) break;
            if (bi < skip) continue; /* already trained on before the interruption */
            double tc = now();
            const float *x = model_input(r, &b, &tmp, &tmp_len);
            if (!x) { st = bk_error(BK_ERR_NOMEM, "out of memory"); break; }
            st = bk_model_forward(m, &x, b.n, 1);
            if (st) break;
            double loss;
            bk_model_begin_backward(m);
            st = bk_loss_compute(&c->loss, out->out, &out->out_shape, b.y, b.n, out->needs_grad ? out->grad : NULL, &loss);
            if (st) {
                st = bk_error_context(st, "%s: ", r->train->name);
                break;
            }
            if (!isfinite(loss)) {
                st = bk_error(BK_ERR_NUMERIC,
                              "the loss became %g at epoch %lld, batch %lld; stopping. The last good checkpoint is kept%s%s. "
                              "Lower the learning rate or check the data for NaN/Inf",
                              loss, (long long)epoch + 1, (long long)bi + 1, c->save_dir[0] ? " in " : "",
                              c->save_dir);
                break;
            }
            out->grad_written = 1;
            if (out->needs_grad && (st = bk_model_backward(m))) break;
            if (out->needs_grad) loss += bk_regularizer_add_grad(m);
            double gn = grad_norm(m);
            if (!isfinite(gn)) {
                /* e.g. NaN inputs that a ReLU hides from the loss: never let them into the weights */
                st = bk_error(BK_ERR_NUMERIC,
                              "the gradient became %g at epoch %lld, batch %lld (loss %g); stopping before the update. "
                              "The last good checkpoint is kept%s%s. Check the data for NaN/Inf or lower the learning rate",
                              gn, (long long)epoch + 1, (long long)bi + 1, loss, c->save_dir[0] ? " in " : "", c->save_dir);
                break;
            }
            bk_optim_step(&r->opt, m, lr);
            m->step++;
            t_compute += now() - tc;
            e.loss += loss * (double)b.n;
            e.samples += (double)b.n;
            e.grad_norm += gn * (double)b.n;
            bk_metric_accumulate(&c->loss, c->metrics, out->out, &out->out_shape, b.y, b.n, &e.met);
            if ((bi + 1) % c->log_interval == 0 || bi + 1 == nb) {
                if (r->o->progress) fputc('\r', stderr);
                double el = now() - t0;
                fprintf(r->out, "Train Epoch [%3lld/%3lld] : Batch [%5lld/%5lld] (Loss = %.4f; |g| = %.4f) [Data: %2.0f%%; Compute: %2.0f%%]\n",
                        (long long)epoch + 1, (long long)c->num_epochs, (long long)bi + 1, (long long)nb, loss, gn,
                        el > 0 ? 100 * bk_loader_wait_seconds(ld) / el : 0, el > 0 ? 100 * t_compute / el : 0);
                fflush(r->out);
            }
            progress(r, epoch, bi + 1, nb, e.samples, now() - t0);
            if (r->o->stop && *r->o->stop) {
                st = save_checkpoint(r, epoch, bi + 1, &e);
                if (!st) st = bk_error(BK_ERR_INTERRUPTED, "stopped at epoch %lld, batch %lld; state saved in %s: continue with --resume %s",
                                       (long long)epoch + 1, (long long)bi + 1, c->save_dir[0] ? c->save_dir : "(nowhere: no checkpoints.save)",
                                       c->save_dir[0] ? c->save_dir : "DIR");
                break;
            }
        }
        skip = 0;
        if (st) break;
        e.seconds = now() - t0;
        st = bk_logs_add(r, "train", epoch, &c->loss, e.loss / e.samples, &e.met, e.grad_norm / e.samples, lr, e.seconds, e.samples);
        if (st) break;
        print_eval(r, "Train", epoch, &(epoch_sums){.loss = e.loss, .samples = e.samples, .met = e.met});
        if (r->test) {
            epoch_sums te;
            st = evaluate(r, r->test, NULL, &te);
            if (st) break;
            print_eval(r, "Eval", epoch, &te);
            st = bk_logs_add(r, "test", epoch, &c->loss, te.loss / te.samples, &te.met, 0, lr, te.seconds, te.samples);
            if (st) break;
        }
        st = bk_logs_write(r);
        if (!st && ((epoch + 1) % c->interval == 0 || epoch + 1 == c->num_epochs))
            st = save_checkpoint(r, epoch + 1, 0, NULL);
    }
    if (!st && c->save_dir[0]) {
        char path[1200];
        bk_path_join(path, sizeof path, c->save_dir, "model_final.safetensors");
        st = bk_checkpoint_save(m, path);
        if (!st) fprintf(r->out, "Saved %s\n", path);
    }
    bk_free(tmp);
    bk_loader_destroy(ld);
    return st;
}

static bk_status infer(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    bk_h5out *h5 = NULL;
    bk_node *out = &r->m.nodes[r->m.outputs[0]];
    bk_status st = bk_h5out_open(&h5, c->data.test_output_path, "output", r->test->count, &out->out_shape);
    if (st) return st;
    epoch_sums e;
    st = evaluate(r, r->test, h5, &e);
    bk_status cst = bk_h5out_close(h5, st == BK_OK);
    if (st) return st;
    if (cst) return cst;
    print_eval(r, "Inference", -1, &e);
    fprintf(r->out, "Wrote %lld predictions to %s\n", (long long)r->test->count, c->data.test_output_path);
    return BK_OK;
}

bk_status bk_run(bk_run_config *c, const bk_run_options *opt)
{
    bk_run_options defaults = {0};
    bk_run_ctx r = {.c = c, .o = opt ? opt : &defaults};
    r.out = r.o->out ? r.o->out : stdout;
    r.history = json_array();
    if (!r.history) return bk_error(BK_ERR_NOMEM, "out of memory");
    bk_status st = bk_run_open_data(&r);
    if (!st) st = bk_run_build_model(&r);
    if (!st && c->load_path[0]) {
        char warning[2048];
        st = bk_checkpoint_load(&r.m, c->load_path, 0, warning, sizeof warning);
        if (!st) {
            fprintf(r.out, "Loaded weights from %s\n", c->load_path);
            if (warning[0])
                fprintf(stderr, "warning: %s has no weights for layer(s) %s; they keep their initial values\n",
                        c->load_path, warning);
        }
    }
    if (!st && !r.train && c->data.test_output_path[0] && !c->load_path[0])
        st = bk_error(BK_ERR_INVALID, "%s: inference (test_output_path without input_path) needs trained weights: "
                      "set checkpoints.load", c->doc.file);
    if (!st && r.train) st = train(&r);
    else if (!st && r.test && c->data.test_output_path[0]) st = infer(&r);
    else if (!st && r.test) {
        epoch_sums e;
        st = evaluate(&r, r.test, NULL, &e);
        if (!st) print_eval(&r, "Eval", -1, &e);
    }
    bk_run_ctx_free(&r);
    return st;
}

bk_status bk_config_open(bk_run_config **out, const char *path)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return bk_error(BK_ERR_NOMEM, "out of memory");
    bk_status st = bk_run_config_load(*out, path);
    if (st) {
        bk_config_close(*out);
        *out = NULL;
    }
    return st;
}

void bk_config_close(bk_run_config *c)
{
    if (!c) return;
    bk_run_config_free(c);
    free(c);
}
