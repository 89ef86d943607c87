/* HDF5 datasets. With preload=0 the file stays open and each read() pulls
 * only the rows asked for, so files larger than memory work. */
#include "h5_internal.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const input_defaults[] = {"input", "x", "data", "images", NULL};
static const char *const target_defaults[] = {"target", "y", "label", "labels", NULL};

typedef struct {
    hid_t file, dset;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    int64_t row; /* floats per sample */
    char name[128];
    char path[1024];
} h5_array;

typedef struct {
    h5_array x, y;
    int has_y;
} h5_impl;

/* HDF5 prints its error stack to stderr by default; brisk reports errors
 * itself. The setting is per thread in thread-safe builds. */
static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

void bk_h5_lock(void)
{
    pthread_mutex_lock(&h5_lock);
    quiet();
}

void bk_h5_unlock(void) { pthread_mutex_unlock(&h5_lock); }

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(data, 256, "%s", e->desc);
    return 0;
}

const char *bk_h5_reason(char *buf)
{
    snprintf(buf, 256, "unknown HDF5 error");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, first_error, buf);
    return buf;
}

#define h5_reason bk_h5_reason

static void array_close(h5_array *a, hid_t shared_file)
{
    if (a->dset > 0) H5Dclose(a->dset);
    if (a->file > 0 && a->file != shared_file) H5Fclose(a->file);
    a->dset = a->file = H5I_INVALID_HID;
}

bk_status bk_h5_open_file(hid_t *out, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return bk_error(BK_ERR_IO, "%s: no such file; check the path", path);
    if (H5Fis_hdf5(path) <= 0)
        return bk_error(BK_ERR_IO, "%s: not an HDF5 file; name a .h5/.hdf5 file", path);
    *out = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char why[256];
    if (*out < 0) return bk_error(BK_ERR_IO, "%s: cannot open (%s)", path, h5_reason(why));
    return BK_OK;
}

#define open_file bk_h5_open_file

int bk_h5_kind(hid_t file, const char *name)
{
    if (strcmp(name, "/") && H5Lexists(file, name, H5P_DEFAULT) <= 0) return -1;
    hid_t o = H5Oopen(file, name, H5P_DEFAULT);
    if (o < 0) return -1;
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t == H5I_GROUP ? 1 : t == H5I_DATASET ? 0 : -1;
}

typedef struct {
    char **list;
    int64_t n, cap;
    int failed;
} ds_list;

static herr_t add_dataset(hid_t g, const char *name, const bk_h5_link_info *info, void *data)
{
    (void)info;
    ds_list *l = data;
    if (bk_h5_kind(g, name) != 0) return 0;
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->list, (size_t)cap * sizeof *p);
        if (!p) {
            l->failed = 1;
            return -1;
        }
        l->list = p;
        l->cap = cap;
    }
    if (!(l->list[l->n] = strdup(name))) {
        l->failed = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void bk_h5_free_list(char **list, int64_t n)
{
    for (int64_t i = 0; list && i < n; i++) free(list[i]);
    free(list);
}

bk_status bk_h5_list_datasets(hid_t file, const char *root, const char *path, char ***out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    ds_list l = {0};
    hid_t g = H5Gopen2(file, root, H5P_DEFAULT);
    char why[256];
    if (g < 0) return bk_error(BK_ERR_INVALID, "%s: cannot open group \"%s\" (%s)", path, root, h5_reason(why));
    herr_t r = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, add_dataset, &l);
    H5Gclose(g);
    if (r < 0 || l.failed) {
        bk_h5_free_list(l.list, l.n);
        return l.failed ? bk_error(BK_ERR_NOMEM, "%s: out of memory listing datasets", path)
                        : bk_error(BK_ERR_IO, "%s: cannot list the datasets of \"%s\" (%s)", path, root, h5_reason(why));
    }
    qsort(l.list, (size_t)l.n, sizeof *l.list, str_cmp);
    *out = l.list;
    *n = l.n;
    return BK_OK;
}

static herr_t add_name(hid_t g, const char *name, const bk_h5_link_info *info, void *data)
{
    (void)g; (void)info;
    char *buf = data;
    size_t used = strlen(buf);
    if (used + strlen(name) + 3 < 512) snprintf(buf + used, 512 - used, "%s%s", used ? ", " : "", name);
    return 0;
}

/* Opens dataset key, or else the first default present. Sets *found = 0
 * without error when nothing matches and the array is optional. */
static bk_status open_array(h5_array *a, const char *key, const char *const *defaults,
                            const char *opt_name, int required, int *found)
{
    *found = 0;
    const char *pick = NULL;
    if (key) {
        if (H5Lexists(a->file, key, H5P_DEFAULT) > 0) pick = key;
    } else {
        for (int i = 0; defaults[i] && !pick; i++)
            if (H5Lexists(a->file, defaults[i], H5P_DEFAULT) > 0) pick = defaults[i];
    }
    if (!pick) {
        if (!required) return BK_OK;
        char names[512] = "";
        H5Literate(a->file, H5_INDEX_NAME, H5_ITER_INC, NULL, add_name, names);
        if (key)
            return bk_error(BK_ERR_INVALID, "%s: no dataset \"%s\" (the file holds: %s); "
                            "set %s to one of those", a->path, key, names[0] ? names : "nothing", opt_name);
        return bk_error(BK_ERR_INVALID, "%s: none of the default datasets (\"%s\", \"%s\", \"%s\", \"%s\") "
                        "is there (the file holds: %s); set %s to the dataset to use", a->path, defaults[0], defaults[1],
                        defaults[2], defaults[3], names[0] ? names : "nothing", opt_name);
    }
    snprintf(a->name, sizeof a->name, "%s", pick);
    char why[256];
    a->dset = H5Dopen2(a->file, pick, H5P_DEFAULT);
    if (a->dset < 0)
        return bk_error(BK_ERR_INVALID, "%s: \"%s\" is not a dataset (%s); set %s to a dataset",
                        a->path, pick, h5_reason(why), opt_name);
    hid_t type = H5Dget_type(a->dset);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: dataset \"%s\" is not numeric; store numbers "
                        "(any integer or float type)", a->path, pick);
    hid_t space = H5Dget_space(a->dset);
    a->rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (a->rank > 0 && a->rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space, a->dims, NULL);
    if (space >= 0) H5Sclose(space);
    if (a->rank < 0)
        return bk_error(BK_ERR_IO, "%s: cannot read the shape of \"%s\" (%s)", a->path, pick, h5_reason(why));
    *found = 1;
    return BK_OK;
}

/* Reads rows [start, start+len) as float32 into buf. */
static bk_status read_rows(const h5_array *a, hsize_t start, hsize_t len, float *buf)
{
    if (len == 0 || a->row == 0) return BK_OK;
    hsize_t off[H5S_MAX_RANK] = {0}, cnt[H5S_MAX_RANK];
    memcpy(cnt, a->dims, sizeof cnt);
    off[0] = start;
    cnt[0] = len;
    hid_t fs = H5Dget_space(a->dset), ms = H5Screate_simple(a->rank, cnt, NULL);
    herr_t r = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0)
        r = H5Dread(a->dset, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf);
    char why[256];
    bk_status st = BK_OK;
    if (r < 0)
        st = bk_error(BK_ERR_IO, "%s: reading rows %llu..%llu of \"%s\" failed (%s); "
                      "the file may be truncated or corrupt", a->path, (unsigned long long)start,
                      (unsigned long long)(start + len - 1), a->name, h5_reason(why));
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    return st;
}

typedef struct { int64_t idx, pos; } req;

static int req_cmp(const void *a, const void *b)
{
    int64_t x = ((const req *)a)->idx, y = ((const req *)b)->idx;
    return (x > y) - (x < y);
}

/* Reads the sorted requests' distinct rows in contiguous runs (one
 * hyperslab each), then scatters them back into the asked-for order. */
static bk_status gather(const h5_array *a, const req *r, int64_t n, float *out)
{
    size_t rb = (size_t)a->row * sizeof(float);
    int64_t uniq = 0;
    for (int64_t i = 0; i < n; i++) uniq += i == 0 || r[i].idx != r[i - 1].idx;
    float *tmp = malloc(uniq && rb ? (size_t)uniq * rb : 1);
    if (!tmp) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld rows", a->path, (long long)uniq);
    bk_status st = BK_OK;
    int64_t u = 0, run_start = 0; /* run_start: tmp row of the run's first row */
    for (int64_t i = 0; i < n && !st; i++) {
        if (i > 0 && r[i].idx == r[i - 1].idx) continue;
        int64_t next = i + 1;
        while (next < n && r[next].idx == r[i].idx) next++;
        u++;
        if (next == n || r[next].idx != r[i].idx + 1) {
            int64_t first = r[i].idx - (u - 1 - run_start);
            st = read_rows(a, (hsize_t)first, (hsize_t)(u - run_start), tmp + run_start * a->row);
            run_start = u;
        }
    }
    for (int64_t i = 0, k = -1; i < n && !st; i++) {
        if (i == 0 || r[i].idx != r[i - 1].idx) k++;
        memcpy(out + r[i].pos * a->row, tmp + k * a->row, rb);
    }
    free(tmp);
    return st;
}

static bk_status h5_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    h5_impl *m = ds->impl;
    req *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld indices", ds->name, (long long)n);
    bk_status st = BK_OK;
    for (int64_t i = 0; i < n && !st; i++) {
        if (idx[i] < 0 || idx[i] >= ds->count) st = bk_data_bad_index(ds, idx[i]);
        r[i].idx = idx[i];
        r[i].pos = i;
    }
    if (!st) {
        qsort(r, (size_t)n, sizeof *r, req_cmp);
        bk_h5_lock();
        st = gather(&m->x, r, n, x);
        if (!st && y && m->has_y) st = gather(&m->y, r, n, y);
        bk_h5_unlock();
    }
    free(r);
    return st;
}

static void impl_free(h5_impl *m)
{
    if (!m) return;
    bk_h5_lock();
    array_close(&m->y, m->x.file);
    array_close(&m->x, H5I_INVALID_HID);
    bk_h5_unlock();
    free(m);
}

static void h5_destroy(bk_dataset *ds)
{
    impl_free(ds->impl);
    free(ds);
}

/* Fills m from the options; on failure the caller closes what was opened. */
static bk_status h5_setup(h5_impl *m, const bk_data_options *opt, bk_shape *xs, bk_shape *ys)
{
    int found;
    snprintf(m->x.path, sizeof m->x.path, "%s", opt->input_path);
    snprintf(m->y.path, sizeof m->y.path, "%s", opt->target_path ? opt->target_path : opt->input_path);
    bk_status st = open_file(&m->x.file, m->x.path);
    if (st) return st;
    if ((st = open_array(&m->x, opt->input_key, input_defaults, "input_key", 1, &found))) return st;
    if (opt->target_path) st = open_file(&m->y.file, m->y.path);
    else m->y.file = m->x.file;
    if (st) return st;
    int need_y = opt->target_path || opt->target_key;
    if ((st = open_array(&m->y, opt->target_key, target_defaults, "target_key", need_y, &m->has_y)))
        return st;

    int64_t d[H5S_MAX_RANK];
    for (int i = 0; i < m->x.rank; i++) d[i] = (int64_t)m->x.dims[i];
    if ((st = bk_data_sample_shape(xs, m->x.rank, d, 0, m->x.path))) return st;
    m->x.row = bk_shape_numel(xs);
    if (!m->has_y) return BK_OK;
    for (int i = 0; i < m->y.rank; i++) d[i] = (int64_t)m->y.dims[i];
    if ((st = bk_data_sample_shape(ys, m->y.rank, d, 1, m->y.path))) return st;
    m->y.row = bk_shape_numel(ys);
    if (m->x.dims[0] != m->y.dims[0])
        return bk_error(BK_ERR_SHAPE, "%s: dataset \"%s\" has %llu samples along axis 0 but \"%s\" in %s "
                        "has %llu; both must have the same count", m->x.path, m->x.name,
                        (unsigned long long)m->x.dims[0], m->y.name, m->y.path,
                        (unsigned long long)m->y.dims[0]);
    return BK_OK;
}

static bk_status preload(bk_dataset **out, h5_impl *m, const char *name, const bk_shape *xs,
                         const bk_shape *ys)
{
    int64_t count = (int64_t)m->x.dims[0];
    if (!bk_data_size_ok(count, m->x.row, sizeof(float)) ||
        (m->has_y && !bk_data_size_ok(count, m->y.row, sizeof(float))))
        return bk_error(BK_ERR_NOMEM, "%s: too large to preload; open it with preload=0", name);
    size_t xb = (size_t)count * (size_t)m->x.row * sizeof(float);
    size_t yb = m->has_y ? (size_t)count * (size_t)m->y.row * sizeof(float) : 0;
    float *x = malloc(xb ? xb : 1), *y = m->has_y ? malloc(yb ? yb : 1) : NULL;
    bk_status st = BK_OK;
    if (!x || (m->has_y && !y))
        st = bk_error(BK_ERR_NOMEM, "%s: out of memory preloading %zu bytes; open it with preload=0",
                      name, xb + yb);
    if (!st) st = read_rows(&m->x, 0, (hsize_t)count, x);
    if (!st && y) st = read_rows(&m->y, 0, (hsize_t)count, y);
    if (st) {
        free(x);
        free(y);
        return st;
    }
    return bk_data_from_floats(out, name, count, xs, x, ys, y);
}

/* Both sides as arrays with samples along axis 0, in one dataset. */
static bk_status open_arrays(bk_dataset **out, const bk_data_options *opt)
{
    h5_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "hdf5: out of memory");
    m->x.file = m->x.dset = m->y.file = m->y.dset = H5I_INVALID_HID;
    char name[256];
    if (opt->target_path) snprintf(name, sizeof name, "%.120s + %.120s", opt->input_path, opt->target_path);
    else snprintf(name, sizeof name, "%s", opt->input_path);

    bk_shape xs, ys = bk_shape_make(0, NULL);
    bk_h5_lock();
    bk_status st = h5_setup(m, opt, &xs, &ys);
    if (!st && opt->preload) st = preload(out, m, name, &xs, m->has_y ? &ys : NULL);
    bk_h5_unlock();
    if (st || opt->preload) {
        impl_free(m);
        return st;
    }
    bk_dataset *ds = bk_data_alloc("%s", name);
    if (!ds) {
        impl_free(m);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory", name);
    }
    ds->count = (int64_t)m->x.dims[0];
    ds->input_shape = xs;
    ds->target_shape = ys;
    ds->has_targets = m->has_y;
    ds->read = h5_read;
    ds->destroy = h5_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}

/* Which form one side of path takes. *per_sample = 1: one sample per
 * dataset below group `pick` ("/" for the file: no key, none of the
 * default names of either side, and at least two datasets; or a key that
 * names a group). Else the array form: pick is the dataset (key or the
 * first default present), or "" when none is, left for open_array to
 * report. */
static bk_status h5_form(const char *path, const char *key, const char *const *defaults,
                         const char *const *other, int *per_sample, char *pick, size_t len)
{
    *per_sample = 0;
    pick[0] = 0;
    hid_t f;
    bk_h5_lock();
    bk_status st = open_file(&f, path);
    if (st) {
        bk_h5_unlock();
        return st;
    }
    if (key) {
        *per_sample = bk_h5_kind(f, key) == 1;
        snprintf(pick, len, "%s", key);
    } else {
        for (int i = 0; defaults[i] && !pick[0]; i++)
            if (H5Lexists(f, defaults[i], H5P_DEFAULT) > 0) snprintf(pick, len, "%s", defaults[i]);
        int any_other = 0;
        for (int i = 0; other && other[i]; i++) any_other |= H5Lexists(f, other[i], H5P_DEFAULT) > 0;
        if (!pick[0] && !any_other) {
            char **list;
            int64_t n;
            st = bk_h5_list_datasets(f, "/", path, &list, &n);
            if (!st) bk_h5_free_list(list, n);
            if (!st && n >= 2) {
                *per_sample = 1;
                snprintf(pick, len, "/");
            }
        }
    }
    H5Fclose(f);
    bk_h5_unlock();
    return st;
}

/* One side (inputs or targets) as a dataset of its own, in either form. */
static bk_status open_side(bk_dataset **out, const char *path, const char *pick, int is_target, int per_sample,
                           int preload)
{
    if (per_sample) return bk_data_h5_samples(out, path, pick, is_target, preload);
    return bk_data_hdf5_array(out, path, pick, is_target, preload);
}

bk_status bk_dataset_open_hdf5(bk_dataset **out, const bk_data_options *opt)
{
    *out = NULL;
    if (!opt || !opt->input_path)
        return bk_error(BK_ERR_INVALID, "hdf5: input_path is not set; name a .h5 file");
    char xpick[1024], ypick[1024] = "";
    int x_ps, y_ps = 0;
    bk_status st = h5_form(opt->input_path, opt->input_key, input_defaults, target_defaults, &x_ps, xpick,
                           sizeof xpick);
    if (!st && opt->target_path)
        st = h5_form(opt->target_path, opt->target_key, target_defaults, NULL, &y_ps, ypick, sizeof ypick);
    if (st) return st;
    /* an input array not found: the array form's open says so, listing the file */
    if ((!x_ps && !y_ps) || (!x_ps && !xpick[0])) return open_arrays(out, opt);
    /* targets next to per-sample inputs only when named: any other
     * dataset of the file is a sample */
    const char *ypath = opt->target_path ? opt->target_path : opt->target_key ? opt->input_path : NULL;
    if (!opt->target_path && opt->target_key) {
        st = h5_form(opt->input_path, opt->target_key, target_defaults, NULL, &y_ps, ypick, sizeof ypick);
        if (st) return st;
    }
    if (!y_ps && ypath && !ypick[0])
        return bk_error(BK_ERR_INVALID, "%s: none of the default target datasets (\"%s\", \"%s\", \"%s\", "
                        "\"%s\") is there; set target_key to the dataset (or group of per-sample datasets) to use",
                        ypath, target_defaults[0], target_defaults[1], target_defaults[2], target_defaults[3]);
    bk_dataset *x = NULL, *y = NULL;
    st = open_side(&x, opt->input_path, xpick, 0, x_ps, opt->preload);
    if (!st && ypath) st = open_side(&y, ypath, ypick, 1, y_ps, opt->preload);
    if (st || !y) {
        bk_dataset_destroy(y);
        if (st) bk_dataset_destroy(x);
        else *out = x;
        return st;
    }
    return bk_data_pair(out, x, y, "; an HDF5 file without the default dataset names holds one sample per "
                        "dataset: to read a dataset with samples along axis 0, name it with input_key / target_key");
}

bk_status bk_data_hdf5_array(bk_dataset **out, const char *path, const char *key, int is_target, int load_all)
{
    *out = NULL;
    h5_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "hdf5: out of memory");
    m->x.file = m->x.dset = m->y.file = m->y.dset = H5I_INVALID_HID;
    snprintf(m->x.path, sizeof m->x.path, "%s", path);
    char name[256];
    snprintf(name, sizeof name, "%.200s:%.50s", path, key);
    bk_shape xs;
    int found;
    const char *opt = is_target ? "target_key" : "input_key";
    bk_h5_lock();
    bk_status st = open_file(&m->x.file, path);
    if (!st) st = open_array(&m->x, key, NULL, opt, 1, &found);
    int64_t d[H5S_MAX_RANK];
    for (int i = 0; !st && i < m->x.rank; i++) d[i] = (int64_t)m->x.dims[i];
    if (!st) st = bk_data_sample_shape(&xs, m->x.rank, d, is_target, name);
    if (!st) m->x.row = bk_shape_numel(&xs);
    if (!st && load_all) st = preload(out, m, name, &xs, NULL);
    bk_h5_unlock();
    if (st || load_all) {
        impl_free(m);
        return st;
    }
    bk_dataset *ds = bk_data_alloc("%s", name);
    if (!ds) {
        impl_free(m);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory", name);
    }
    ds->count = (int64_t)m->x.dims[0];
    ds->input_shape = xs;
    ds->read = h5_read;
    ds->destroy = h5_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
