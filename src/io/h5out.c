#include "h5out.h"
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct bk_h5out {
    hid_t file, dset, space;
    int rank;
    hsize_t dims[BK_MAX_DIMS + 1];
    char path[1024], tmp[1100];
};

bk_status bk_h5out_open(bk_h5out **out, const char *path, const char *name, int64_t count, const bk_shape *sample)
{
    *out = NULL;
    bk_h5out *h = calloc(1, sizeof *h);
    if (!h) return bk_error(BK_ERR_NOMEM, "out of memory");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(h->path, sizeof h->path, "%s", path);
    snprintf(h->tmp, sizeof h->tmp, "%s.tmp.%ld", path, (long)getpid());
    h->rank = sample->ndim + 1;
    h->dims[0] = (hsize_t)count;
    for (int i = 0; i < sample->ndim; i++) h->dims[i + 1] = (hsize_t)sample->dims[i];
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) {
        free(h);
        return bk_error(BK_ERR_IO, "%s: cannot create the predictions file; check that the folder exists and is writable", path);
    }
    h->space = H5Screate_simple(h->rank, h->dims, NULL);
    h->dset = H5Dcreate2(h->file, name, H5T_NATIVE_FLOAT, h->space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (h->space < 0 || h->dset < 0) {
        bk_h5out_close(h, 0);
        return bk_error(BK_ERR_IO, "%s: cannot create dataset \"%s\"", path, name);
    }
    *out = h;
    return BK_OK;
}

bk_status bk_h5out_write(bk_h5out *h, int64_t first, int64_t n, const float *data)
{
    hsize_t start[BK_MAX_DIMS + 1] = {(hsize_t)first}, cnt[BK_MAX_DIMS + 1];
    cnt[0] = (hsize_t)n;
    for (int i = 1; i < h->rank; i++) cnt[i] = h->dims[i];
    hid_t mem = H5Screate_simple(h->rank, cnt, NULL);
    herr_t e = H5Sselect_hyperslab(h->space, H5S_SELECT_SET, start, NULL, cnt, NULL);
    if (e >= 0) e = H5Dwrite(h->dset, H5T_NATIVE_FLOAT, mem, h->space, H5P_DEFAULT, data);
    H5Sclose(mem);
    return e < 0 ? bk_error(BK_ERR_IO, "%s: writing predictions failed (disk full?)", h->path) : BK_OK;
}

bk_status bk_h5out_close(bk_h5out *h, int commit)
{
    if (!h) return BK_OK;
    bk_status st = BK_OK;
    if (h->dset >= 0) H5Dclose(h->dset);
    if (h->space >= 0) H5Sclose(h->space);
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
