#include "h5out.h"
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    hid_t dset, space;
    int rank;
    hsize_t dims[BK_MAX_DIMS + 1];
} h5out_set;

struct bk_h5out {
    hid_t file;
    int n;
    h5out_set set[BK_H5OUT_MAX];
    char path[1024], tmp[1100];
};

bk_status bk_h5out_open(bk_h5out **out, const char *path, int n, const char *const *names, int64_t count,
                        const bk_shape *samples)
{
    *out = NULL;
    if (n < 1 || n > BK_H5OUT_MAX)
        return bk_error(BK_ERR_INVALID, "%s: %d outputs to write; 1 to %d are supported", path, n, BK_H5OUT_MAX);
    bk_h5out *h = calloc(1, sizeof *h);
    if (!h) return bk_error(BK_ERR_NOMEM, "out of memory");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(h->path, sizeof h->path, "%s", path);
    snprintf(h->tmp, sizeof h->tmp, "%s.tmp.%ld", path, (long)getpid());
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) {
        free(h);
        return bk_error(BK_ERR_IO, "%s: cannot create the predictions file; check that the folder exists and is writable", path);
    }
    for (int k = 0; k < n; k++) {
        h5out_set *s = &h->set[k];
        s->rank = samples[k].ndim + 1;
        s->dims[0] = (hsize_t)count;
        for (int i = 0; i < samples[k].ndim; i++) s->dims[i + 1] = (hsize_t)samples[k].dims[i];
        s->space = H5Screate_simple(s->rank, s->dims, NULL);
        s->dset = s->space < 0 ? -1 : H5Dcreate2(h->file, names[k], H5T_NATIVE_FLOAT, s->space, H5P_DEFAULT,
                                                 H5P_DEFAULT, H5P_DEFAULT);
        h->n = k + 1;
        if (s->space < 0 || s->dset < 0) {
            bk_h5out_close(h, 0);
            return bk_error(BK_ERR_IO, "%s: cannot create dataset \"%s\"", path, names[k]);
        }
    }
    *out = h;
    return BK_OK;
}

bk_status bk_h5out_write(bk_h5out *h, int k, int64_t first, int64_t rows, const float *data)
{
    h5out_set *s = &h->set[k];
    hsize_t start[BK_MAX_DIMS + 1] = {(hsize_t)first}, cnt[BK_MAX_DIMS + 1];
    cnt[0] = (hsize_t)rows;
    for (int i = 1; i < s->rank; i++) cnt[i] = s->dims[i];
    hid_t mem = H5Screate_simple(s->rank, cnt, NULL);
    herr_t e = H5Sselect_hyperslab(s->space, H5S_SELECT_SET, start, NULL, cnt, NULL);
    if (e >= 0) e = H5Dwrite(s->dset, H5T_NATIVE_FLOAT, mem, s->space, H5P_DEFAULT, data);
    H5Sclose(mem);
    return e < 0 ? bk_error(BK_ERR_IO, "%s: writing predictions failed (disk full?)", h->path) : BK_OK;
}

bk_status bk_h5out_close(bk_h5out *h, int commit)
{
    if (!h) return BK_OK;
    bk_status st = BK_OK;
    for (int k = 0; k < h->n; k++) {
        if (h->set[k].dset >= 0) H5Dclose(h->set[k].dset);
        if (h->set[k].space >= 0) H5Sclose(h->set[k].space);
    }
    if (h->file >= 0) {
        if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) st = bk_error(BK_ERR_IO, "%s: flush failed", h->path);
        H5Fclose(h->file);
    }
    if (commit && !st && rename(h->tmp, h->path) != 0)
        st = bk_error(BK_ERR_IO, "%s: cannot move the finished file into place", h->path);
    if (!commit || st) unlink(h->tmp);
    free(h);
    return st;
}
