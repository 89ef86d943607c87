#include "h5out.h"
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

typedef struct {
    hid_t dset, space;
    int rank;
    hsize_t dims[BK_MAX_DIMS + 1];
} h5out_set;

struct bk_h5out {
    hid_t file;
    hid_t half;      /* the binary16 file type, made on first use */
    int n;
    h5out_set set[BK_H5OUT_MAX];
    char path[1024], tmp[1100];
};

/* The temporary file alone; datasets come later. */
static bk_status create_tmp(bk_h5out **out, const char *path)
{
    *out = NULL;
    bk_h5out *h = calloc(1, sizeof *h);
    if (!h) return bk_error(BK_ERR_NOMEM, "out of memory");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(h->path, sizeof h->path, "%s", path);
    snprintf(h->tmp, sizeof h->tmp, "%s.tmp.%ld", path, (long)getpid());
    h->half = -1;
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) {
        free(h);
        return bk_error(BK_ERR_IO, "%s: cannot create the predictions file; check that the folder exists and is writable", path);
    }
    *out = h;
    return BK_OK;
}

bk_status bk_h5out_create(bk_h5out **out, const char *path) { return create_tmp(out, path); }

uint16_t bk_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7fffffff;
    if (a > 0x7f800000) return (uint16_t)(sign | 0x7e00);          /* NaN stays NaN */
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00);         /* >= 65520 rounds to inf */
    if (a >= 0x38800000) {                                          /* normal: >= 2^-14 */
        uint32_t r = a - (112u << 23);                              /* exponent bias 127 -> 15 */
        r += 0xfff + ((r >> 13) & 1);                               /* round to nearest even */
        return (uint16_t)(sign | (r >> 13));
    }
    uint32_t e = a >> 23;
    if (e < 102) return sign;                                       /* below half the smallest subnormal */
    uint32_t m = (a & 0x7fffff) | 0x800000, s = 126 - e;            /* value = m * 2^(e-150) = q * 2^-24 */
    uint32_t q = m >> s, rem = m & ((1u << s) - 1), halfway = 1u << (s - 1);
    if (rem > halfway || (rem == halfway && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

/* HDF5 1.10 has no predefined half type: a copy of IEEE float32 cut to
 * 1 sign, 5 exponent (bias 15) and 10 mantissa bits, the layout h5py maps
 * to numpy.float16. */
static hid_t half_type(bk_h5out *h)
{
    if (h->half >= 0) return h->half;
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return -1;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    h->half = t;
    return t;
}

bk_status bk_h5out_put(bk_h5out *h, const char *name, const bk_shape *s, const float *data, int half)
{
    hsize_t dims[BK_MAX_DIMS];
    for (int i = 0; i < s->ndim; i++) dims[i] = (hsize_t)s->dims[i];
    int64_t n = bk_shape_numel(s);
    uint16_t *bits = NULL;
    if (half) {
        bits = malloc((size_t)(n ? n : 1) * sizeof *bits);
        if (!bits) return bk_error(BK_ERR_NOMEM, "%s: out of memory converting \"%s\" to half precision", h->path, name);
        for (int64_t i = 0; i < n; i++) bits[i] = bk_float_to_half(data[i]);
    }
    hid_t ht = half ? half_type(h) : -1;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t sp = s->ndim ? H5Screate_simple(s->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    herr_t e = lcpl >= 0 && sp >= 0 && (!half || ht >= 0) ? H5Pset_create_intermediate_group(lcpl, 1) : -1;
    int exists = e >= 0 && H5Lexists(h->file, name, H5P_DEFAULT) > 0;
    hid_t d = e >= 0 && !exists ? H5Dcreate2(h->file, name, half ? ht : H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT,
                                             H5P_DEFAULT) : -1;
    /* the half values are already converted: written as they are */
    if (d >= 0) e = H5Dwrite(d, half ? ht : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, half ? (void *)bits
                             : (const void *)data);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (lcpl >= 0) H5Pclose(lcpl);
    free(bits);
    if (exists)
        return bk_error(BK_ERR_INVALID, "%s: two outputs would both be named \"%s\"; every sample needs its own name",
                        h->path, name);
    if (d < 0) return bk_error(BK_ERR_IO, "%s: cannot create dataset \"%s\" (a sample name that is also a group?)",
                               h->path, name);
    return e < 0 ? bk_error(BK_ERR_IO, "%s: writing \"%s\" failed (disk full?)", h->path, name) : BK_OK;
}

bk_status bk_h5out_open(bk_h5out **out, const char *path, int n, const char *const *names, int64_t count,
                        const bk_shape *samples)
{
    *out = NULL;
    if (n < 1 || n > BK_H5OUT_MAX)
        return bk_error(BK_ERR_INVALID, "%s: %d outputs to write; 1 to %d are supported", path, n, BK_H5OUT_MAX);
    bk_h5out *h;
    bk_status st = create_tmp(&h, path);
    if (st) return st;
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
    if (h->half >= 0) H5Tclose(h->half);
    if (h->file >= 0) {
        if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) st = bk_error(BK_ERR_IO, "%s: flush failed", h->path);
        if (H5Fclose(h->file) < 0 && !st) st = bk_error(BK_ERR_IO, "%s: closing the file failed (disk full?)", h->path);
    }
    /* on disk before it takes the name, so a crash leaves the old file or the whole new one */
    int fd = commit && !st ? open(h->tmp, O_RDONLY) : -1;
    if (fd >= 0) {
        if (fsync(fd) != 0) st = bk_error(BK_ERR_IO, "%s: fsync failed (disk full?)", h->path);
        close(fd);
    }
    if (commit && !st && rename(h->tmp, h->path) != 0)
        st = bk_error(BK_ERR_IO, "%s: cannot move the finished file into place", h->path);
    if (!commit || st) unlink(h->tmp);
    free(h);
    return st;
}
