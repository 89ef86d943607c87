/* Keras weights files (HDF5): the layouts are described in keras_h5.h.
 * Only the structure is read on open; values are read per weight.
 * It does not take src/data/hdf5.c's lock (that serializes the loaders'
 * worker threads for HDF5 builds without thread-safety): weights are
 * loaded before a run creates any loader. */
#include "keras_h5.h"
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bk_keras_h5 {
    hid_t file;
    bk_keras_h5_layout layout;
    char path[1024];
    char version[32];
    int n_layers, cap;
    bk_keras_layer *layers;
};

/* A list of strings read from attributes or group listings. */
typedef struct {
    char **s;
    int n, cap;
} strlist;

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static bk_status strlist_push(strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **ns = realloc(l->s, (size_t)cap * sizeof *ns);
        if (!ns) return bk_error(BK_ERR_NOMEM, "out of memory");
        l->s = ns;
        l->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) return bk_error(BK_ERR_NOMEM, "out of memory");
    memcpy(c, s, len);
    c[len] = 0;
    l->s[l->n++] = c;
    return BK_OK;
}

/* HDF5 prints its error stack to stderr by default; brisk reports errors
 * itself (per thread in thread-safe builds, so set on every open). */
static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(data, 256, "%s", e->desc);
    return 0;
}

/* HDF5's own reason for the last failure, for appending to messages. */
static const char *h5_reason(char *buf)
{
    snprintf(buf, 256, "unknown HDF5 error");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, first_error, buf);
    return buf;
}

static int has_link(hid_t loc, const char *name)
{
    /* H5Lexists fails (negative) rather than saying 0 when a middle part
     * of a path is missing; either way it is not there */
    return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

static int has_group(hid_t loc, const char *name)
{
    if (!has_link(loc, name)) return 0;
    H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
    if (H5Oget_info_by_name3(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return 0;
#else
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return 0;
#endif
    return info.type == H5O_TYPE_GROUP;
}

/* Appends the strings of attribute `name` of obj to l. Keras writes them
 * as fixed-length byte strings (numpy 'S'), Keras 3 and h5py users also
 * as variable-length strings; an empty list is an empty float array
 * (np.asarray([])). *found = 0 when the attribute is absent. */
static bk_status read_attr_strings(const bk_keras_h5 *f, hid_t obj, const char *where, const char *name, strlist *l,
                                   int *found)
{
    *found = 0;
    if (H5Aexists(obj, name) <= 0) return BK_OK;
    *found = 1;
    char why[256];
    bk_status st = BK_OK;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (a < 0 || sp < 0 || ft < 0 || n < 0) {
        st = bk_error(BK_ERR_IO, "%s: cannot read attribute \"%s\" of %s (%s); the file may be corrupt", f->path, name,
                      where, h5_reason(why));
    } else if (H5Tget_class(ft) != H5T_STRING) {
        if (n > 0)
            st = bk_error(BK_ERR_INVALID, "%s: attribute \"%s\" of %s is not a list of strings; "
                          "not a Keras weights file", f->path, name, where);
    } else if (H5Tis_variable_str(ft) > 0) {
        char **buf = calloc((size_t)(n ? n : 1), sizeof *buf);
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (!buf || mt < 0) st = bk_error(BK_ERR_NOMEM, "out of memory");
        if (!st && (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, buf) < 0))
            st = bk_error(BK_ERR_IO, "%s: cannot read attribute \"%s\" of %s (%s)", f->path, name, where,
                          h5_reason(why));
        else
            for (hssize_t i = 0; i < n && !st; i++) st = strlist_push(l, buf[i] ? buf[i] : "", buf[i] ? strlen(buf[i]) : 0);
        if (buf && mt >= 0) {
#if H5_VERSION_GE(1, 12, 0)
            H5Treclaim(mt, sp, H5P_DEFAULT, buf);
#else
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
#endif
        }
        if (mt >= 0) H5Tclose(mt);
        free(buf);
    } else {
        /* NULLPAD in memory too: a NULLTERM memory type of the same size
         * would drop the last character of a full-length name */
        size_t sz = H5Tget_size(ft);
        char *buf = malloc((size_t)(n ? n : 1) * (sz ? sz : 1));
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (!buf || mt < 0 || !sz) st = bk_error(BK_ERR_NOMEM, "out of memory");
        if (!st && (H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 || H5Aread(a, mt, buf) < 0))
            st = bk_error(BK_ERR_IO, "%s: cannot read attribute \"%s\" of %s (%s)", f->path, name, where,
                          h5_reason(why));
        for (hssize_t i = 0; i < n && !st; i++) st = strlist_push(l, buf + i * sz, strnlen(buf + i * sz, sz));
        if (mt >= 0) H5Tclose(mt);
        free(buf);
    }
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return st;
}

/* A Keras attribute list: `name`, or its chunks name0, name1, ... */
static bk_status read_attr_list(const bk_keras_h5 *f, hid_t obj, const char *where, const char *name, strlist *l,
                                int *found)
{
    bk_status st = read_attr_strings(f, obj, where, name, l, found);
    for (int k = 0; !st && !*found; k++) {
        char chunk[80];
        int got;
        snprintf(chunk, sizeof chunk, "%s%d", name, k);
        st = read_attr_strings(f, obj, where, chunk, l, &got);
        if (!got) {
            *found = k > 0;
            break;
        }
    }
    return st;
}

/* out = a + sep + b; an error rather than a truncated path. */
static bk_status join(const bk_keras_h5 *f, char *out, size_t n, const char *a, const char *sep, const char *b)
{
    int len = snprintf(out, n, "%s%s%s", a, sep, b);
    if (len < 0 || (size_t)len >= n)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: the HDF5 path %s%s%s is longer than %zu characters", f->path, a, sep, b,
                        n - 1);
    return BK_OK;
}

static bk_status add_layer(bk_keras_h5 *f, const char *name, bk_keras_layer **out)
{
    if (f->n_layers == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        bk_keras_layer *nl = realloc(f->layers, (size_t)cap * sizeof *nl);
        if (!nl) return bk_error(BK_ERR_NOMEM, "out of memory");
        f->layers = nl;
        f->cap = cap;
    }
    bk_keras_layer *L = &f->layers[f->n_layers++];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", name);
    *out = L;
    return BK_OK;
}

/* Describes dataset `dset` (a path from the root) as weight w. */
static bk_status describe_weight(const bk_keras_h5 *f, const char *layer, const char *wname, const char *dset,
                                 bk_keras_weight *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", wname);
    snprintf(w->dset, sizeof w->dset, "%s", dset);
    const char *last = strrchr(wname, '/');
    snprintf(w->var, sizeof w->var, "%s", last ? last + 1 : wname);
    char *colon = strchr(w->var, ':');
    if (colon) *colon = 0;
    char why[256];
    if (!has_link(f->file, dset))
        return bk_error(BK_ERR_INVALID, "%s: layer \"%s\" lists weight \"%s\" but the file has no dataset %s; "
                        "the file is incomplete or corrupt", f->path, layer, wname, dset);
    hid_t d = H5Dopen2(f->file, dset, H5P_DEFAULT);
    if (d < 0)
        return bk_error(BK_ERR_INVALID, "%s: weight \"%s\" of layer \"%s\" (%s) is not a dataset (%s)", f->path, wname,
                        layer, dset, h5_reason(why));
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t dims[H5S_MAX_RANK];
    if (rank > 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    if (rank < 0)
        return bk_error(BK_ERR_IO, "%s: cannot read the shape of weight \"%s\" of layer \"%s\" (%s)", f->path, wname,
                        layer, h5_reason(why));
    if (cls != H5T_FLOAT)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: weight \"%s\" of layer \"%s\" is not floating point; brisk reads "
                        "float16/32/64 weights", f->path, wname, layer);
    if (rank > BK_MAX_DIMS)
        return bk_error(BK_ERR_UNSUPPORTED, "%s: weight \"%s\" of layer \"%s\" has %d dimensions; brisk's layers "
                        "have at most %d", f->path, wname, layer, rank, BK_MAX_DIMS);
    w->shape.ndim = rank;
    for (int i = 0; i < rank; i++) w->shape.dims[i] = (int64_t)dims[i];
    return BK_OK;
}

/* Keras 2: layer_names on group gpath, weight_names on each layer group. */
static bk_status read_keras2(bk_keras_h5 *f, const char *gpath)
{
    hid_t g = H5Gopen2(f->file, gpath, H5P_DEFAULT);
    char why[256];
    if (g < 0) return bk_error(BK_ERR_IO, "%s: cannot open group %s (%s)", f->path, gpath, h5_reason(why));
    strlist names = {0};
    int found;
    bk_status st = read_attr_list(f, g, gpath, "layer_names", &names, &found);
    if (!st && !found)
        st = bk_error(BK_ERR_INVALID, "%s: group %s has no \"layer_names\" attribute; not a Keras weights file",
                      f->path, gpath);
    const char *sep = strcmp(gpath, "/") ? "/" : "";
    for (int i = 0; i < names.n && !st; i++) {
        char lpath[1024];
        st = join(f, lpath, sizeof lpath, gpath, sep, names.s[i]);
        if (st) break;
        if (!has_group(f->file, lpath)) {
            st = bk_error(BK_ERR_INVALID, "%s: layer_names lists \"%s\" but there is no group %s; the file is "
                          "incomplete or corrupt", f->path, names.s[i], lpath);
            break;
        }
        hid_t lg = H5Gopen2(f->file, lpath, H5P_DEFAULT);
        if (lg < 0) {
            st = bk_error(BK_ERR_IO, "%s: cannot open group %s (%s)", f->path, lpath, h5_reason(why));
            break;
        }
        strlist wn = {0};
        st = read_attr_list(f, lg, lpath, "weight_names", &wn, &found);
        H5Gclose(lg);
        bk_keras_layer *L = NULL;
        if (!st) st = add_layer(f, names.s[i], &L);
        if (!st && wn.n) {
            L->w = calloc((size_t)wn.n, sizeof *L->w);
            if (!L->w) st = bk_error(BK_ERR_NOMEM, "out of memory");
        }
        for (int k = 0; k < wn.n && !st; k++) {
            char dpath[1024];
            st = join(f, dpath, sizeof dpath, lpath, "/", wn.s[k]);
            if (!st) st = describe_weight(f, names.s[i], wn.s[k], dpath, &L->w[k]);
            if (!st) L->n_weights++;
        }
        strlist_free(&wn);
    }
    strlist_free(&names);
    H5Gclose(g);
    return st;
}

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#else
typedef H5L_info_t link_info;
#endif

static herr_t collect_name(hid_t g, const char *name, const link_info *info, void *data)
{
    (void)g; (void)info;
    return strlist_push(data, name, strlen(name)) ? -1 : 0;
}

/* Keras 3: root/<key>/vars/<i>, i = 0..n-1 in the layer's variable order. */
static bk_status read_keras3(bk_keras_h5 *f, const char *root)
{
    strlist keys = {0};
    char why[256];
    hid_t g = H5Gopen2(f->file, root, H5P_DEFAULT);
    if (g < 0) return bk_error(BK_ERR_IO, "%s: cannot open group %s (%s)", f->path, root, h5_reason(why));
    herr_t r = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &keys);
    H5Gclose(g);
    bk_status st = r < 0 ? bk_error(BK_ERR_IO, "%s: cannot list group %s (%s)", f->path, root, h5_reason(why)) : BK_OK;
    for (int i = 0; i < keys.n && !st; i++) {
        char vpath[1024], lpath[1024];
        st = join(f, lpath, sizeof lpath, root, "/", keys.s[i]);
        if (!st) st = join(f, vpath, sizeof vpath, lpath, "/", "vars");
        if (st) break;
        if (!has_group(f->file, vpath)) continue; /* a nested model's own layers are under layers/, not vars */
        H5G_info_t gi;
        if (H5Gget_info_by_name(f->file, vpath, &gi, H5P_DEFAULT) < 0) {
            st = bk_error(BK_ERR_IO, "%s: cannot read group %s (%s)", f->path, vpath, h5_reason(why));
            break;
        }
        bk_keras_layer *L;
        st = add_layer(f, keys.s[i], &L);
        if (!st && gi.nlinks) {
            L->w = calloc((size_t)gi.nlinks, sizeof *L->w);
            if (!L->w) st = bk_error(BK_ERR_NOMEM, "out of memory");
        }
        for (hsize_t k = 0; k < gi.nlinks && !st; k++) {
            char dpath[1100], wname[64];
            snprintf(wname, sizeof wname, "vars/%llu", (unsigned long long)k);
            snprintf(dpath, sizeof dpath, "%s/%llu", vpath, (unsigned long long)k);
            if (!has_link(f->file, dpath)) {
                st = bk_error(BK_ERR_INVALID, "%s: %s holds %llu entries but no \"%llu\"; Keras numbers a layer's "
                              "variables 0..n-1, so the file is corrupt", f->path, vpath,
                              (unsigned long long)gi.nlinks, (unsigned long long)k);
                break;
            }
            st = describe_weight(f, keys.s[i], wname, dpath, &L->w[k]);
            if (!st) L->w[k].var[0] = 0;
            if (!st) L->n_weights++;
        }
    }
    strlist_free(&keys);
    return st;
}

/* "a, b, c" (truncated) of the root's entries, for "not Keras" messages. */
static void root_listing(hid_t file, char *out, size_t n)
{
    strlist l = {0};
    out[0] = 0;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l);
    size_t used = 0;
    for (int i = 0; i < l.n && used + strlen(l.s[i]) + 8 < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", l.s[i]);
    if (!l.n) snprintf(out, n, "nothing");
    strlist_free(&l);
}

static bk_status read_structure(bk_keras_h5 *f)
{
    strlist v = {0};
    int found = 0;
    if (has_group(f->file, "model_weights")) {
        f->layout = BK_KERAS_H5_MODEL;
    } else if (H5Aexists(f->file, "layer_names") > 0 || H5Aexists(f->file, "layer_names0") > 0) {
        f->layout = BK_KERAS_H5_WEIGHTS;
    } else if (has_group(f->file, "layers") || has_group(f->file, "_layer_checkpoint_dependencies")) {
        f->layout = BK_KERAS_H5_V3;
    } else {
        char list[512];
        root_listing(f->file, list, sizeof list);
        return bk_error(BK_ERR_INVALID, "%s: an HDF5 file but not Keras weights: it has no \"model_weights\" group "
                        "(model.save), \"layer_names\" attribute (save_weights) or \"layers\" group (Keras 3 "
                        ".weights.h5); it holds: %s", f->path, list);
    }
    hid_t g = H5Gopen2(f->file, f->layout == BK_KERAS_H5_MODEL ? "model_weights" : "/", H5P_DEFAULT);
    bk_status st = BK_OK;
    if (g >= 0) {
        st = read_attr_strings(f, g, "the weights group", "keras_version", &v, &found);
        H5Gclose(g);
    }
    if (!st && !found) st = read_attr_strings(f, f->file, "the root", "keras_version", &v, &found);
    if (!st && v.n) snprintf(f->version, sizeof f->version, "%s", v.s[0]);
    strlist_free(&v);
    if (st) return st;
    if (f->layout == BK_KERAS_H5_MODEL) return read_keras2(f, "/model_weights");
    if (f->layout == BK_KERAS_H5_WEIGHTS) return read_keras2(f, "/");
    return read_keras3(f, has_group(f->file, "layers") ? "layers" : "_layer_checkpoint_dependencies");
}

static bk_status open_common(bk_keras_h5 **out, const char *path, const void *image, size_t len)
{
    *out = NULL;
    quiet();
    bk_keras_h5 *f = calloc(1, sizeof *f);
    if (!f) return bk_error(BK_ERR_NOMEM, "out of memory");
    f->file = H5I_INVALID_HID;
    snprintf(f->path, sizeof f->path, "%s", path);
    char why[256];
    bk_status st = BK_OK;
    if (image) {
        /* the core driver copies the image: nothing is written anywhere */
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, (void *)image, len) < 0)
            st = bk_error(BK_ERR_INTERNAL, "%s: cannot set up an in-memory HDF5 file (%s)", path, h5_reason(why));
        else
            f->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        if (fapl >= 0) H5Pclose(fapl);
    } else {
        f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    if (!st && f->file < 0)
        st = bk_error(BK_ERR_IO, "%s: cannot open as HDF5 (%s); the file may be truncated or corrupt", path,
                      h5_reason(why));
    if (!st) st = read_structure(f);
    if (st) {
        bk_keras_h5_close(f);
        return st;
    }
    *out = f;
    return BK_OK;
}

bk_status bk_keras_h5_open(bk_keras_h5 **out, const char *path) { return open_common(out, path, NULL, 0); }

bk_status bk_keras_h5_open_image(bk_keras_h5 **out, const void *image, size_t len, const char *name)
{
    return open_common(out, name, image, len);
}

bk_keras_h5_layout bk_keras_h5_layout_of(const bk_keras_h5 *f) { return f->layout; }

const char *bk_keras_h5_layout_name(bk_keras_h5_layout l)
{
    switch (l) {
    case BK_KERAS_H5_MODEL: return "Keras model.save";
    case BK_KERAS_H5_WEIGHTS: return "Keras save_weights";
    case BK_KERAS_H5_V3: return "Keras 3 .weights.h5";
    }
    return "unknown";
}

const char *bk_keras_h5_version(const bk_keras_h5 *f) { return f->version; }

int bk_keras_h5_count(const bk_keras_h5 *f) { return f->n_layers; }

const bk_keras_layer *bk_keras_h5_layer(const bk_keras_h5 *f, int i)
{
    return i >= 0 && i < f->n_layers ? &f->layers[i] : NULL;
}

bk_status bk_keras_h5_read(const bk_keras_h5 *f, const bk_keras_weight *w, float *dst)
{
    if (bk_shape_numel(&w->shape) == 0) return BK_OK;
    quiet();
    char why[256];
    hid_t d = H5Dopen2(f->file, w->dset, H5P_DEFAULT);
    herr_t r = d >= 0 ? H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) : -1;
    if (d >= 0) H5Dclose(d);
    if (r < 0)
        return bk_error(BK_ERR_IO, "%s: reading weight \"%s\" (%s) failed (%s); the file may be truncated or corrupt",
                        f->path, w->name, w->dset, h5_reason(why));
    return BK_OK;
}

void bk_keras_h5_close(bk_keras_h5 *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_layers; i++) free(f->layers[i].w);
    free(f->layers);
    if (f->file >= 0) H5Fclose(f->file);
    free(f);
}
