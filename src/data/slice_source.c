/* The one big array slicers cut samples from: an HDF5 dataset, read whole
 * (preload) or one slice's box at a time through a hyperslab, so a volume
 * larger than memory can be sliced; or a numpy array, read whole. */
#include "h5_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const input_defaults[] = {"input", "x", "data", "images", NULL};
static const char *const target_defaults[] = {"target", "y", "label", "labels", NULL};

struct bk_slice_src {
    bk_slice_src_info info;
    float *data;          /* whole array, or NULL */
    hid_t file, dset;     /* open while reading box by box */
    char path[1024];
};

const bk_slice_src_info *bk_slice_src_info_of(const bk_slice_src *s) { return &s->info; }

const float *bk_slice_src_data(const bk_slice_src *s) { return s->data; }

void bk_slice_src_close(bk_slice_src *s)
{
    if (!s) return;
    if (s->dset >= 0 || s->file >= 0) {
        bk_h5_lock();
        if (s->dset >= 0) H5Dclose(s->dset);
        if (s->file >= 0) H5Fclose(s->file);
        bk_h5_unlock();
    }
    free(s->data);
    free(s);
}

/* Channel axis or not, from the rank the slicers imply. */
static bk_status set_geometry(bk_slice_src *s, int n_axes)
{
    bk_slice_src_info *in = &s->info;
    if (in->rank != n_axes && in->rank != n_axes + 1) {
        char shape[128];
        size_t used = 0;
        for (int i = 0; i < in->rank && used < sizeof shape; i++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%lld", i ? ", " : "", (long long)in->dims[i]);
        return bk_error(BK_ERR_SHAPE, "%s: the %s has %d dims [%s] but the slicers have %d entries per list: the "
                        "array to slice must have %d geometric dims, channel-first with a leading channel axis (%d dims) "
                        "or without one (%d dims)", s->path, in->what, in->rank, in->rank ? shape : "", n_axes, n_axes,
                        n_axes + 1, n_axes);
    }
    in->channel_axis = in->rank == n_axes + 1;
    in->channels = in->channel_axis ? in->dims[0] : 1;
    for (int k = 0; k < 3; k++) in->geom[k] = k < n_axes ? in->dims[k + in->channel_axis] : 1;
    return BK_OK;
}

static bk_status open_numpy(bk_slice_src *s, const char *key, int is_target)
{
    int npz;
    bk_status st = bk_npy_is_npz(s->path, &npz);
    if (st) return st;
    bk_npy_array a;
    if (!npz) {
        if (key)
            return bk_error(BK_ERR_INVALID, "%s: %s names an array of an .npz, but this is a .npy file: remove it",
                            s->path, is_target ? "target_key" : "input_key");
        st = bk_npy_read(s->path, &a, 0);
        snprintf(s->info.what, sizeof s->info.what, "array from NumPy file: %s", s->path);
    } else {
        bk_npz *z;
        if ((st = bk_npz_open(&z, s->path))) return st;
        int64_t i = key ? bk_npz_find(z, key) : bk_npz_count(z) == 1 ? 0 : bk_npz_find(z, is_target ? "y" : "x");
        if (i < 0)
            st = bk_error(BK_ERR_INVALID, "%s: %s%s%s; name the array to slice with %s", s->path,
                          key ? "no array \"" : "several arrays and none named \"", key ? key : is_target ? "y" : "x",
                          "\" in the archive", is_target ? "target_key" : "input_key");
        if (!st) st = bk_npz_read(z, i, &a, 0);
        if (!st) snprintf(s->info.what, sizeof s->info.what, "array '%s' from NumPy file: %s", bk_npz_name(z, i), s->path);
        bk_npz_close(z);
    }
    if (st) return st;
    if (a.ndim > 4) {
        free(a.data);
        return bk_error(BK_ERR_SHAPE, "%s: the array has %d dims; slicers cut arrays of 1 to 3 geometric dims and "
                        "a channel axis", s->path, a.ndim);
    }
    s->data = a.data;
    s->info.rank = a.ndim;
    for (int i = 0; i < a.ndim; i++) s->info.dims[i] = a.dims[i];
    return BK_OK;
}

/* Opens the dataset; with preload reads all of it. Lock held. */
static bk_status open_hdf5(bk_slice_src *s, const char *key, int is_target, int preload)
{
    bk_status st = bk_h5_open_file(&s->file, s->path);
    if (st) return st;
    const char *const *defaults = is_target ? target_defaults : input_defaults;
    const char *pick = key;
    for (int i = 0; !pick && defaults[i]; i++)
        if (H5Lexists(s->file, defaults[i], H5P_DEFAULT) > 0) pick = defaults[i];
    const char *opt = is_target ? "target_key" : "input_key";
    if (!pick)
        return bk_error(BK_ERR_INVALID, "%s: none of the default datasets (\"%s\", \"%s\", \"%s\", \"%s\") is there; "
                        "set %s to the dataset to slice", s->path, defaults[0], defaults[1], defaults[2], defaults[3], opt);
    if (bk_h5_kind(s->file, pick) != 0)
        return bk_error(BK_ERR_INVALID, "%s: no dataset \"%s\"; set %s to the dataset to slice", s->path, pick, opt);
    snprintf(s->info.what, sizeof s->info.what, "dataset '%s' from HDF5 file: %s", pick, s->path);
    char why[256];
    s->dset = H5Dopen2(s->file, pick, H5P_DEFAULT);
    if (s->dset < 0) return bk_error(BK_ERR_IO, "%s: cannot open \"%s\" (%s)", s->path, pick, bk_h5_reason(why));
    hid_t type = H5Dget_type(s->dset);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: dataset \"%s\" is not numeric", s->path, pick);
    hid_t sp = H5Dget_space(s->dset);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t d[H5S_MAX_RANK];
    if (rank >= 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(sp, d, NULL);
    if (sp >= 0) H5Sclose(sp);
    if (rank < 0 || rank > 4)
        return bk_error(BK_ERR_SHAPE, "%s: dataset \"%s\" has %d dims; slicers cut arrays of 1 to 3 geometric dims "
                        "and a channel axis", s->path, pick, rank);
    s->info.rank = rank;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= (s->info.dims[i] = (int64_t)d[i]);
    if (!preload) return BK_OK;
    if (!bk_data_size_ok(n, 1, sizeof(float)) || !(s->data = malloc(n ? (size_t)n * sizeof(float) : 1)))
        return bk_error(BK_ERR_NOMEM, "%s: out of memory reading \"%s\" (%lld values); set preload to false to read "
                        "one slice at a time", s->path, pick, (long long)n);
    if (n && H5Dread(s->dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->data) < 0)
        return bk_error(BK_ERR_IO, "%s: reading \"%s\" failed (%s)", s->path, pick, bk_h5_reason(why));
    H5Dclose(s->dset);
    H5Fclose(s->file);
    s->dset = s->file = H5I_INVALID_HID;
    return BK_OK;
}

bk_status bk_slice_src_open(bk_slice_src **out, const char *path, const char *key, int hdf5, int is_target,
                            int n_axes, int preload)
{
    *out = NULL;
    bk_slice_src *s = calloc(1, sizeof *s);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory");
    s->file = s->dset = H5I_INVALID_HID;
    snprintf(s->path, sizeof s->path, "%s", path);
    bk_status st;
    if (hdf5) {
        bk_h5_lock();
        st = open_hdf5(s, key, is_target, preload);
        bk_h5_unlock();
    } else {
        st = open_numpy(s, key, is_target);
    }
    if (!st) st = set_geometry(s, n_axes);
    if (st) {
        bk_slice_src_close(s);
        return st;
    }
    *out = s;
    return BK_OK;
}

bk_status bk_slice_src_read(bk_slice_src *s, const int64_t *o, const int64_t *e, float *out)
{
    const bk_slice_src_info *in = &s->info;
    int64_t C = in->channels, G0 = in->geom[0], G1 = in->geom[1], G2 = in->geom[2];
    if (s->data) {
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < e[0]; i++)
                for (int64_t j = 0; j < e[1]; j++)
                    memcpy(out + ((c * e[0] + i) * e[1] + j) * e[2],
                           s->data + ((c * G0 + o[0] + i) * G1 + o[1] + j) * G2 + o[2], (size_t)e[2] * sizeof(float));
        return BK_OK;
    }
    /* the stored array's own axes: [C?] + the geometric ones */
    hsize_t off[4], cnt[4];
    int r = 0;
    if (in->channel_axis) {
        off[r] = 0;
        cnt[r++] = (hsize_t)C;
    }
    for (int k = 0; r < in->rank; k++, r++) {
        off[r] = (hsize_t)o[k];
        cnt[r] = (hsize_t)e[k];
    }
    bk_h5_lock();
    hid_t fs = H5Dget_space(s->dset), ms = H5Screate_simple(in->rank, cnt, NULL);
    herr_t ok = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0)
        ok = H5Dread(s->dset, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    char why[256];
    bk_status st = ok < 0 ? bk_error(BK_ERR_IO, "%s: reading a slice of the %s failed (%s)", s->path, in->what,
                                     bk_h5_reason(why)) : BK_OK;
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    bk_h5_unlock();
    return st;
}
