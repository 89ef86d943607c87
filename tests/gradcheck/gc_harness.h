/* Finite-difference gradient checks for whole (tiny) networks built from
 * Keras JSON, shared by the tests/gradcheck/test_*.c files.
 *
 * For a network f and a fixed random R the objective is L = sum(f(x) * R),
 * summed in double. brisk's backward gets R as the output gradient; every
 * trainable parameter gradient and the gradient with respect to the network
 * input (the input node is made to need a gradient, so the first layer's dx
 * is exercised too) is compared with central differences of L, perturbing
 * float32 values by eps = 1e-2 x the tensor's scale.
 *
 * Comparison: relative error |a - n| / max(|a|, |n|, floor) <= tol (2e-2).
 * The floor is 1e-3, or 2e-3 of the tensor's largest gradient, or the level
 * where float32 rounding noise in L (measured per tensor with fourth
 * differences, which the analytic gradient does not enter) makes relative
 * errors meaningless, whichever is largest.
 *
 * Each element is compared with the difference at step eps; when they do
 * not match, at eps/2, eps/4 (and, in cases marked `kinks`, eps/8 and
 * eps/16). It passes when one matches. Two successive differences that
 * agree with each other but miss the analytic value are a failure; in
 * `kinks` cases (ReLU, max pooling, ELU with alpha != 1) both must also
 * come from kink-free steps (equal one-sided slopes). An element that
 * never settles sits on a kink and is counted unstable: allowed for up to
 * a quarter of a tensor's elements in `kinks` cases, never elsewhere. A
 * wrong backward gives settled differences, so the skip cannot hide it.
 * Before checking a `kinks` case, gc_check redraws the random point while
 * it sits within eps/16 of a kink.
 *
 * Every checked tensor must also be sensitive: its analytic gradient scaled
 * by 1.1 must fail the comparison somewhere, so a check over all-zero
 * gradients (one that cannot fail) is itself a failure.
 *
 * The analytic pass runs with the process's OpenMP thread count (what
 * ctest or the caller set), as training does. The thousands of forward
 * passes of the differences run on a second copy of the network built
 * with one thread: tiny problems gain nothing from threads, and on a busy
 * machine every parallel region waits for a core, which made a run take
 * a minute instead of a second.
 *
 * For investigating a failure: GC_VERBOSE=1 prints unstable elements and
 * each tensor's step, noise and floor; GC_SEED=n changes every random draw;
 * GC_EPS overrides eps_rel; GC_SCAN=i prints element i's differences over
 * a range of steps, for every tensor.
 *
 * JSON is written with single quotes for readability; gc_check turns them
 * into double quotes before parsing. */
#ifndef BK_GC_HARNESS_H
#define BK_GC_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "io/json.h"
#include "nn/builder.h"
#include "nn/layer_util.h"
#include "testutil.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- JSON helpers (single-quoted; see gc_check) ---- */
#define GC_L(cls, cfg) "{'class_name': '" cls "', 'config': {" cfg "}}"
/* Sequential with an InputLayer of Keras shape `shape` (no batch). */
#define GC_SEQ(shape, ...)                                                                        \
    "{'class_name': 'Sequential', 'config': {'name': 't', 'layers': [{'class_name': 'InputLayer', " \
    "'config': {'batch_input_shape': [null, " shape "], 'name': 'in'}}, " __VA_ARGS__ "]}}"
/* A Functional layer: name, class, extra config, inbound "['a', 0, 0, {}], ...". */
#define GC_F(name, cls, cfg, inbound)                                                        \
    "{'class_name': '" cls "', 'name': '" name "', 'config': {'name': '" name "'" cfg "}, " \
    "'inbound_nodes': [[" inbound "]]}"
#define GC_IN(name) "['" name "', 0, 0, {}]"
/* Functional with one input "in" of Keras shape `shape`; outputs "['o', 0, 0]". */
#define GC_FUNC(shape, outputs, ...)                                                             \
    "{'class_name': 'Functional', 'config': {'name': 't', 'layers': [{'class_name': 'InputLayer', " \
    "'name': 'in', 'config': {'batch_input_shape': [null, " shape "], 'name': 'in'}, "             \
    "'inbound_nodes': []}, " __VA_ARGS__ "], 'input_layers': [['in', 0, 0]], "                      \
    "'output_layers': [" outputs "]}}"

typedef struct {
    int batch;            /* rows (default 2) */
    int training;         /* set by gc_check: forwards run in training mode, as before a backward */
    int no_input_grad;    /* do not check d/d(input) */
    int kinks;            /* ReLU, max pooling, ELU(alpha != 1) inside: see above */
    double eps_rel;       /* eps = eps_rel * max(rms of the tensor, 0.5); default 1e-2 */
    double tol;           /* default 2e-2 */
    double floor_rel;     /* relative-error floor: max(1e-3, floor_rel * largest |gradient| of the tensor, noise); default 2e-3 */
    double in_scale;      /* input ~ U(-s, s); default 1 */
    int max_elems;        /* elements checked per tensor (random subset); default 256 */
    int prebatch;         /* first run a training step with this many rows (plans, masks and
                           * workspaces for another batch size exist, as before a last,
                           * smaller batch) */
    uint64_t seed;
} gc_opts;

static double gc_total_seconds = 0;
static double gc_worst_overall = 0;
static char gc_worst_where[256] = "";

static inline double gc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline double gc_uniform(bk_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * bk_rng_uniform(r);
}

static inline int gc_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Relative error with a floor for elements near zero. */
static inline double gc_rel(double a, double n, double floor_)
{
    double d = fmax(fmax(fabs(a), fabs(n)), floor_);
    return fabs(a - n) / d;
}

typedef struct {
    bk_model *m;
    const float *const *x;
    float **R;
    int64_t batch;
    int training;
} gc_eval;

/* L = sum over outputs of sum(out * R), in double; *norm (if not NULL)
 * gets the 2-norm of the terms, the scale of L's float32 rounding noise. */
static long gc_forwards = 0;

static inline int gc_objective_n(gc_eval *e, double *L, double *norm)
{
    gc_forwards++;
    bk_status st = bk_model_forward(e->m, e->x, e->batch, e->training);
    if (st) {
        fprintf(stderr, "forward failed: %s\n", bk_last_error());
        return -1;
    }
    double s = 0, s2 = 0;
    for (int o = 0; o < e->m->n_outputs; o++) {
        bk_node *n = &e->m->nodes[e->m->outputs[o]];
        int64_t cnt = e->batch * bk_shape_numel(&n->out_shape);
        for (int64_t i = 0; i < cnt; i++) {
            double t = (double)n->out[i] * (double)e->R[o][i];
            s += t;
            s2 += t * t;
        }
    }
    *L = s;
    if (norm) *norm = sqrt(s2);
    return 0;
}

static inline int gc_objective(gc_eval *e, double *L) { return gc_objective_n(e, L, NULL); }

/* The float32 rounding noise of L (its standard deviation, roughly) for
 * perturbations of tensor v: fourth differences
 * L(v+2u) - 4 L(v+u) + 6 L(v) - 4 L(v-u) + L(v-2u) over a sample of
 * elements. Smooth parts up to third order cancel, so what is
 * left is noise (sqrt(70) sigma for independent noise). They do not
 * involve the analytic gradient: a wrong gradient cannot raise the
 * estimate and so loosen the check. */
static inline double gc_noise(gc_eval *e, float *v, int64_t count, double u, double l0, bk_rng *r)
{
    enum { N = 16 };
    double d4[N];
    int n = count < N ? (int)count : N;
    for (int j = 0; j < n; j++) {
        int64_t i = count <= N ? j : (int64_t)bk_rng_below(r, (uint64_t)count);
        float orig = v[i];
        double l[5];
        for (int k = -2; k <= 2; k++) {
            if (k == 0) {
                l[2] = l0;
                continue;
            }
            v[i] = orig + (float)(k * u);
            gc_objective(e, &l[k + 2]);
        }
        v[i] = orig;
        d4[j] = fabs(l[0] - 4 * l[1] + 6 * l[2] - 4 * l[3] + l[4]);
    }
    /* the third quartile: robust to a sample that crosses a kink */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && d4[b] < d4[b - 1]; b--) {
            double t = d4[b]; d4[b] = d4[b - 1]; d4[b - 1] = t;
        }
    double q = n ? d4[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1] : 0;
    return q / 9.7; /* the third quartile of |N(0, 70 sigma^2)| */
}

/* Compares analytic gradient `a` of tensor `v` (count floats) with central
 * differences; prints the worst element on failure. Returns 0 on pass. */
static inline int gc_check_tensor(const char *cname, const char *tname, float *v, const float *a, int64_t count,
                           gc_eval *e, const gc_opts *o, bk_rng *rng)
{
    double ss = 0;
    for (int64_t i = 0; i < count; i++) ss += (double)v[i] * v[i];
    double rms = count ? sqrt(ss / (double)count) : 0;
    double eps = o->eps_rel * fmax(rms, 0.5);
    int64_t n_check = count < o->max_elems ? count : o->max_elems;
    int64_t *idx = malloc((size_t)count * sizeof *idx);
    double *num = malloc((size_t)n_check * sizeof *num);
    if (!idx || !num) {
        free(idx); free(num);
        fprintf(stderr, "%s: out of memory\n", cname);
        return -1;
    }
    for (int64_t i = 0; i < count; i++) idx[i] = i;
    if (n_check < count) bk_rng_shuffle(rng, idx, count);

    double amax = 0;
    for (int64_t j = 0; j < n_check; j++) amax = fmax(amax, fabs(a[idx[j]]));
    /* the floor of the relative error (elements below it are compared in
     * absolute terms): 1e-3, a fraction of the tensor's largest gradient,
     * or where rounding noise dominates. A central difference with step ep
     * carries noise of std ~0.7 sigma / ep; below ~4 such std over tol a
     * relative error means nothing. Noise probes of u = eps/2 match the
     * steps used; where kinks exist steps that long cross them, so there
     * u = eps/32 (those networks are shallow, their noise small). */
    double l0 = 0;
    int rc = gc_objective(e, &l0);
    double sigma = gc_noise(e, v, count, o->kinks ? eps / 32 : eps / 2, l0, rng);
    double floor_ = fmax(1e-3, o->floor_rel * amax);
#define GC_FLOOR(ep) fmax(floor_, 3.0 * sigma / (ep) / o->tol)

    int levels = o->kinks ? 5 : 3;
    int64_t n_unstable = 0, n_fail = 0, worst_j = -1, n_sensitive = 0;
    double worst = 0;
    for (int64_t j = 0; j < n_check; j++) {
        int64_t i = idx[j];
        float orig = v[i];
        double c[5] = {0}, r = 0;
        int h, matched = 0, confirmed = 0, clean_prev = 0;
        /* step eps first; halved steps only when the analytic value does not
         * match, to tell a kink from an error */
        for (h = 0; h < levels; h++) {
            float ep = (float)(eps / (double)(1 << h));
            double lp = 0, lm = 0;
            v[i] = orig + ep;
            float up = v[i];
            if (gc_objective(e, &lp)) rc = -1;
            v[i] = orig - ep;
            float dn = v[i];
            if (gc_objective(e, &lm)) rc = -1;
            v[i] = orig;
            /* the steps actually taken in float */
            double sp = (double)up - (double)orig, sm = (double)orig - (double)dn;
            double fl = GC_FLOOR(fmin(sp, sm));
            c[h] = (lp - lm) / (sp + sm);
            double fwd = (lp - l0) / sp, bwd = (l0 - lm) / sm;
            r = gc_rel(a[i], c[h], fl);
            if (h == 0 && gc_rel(1.1 * a[i], c[0], fl) > o->tol) n_sensitive++;
            if (r <= o->tol) {
                matched = 1;
                break;
            }
            /* no kink within the step: the one-sided slopes agree */
            int clean = gc_rel(fwd, bwd, 2 * fl) <= o->tol;
            /* two successive differences that agree with each other (and,
             * where kinks exist, come from kink-free steps) but miss the
             * analytic value: the gradient is wrong */
            if (h > 0 && gc_rel(c[h], c[h - 1], fl) <= o->tol * 0.5 && (!o->kinks || (clean && clean_prev))) {
                confirmed = 1;
                break;
            }
            clean_prev = clean;
        }
        if (h >= levels) h = levels - 1;
        num[j] = c[h];
        if (!matched && !confirmed) {
            n_unstable++;
            if (getenv("GC_VERBOSE")) {
                fprintf(stderr, "  unstable %s: %s[%lld]: analytic %.7g, numeric", cname, tname, (long long)i, (double)a[i]);
                for (int k = 0; k < levels; k++) fprintf(stderr, " %.7g", c[k]);
                fprintf(stderr, " (value %.5g, floor %.3g)\n", (double)orig, GC_FLOOR(eps));
            }
            if (o->kinks) continue;
        }
        if (!matched) n_fail++;
        if (worst_j < 0 || r > worst) { worst = r; worst_j = j; }
    }
#undef GC_FLOOR
    /* GC_SCAN=index prints differences over a range of steps for one
     * element of every tensor (for investigating a failure) */
    if (getenv("GC_SCAN") && atoll(getenv("GC_SCAN")) < count) {
        int64_t i = atoll(getenv("GC_SCAN"));
        float orig = v[i];
        printf("  scan %s %s[%lld] analytic %.7g:", cname, tname, (long long)i, (double)a[i]);
        for (int k = -8; k <= 2; k += 2) {
            float ep = (float)(eps * pow(2.0, k));
            double lp = 0, lm = 0;
            v[i] = orig + ep;
            float up = v[i];
            gc_objective(e, &lp);
            v[i] = orig - ep;
            float dn = v[i];
            gc_objective(e, &lm);
            v[i] = orig;
            printf(" %.3g:%.7g", (double)ep, (lp - lm) / ((double)up - (double)dn));
        }
        printf("\n");
    }
    /* restore the activations of the unperturbed point */
    if (gc_objective(e, &l0)) rc = -1;
    if (getenv("GC_VERBOSE"))
        printf("  %s %s: eps %.3g, noise sigma %.3g, floor %.3g, largest |gradient| %.3g\n", cname, tname, eps, sigma,
               fmax(floor_, 3.0 * sigma / eps / o->tol), amax);

    /* kinks: up to a quarter of the elements (at least one); elsewhere none */
    int64_t max_unstable = o->kinks ? (n_check + 3) / 4 : 0;
    int ok = rc == 0 && n_fail == 0 && n_unstable <= max_unstable &&
             n_sensitive > 0;
    bk_test_checks++;
    if (!ok) {
        bk_test_failures++;
        fprintf(stderr, "FAIL %s: %s: %lld/%lld elements over tol %.g, %lld unstable, %lld sensitive",
                cname, tname, (long long)n_fail, (long long)n_check, o->tol, (long long)n_unstable,
                (long long)n_sensitive);
        if (worst_j >= 0)
            fprintf(stderr, "; worst rel err %.3g at [%lld]: analytic %.7g, numeric %.7g (value %.5g, eps %.3g)",
                    worst, (long long)idx[worst_j], (double)a[idx[worst_j]], num[worst_j], (double)v[idx[worst_j]],
                    eps);
        fprintf(stderr, "\n");
        if (n_sensitive == 0) fprintf(stderr, "  (no element would catch a 10%% error: gradients ~0, the check cannot fail)\n");
    }
    if (worst > gc_worst_overall) {
        gc_worst_overall = worst;
        snprintf(gc_worst_where, sizeof gc_worst_where, "%s: %s", cname, tname);
    }
    printf("  %-14s %-26s n=%-4lld worst %.2e  unstable %lld", cname, tname, (long long)n_check, worst,
           (long long)n_unstable);
    if (worst_j >= 0)
        printf("  (at [%lld]: analytic %.6g, numeric %.6g)", (long long)idx[worst_j], (double)a[idx[worst_j]],
               num[worst_j]);
    printf("\n");
    free(idx);
    free(num);
    return ok ? 0 : 1;
}

/* Random parameters (and running statistics) so no gradient is trivially
 * symmetric: biases and BN betas away from 0, gammas around 1. */
static inline void gc_randomize_params(bk_model *m, bk_rng *r)
{
    for (int k = 0; k < m->n_params; k++) {
        bk_param *p = &m->params[k];
        int64_t n = bk_shape_numel(&p->shape);
        for (int64_t i = 0; i < n; i++) {
            if (gc_ends_with(p->name, ".running_var")) p->data[i] = (float)gc_uniform(r, 0.5, 1.5);
            else if (gc_ends_with(p->name, ".running_mean")) p->data[i] = (float)gc_uniform(r, -0.3, 0.3);
            else p->data[i] += (float)gc_uniform(r, -0.3, 0.3);
        }
    }
}

/* A forward and backward with o->prebatch rows of other data. */
static inline int gc_prestep(bk_model *m, const gc_opts *o, bk_rng *r)
{
    float *x[8] = {0};
    int rc = 0;
    for (int i = 0; i < m->n_inputs; i++) {
        int64_t n = o->prebatch * bk_shape_numel(&m->nodes[m->inputs[i]].out_shape);
        x[i] = malloc((size_t)n * sizeof(float));
        for (int64_t k = 0; k < n; k++) x[i][k] = (float)gc_uniform(r, -2, 2);
    }
    if (bk_model_forward(m, (const float *const *)x, o->prebatch, o->training)) rc = -1;
    if (!rc) {
        bk_model_begin_backward(m);
        for (int i = 0; i < m->n_outputs; i++) {
            bk_node *out = &m->nodes[m->outputs[i]];
            int64_t n = o->prebatch * bk_shape_numel(&out->out_shape);
            for (int64_t k = 0; k < n; k++) out->grad[k] = (float)gc_uniform(r, -1, 1);
            out->grad_written = 1;
        }
        if (bk_model_backward(m)) rc = -1;
    }
    for (int i = 0; i < 8; i++) free(x[i]);
    return rc;
}

/* Tensor step: eps_rel times the tensor's scale (at least 0.5). */
static inline double gc_step(const float *v, int64_t n, double eps_rel)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)v[i] * v[i];
    return eps_rel * fmax(n ? sqrt(ss / (double)n) : 0, 0.5);
}

/* 1 when the point sits (nearly) on a kink: a step of eps/16 on every
 * input and parameter at once, with random signs, gives one-sided slopes
 * that disagree. Kinks that close defeat even the smallest step of
 * gc_check_tensor, so gc_check draws another point. */
static inline int gc_near_kink(gc_eval *e, const gc_opts *o, bk_rng *r, float **x, const int64_t *xn)
{
    bk_model *m = e->m;
    int n_in = m->n_inputs;
    int64_t total = m->param_count;
    for (int i = 0; i < n_in; i++) total += xn[i];
    float *save = malloc((size_t)total * sizeof(float)), *dir = malloc((size_t)total * sizeof(float));
    if (!save || !dir) {
        free(save);
        free(dir);
        return 0;
    }
    /* one flat view: the parameters, then each input */
    int64_t off = 0;
    memcpy(save, m->param_data, (size_t)m->param_count * sizeof(float));
    memset(dir, 0, (size_t)m->param_count * sizeof(float));
    for (int k = 0; k < m->n_params; k++) {
        bk_param *p = &m->params[k];
        if (p->is_buffer || p->frozen) continue;
        int64_t n = bk_shape_numel(&p->shape);
        double st = gc_step(p->data, n, o->eps_rel) / 16;
        for (int64_t i = 0; i < n; i++) dir[p->offset + i] = (float)(bk_rng_below(r, 2) ? st : -st);
    }
    off = m->param_count;
    for (int i = 0; i < n_in; i++) {
        memcpy(save + off, x[i], (size_t)xn[i] * sizeof(float));
        double st = gc_step(x[i], xn[i], o->eps_rel) / 16;
        for (int64_t k = 0; k < xn[i]; k++) dir[off + k] = (float)(bk_rng_below(r, 2) ? st : -st);
        off += xn[i];
    }
    double l0 = 0, lp = 0, lm = 0, onorm = 0;
    int rc = gc_objective_n(e, &l0, &onorm);
    for (int sgn = 1; sgn >= -1; sgn -= 2) {
        for (int64_t k = 0; k < m->param_count; k++) m->param_data[k] = save[k] + (float)sgn * dir[k];
        off = m->param_count;
        for (int i = 0; i < n_in; i++) {
            for (int64_t k = 0; k < xn[i]; k++) x[i][k] = save[off + k] + (float)sgn * dir[off + k];
            off += xn[i];
        }
        rc |= gc_objective(e, sgn > 0 ? &lp : &lm);
    }
    memcpy(m->param_data, save, (size_t)m->param_count * sizeof(float));
    off = m->param_count;
    for (int i = 0; i < n_in; i++) {
        memcpy(x[i], save + off, (size_t)xn[i] * sizeof(float));
        off += xn[i];
    }
    free(save);
    free(dir);
    double fwd = lp - l0, bwd = l0 - lm, noise = 16 * 0x1p-24 * onorm;
    return rc == 0 && fabs(fwd - bwd) > 0.25 * o->tol * fmax(fabs(fwd), fabs(bwd)) + noise;
}

#define GC_SETUP_FAIL() do { fails++; bk_test_checks++; bk_test_failures++; } while (0)

/* Builds the network, runs one backward with output gradient R, and checks
 * the input gradient and every trainable parameter's gradient. Returns 0
 * when all pass. */
static inline int gc_check(const char *cname, const char *json_sq, const gc_opts *opts)
{
    gc_opts o = *opts;
    if (!o.batch) o.batch = 2;
    o.training = 1;
    if (o.eps_rel <= 0) o.eps_rel = 1e-2;
    if (getenv("GC_EPS")) o.eps_rel = atof(getenv("GC_EPS")); /* for investigating a failure */
    if (o.tol <= 0) o.tol = 2e-2;
    if (o.floor_rel <= 0) o.floor_rel = 2e-3;
    if (o.in_scale <= 0) o.in_scale = 1.0;
    if (o.max_elems <= 0) o.max_elems = 256;
    double t0 = gc_now();
    printf("%s\n", cname);

    char *json = strdup(json_sq);
    if (!json) return -1;
    for (char *c = json; *c; c++)
        if (*c == '\'') *c = '"';
    bk_json_doc doc;
    memset(&doc, 0, sizeof doc);
    bk_model m, mf; /* m: the analytic pass; mf: the same network for the differences */
    memset(&m, 0, sizeof m);
    memset(&mf, 0, sizeof mf);
    int fails = 0;
    bk_status st = bk_json_load_string(&doc, json, cname);
    if (!st) st = bk_build_keras(&m, &doc, doc.root, "", 1234, NULL);
    if (!st) st = bk_build_keras(&mf, &doc, doc.root, "", 1234, NULL);
    bk_test_checks++;
    if (st || m.param_count != mf.param_count) {
        bk_test_failures++;
        fprintf(stderr, "FAIL %s: building the network: %s\n", cname, bk_last_error());
        bk_model_free(&m);
        bk_model_free(&mf);
        bk_json_free(&doc);
        free(json);
        return 1;
    }

    if (!o.no_input_grad) {
        /* make the input need a gradient: every layer's dx is then checked,
         * the first one's included */
        for (int i = 0; i < m.n_inputs; i++) m.nodes[m.inputs[i]].needs_grad = 1;
        for (int k = 0; k < m.n_nodes; k++)
            for (int p = 0; p < m.nodes[k].n_in; p++)
                if (m.nodes[m.nodes[k].in[p]].needs_grad) m.nodes[k].needs_grad = 1;
    }

    bk_rng rng;
    /* GC_SEED varies every random draw (to show a pass is not luck) */
    bk_rng_seed(&rng, (o.seed ? o.seed : 77) + (getenv("GC_SEED") ? (uint64_t)atoll(getenv("GC_SEED")) : 0), 1);
    float *init = malloc((size_t)(m.param_count ? m.param_count : 1) * sizeof(float));
    memcpy(init, m.param_data, (size_t)m.param_count * sizeof(float));
    float *x[8] = {0};
    float *R[8] = {0};
    int64_t xn[8] = {0};
    for (int i = 0; i < m.n_inputs; i++) {
        xn[i] = o.batch * bk_shape_numel(&m.nodes[m.inputs[i]].out_shape);
        x[i] = malloc((size_t)xn[i] * sizeof(float));
    }
    for (int i = 0; i < m.n_outputs; i++) R[i] = malloc((size_t)(o.batch * bk_shape_numel(&m.nodes[m.outputs[i]].out_shape)) * sizeof(float));
    gc_eval e = {&m, (const float *const *)x, R, o.batch, o.training};
    gc_eval ef = {&mf, (const float *const *)x, R, o.batch, o.training};
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* mf builds its plans on its first forward, single-threaded */
#endif
    /* the point: random parameters, input and R; where kinks exist, not
     * one that sits on a kink (up to 8 draws) */
    for (int draw = 0; draw < (o.kinks ? 8 : 1); draw++) {
        memcpy(m.param_data, init, (size_t)m.param_count * sizeof(float));
        gc_randomize_params(&m, &rng);
        memcpy(mf.param_data, m.param_data, (size_t)m.param_count * sizeof(float));
        for (int i = 0; i < m.n_inputs; i++)
            for (int64_t k = 0; k < xn[i]; k++) x[i][k] = (float)gc_uniform(&rng, -o.in_scale, o.in_scale);
        for (int i = 0; i < m.n_outputs; i++)
            for (int64_t k = 0; k < o.batch * bk_shape_numel(&m.nodes[m.outputs[i]].out_shape); k++)
                R[i][k] = (float)gc_uniform(&rng, -1, 1);
        if (!o.kinks || !gc_near_kink(&ef, &o, &rng, x, xn)) break;
        if (getenv("GC_VERBOSE")) fprintf(stderr, "  %s: draw %d sits on a kink; drawing again\n", cname, draw);
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif

    double l0 = 0;
    float *pgrad = NULL, *xgrad[8] = {0};
    if (o.prebatch > 0 && gc_prestep(&m, &o, &rng)) {
        fprintf(stderr, "FAIL %s: step with batch %d: %s\n", cname, o.prebatch, bk_last_error());
        GC_SETUP_FAIL();
        goto done;
    }

    /* the analytic pass: forward, then backward with dL/dout = R */
    if (gc_objective(&e, &l0)) {
        GC_SETUP_FAIL();
        goto done;
    }
    if (getenv("GC_VERBOSE")) {
        double l1;
        if (!gc_objective(&e, &l1) && l1 != l0) fprintf(stderr, "  %s: forward not deterministic: %.17g vs %.17g\n", cname, l0, l1);
    }
    bk_model_begin_backward(&m);
    for (int i = 0; i < m.n_outputs; i++) {
        bk_node *out = &m.nodes[m.outputs[i]];
        if (!out->needs_grad) {
            fprintf(stderr, "FAIL %s: output \"%s\" needs no gradient\n", cname, out->name);
            GC_SETUP_FAIL();
            goto done;
        }
        memcpy(out->grad, R[i], (size_t)(o.batch * bk_shape_numel(&out->out_shape)) * sizeof(float));
        out->grad_written = 1;
    }
    st = bk_model_backward(&m);
    if (st) {
        fprintf(stderr, "FAIL %s: backward: %s\n", cname, bk_last_error());
        GC_SETUP_FAIL();
        goto done;
    }
    pgrad = malloc((size_t)(m.param_count ? m.param_count : 1) * sizeof(float));
    memcpy(pgrad, m.param_grad, (size_t)m.param_count * sizeof(float));
    for (int i = 0; i < m.n_inputs && !o.no_input_grad; i++) {
        bk_node *in = &m.nodes[m.inputs[i]];
        xgrad[i] = malloc((size_t)xn[i] * sizeof(float));
        if (!in->grad_written) {
            fprintf(stderr, "FAIL %s: input \"%s\" got no gradient\n", cname, in->name);
            GC_SETUP_FAIL();
            goto done;
        }
        memcpy(xgrad[i], in->grad, (size_t)xn[i] * sizeof(float));
    }

#ifdef _OPENMP
    omp_set_num_threads(1);
#endif

    for (int i = 0; i < m.n_inputs && !o.no_input_grad; i++) {
        char tn[160];
        snprintf(tn, sizeof tn, "d/d(%s)", m.nodes[m.inputs[i]].name);
        fails += gc_check_tensor(cname, tn, x[i], xgrad[i], xn[i], &ef, &o, &rng) != 0;
    }
    int n_checked = 0;
    for (int k = 0; k < m.n_params; k++) {
        bk_param *p = &m.params[k];
        if (p->is_buffer || p->frozen) continue;
        n_checked++;
        fails += gc_check_tensor(cname, p->name, mf.param_data + p->offset, pgrad + p->offset,
                                 bk_shape_numel(&p->shape), &ef, &o, &rng) != 0;
    }
    if (o.no_input_grad && n_checked == 0) {
        fprintf(stderr, "FAIL %s: nothing to check\n", cname);
        GC_SETUP_FAIL();
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif

done:
    for (int i = 0; i < 8; i++) {
        free(x[i]);
        free(R[i]);
        free(xgrad[i]);
    }
    free(pgrad);
    free(init);
    bk_model_free(&m);
    bk_model_free(&mf);
    bk_json_free(&doc);
    free(json);
    gc_total_seconds += gc_now() - t0;
    return fails;
}

static inline void gc_summary(const char *name)
{
    printf("%s: worst relative error %.3g (%s); %ld forward passes, %.2f s in checks\n", name, gc_worst_overall,
           gc_worst_where, gc_forwards, gc_total_seconds);
}

#endif
