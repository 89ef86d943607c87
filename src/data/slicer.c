/* Slicers: samples cut from one big channel-first array (the reference
 * CLI's `slicers`). Each set lays a grid of slice origins over the array;
 * a sample is the box at one origin, mirrored out to its padded size, and
 * transposed for 2-D sets that ask for it. Internally every array has 3
 * geometric axes (trailing axes of extent 1), so one code path serves 1-D
 * to 3-D data. */
#include "data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bk_status bk_slicer_check(const bk_slicer *s, const char **key)
{
    *key = "sizes";
    if (s->n_axes < 1 || s->n_axes > BK_SLICER_MAX_AXES)
        return bk_error(BK_ERR_INVALID, "%d entries: give one per geometric axis of the array, 1 to %d",
                        s->n_axes, BK_SLICER_MAX_AXES);
    int kept = 0;
    for (int k = 0; k < s->n_axes; k++) {
        *key = "sizes";
        if (s->sizes[k] < 1) return bk_error(BK_ERR_INVALID, "entry %d is %lld; sizes must be >= 1", k, (long long)s->sizes[k]);
        *key = "strides";
        if (s->strides[k] < 1) return bk_error(BK_ERR_INVALID, "entry %d is %lld; strides must be >= 1", k, (long long)s->strides[k]);
        *key = "padding";
        if (s->pad_lo[k] < 0 || s->pad_hi[k] < 0)
            return bk_error(BK_ERR_INVALID, "entry %d pads by a negative amount; padding must be >= 0 (padded_sizes >= sizes)", k);
        if (s->sizes[k] == 1 && (s->pad_lo[k] || s->pad_hi[k]))
            return bk_error(BK_ERR_INVALID, "entry %d pads an axis of size 1, which the samples drop; leave its padding 0 "
                            "(padded size 1)", k);
        kept += s->sizes[k] > 1;
    }
    *key = "transpose";
    if (s->transpose && kept != 2)
        return bk_error(BK_ERR_INVALID, "transposes 2-D samples only, and these have %d axes (sizes other than 1)", kept);
    *key = NULL;
    return BK_OK;
}

bk_status bk_slicer_count(const bk_slicer *s, const int64_t *full, int64_t *per_axis, int64_t *total, int *bad_axis)
{
    *total = 1;
    for (int k = 0; k < s->n_axes; k++) {
        int64_t n = full[k], sz = s->sizes[k], st = s->strides[k];
        if (sz > n) {
            if (bad_axis) *bad_axis = k;
            return bk_error(BK_ERR_SHAPE, "entry %d (%lld) is larger than the array's extent %lld along that axis",
                            k, (long long)sz, (long long)n);
        }
        int64_t c = (n - sz) / st + 1, last = (c - 1) * st;
        /* the leftover past the last full slice, when the next origin still falls inside the array */
        if (!s->discard_remainders && last + sz < n && last + st < n) c++;
        per_axis[k] = c;
        *total *= c;
    }
    return BK_OK;
}

bk_shape bk_slicer_sample_shape(const bk_slicer *s, int64_t channels)
{
    int64_t d[BK_MAX_DIMS];
    int n = 0;
    if (channels > 0) d[n++] = channels;
    int first = n;
    for (int k = 0; k < s->n_axes; k++)
        if (s->sizes[k] > 1) d[n++] = s->sizes[k] + s->pad_lo[k] + s->pad_hi[k];
    if (s->transpose && n - first == 2) {
        int64_t t = d[first];
        d[first] = d[first + 1];
        d[first + 1] = t;
    }
    return bk_shape_make(n, d);
}

/* ---- the dataset ---- */

typedef struct {
    bk_slice_layout lay;
    int64_t per_axis[BK_SLICER_MAX_SETS][3];   /* slices along each axis (1 past n_axes) */
    bk_slice_src *x, *y;
    int64_t y_channels;                         /* 0: targets stored without a channel axis */
} sliced_impl;

/* numpy.pad's "reflect": mirrored about the edge samples, repeating. */
static int64_t reflect(int64_t i, int64_t n)
{
    if (n == 1) return 0;
    int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

/* Sample i's set, and its origin and extent along the 3 internal axes. */
static void locate(const sliced_impl *m, int64_t i, int *set, int64_t *o, int64_t *e)
{
    int k = 0;
    while (k + 1 < m->lay.n_sets && i >= m->lay.first[k + 1]) k++;
    *set = k;
    const bk_slicer *s = &m->lay.sets[k];
    int64_t r = i - m->lay.first[k];
    for (int a = 2; a >= 0; a--) {
        int64_t n = m->per_axis[k][a], j = r % n;
        r /= n;
        if (a >= m->lay.n_axes) {
            o[a] = 0;
            e[a] = 1;
            continue;
        }
        o[a] = j * s->strides[a];
        e[a] = m->lay.full[a] - o[a] < s->sizes[a] ? m->lay.full[a] - o[a] : s->sizes[a];
    }
}

/* Fills one sample [C, P0, P1, P2] from src (dims [C, S0, S1, S2], the box
 * starting at base along each axis) and transposes it into out when asked. */
static bk_status cut(const bk_slicer *s, const float *src, const int64_t *sd, int64_t C, const int64_t *base,
                     const int64_t *e, float *out, float *tmp)
{
    int64_t P[3], *map[3] = {NULL, NULL, NULL};
    bk_status st = BK_OK;
    for (int a = 0; a < 3; a++) {
        int64_t lo = a < s->n_axes ? s->pad_lo[a] : 0, sz = a < s->n_axes ? s->sizes[a] : 1;
        P[a] = sz + lo + (a < s->n_axes ? s->pad_hi[a] : 0);
        map[a] = malloc((size_t)P[a] * sizeof(int64_t));
        if (!map[a]) {
            st = bk_error(BK_ERR_NOMEM, "out of memory cutting a slice");
            break;
        }
        for (int64_t p = 0; p < P[a]; p++) map[a][p] = base[a] + reflect(p - lo, e[a]);
    }
    float *dst = s->transpose ? tmp : out;
    /* along the last axis the slice's own values are one contiguous run: copied whole, the mirrored ends gathered */
    int64_t lo2 = s->n_axes > 2 ? s->pad_lo[2] : 0, e2 = e[2];
    for (int64_t c = 0; !st && c < C; c++)
        for (int64_t p0 = 0; p0 < P[0]; p0++)
            for (int64_t p1 = 0; p1 < P[1]; p1++) {
                const float *row = src + ((c * sd[0] + map[0][p0]) * sd[1] + map[1][p1]) * sd[2];
                float *o = dst + ((c * P[0] + p0) * P[1] + p1) * P[2];
                for (int64_t p2 = 0; p2 < lo2; p2++) o[p2] = row[map[2][p2]];
                memcpy(o + lo2, row + base[2], (size_t)e2 * sizeof(float));
                for (int64_t p2 = lo2 + e2; p2 < P[2]; p2++) o[p2] = row[map[2][p2]];
            }
    if (!st && s->transpose) {
        /* the two kept axes, as [C, A, B]: the dropped one has extent 1 */
        int64_t A = 1, B = 1;
        int seen = 0;
        for (int a = 0; a < s->n_axes; a++)
            if (s->sizes[a] > 1) *(seen++ ? &B : &A) = P[a];
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < A; i++)
                for (int64_t j = 0; j < B; j++) out[(c * B + j) * A + i] = tmp[(c * A + i) * B + j];
    }
    for (int a = 0; a < 3; a++) free(map[a]);
    return st;
}

/* One array's part of samples idx[0..n). */
static bk_status read_side(sliced_impl *m, bk_slice_src *src, int64_t C, const int64_t *idx, int64_t n,
                           int64_t numel, float *out)
{
    const float *whole = bk_slice_src_data(src);
    const int64_t *geom = bk_slice_src_info_of(src)->geom;
    int64_t cap = 0;
    float *box = NULL, *tmp = malloc((size_t)numel * sizeof(float));
    bk_status st = tmp ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory cutting a slice");
    for (int64_t i = 0; i < n && !st; i++) {
        int set;
        int64_t o[3], e[3], zero[3] = {0, 0, 0};
        locate(m, idx[i], &set, o, e);
        const bk_slicer *s = &m->lay.sets[set];
        if (whole) {
            st = cut(s, whole, geom, C, o, e, out + i * numel, tmp);
            continue;
        }
        /* read only the slice's own box */
        int64_t need = C * e[0] * e[1] * e[2];
        if (need > cap) {
            free(box);
            cap = need;
            if (!(box = malloc((size_t)cap * sizeof(float)))) {
                st = bk_error(BK_ERR_NOMEM, "out of memory for a slice of %lld values", (long long)need);
                break;
            }
        }
        st = bk_slice_src_read(src, o, e, box);
        if (!st) st = cut(s, box, e, C, zero, e, out + i * numel, tmp);
    }
    free(box);
    free(tmp);
    return st;
}

static bk_status sliced_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    sliced_impl *m = ds->impl;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= ds->count) return bk_data_bad_index(ds, idx[i]);
    bk_status st = read_side(m, m->x, m->lay.channels, idx, n, bk_shape_numel(&ds->input_shape), x);
    if (!st && y && m->y)
        st = read_side(m, m->y, bk_slice_src_info_of(m->y)->channels, idx, n, bk_shape_numel(&ds->target_shape), y);
    return st;
}

static void impl_free(sliced_impl *m)
{
    if (!m) return;
    bk_slice_src_close(m->x);
    bk_slice_src_close(m->y);
    free(m);
}

static void sliced_destroy(bk_dataset *ds)
{
    impl_free(ds->impl);
    free(ds);
}

const bk_slice_layout *bk_dataset_slices(const bk_dataset *ds)
{
    return ds && ds->read == sliced_read ? &((const sliced_impl *)ds->impl)->lay : NULL;
}

bk_status bk_slice_box(const bk_dataset *ds, int64_t i, int *set, int64_t *origin, int64_t *extent)
{
    if (!bk_dataset_slices(ds))
        return bk_error(BK_ERR_INVALID, "%s: not a dataset cut by slicers", ds ? ds->name : "(null)");
    if (i < 0 || i >= ds->count) return bk_data_bad_index(ds, i);
    int64_t o[3], e[3];
    const sliced_impl *m = ds->impl;
    locate(m, i, set, o, e);
    for (int a = 0; a < m->lay.n_axes; a++) {
        origin[a] = o[a];
        extent[a] = e[a];
    }
    return BK_OK;
}

static void list_text(char *buf, size_t n, const int64_t *v, int k)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < k && used < n; i++) used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

static void print_set(FILE *f, const bk_slicer *s, int64_t count)
{
    char a[128], b[128], c[256];
    int64_t padded[3];
    size_t used = 0;
    for (int k = 0; k < s->n_axes; k++) {
        padded[k] = s->sizes[k] + s->pad_lo[k] + s->pad_hi[k];
        used += (size_t)snprintf(c + used, sizeof c - used, "(%lld,%lld)", (long long)s->pad_lo[k], (long long)s->pad_hi[k]);
    }
    fprintf(f, "   Slicer: %s\n", s->name);
    list_text(a, sizeof a, s->sizes, s->n_axes);
    fprintf(f, "      Sizes       : %s\n", a);
    fprintf(f, "      Padding     : [%s]\n", c);
    list_text(b, sizeof b, padded, s->n_axes);
    fprintf(f, "      Padded sizes: %s\n", b);
    list_text(a, sizeof a, s->strides, s->n_axes);
    fprintf(f, "      Strides     : %s\n", a);
    fprintf(f, "      Remainders  : %s\n", s->discard_remainders ? "discarded" : "included");
    fprintf(f, "      Transpose   : %s\n", s->transpose ? "true" : "false");
    fprintf(f, "      Num samples : %lld\n", (long long)count);
}

/* Opens the arrays, counts every set's slices and checks what must agree. */
static bk_status setup(sliced_impl *m, bk_slice_options *o, bk_shape *xs, bk_shape *ys)
{
    bk_slice_layout *L = &m->lay;
    L->n_sets = o->n_sets;
    L->n_axes = o->sets[0].n_axes;
    memcpy(L->sets, o->sets, (size_t)o->n_sets * sizeof *o->sets);
    for (int k = 0; k < o->n_sets; k++) {
        const char *key;
        bk_status st = bk_slicer_check(&L->sets[k], &key);
        if (!st && L->sets[k].n_axes != L->n_axes) {
            key = "sizes";
            st = bk_error(BK_ERR_INVALID, "%d entries, but set 0 has %d: every set slices the same array",
                          L->sets[k].n_axes, L->n_axes);
        }
        if (st) {
            o->bad_set = k;
            o->bad_key = key;
            return st;
        }
        if (!L->sets[k].name[0]) snprintf(L->sets[k].name, sizeof L->sets[k].name, "slicer_%d", k + 1);
    }
    bk_status st = bk_slice_src_open(&m->x, o->input_path, o->input_key, o->hdf5, 0, L->n_axes, o->preload);
    if (st) return st;
    const bk_slice_src_info *xi = bk_slice_src_info_of(m->x);
    L->channels = xi->channels;
    memcpy(L->full, xi->geom, sizeof L->full);
    char buf[128];
    if (o->log) {
        list_text(buf, sizeof buf, xi->dims, xi->rank);
        fprintf(o->log, "Slicing %s\nFull size: %s\n", xi->what, buf);
    }
    int64_t total = 0;
    for (int k = 0; k < L->n_sets; k++) {
        int64_t n;
        int bad = -1;
        for (int a = 0; a < 3; a++) m->per_axis[k][a] = 1;
        st = bk_slicer_count(&L->sets[k], L->full, m->per_axis[k], &n, &bad);
        if (st) {
            o->bad_set = k;
            o->bad_key = "sizes";
            list_text(buf, sizeof buf, L->full, L->n_axes);
            return bk_error_context(st, "slicer \"%s\" over the %s, of geometric size %s: ", L->sets[k].name, xi->what, buf);
        }
        L->first[k] = total;
        L->count[k] = n;
        total += n;
        if (o->log) print_set(o->log, &L->sets[k], n);
        bk_shape sh = bk_slicer_sample_shape(&L->sets[k], L->channels);
        if (k && !bk_shape_equal(&sh, xs)) {
            char s1[64], s2[64];
            o->bad_set = k;
            o->bad_key = L->sets[k].transpose ? "transpose" : "sizes";
            return bk_error(BK_ERR_SHAPE, "slicer \"%s\" gives samples of shape %s but \"%s\" gives %s; the samples of "
                            "all sets are batched together and need one shape: give the sets padded_sizes that make "
                            "them equal", L->sets[k].name, bk_shape_str(&sh, s1, sizeof s1), L->sets[0].name,
                            bk_shape_str(xs, s2, sizeof s2));
        }
        *xs = sh;
    }
    if (o->log) fprintf(o->log, "Num samples: %lld\n", (long long)total);
    if (!o->target_path) return BK_OK;
    if ((st = bk_slice_src_open(&m->y, o->target_path, o->target_key, o->hdf5, 1, L->n_axes, o->preload))) return st;
    const bk_slice_src_info *yi = bk_slice_src_info_of(m->y);
    if (o->log) fprintf(o->log, "Slicing %s\n", yi->what);
    for (int a = 0; a < L->n_axes; a++)
        if (yi->geom[a] != L->full[a]) {
            char s1[64], s2[64];
            list_text(s1, sizeof s1, yi->geom, L->n_axes);
            list_text(s2, sizeof s2, L->full, L->n_axes);
            return bk_error(BK_ERR_SHAPE, "the targets (%s) have geometric size %s but the inputs (%s) %s; targets are "
                            "sliced like the inputs and need the same size (channels may differ)", yi->what, s1,
                            xi->what, s2);
        }
    m->y_channels = yi->channel_axis ? yi->channels : 0;
    *ys = bk_slicer_sample_shape(&L->sets[0], m->y_channels);
    return BK_OK;
}

bk_status bk_dataset_open_sliced(bk_dataset **out, bk_slice_options *o)
{
    *out = NULL;
    o->bad_set = -1;
    o->bad_key = NULL;
    if (!o->input_path) return bk_error(BK_ERR_INVALID, "slicers: no input file");
    if (o->n_sets < 1 || o->n_sets > BK_SLICER_MAX_SETS)
        return bk_error(BK_ERR_INVALID, "slicers: %d sets; 1 to %d are supported", o->n_sets, BK_SLICER_MAX_SETS);
    sliced_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "out of memory");
    bk_shape xs = bk_shape_make(0, NULL), ys = xs;
    bk_status st = setup(m, o, &xs, &ys);
    bk_dataset *ds = NULL;
    if (!st && !(ds = bk_data_alloc("%s", o->input_path))) st = bk_error(BK_ERR_NOMEM, "out of memory");
    if (st) {
        impl_free(m);
        return st;
    }
    if (o->target_path) snprintf(ds->name, sizeof ds->name, "%.120s + %.120s", o->input_path, o->target_path);
    ds->count = m->lay.first[m->lay.n_sets - 1] + m->lay.count[m->lay.n_sets - 1];
    ds->input_shape = xs;
    ds->target_shape = ys;
    ds->has_targets = m->y != NULL;
    ds->read = sliced_read;
    ds->destroy = sliced_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
