/* The inference run's prediction files (see predictions.h). */
#include "predictions.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/fsutil.h"
#include "io/h5out.h"

struct bk_predictions {
    bk_run_ctx *r;
    bk_dataset *ds;
    bk_h5out *rows;       /* test_output_path as a file: [N, ...] per output */
    bk_h5out *samples;    /* test_output_path as a folder: a dataset per sample */
    char samples_path[1200];
    int64_t written;
    bk_h5out *volumes;    /* hdf5_outfile: one volume per slicer set (and output) */
    int set;              /* the set being put together (samples come set after set), or -1 */
    bk_slice_volume *vol[8];
};

/* Writes the set being put together into the file and frees its volumes. */
static bk_status flush_set(bk_predictions *p)
{
    if (p->set < 0) return BK_OK;
    bk_run_ctx *r = p->r;
    const bk_slice_layout *L = bk_dataset_slices(p->ds);
    bk_status st = BK_OK;
    for (int k = 0; k < r->m.n_outputs; k++) {
        char name[400];
        /* several outputs: a group per set, a dataset per output layer */
        if (r->m.n_outputs > 1) snprintf(name, sizeof name, "%s/%s", L->sets[p->set].name, r->heads[k].name);
        else snprintf(name, sizeof name, "%s", L->sets[p->set].name);
        bk_shape sh;
        const float *v = bk_slice_volume_finish(p->vol[k], &sh);
        if (!st) st = bk_h5out_put(p->volumes, name, &sh, v, r->c->data.hdf5_half);
        bk_slice_volume_destroy(p->vol[k]);
        p->vol[k] = NULL;
    }
    p->set = -1;
    return st;
}

static bk_status add_slices(bk_predictions *p, int64_t first, int64_t n, const float *const *outs)
{
    bk_run_ctx *r = p->r;
    for (int64_t j = 0; j < n; j++) {
        int set;
        int64_t o[BK_SLICER_MAX_AXES], e[BK_SLICER_MAX_AXES];
        bk_status st = bk_slice_box(p->ds, first + j, &set, o, e);
        if (!st && set != p->set) {
            st = flush_set(p);
            for (int k = 0; !st && k < r->m.n_outputs; k++) {
                const bk_shape *os = &r->test_m->nodes[r->heads[k].node].out_shape;
                st = bk_slice_volume_create(&p->vol[k], p->ds, set, os->dims[0]);
            }
            p->set = set;
        }
        for (int k = 0; !st && k < r->m.n_outputs; k++) {
            int64_t numel = bk_shape_numel(&r->test_m->nodes[r->heads[k].node].out_shape);
            st = bk_slice_volume_add(p->vol[k], first + j, outs[k] + j * numel);
        }
        if (st) return st;
    }
    return BK_OK;
}

/* Reassembly needs outputs with the samples' geometry: [C2, same sizes]. */
static bk_status check_geometry(bk_run_ctx *r, const bk_dataset *ds)
{
    const bk_shape *in = &ds->input_shape;
    for (int k = 0; k < r->m.n_outputs; k++) {
        const bk_shape *os = &r->test_m->nodes[r->heads[k].node].out_shape;
        int same = os->ndim == in->ndim;
        for (int i = 1; same && i < in->ndim; i++) same = os->dims[i] == in->dims[i];
        if (!same) {
            char a[64], b[64];
            return bk_json_error_at(&r->c->doc, "neural_network.data.hdf5_outfile", BK_ERR_SHAPE,
                                    "the network maps slices of shape %s to %s at output \"%s\"; putting slices back "
                                    "together needs a network that keeps their geometry and changes only the channels "
                                    "(first axis), e.g. a fully convolutional one with \"same\" padding",
                                    bk_shape_str(in, a, sizeof a), bk_shape_str(os, b, sizeof b), r->heads[k].name);
        }
    }
    return BK_OK;
}

int bk_output_is_folder(const char *path)
{
    size_t n = strlen(path);
    if (!n) return 0;
    if (bk_is_dir(path) || path[n - 1] == '/') return 1;
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return 1;
    return strcasecmp(dot, ".h5") && strcasecmp(dot, ".hdf5");
}

/* The name sample i is stored under in the folder form: its own name (its
 * file's path relative to the data folder, an npz array or HDF5 dataset),
 * else the input file's name for a file of one sample, else its index. */
static bk_status sample_key(bk_predictions *p, int64_t i, char *buf, size_t len)
{
    bk_status st = bk_dataset_sample_name(p->ds, i, buf, len);
    if (st || buf[0]) return st;
    const char *in = p->r->c->data.test_input_path, *base = strrchr(in, '/');
    if (p->ds->count == 1 && base && base[1]) snprintf(buf, len, "%s", base + 1);
    else if (p->ds->count == 1 && !base && in[0]) snprintf(buf, len, "%s", in);
    else snprintf(buf, len, "%lld", (long long)i);
    return BK_OK;
}

static bk_status write_samples(bk_predictions *p, int64_t first, int64_t n, const float *const *outs)
{
    bk_run_ctx *r = p->r;
    int no = r->m.n_outputs;
    for (int64_t j = 0; j < n; j++) {
        char key[1024], name[1200];
        bk_status st = sample_key(p, first + j, key, sizeof key);
        if (st) return st;
        for (int k = 0; k < no; k++) {
            const bk_shape *s = &r->test_m->nodes[r->heads[k].node].out_shape;
            /* several outputs: a group per sample, a dataset per output layer */
            if (no > 1) snprintf(name, sizeof name, "%s/%s", key, r->heads[k].name);
            else snprintf(name, sizeof name, "%s", key);
            st = bk_h5out_put(p->samples, name, s, outs[k] + j * bk_shape_numel(s), r->c->data.hdf5_half);
            if (st) return st;
        }
    }
    return BK_OK;
}

bk_status bk_predictions_open(bk_predictions **out, bk_run_ctx *r, bk_dataset *ds)
{
    *out = NULL;
    const bk_data_config *d = &r->c->data;
    if (!d->test_output_path[0] && !d->hdf5_outfile[0]) return BK_OK;
    if (d->hdf5_outfile[0] && !bk_dataset_slices(ds))
        return bk_json_error_at(&r->c->doc, "neural_network.data.hdf5_outfile", BK_ERR_INVALID,
                                "the test data is not cut by slicers, so there is nothing to put back together");
    bk_status st = d->hdf5_outfile[0] ? check_geometry(r, ds) : BK_OK;
    if (st) return st;
    bk_predictions *p = calloc(1, sizeof *p);
    if (!p) return bk_error(BK_ERR_NOMEM, "out of memory");
    p->r = r;
    p->ds = ds;
    p->set = -1;
    if (d->hdf5_outfile[0]) st = bk_h5out_create(&p->volumes, d->hdf5_outfile);
    int to_rows = !st && d->test_output_path[0] && !bk_output_is_folder(d->test_output_path);
    if (!st && d->test_output_path[0] && !to_rows) {
        bk_path_join(p->samples_path, sizeof p->samples_path, d->test_output_path, "output_1.h5");
        st = bk_mkdir_p(d->test_output_path);
        if (!st) st = bk_h5out_create(&p->samples, p->samples_path);
    } else if (to_rows) {
        const char *names[8];
        bk_shape shapes[8];
        /* one output keeps the dataset name "output"; several are named after their layers */
        for (int k = 0; k < r->m.n_outputs; k++) {
            names[k] = r->m.n_outputs == 1 ? "output" : r->heads[k].name;
            shapes[k] = r->test_m->nodes[r->heads[k].node].out_shape;
        }
        st = bk_h5out_open(&p->rows, d->test_output_path, r->m.n_outputs, names, ds->count, shapes);
    }
    if (st) {
        bk_predictions_close(p, 0);
        return st;
    }
    *out = p;
    return BK_OK;
}

bk_status bk_predictions_write(bk_predictions *p, int64_t first, int64_t n, const float *const *outs)
{
    bk_status st = BK_OK;
    for (int k = 0; p->rows && k < p->r->m.n_outputs && !st; k++) st = bk_h5out_write(p->rows, k, first, n, outs[k]);
    if (!st && p->samples) st = write_samples(p, first, n, outs);
    if (!st && p->volumes) st = add_slices(p, first, n, outs);
    if (!st) p->written = first + n;
    return st;
}

bk_status bk_predictions_close(bk_predictions *p, int commit)
{
    if (!p) return BK_OK;
    bk_status st = commit && p->volumes ? flush_set(p) : BK_OK;
    for (int k = 0; k < 8; k++) bk_slice_volume_destroy(p->vol[k]);
    bk_status st2 = bk_h5out_close(p->rows, commit && !st);
    if (!st) st = st2;
    st2 = bk_h5out_close(p->samples, commit && !st);
    if (!st) st = st2;
    st2 = bk_h5out_close(p->volumes, commit && !st);
    if (!st) st = st2;
    if (commit && !st && (p->rows || p->samples)) {
        const char *where = p->rows ? p->r->c->data.test_output_path : p->samples_path;
        fprintf(p->r->out, "Wrote %lld predictions to %s\n", (long long)p->written, where);
    }
    if (commit && !st && p->volumes) {
        const bk_slice_layout *L = bk_dataset_slices(p->ds);
        fprintf(p->r->out, "Wrote the predictions on %lld slices, put back together (%s precision), to %s:",
                (long long)p->written, p->r->c->data.hdf5_half ? "half" : "single", p->r->c->data.hdf5_outfile);
        for (int k = 0; k < L->n_sets; k++) fprintf(p->r->out, "%s %s", k ? "," : "", L->sets[k].name);
        fputc('\n', p->r->out);
    }
    free(p);
    return st;
}
