/* The reference CLI's per-sample numpy forms: a folder of .npy/.npz files
 * (one sample per .npy, one per array of each .npz) or one .npz with one
 * sample per array, as numpy.savez(path, *samples) writes it. At open only
 * the headers are read, so every sample's shape is checked before training
 * starts; values are read per batch, or all at open with preload. */
#include "data_internal.h"
#include "core/fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Deeper folders are refused rather than followed (symlink loops). */
#define MAX_DEPTH 32

typedef struct {
    int64_t file;    /* index into files */
    int64_t member;  /* -1: a .npy file; else the .npz array */
} entry;

typedef struct {
    char **files;     /* full paths */
    int64_t n_files, cap_files;
    char **rel;       /* files' paths relative to the folder (sorting, names) */
    entry *ent;       /* one per sample */
    char **names;     /* one per sample */
    int64_t count, cap;
    int64_t numel;    /* floats per sample */
    float *all;       /* preloaded values, or NULL */
    bk_npz *z;        /* the archive open for lazy reads, and its file */
    int64_t z_file;
} samples_impl;

static void impl_free(samples_impl *m)
{
    if (!m) return;
    for (int64_t i = 0; i < m->n_files; i++) {
        free(m->files[i]);
        free(m->rel[i]);
    }
    for (int64_t i = 0; i < m->count; i++) free(m->names[i]);
    free(m->files);
    free(m->rel);
    free(m->ent);
    free(m->names);
    free(m->all);
    bk_npz_close(m->z);
    free(m);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static bk_status add_file(samples_impl *m, const char *full, const char *rel)
{
    if (m->n_files == m->cap_files) {
        int64_t cap = m->cap_files ? 2 * m->cap_files : 64;
        char **f = realloc(m->files, (size_t)cap * sizeof *f);
        if (f) m->files = f;
        char **r = f ? realloc(m->rel, (size_t)cap * sizeof *r) : NULL;
        if (r) m->rel = r;
        if (!f || !r) return bk_error(BK_ERR_NOMEM, "out of memory listing %s", full);
        m->cap_files = cap;
    }
    char *a = strdup(full), *b = strdup(rel);
    if (!a || !b) {
        free(a);
        free(b);
        return bk_error(BK_ERR_NOMEM, "out of memory listing %s", full);
    }
    m->files[m->n_files] = a;
    m->rel[m->n_files++] = b;
    return BK_OK;
}

/* Adds every .npy/.npz below dir (rel: dir's path relative to the root). */
static bk_status walk(samples_impl *m, const char *dir, const char *rel, int depth)
{
    if (depth > MAX_DEPTH)
        return bk_error(BK_ERR_INVALID, "%s: folders nested more than %d deep (a symlink loop?)", dir, MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return bk_error(BK_ERR_IO, "%s: cannot list the folder (%s)", dir, strerror(errno));
    bk_status st = BK_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., and hidden files such as editor backups */
        char full[4096], sub[4096];
        int w1 = snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        int w2 = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (w1 < 0 || w2 < 0 || (size_t)w1 >= sizeof full || (size_t)w2 >= sizeof sub) {
            st = bk_error(BK_ERR_INVALID, "%s/%s: path too long", dir, e->d_name);
            break;
        }
        struct stat sb;
        if (stat(full, &sb) != 0) continue; /* a dangling symlink holds no sample */
        if (S_ISDIR(sb.st_mode)) st = walk(m, full, sub, depth + 1);
        else if (S_ISREG(sb.st_mode) && (ends_with(e->d_name, ".npy") || ends_with(e->d_name, ".npz")))
            st = add_file(m, full, sub);
    }
    closedir(d);
    return st;
}

typedef struct {
    const char *rel;
    int64_t i;
} order;

static int order_cmp(const void *a, const void *b)
{
    return strcmp(((const order *)a)->rel, ((const order *)b)->rel);
}

/* Sorts files (and rel) by relative path, so sample order does not depend
 * on the file system's listing order. */
static bk_status sort_files(samples_impl *m)
{
    order *o = malloc((size_t)(m->n_files ? m->n_files : 1) * sizeof *o);
    char **f = malloc((size_t)(m->n_files ? m->n_files : 1) * sizeof *f);
    char **r = malloc((size_t)(m->n_files ? m->n_files : 1) * sizeof *r);
    if (!o || !f || !r) {
        free(o); free(f); free(r);
        return bk_error(BK_ERR_NOMEM, "out of memory sorting %lld files", (long long)m->n_files);
    }
    for (int64_t i = 0; i < m->n_files; i++) o[i] = (order){m->rel[i], i};
    qsort(o, (size_t)m->n_files, sizeof *o, order_cmp);
    for (int64_t i = 0; i < m->n_files; i++) {
        f[i] = m->files[o[i].i];
        r[i] = m->rel[o[i].i];
    }
    free(m->files);
    free(m->rel);
    free(o);
    m->files = f;
    m->rel = r;
    m->cap_files = m->n_files;
    return BK_OK;
}

static bk_status add_sample(samples_impl *m, int64_t file, int64_t member, const char *name)
{
    if (m->count == m->cap) {
        int64_t cap = m->cap ? 2 * m->cap : 64;
        entry *e = realloc(m->ent, (size_t)cap * sizeof *e);
        if (e) m->ent = e;
        char **n = e ? realloc(m->names, (size_t)cap * sizeof *n) : NULL;
        if (n) m->names = n;
        if (!e || !n) return bk_error(BK_ERR_NOMEM, "out of memory listing samples");
        m->cap = cap;
    }
    char *s = strdup(name);
    if (!s) return bk_error(BK_ERR_NOMEM, "out of memory listing samples");
    m->ent[m->count] = (entry){file, member};
    m->names[m->count++] = s;
    return BK_OK;
}

static void shape_text(const bk_npy_array *a, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < a->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)a->dims[i]);
    if (used < n) snprintf(buf + used, n - used, "%s)", a->ndim == 1 ? "," : "");
}

static int same_shape(const bk_npy_array *a, const bk_npy_array *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

/* Checks sample `what`'s shape a against the first sample's. */
static bk_status check_shape(const bk_npy_array *first, const char *first_name, const bk_npy_array *a,
                             const char *what, const char *root, int npz)
{
    if (same_shape(first, a)) return BK_OK;
    char s1[128], s2[128];
    shape_text(a, s1, sizeof s1);
    shape_text(first, s2, sizeof s2);
    return bk_error(BK_ERR_SHAPE, "%s: shape %s differs from %s of %s, the first sample; every sample of %s "
                    "must have one shape (a batch stacks them)%s", what, s1, s2, first_name, root,
                    npz ? ". An .npz without an array named x holds one sample per array; if this one holds "
                    "inputs and targets with samples along axis 0, name them x and y (or set input_key and "
                    "target_key)" : "");
}

/* Lists the samples of one file (one .npy, or each array of an .npz) and
 * checks their shapes against the first sample's (*first, set by the
 * first call). in_npz_only: the whole dataset is this one .npz, whose
 * samples are named by their array names alone. */
static bk_status list_file(samples_impl *m, int64_t f, int in_npz_only, bk_npy_array *first, char *first_name,
                           size_t first_len, const char *root)
{
    bk_npy_array a;
    bk_status st;
    if (ends_with(m->files[f], ".npy")) {
        if ((st = bk_npy_read(m->files[f], &a, 1))) return st;
        if (m->count == 0) {
            *first = a;
            snprintf(first_name, first_len, "%s", m->files[f]);
        }
        if ((st = check_shape(first, first_name, &a, m->files[f], root, 0))) return st;
        return add_sample(m, f, -1, m->rel[f]);
    }
    bk_npz *z;
    if ((st = bk_npz_open(&z, m->files[f]))) return st;
    for (int64_t k = 0; k < bk_npz_count(z) && !st; k++) {
        char what[4096], name[4096];
        snprintf(what, sizeof what, "%s:%s.npy", m->files[f], bk_npz_name(z, k));
        if (in_npz_only) snprintf(name, sizeof name, "%s", bk_npz_name(z, k));
        else snprintf(name, sizeof name, "%s/%s", m->rel[f], bk_npz_name(z, k));
        if ((st = bk_npz_read(z, k, &a, 1))) break;
        if (m->count == 0) {
            *first = a;
            snprintf(first_name, first_len, "%s", what);
        }
        st = check_shape(first, first_name, &a, what, root, 1);
        if (!st) st = add_sample(m, f, k, name);
    }
    bk_npz_close(z);
    return st;
}

/* Reads sample i's values into out (m->numel floats). */
static bk_status load_sample(samples_impl *m, int64_t i, float *out)
{
    const entry *e = &m->ent[i];
    bk_npy_array a;
    bk_status st;
    if (e->member < 0) {
        st = bk_npy_read(m->files[e->file], &a, 0);
    } else {
        if (m->z && m->z_file != e->file) {
            bk_npz_close(m->z);
            m->z = NULL;
        }
        if (!m->z && (st = bk_npz_open(&m->z, m->files[e->file]))) return st;
        m->z_file = e->file;
        st = bk_npz_read(m->z, e->member, &a, 0);
    }
    if (st) return st;
    int64_t n = 1;
    for (int k = 0; k < a.ndim; k++) n *= a.dims[k];
    if (n != m->numel)
        st = bk_error(BK_ERR_SHAPE, "%s: sample \"%s\" now holds %lld values, %lld when the data was opened; "
                      "the file changed during the run", m->files[e->file], m->names[i], (long long)n,
                      (long long)m->numel);
    else
        memcpy(out, a.data, (size_t)n * sizeof(float));
    free(a.data);
    return st;
}

static bk_status samples_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    (void)y; /* a part: its values are inputs or targets, as the caller pairs them */
    samples_impl *m = ds->impl;
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= ds->count) return bk_data_bad_index(ds, idx[i]);
        float *dst = x + i * m->numel;
        if (m->all) {
            memcpy(dst, m->all + idx[i] * m->numel, (size_t)m->numel * sizeof(float));
            continue;
        }
        bk_status st = load_sample(m, idx[i], dst);
        if (st) return st;
    }
    return BK_OK;
}

static bk_status samples_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    samples_impl *m = ds->impl;
    snprintf(buf, len, "%s", m->names[i]);
    return BK_OK;
}

static void samples_destroy(bk_dataset *ds)
{
    impl_free(ds->impl);
    free(ds);
}

bk_status bk_data_numpy_samples(bk_dataset **out, const char *path, int is_target, int preload)
{
    *out = NULL;
    samples_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "out of memory");
    m->z_file = -1;
    int folder = bk_is_dir(path);
    bk_status st = folder ? walk(m, path, "", 0) : add_file(m, path, "");
    if (!st) st = sort_files(m);
    bk_npy_array first;
    char first_name[4096] = "";
    memset(&first, 0, sizeof first);
    for (int64_t f = 0; f < m->n_files && !st; f++)
        st = list_file(m, f, !folder, &first, first_name, sizeof first_name, path);
    if (!st && m->count == 0)
        st = bk_error(BK_ERR_INVALID, folder ? "%s: the folder holds no .npy or .npz files; put one sample per "
                      ".npy file there" : "%s: the archive holds no arrays", path);
    bk_shape s;
    if (!st && first.ndim > BK_MAX_DIMS)
        st = bk_error(BK_ERR_SHAPE, "%s: samples of %d dims, at most %d are supported; reshape them", first_name,
                      first.ndim, BK_MAX_DIMS);
    if (!st) {
        int64_t one = 1;
        /* a 0-d sample: one feature as an input, a class index or scalar as a target */
        s = first.ndim == 0 && !is_target ? bk_shape_make(1, &one) : bk_shape_make(first.ndim, first.dims);
        m->numel = bk_shape_numel(&s);
        if (preload && !bk_data_size_ok(m->count, m->numel, sizeof(float)))
            st = bk_error(BK_ERR_NOMEM, "%s: %lld samples of %lld values do not fit in memory; set preload to false",
                          path, (long long)m->count, (long long)m->numel);
    }
    if (!st && preload) {
        m->all = malloc(m->count && m->numel ? (size_t)(m->count * m->numel) * sizeof(float) : 1);
        if (!m->all) st = bk_error(BK_ERR_NOMEM, "%s: out of memory preloading %lld samples; set preload to false",
                                   path, (long long)m->count);
        for (int64_t i = 0; i < m->count && !st; i++) st = load_sample(m, i, m->all + i * m->numel);
        bk_npz_close(m->z);
        m->z = NULL;
    }
    bk_dataset *ds = st ? NULL : bk_data_alloc("%s", path);
    if (!st && !ds) st = bk_error(BK_ERR_NOMEM, "out of memory");
    if (st) {
        impl_free(m);
        return st;
    }
    ds->count = m->count;
    ds->input_shape = s;
    ds->read = samples_read;
    ds->sample_name = samples_name;
    ds->destroy = samples_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
