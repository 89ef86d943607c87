/* The "pde" loader: initial conditions b(x) for the Burgers_PDE loss,
 * generated when read (see bk_dataset_open_pde in brisk/data.h). Nothing
 * is stored, so any num_examples costs no memory, and a sample depends on
 * (seed, stream, index) only: shuffling, prefetching and resuming see
 * the same samples. */
#include <math.h>
#include <stdlib.h>
#include "core/rng.h"
#include "data_internal.h"

typedef struct {
    bk_pde_options o;
} pde_impl;

/* b of sample i into x[0..d). */
static void pde_sample(const bk_pde_options *o, int64_t i, float *x)
{
    enum { MAX_TERMS = 64 };
    double c[MAX_TERMS], w[MAX_TERMS];
    int k = 1;
    if (o->fixed_uniform) {
        c[0] = o->count > 1 ? o->cmin + (double)i * (o->cmax - o->cmin) / (double)(o->count - 1) : o->cmin;
        w[0] = 1;
    } else {
        bk_rng r;
        bk_rng_seed(&r, bk_rng_mix(o->seed, (uint64_t)i), o->stream);
        k = 1 + (int)bk_rng_below(&r, (uint64_t)o->max_terms);
        double sum = 0;
        for (int j = 0; j < k; j++) {
            c[j] = o->cmin + (o->cmax - o->cmin) * bk_rng_uniform(&r);
            w[j] = 1.0 - bk_rng_uniform(&r); /* (0, 1]: every term present */
            sum += w[j];
        }
        for (int j = 0; j < k; j++) w[j] /= sum;
    }
    const double two_pi = 6.283185307179586476925;
    for (int64_t p = 0; p < o->domain_size; p++) {
        double b = 0;
        for (int j = 0; j < k; j++) b += w[j] * 0.5 * (1 - cos(two_pi * c[j] * (double)p / (double)o->domain_size));
        x[p] = (float)b;
    }
}

static bk_status pde_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    const bk_pde_options *o = &((pde_impl *)ds->impl)->o;
    int64_t d = o->domain_size;
    for (int64_t s = 0; s < n; s++) {
        if (idx[s] < 0 || idx[s] >= ds->count) return bk_data_bad_index(ds, idx[s]);
        pde_sample(o, idx[s], x + s * d);
        /* the target is the initial condition itself: the loss needs it */
        if (y)
            for (int64_t p = 0; p < d; p++) y[s * d + p] = x[s * d + p];
    }
    return BK_OK;
}

static void pde_destroy(bk_dataset *ds)
{
    free(ds->impl);
    free(ds);
}

bk_status bk_dataset_open_pde(bk_dataset **out, const bk_pde_options *opt)
{
    *out = NULL;
    if (opt->domain_size < 3)
        return bk_error(BK_ERR_INVALID, "pde data: domain_size is %lld; the Burgers equation needs at least 3 points in x",
                        (long long)opt->domain_size);
    if (opt->count < 1)
        return bk_error(BK_ERR_INVALID, "pde data: %lld examples; give at least 1", (long long)opt->count);
    if (!(opt->cmin >= 0) || !(opt->cmax >= opt->cmin) || isinf(opt->cmax))
        return bk_error(BK_ERR_INVALID, "pde data: bc_frequency [%g, %g] is not a range 0 <= cmin <= cmax", opt->cmin,
                        opt->cmax);
    if (!opt->fixed_uniform && (opt->max_terms < 1 || opt->max_terms > 64))
        return bk_error(BK_ERR_INVALID, "pde data: bc_terms is %d; give 1 to 64 raised cosines per sample",
                        opt->max_terms);
    if (!bk_data_size_ok(opt->count, opt->domain_size, sizeof(float)))
        return bk_error(BK_ERR_INVALID, "pde data: %lld examples of %lld points do not fit in memory addressing",
                        (long long)opt->count, (long long)opt->domain_size);
    bk_dataset *ds = bk_data_alloc("pde data (%lld %s initial conditions of %lld points)", (long long)opt->count,
                                   opt->fixed_uniform ? "fixed_uniform" : "random_uniform", (long long)opt->domain_size);
    pde_impl *m = calloc(1, sizeof *m);
    if (!ds || !m) {
        free(ds);
        free(m);
        return bk_error(BK_ERR_NOMEM, "pde data: out of memory");
    }
    m->o = *opt;
    int64_t dims[2] = {1, opt->domain_size};
    ds->count = opt->count;
    ds->input_shape = bk_shape_make(2, dims);
    ds->target_shape = ds->input_shape;
    ds->has_targets = 1;
    ds->read = pde_read;
    ds->destroy = pde_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
