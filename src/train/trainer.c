/* The run: training epochs, evaluation, checkpoints, resume and inference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "regularizer.h"
#include "checkpoint.h"
#include "load_weights.h"
#include "core/fsutil.h"
#include "dist/dist.h"
#include "dist/grad_sync.h"
#include "predictions.h"
#include "logs.h"
#include "nn/graph_dot.h"
#include "nn/layer_util.h"
#include "nn/profile.h"
#include "run_ctx.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The model's inputs for a batch: each from its array of the planar batch
 * (map), moved to channel-first when that array was stored channels_last.
 * tmp[k] / tmp_len[k]: buffers kept across batches. */
static bk_status model_inputs(const bk_model *m, const bk_io_map *map, const float *const *xs, int64_t n,
                              const float **in, float **tmp, int64_t *tmp_len)
{
    for (int k = 0; k < m->n_inputs; k++) {
        in[k] = xs[map->in[k]];
        if (!map->transpose[k]) continue;
        const bk_shape *mi = &m->nodes[m->inputs[k]].out_shape;
        int64_t need = n * bk_shape_numel(mi);
        if (tmp_len[k] < need) {
            bk_free(tmp[k]);
            tmp[k] = bk_alloc((size_t)need * sizeof(float));
            tmp_len[k] = tmp[k] ? need : 0;
            if (!tmp[k]) return bk_error(BK_ERR_NOMEM, "out of memory for a batch of %lld", (long long)n);
        }
        bk_from_keras_order(in[k], tmp[k], n, mi);
        in[k] = tmp[k];
    }
    return BK_OK;
}

static void free_tmp(float **tmp)
{
    for (int k = 0; k < 8; k++) bk_free(tmp[k]);
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

/* Sums over an epoch: the total loss, and per output its loss and metrics. */
typedef struct {
    double loss, samples, seconds, grad_norm;
    double head_loss[8];
    bk_metric_sums met[8];
} epoch_sums;

/* Adds a batch's per-output losses and metrics (of model m) to e. */
static void add_heads(bk_run_ctx *r, const bk_model *m, epoch_sums *e, const double *per, const float *const *outs,
                      const float *const *tgts, int64_t n)
{
    for (int k = 0; k < m->n_outputs; k++) {
        const bk_head *h = &r->heads[k];
        e->head_loss[k] += per[k] * (double)n;
        bk_metric_accumulate(h->loss, r->c->metrics, outs[k], &m->nodes[h->node].out_shape, tgts[k], n, &e->met[k]);
    }
}

/* Sums e over the job's processes (each summed its own rows); every
 * process gets the totals. */
static bk_status reduce_sums(bk_run_ctx *r, epoch_sums *e)
{
    if (bk_dist_size() == 1) return BK_OK;
    int no = r->m.n_outputs, n = 3 + no * 5;
    for (int k = 0; k < no; k++) {
        /* a process that saw no rows has not set it: every process must
         * send the same count */
        int classes = 0;
        const bk_head *h = &r->heads[k];
        if ((r->c->metrics & (BK_METRIC_DICE | BK_METRIC_MIOU)) && h->loss &&
            bk_metric_seg_classes(h->loss, &r->m.nodes[h->node].out_shape, &classes) != BK_OK)
            classes = 0;
        e->met[k].seg_classes = classes;
        n += 3 * classes;
    }
    double *buf = malloc(sizeof *buf * (size_t)n), *at = buf;
    if (!buf) return bk_error(BK_ERR_NOMEM, "out of memory");
    *at++ = e->loss, *at++ = e->samples, *at++ = e->grad_norm;
    for (int k = 0; k < no; k++) {
        bk_metric_sums *m = &e->met[k];
        *at++ = e->head_loss[k], *at++ = m->correct, *at++ = m->abs_err, *at++ = m->sq_err, *at++ = m->count;
        for (int i = 0; i < m->seg_classes; i++) *at++ = m->seg_inter[i], *at++ = m->seg_pred[i], *at++ = m->seg_true[i];
    }
    bk_status st = bk_dist_sum_doubles(buf, n);
    at = buf;
    e->loss = *at++, e->samples = *at++, e->grad_norm = *at++;
    for (int k = 0; k < no; k++) {
        bk_metric_sums *m = &e->met[k];
        e->head_loss[k] = *at++, m->correct = *at++, m->abs_err = *at++, m->sq_err = *at++, m->count = *at++;
        for (int i = 0; i < m->seg_classes; i++) m->seg_inter[i] = *at++, m->seg_pred[i] = *at++, m->seg_true[i] = *at++;
    }
    free(buf);
    return st;
}

/* Evaluates the test set ds with r->test_m (the model, or its variant for
 * the test set's size: the same weights); fills loss and metrics. Hands the
 * outputs to pred when given (then the calling process evaluates every
 * sample; otherwise the job's processes share the samples and the sums are
 * totalled). */
static bk_status evaluate(bk_run_ctx *r, bk_dataset *ds, const bk_io_map *map, bk_predictions *pred, epoch_sums *e)
{
    bk_run_config *c = r->c;
    bk_model *m = r->test_m;
    bk_loader *ld;
    memset(e, 0, sizeof *e);
    bk_status st = bk_loader_create(&ld, ds, c->data.test_batch_size, 0, c->seed);
    /* predictions are written by one process; scores are shared out */
    if (!st && !pred) st = bk_loader_shard(ld, bk_dist_rank(), bk_dist_size());
    if (st) {
        bk_loader_destroy(ld);
        return st;
    }
    float *tmp[8] = {0};
    int64_t tmp_len[8] = {0}, row = 0;
    double t0 = now(), penalty = bk_regularizer_penalty(m); /* Keras reports it in evaluate too */
    st = bk_loader_begin_epoch(ld, 0);
    while (!st) {
        bk_batch b;
        int done;
        st = bk_loader_next(ld, &b, &done);
        if (st || done) break;
        if (b.n == 0) continue; /* this process's share of a short last batch */
        const float *xs[8], *ys[8], *in[8], *outs[8], *tg[8];
        bk_batch_split(ds, b.n, b.x, b.y, xs, ys);
        if ((st = model_inputs(m, map, xs, b.n, in, tmp, tmp_len))) break;
        st = bk_model_infer(m, in, b.n, outs);
        if (st) break;
        if (pred && (st = bk_predictions_write(pred, row, b.n, outs))) break;
        row += b.n;
        if (c->has_loss && ds->has_targets) {
            double per[8], l;
            for (int k = 0; k < m->n_outputs; k++) tg[k] = ys[map->tgt[k]];
            st = bk_heads_loss(r->heads, m->n_outputs, m, outs, tg, b.n, NULL, per, &l);
            if (st) {
                st = bk_error_context(st, "%s: ", ds->name);
                break;
            }
            e->loss += (l + penalty) * (double)b.n;
            add_heads(r, m, e, per, outs, tg, b.n);
        }
        e->samples += (double)b.n;
    }
    free_tmp(tmp);
    bk_loader_destroy(ld);
    if (!st && !pred) st = reduce_sums(r, e);
    e->seconds = now() - t0;
    return st;
}

/* " | Accuracy: 0.9" or " | MSE: .. | MAE: .." and the segmentation scores of output k. */
static void print_metrics(bk_run_ctx *r, int k, const bk_metric_sums *met)
{
    if (bk_loss_has_accuracy(r->heads[k].loss))
        fprintf(r->out, " | Accuracy: %.4f", met->correct / met->count);
    else if (!bk_loss_is_pde(r->heads[k].loss)) /* PDE losses: the loss says it all */
        fprintf(r->out, " | MSE: %.6g | MAE: %.6g", met->sq_err / met->count, met->abs_err / met->count);
    if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_DICE)) fprintf(r->out, " | Dice: %.4f", bk_metric_dice(met));
    if (bk_logs_head_seg(r, k) && (r->c->metrics & BK_METRIC_MIOU)) fprintf(r->out, " | mIoU: %.4f", bk_metric_miou(met));
}

static void print_eval(bk_run_ctx *r, const char *what, int64_t epoch, const epoch_sums *e)
{
    bk_run_config *c = r->c;
    if (!c->has_loss || e->met[0].count == 0) {
        fprintf(r->out, "%s: %.0f samples in %.2f s\n", what, e->samples, e->seconds);
        return;
    }
    double loss = e->loss / e->samples;
    if (epoch >= 0)
        fprintf(r->out, "%s Epoch [%3lld/%3lld] : Loss = %.4f", what, (long long)epoch + 1,
                (long long)c->num_epochs, loss);
    else
        fprintf(r->out, "%s : Loss = %.4f", what, loss);
    if (r->m.n_outputs == 1) {
        print_metrics(r, 0, &e->met[0]);
    } else {
        for (int k = 0; k < r->m.n_outputs; k++) {
            fprintf(r->out, " || %s: Loss = %.4f", r->heads[k].name, e->head_loss[k] / e->samples);
            print_metrics(r, k, &e->met[k]);
        }
    }
    fputc('\n', r->out);
    fflush(r->out);
}

/* The epoch's mean per-output losses. */
static void head_means(const bk_run_ctx *r, const epoch_sums *e, double *out)
{
    for (int k = 0; k < r->m.n_outputs; k++) out[k] = e->samples > 0 ? e->head_loss[k] / e->samples : 0;
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

/* Every output's running sums of an interrupted epoch, as JSON text for
 * the training state (exact: doubles are written with 17 digits). */
static char *heads_dump(const bk_run_ctx *r, const epoch_sums *e)
{
    json_t *a = json_array();
    for (int k = 0; a && k < r->m.n_outputs; k++) {
        const bk_metric_sums *m = &e->met[k];
        json_t *o = json_pack("{s:f, s:f, s:f, s:f, s:f, s:i}", "loss", e->head_loss[k], "correct", m->correct,
                              "abs_err", m->abs_err, "sq_err", m->sq_err, "count", m->count, "seg_classes",
                              m->seg_classes);
        json_t *seg = json_array();
        for (int i = 0; o && seg && i < m->seg_classes; i++)
            json_array_append_new(seg, json_pack("[f, f, f]", m->seg_inter[i], m->seg_pred[i], m->seg_true[i]));
        if (!o || !seg || json_object_set_new(o, "seg", seg) || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    char *t = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(a);
    return t;
}

static bk_status heads_load(const bk_run_ctx *r, const char *path, const char *text, epoch_sums *e)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je), *o;
    size_t k;
    bk_status st = BK_OK;
    if (!json_is_array(a) || (int)json_array_size(a) != r->m.n_outputs)
        st = bk_error(BK_ERR_INVALID, "%s: the saved per-output sums do not fit this model's %d output(s); resume "
                      "with the config the run was started with", path, r->m.n_outputs);
    json_array_foreach(a, k, o) {
        if (st) break;
        bk_metric_sums *m = &e->met[k];
        json_t *seg = json_object_get(o, "seg");
        int sc = (int)json_integer_value(json_object_get(o, "seg_classes"));
        if (json_unpack(o, "{s:F, s:F, s:F, s:F, s:F}", "loss", &e->head_loss[k], "correct", &m->correct, "abs_err",
                        &m->abs_err, "sq_err", &m->sq_err, "count", &m->count) ||
            sc < 0 || sc > BK_SEG_MAX_CLASSES || (int)json_array_size(seg) != sc) {
            st = bk_error(BK_ERR_INVALID, "%s: the saved per-output sums are not readable", path);
            break;
        }
        m->seg_classes = sc;
        for (int i = 0; i < sc; i++)
            json_unpack(json_array_get(seg, (size_t)i), "[F, F, F]", &m->seg_inter[i], &m->seg_pred[i],
                        &m->seg_true[i]);
    }
    json_decref(a);
    return st;
}

/* Saves weights and training state; the state file is written last and
 * names the weights, so a crash between the two keeps the previous pair. */
static bk_status save_checkpoint(bk_run_ctx *r, int64_t epochs_done, int64_t batch, epoch_sums *e)
{
    bk_run_config *c = r->c;
    if (!c->save_dir[0] || bk_dist_rank() != 0) return BK_OK; /* the job's files are rank 0's */
    char name[256], path[1200], spath[1200];
    if (batch == 0) snprintf(name, sizeof name, "model_epoch_%lld.safetensors", (long long)epochs_done);
    else snprintf(name, sizeof name, "model_interrupted.safetensors");
    bk_path_join(path, sizeof path, c->save_dir, name);
    bk_status st = bk_checkpoint_save(&r->m, path);
    if (st) return st;
    bk_train_state s = {.epoch = epochs_done, .batch = batch, .opt_step = r->opt.step,
                        .momentum_started = r->opt.momentum_started, .seg = e ? &e->met[0] : NULL};
    snprintf(s.model_file, sizeof s.model_file, "%s", name);
    if (e) {
        s.sums[0] = e->loss; s.sums[1] = e->samples; s.sums[2] = e->grad_norm;
        s.sums[3] = e->met[0].correct; s.sums[4] = e->met[0].abs_err; s.sums[5] = e->met[0].count;
        s.heads = heads_dump(r, e);
    }
    s.history = json_dumps(r->history, JSON_COMPACT);
    bk_path_join(spath, sizeof spath, c->save_dir, "train_state.safetensors");
    st = s.history && (!e || s.heads) ? bk_train_state_save(spath, &r->m, &r->opt, &s) : bk_error(BK_ERR_NOMEM, "out of memory");
    free(s.history);
    free(s.heads);
    return st;
}

static bk_status resume(bk_run_ctx *r, int64_t *epoch, int64_t *batch, epoch_sums *e)
{
    char spath[1200], mpath[1200];
    bk_path_join(spath, sizeof spath, r->o->resume_dir, "train_state.safetensors");
    if (!bk_path_exists(spath))
        return bk_error(BK_ERR_IO, "%s: no training state to resume from; was the run saved there (checkpoints.save)?", spath);
    bk_train_state s = {.seg = &e->met[0]};
    memset(e, 0, sizeof *e);
    bk_status st = bk_train_state_load(spath, &r->m, &r->opt, &s);
    if (st) return st;
    bk_path_join(mpath, sizeof mpath, r->o->resume_dir, s.model_file);
    st = bk_checkpoint_load(&r->m, mpath, 1, NULL, 0);
    json_error_t je;
    json_t *h = st ? NULL : json_loads(s.history, 0, &je);
    free(s.history);
    e->loss = s.sums[0]; e->samples = s.sums[1]; e->grad_norm = s.sums[2];
    e->met[0].correct = s.sums[3]; e->met[0].abs_err = s.sums[4]; e->met[0].count = s.sums[5];
    /* states written before per-output sums existed have only the first output's */
    if (!st && s.heads) st = heads_load(r, spath, s.heads, e);
    free(s.heads);
    if (st) {
        json_decref(h);
        return st;
    }
    if (!json_is_array(h)) {
        json_decref(h);
        return bk_error(BK_ERR_INVALID, "%s: the saved history is not readable", spath);
    }
    json_decref(r->history);
    r->history = h;
    if (bk_dist_rank() != 0) memset(e, 0, sizeof *e); /* the saved sums are the job's: counted once, on rank 0 */
    *epoch = s.epoch;
    *batch = s.batch;
    fprintf(r->out, "Resuming from %s: epoch %lld, batch %lld\n", r->o->resume_dir, (long long)s.epoch + 1, (long long)s.batch);
    return BK_OK;
}

/* What one optimizer step leaves: the job's mean loss and gradient norm,
 * and whether any process was asked to stop. */
typedef struct {
    double loss, grad_norm;
    int stop;
} step_result;

/* Per-step state of the training loop that the step function needs. */
typedef struct {
    float *tmp[8];
    int64_t tmp_len[8];
    int any_grad;
    bk_grad_sync *sync;          /* NULL in a job of one process */
    double comm_s;               /* time blocked on the gradient exchange this epoch */
} step_ctx;

/* Scales the loss gradients of this process's rows so that the sum over
 * the processes is the gradient of the mean loss over the global batch
 * (shares may differ by a row). */
static void scale_output_grads(bk_model *m, const bk_head *heads, int64_t n, double share)
{
    for (int k = 0; k < m->n_outputs; k++) {
        bk_node *out = &m->nodes[heads[k].node];
        if (!out->needs_grad) continue;
        int64_t len = n * bk_shape_numel(&out->out_shape);
        float f = (float)share;
        for (int64_t i = 0; i < len; i++) out->grad[i] *= f;
    }
}

/* One optimizer step on this process's rows of a global batch: forward,
 * loss, backward with the gradients summed over the processes as they are
 * produced (the synchronisation point: ctx->sync), then the update, which
 * every process makes identically. Adds the rows' losses and metrics to e
 * (the batch totals on rank 0 only, so e summed over the job counts each
 * once). where: "epoch E, batch B", for messages. */
static bk_status train_step(bk_run_ctx *r, step_ctx *sc, const bk_batch *b, double lr, const char *where,
                            epoch_sums *e, step_result *res)
{
    bk_model *m = &r->m;
    int no = m->n_outputs, multi = bk_dist_size() > 1;
    double local = 0, per[8] = {0};
    const float *outs[8], *tg[8];
    bk_status st = BK_OK;
    if (sc->sync) bk_grad_sync_begin(sc->sync);
    if (b->n > 0) {
        const float *xs[8], *ys[8], *in[8];
        float *grads[8];
        bk_batch_split(r->train, b->n, b->x, b->y, xs, ys);
        if ((st = model_inputs(m, &r->train_map, xs, b->n, in, sc->tmp, sc->tmp_len))) return st;
        m->row_offset = b->first;
        if ((st = bk_model_forward(m, in, b->n, 1))) return st;
        bk_model_begin_backward(m);
        for (int k = 0; k < no; k++) {
            bk_node *out = &m->nodes[r->heads[k].node];
            outs[k] = out->out;
            tg[k] = ys[r->train_map.tgt[k]];
            grads[k] = out->needs_grad ? out->grad : NULL;
        }
        /* each output's gradient is seeded from its loss, times its weight */
        st = bk_heads_loss(r->heads, no, m, outs, tg, b->n, grads, per, &local);
        if (st) return bk_error_context(st, "%s: ", r->train->name);
        if (multi) scale_output_grads(m, r->heads, b->n, (double)b->n / (double)b->global_n);
        for (int k = 0; k < no; k++) m->nodes[r->heads[k].node].grad_written = 1;
        if (sc->any_grad && (st = bk_model_backward(m))) return st;
    } else if (sc->any_grad) {
        /* no rows here in this batch: this process adds nothing, but takes
         * part in the job's batch statistics */
        if ((st = bk_batchnorm_sync_idle(m))) return st;
        memset(m->param_grad, 0, (size_t)m->param_count * sizeof(float));
    }
    double t0 = now();
    if (sc->sync && (st = bk_grad_sync_finish(sc->sync))) return st;
    /* the job's loss, and whether any process was asked to stop: every
     * process then takes the same decisions below */
    double job[2] = {local * (double)b->n, r->o->stop && *r->o->stop ? 1.0 : 0.0};
    if (multi && (st = bk_dist_sum_doubles(job, 2))) return st;
    sc->comm_s += now() - t0;
    double loss = multi ? job[0] / (double)b->global_n : local;
    res->stop = job[1] > 0;
    if (!isfinite(loss))
        return bk_error(BK_ERR_NUMERIC,
                        "the loss became %g at %s; stopping. The last good checkpoint is kept%s%s. "
                        "Lower the learning rate or check the data for NaN/Inf",
                        loss, where, r->c->save_dir[0] ? " in " : "", r->c->save_dir);
    if (sc->any_grad) loss += bk_regularizer_add_grad(m);
    double gn = grad_norm(m);
    if (!isfinite(gn))
        /* e.g. NaN inputs that a ReLU hides from the loss: never let them into the weights */
        return bk_error(BK_ERR_NUMERIC,
                        "the gradient became %g at %s (loss %g); stopping before the update. "
                        "The last good checkpoint is kept%s%s. Check the data for NaN/Inf or lower the learning rate",
                        gn, where, loss, r->c->save_dir[0] ? " in " : "", r->c->save_dir);
    bk_optim_step(&r->opt, m, lr);
    m->step++;
    if (bk_dist_rank() == 0) {
        e->loss += loss * (double)b->global_n;
        e->samples += (double)b->global_n;
        e->grad_norm += gn * (double)b->global_n;
    }
    if (b->n > 0) add_heads(r, m, e, per, outs, tg, b->n);
    res->loss = loss;
    res->grad_norm = gn;
    return BK_OK;
}

/* Bucket size of the gradient exchange: BRISK_BUCKET_MB, else 4 MiB (BENCHMARKS.md). */
static int64_t bucket_bytes(void)
{
    const char *v = getenv("BRISK_BUCKET_MB");
    double mb = v ? atof(v) : 4.0;
    return (int64_t)((mb > 0 ? mb : 4.0) * 1048576.0);
}

static bk_status train(bk_run_ctx *r)
{
    bk_run_config *c = r->c;
    bk_model *m = &r->m;
    int rank = bk_dist_rank(), size = bk_dist_size();
    bk_status st = bk_optim_init(&r->opt, &c->optim, m);
    if (st) return st;
    if (rank == 0 && c->save_dir[0] && (st = bk_mkdir_p(c->save_dir))) return st;
    int64_t start_epoch = 0, skip = 0;
    epoch_sums e;
    memset(&e, 0, sizeof e);
    if (r->o->resume_dir && (st = resume(r, &start_epoch, &skip, &e))) return st;
    if (rank == 0 && c->save_dir[0] && (st = bk_logs_write_config(r))) return st;
    step_ctx sc = {0};
    for (int k = 0; k < m->n_outputs; k++) sc.any_grad |= m->nodes[r->heads[k].node].needs_grad;
    if (size > 1 && sc.any_grad && !getenv("BRISK_NO_GRAD_SYNC") &&
        (st = bk_grad_sync_create(&sc.sync, m, bucket_bytes())))
        return st;
    bk_loader *ld;
    st = bk_loader_create(&ld, r->train, c->data.batch_size, c->data.shuffle, c->seed);
    if (!st) st = bk_loader_shard(ld, rank, size);
    if (st) {
        bk_grad_sync_destroy(sc.sync);
        return st;
    }
    int64_t nb = bk_loader_num_batches(ld);
    if (size > 1)
        fprintf(r->out, "%d processes: batch %lld split %lld-%lld per process, gradients summed in %d bucket(s)%s\n", size,
                (long long)c->data.batch_size, (long long)(c->data.batch_size / size),
                (long long)((c->data.batch_size + size - 1) / size), sc.sync ? bk_grad_sync_buckets(sc.sync) : 0,
                sc.sync ? "" : " (BRISK_NO_GRAD_SYNC: NOT exchanged, replicas diverge)");
    m->step = (uint64_t)r->opt.step;
    for (int64_t epoch = start_epoch; epoch < c->num_epochs && !st; epoch++) {
        double lr = bk_sched_lr(&c->optim, epoch);
        if (c->optim.sched != BK_SCHED_NONE && c->optim.sched_verbose)
            fprintf(r->out, "Epoch %lld: learning rate %.6g\n", (long long)epoch + 1, lr);
        double t0 = now(), t_compute = 0;
        if (!skip) memset(&e, 0, sizeof e);
        sc.comm_s = 0;
        st = bk_loader_begin_epoch(ld, (int)epoch);
        for (int64_t bi = 0; !st; bi++) {
            bk_batch b;
            int done;
            st = bk_loader_next(ld, &b, &done);
            if (st || done) break;
            if (bi < skip) continue; /* already trained on before the interruption */
            double tc = now();
            char where[64];
            snprintf(where, sizeof where, "epoch %lld, batch %lld", (long long)epoch + 1, (long long)bi + 1);
            step_result res = {0};
            if ((st = train_step(r, &sc, &b, lr, where, &e, &res))) break;
            t_compute += now() - tc;
            if ((bi + 1) % c->log_interval == 0 || bi + 1 == nb) {
                if (r->o->progress) fputc('\r', stderr);
                double el = now() - t0;
                fprintf(r->out, "Train Epoch [%3lld/%3lld] : Batch [%5lld/%5lld] (Loss = %.4f; |g| = %.4f) [Data: %2.0f%%; Compute: %2.0f%%",
                        (long long)epoch + 1, (long long)c->num_epochs, (long long)bi + 1, (long long)nb, res.loss,
                        res.grad_norm, el > 0 ? 100 * bk_loader_wait_seconds(ld) / el : 0,
                        el > 0 ? 100 * (t_compute - sc.comm_s) / el : 0);
                if (size > 1) fprintf(r->out, "; Grad/Comm: %2.0f%%", el > 0 ? 100 * sc.comm_s / el : 0);
                fprintf(r->out, "]\n");
                fflush(r->out);
            }
            progress(r, epoch, bi + 1, nb, e.samples, now() - t0);
            if (res.stop) {
                /* every process saw the same flag at the same step */
                epoch_sums job = e;
                st = reduce_sums(r, &job);
                if (!st) st = save_checkpoint(r, epoch, bi + 1, &job);
                if (!st) st = bk_error(BK_ERR_INTERRUPTED, "stopped at epoch %lld, batch %lld; state saved in %s: continue with --resume %s",
                                       (long long)epoch + 1, (long long)bi + 1, c->save_dir[0] ? c->save_dir : "(nowhere: no checkpoints.save)",
                                       c->save_dir[0] ? c->save_dir : "DIR");
                break;
            }
        }
        skip = 0;
        if (st) break;
        if ((st = reduce_sums(r, &e))) break;
        e.seconds = now() - t0;
        double hm[8];
        head_means(r, &e, hm);
        st = bk_logs_add(r, "train", epoch, e.loss / e.samples, hm, e.met, e.grad_norm / e.samples, lr, e.seconds,
                         e.samples);
        if (st) break;
        print_eval(r, "Train", epoch, &e);
        if (r->test) {
            epoch_sums te;
            /* replicas' running statistics differ without sync_batchnorm:
             * evaluate rank 0's model everywhere */
            st = bk_dist_bcast_floats(m->param_data, m->param_count);
            if (!st) st = evaluate(r, r->test, &r->test_map, NULL, &te);
            if (st) break;
            print_eval(r, "Eval", epoch, &te);
            head_means(r, &te, hm);
            st = bk_logs_add(r, "test", epoch, te.loss / te.samples, hm, te.met, 0, lr, te.seconds, te.samples);
            if (st) break;
        }
        if (rank == 0) st = bk_logs_write(r);
        if (!st && ((epoch + 1) % c->interval == 0 || epoch + 1 == c->num_epochs))
            st = save_checkpoint(r, epoch + 1, 0, NULL);
    }
    if (!st && c->save_dir[0] && rank == 0) {
        char path[1200];
        bk_path_join(path, sizeof path, c->save_dir, "model_final.safetensors");
        st = bk_checkpoint_save(m, path);
        if (!st) fprintf(r->out, "Saved %s\n", path);
    }
    free_tmp(sc.tmp);
    bk_grad_sync_destroy(sc.sync);
    bk_loader_destroy(ld);
    return st;
}

static bk_status infer(bk_run_ctx *r)
{
    bk_predictions *pred;
    bk_status st = bk_predictions_open(&pred, r, r->test);
    if (st) return st;
    epoch_sums e;
    st = evaluate(r, r->test, &r->test_map, pred, &e);
    if (!st) print_eval(r, "Inference", -1, &e);
    bk_status cst = bk_predictions_close(pred, st == BK_OK);
    return st ? st : cst;
}

/* "debug": the network graph beside the log tables, out.txt -> out_graph.dot */
static bk_status write_graph(bk_run_ctx *r)
{
    char path[1100];
    snprintf(path, sizeof path, "%s", r->c->outfile);
    char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) *dot = 0;
    strncat(path, "_graph.dot", sizeof path - strlen(path) - 1);
    bk_status st = bk_model_write_dot(&r->m, path);
    if (!st) fprintf(r->out, "Wrote the network graph to %s\n", path);
    return st;
}

bk_status bk_run(bk_run_config *c, const bk_run_options *opt)
{
    bk_run_options defaults = {0};
    bk_run_ctx r = {.c = c, .o = opt ? opt : &defaults};
    int rank = bk_dist_rank(), size = bk_dist_size();
    FILE *quiet = NULL;
    r.out = r.o->out ? r.o->out : stdout;
    if (rank != 0) {
        /* the job speaks through rank 0; the others report only errors */
        quiet = fopen("/dev/null", "w");
        if (!quiet) return bk_error(BK_ERR_IO, "rank %d: cannot open /dev/null", rank);
        r.out = quiet;
        defaults = *r.o;
        defaults.progress = 0;
        r.o = &defaults;
    }
    r.history = json_array();
    if (!r.history) {
        if (quiet) fclose(quiet);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    /* hub: references are pulled now, not when the config was read; rank 0
     * first, so the others find them in the cache */
    bk_status st = rank == 0 ? bk_run_config_resolve_refs(c) : BK_OK;
    if (!st) st = bk_dist_barrier();
    if (!st && rank != 0) st = bk_run_config_resolve_refs(c);
    if (!st) st = bk_run_open_data(&r);
    if (!st) st = bk_run_build_model(&r);
    if (!st && c->sync_batchnorm && size > 1) r.m.sum_doubles = bk_dist_sum_doubles_in_pass;
    if (!st && c->debug && rank == 0) st = write_graph(&r);
    /* warnings about the file come once, from rank 0 */
    if (!st && c->load_path[0]) st = bk_load_weights(&r.m, c->load_path, r.out, rank == 0 ? stderr : r.out);
    /* every replica starts from rank 0's weights */
    if (!st && size > 1) st = bk_dist_bcast_floats(r.m.param_data, r.m.param_count);
    int writes = c->data.test_output_path[0] || c->data.hdf5_outfile[0];
    if (!st && !r.train && writes && !c->load_path[0])
        st = bk_error(BK_ERR_INVALID, "%s: inference (%s without input_path) needs trained weights: "
                      "set checkpoints.load", c->doc.file, c->data.test_output_path[0] ? "test_output_path" : "hdf5_outfile");
    if (!st && r.train) {
        st = train(&r);
        bk_profile_print(&r.m, stderr); /* only with BRISK_PROFILE set; also after an interruption */
    }
    else if (!st && r.test && writes && rank == 0) st = infer(&r); /* one writer */
    else if (!st && r.test && !writes) {
        epoch_sums e;
        st = evaluate(&r, r.test, &r.test_map, NULL, &e);
        if (!st) print_eval(&r, "Eval", -1, &e);
    }
    bk_run_ctx_free(&r);
    if (quiet) fclose(quiet);
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
