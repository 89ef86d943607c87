/* HDF5 files with one dataset per sample (the datasets below a group,
 * sorted by path), the HDF5 counterpart of a folder of .npy files. At open
 * only the shapes are read; values per batch, or all at open with preload. */
#include "h5_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t file;
    char path[1024];
    char group[1024];
    char **names;    /* relative to group: the samples' names */
    int64_t count;
    int64_t numel;   /* floats per sample */
    float *all;      /* preloaded, or NULL */
} h5s_impl;

static void impl_free(h5s_impl *m)
{
    if (!m) return;
    bk_h5_lock();
    if (m->file >= 0) H5Fclose(m->file);
    bk_h5_unlock();
    bk_h5_free_list(m->names, m->count);
    free(m->all);
    free(m);
}

/* The full path of sample i inside the file. */
static void full_name(const h5s_impl *m, int64_t i, char *buf, size_t len)
{
    if (!strcmp(m->group, "/")) snprintf(buf, len, "%s", m->names[i]);
    else snprintf(buf, len, "%s/%s", m->group, m->names[i]);
}

static void shape_text(int rank, const hsize_t *d, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, "%s)", rank == 1 ? "," : "");
}

/* Opens sample i's dataset and reads its shape; checks it is numeric. */
static bk_status open_sample(h5s_impl *m, int64_t i, hid_t *dset, int *rank, hsize_t *dims)
{
    char name[2048], why[256];
    full_name(m, i, name, sizeof name);
    *dset = H5Dopen2(m->file, name, H5P_DEFAULT);
    if (*dset < 0) return bk_error(BK_ERR_IO, "%s: cannot open dataset \"%s\" (%s)", m->path, name, bk_h5_reason(why));
    hid_t type = H5Dget_type(*dset);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    hid_t sp = H5Dget_space(*dset);
    *rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (*rank >= 0 && *rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0) H5Sclose(sp);
    bk_status st = BK_OK;
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        st = bk_error(BK_ERR_UNSUPPORTED, "%s: dataset \"%s\" is not numeric; every dataset of a file of per-sample "
                      "datasets is a sample: store numbers, or name the samples' group with input_key", m->path, name);
    else if (*rank < 0 || *rank > H5S_MAX_RANK)
        st = bk_error(BK_ERR_IO, "%s: cannot read the shape of \"%s\" (%s)", m->path, name, bk_h5_reason(why));
    if (st) H5Dclose(*dset);
    return st;
}

/* Reads sample i (all of its dataset) into out. Call with the lock held. */
static bk_status load_sample(h5s_impl *m, int64_t i, float *out)
{
    hid_t d;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    bk_status st = open_sample(m, i, &d, &rank, dims);
    if (st) return st;
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= (int64_t)dims[k];
    char why[256];
    if (n != m->numel)
        st = bk_error(BK_ERR_SHAPE, "%s: sample \"%s\" now holds %lld values, %lld when the data was opened; the "
                      "file changed during the run", m->path, m->names[i], (long long)n, (long long)m->numel);
    else if (n && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        st = bk_error(BK_ERR_IO, "%s: reading dataset \"%s\" failed (%s); the file may be truncated or corrupt",
                      m->path, m->names[i], bk_h5_reason(why));
    H5Dclose(d);
    return st;
}

static bk_status h5s_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    (void)y; /* a part: the caller pairs inputs and targets */
    h5s_impl *m = ds->impl;
    bk_status st = BK_OK;
    if (!m->all) bk_h5_lock();
    for (int64_t i = 0; i < n && !st; i++) {
        if (idx[i] < 0 || idx[i] >= ds->count) st = bk_data_bad_index(ds, idx[i]);
        else if (m->all) memcpy(x + i * m->numel, m->all + idx[i] * m->numel, (size_t)m->numel * sizeof(float));
        else st = load_sample(m, idx[i], x + i * m->numel);
    }
    if (!m->all) bk_h5_unlock();
    return st;
}

static bk_status h5s_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    h5s_impl *m = ds->impl;
    snprintf(buf, len, "%s", m->names[i]);
    return BK_OK;
}

static void h5s_destroy(bk_dataset *ds)
{
    impl_free(ds->impl);
    free(ds);
}

/* Lists the samples and checks their shapes; fills *s. Lock held. */
static bk_status setup(h5s_impl *m, int is_target, bk_shape *s)
{
    bk_status st = bk_h5_open_file(&m->file, m->path);
    if (st) return st;
    if (bk_h5_kind(m->file, m->group) != 1)
        return bk_error(BK_ERR_INVALID, "%s: \"%s\" is not a group", m->path, m->group);
    if ((st = bk_h5_list_datasets(m->file, m->group, m->path, &m->names, &m->count))) return st;
    if (m->count == 0)
        return bk_error(BK_ERR_INVALID, "%s: group \"%s\" holds no datasets; put one sample per dataset there",
                        m->path, m->group);
    int rank0 = 0;
    hsize_t d0[H5S_MAX_RANK];
    for (int64_t i = 0; i < m->count && !st; i++) {
        hid_t d;
        int rank;
        hsize_t dims[H5S_MAX_RANK];
        if ((st = open_sample(m, i, &d, &rank, dims))) break;
        H5Dclose(d);
        if (i == 0) {
            rank0 = rank;
            memcpy(d0, dims, sizeof d0);
            continue;
        }
        int same = rank == rank0;
        for (int k = 0; same && k < rank; k++) same = dims[k] == d0[k];
        if (!same) {
            char s1[128], s2[128];
            shape_text(rank, dims, s1, sizeof s1);
            shape_text(rank0, d0, s2, sizeof s2);
            st = bk_error(BK_ERR_SHAPE, "%s: dataset \"%s\" has shape %s but \"%s\", the first sample, has %s; every "
                          "dataset of a file of per-sample datasets is one sample and all must have one shape. If "
                          "this file holds arrays with samples along axis 0, name them with input_key / target_key",
                          m->path, m->names[i], s1, m->names[0], s2);
        }
    }
    if (st) return st;
    if (rank0 > BK_MAX_DIMS)
        return bk_error(BK_ERR_SHAPE, "%s: samples of %d dims, at most %d are supported", m->path, rank0, BK_MAX_DIMS);
    int64_t dims[BK_MAX_DIMS], one = 1;
    for (int k = 0; k < rank0; k++) dims[k] = (int64_t)d0[k];
    /* a 0-d sample: one feature as an input, a class index or scalar as a target */
    *s = rank0 == 0 && !is_target ? bk_shape_make(1, &one) : bk_shape_make(rank0, dims);
    m->numel = bk_shape_numel(s);
    return BK_OK;
}

bk_status bk_data_h5_samples(bk_dataset **out, const char *path, const char *group, int is_target, int preload)
{
    *out = NULL;
    h5s_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "out of memory");
    m->file = H5I_INVALID_HID;
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->group, sizeof m->group, "%s", group && group[0] ? group : "/");
    bk_shape s;
    bk_h5_lock();
    bk_status st = setup(m, is_target, &s);
    if (!st && preload && !bk_data_size_ok(m->count, m->numel, sizeof(float)))
        st = bk_error(BK_ERR_NOMEM, "%s: %lld samples of %lld values do not fit in memory; set preload to false",
                      path, (long long)m->count, (long long)m->numel);
    if (!st && preload) {
        m->all = malloc(m->count && m->numel ? (size_t)(m->count * m->numel) * sizeof(float) : 1);
        if (!m->all) st = bk_error(BK_ERR_NOMEM, "%s: out of memory preloading %lld samples; set preload to false",
                                   path, (long long)m->count);
        for (int64_t i = 0; i < m->count && !st; i++) st = load_sample(m, i, m->all + i * m->numel);
    }
    bk_h5_unlock();
    bk_dataset *ds = st ? NULL : bk_data_alloc("%s", path);
    if (!st && !ds) st = bk_error(BK_ERR_NOMEM, "out of memory");
    if (st) {
        impl_free(m);
        return st;
    }
    ds->count = m->count;
    ds->input_shape = s;
    ds->read = h5s_read;
    ds->sample_name = h5s_name;
    ds->destroy = h5s_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
