/* Class labels from folder names, as the reference CLI's `labels` target
 * type gives them: class index = position of the folder name in the
 * sorted list of class names ("AnnualCrop" -> 0 ... "SeaLake" -> 9). */
#include "image_files.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bk_image_names_free(char **names, int n)
{
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    const char *name;
    int idx;
} name_idx;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

/* The folder a file sits in: rel's last folder component (NULL when the
 * file lies directly in the scanned folder). */
static char *parent_folder(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) return NULL;
    const char *start = slash;
    while (start > rel && start[-1] != '/') start--;
    return strndup(start, (size_t)(slash - start));
}

/* The folder just below the last folder named tag in path: its start and
 * length; 0 when there is none. */
static int below_tag(const char *path, const char *tag, const char **cls, size_t *len)
{
    size_t tl = strlen(tag);
    *cls = NULL;
    for (const char *p = path; (p = strstr(p, tag)); p++) {
        if ((p != path && p[-1] != '/') || p[tl] != '/') continue; /* a whole component */
        const char *c = p + tl + 1, *end = strchr(c, '/');
        if (end && end > c) { /* a folder below it, and the file below that */
            *cls = c;
            *len = (size_t)(end - c);
        }
    }
    return *cls != NULL;
}

/* Up to ~400 bytes of the class names, for messages. */
static void list_names(char *buf, size_t n, char *const *names, int count)
{
    size_t used = 0;
    buf[0] = 0;
    for (int k = 0; k < count && used + 8 < n; k++) {
        int w = snprintf(buf + used, n - used, "%s\"%s\"", k ? ", " : "", names[k]);
        if (w < 0 || (size_t)w >= n - used || used + (size_t)w > 400) {
            snprintf(buf + used, n - used, "%s...", k ? ", " : "");
            break;
        }
        used += (size_t)w;
    }
}

static bk_status file_classes(const char *dir, const bk_image_list *l, const char *tag, char **of)
{
    char real[PATH_MAX];
    /* the tag may be a folder above the configured path ("./" run from inside it) */
    if (tag && !realpath(dir, real)) snprintf(real, sizeof real, "%s", dir);
    int64_t at_root = 0, first_root = -1;
    for (int64_t i = 0; i < l->n; i++) {
        if (!tag) {
            of[i] = parent_folder(l->rel[i]);
            if (!of[i] && !strchr(l->rel[i], '/')) {
                if (!at_root++) first_root = i;
                continue;
            }
        } else {
            char full[PATH_MAX + 4096];
            snprintf(full, sizeof full, "%s/%s", real, l->rel[i]);
            const char *c;
            size_t len;
            if (below_tag(full, tag, &c, &len)) of[i] = strndup(c, len);
            else
                return bk_error(BK_ERR_INVALID, "%s/%s: no folder named \"%s\" (the tag) with a class folder below it "
                                "in the file's path (%s); the class of an image is the folder just below the \"%s\" "
                                "folder: fix the tag or the folder layout", dir, l->rel[i], tag, full, tag);
        }
        if (!of[i]) return bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
    }
    if (at_root == l->n)
        return bk_error(BK_ERR_INVALID, "%s: no class folders: the %lld images lie directly in it; with target_type "
                        "\"labels\" the class of an image is the folder it sits in: put each class's images in a "
                        "sub-folder named after the class", dir, (long long)l->n);
    if (at_root)
        return bk_error(BK_ERR_INVALID, "%s/%s: lies directly in the data folder, outside any class folder; with "
                        "target_type \"labels\" every image must sit in a sub-folder named after its class: move it "
                        "into one or out of the folder (%lld such files)", dir, l->rel[first_root], (long long)at_root);
    return BK_OK;
}

bk_status bk_image_labels(const char *dir, const bk_image_list *l, const char *tag, const char *const *given, int n_given, char ***names, int *n_names, int32_t *cls)
{
    *names = NULL;
    *n_names = 0;
    if (tag && !tag[0]) tag = NULL;
    char **of = calloc((size_t)l->n, sizeof *of);
    char **uniq = calloc((size_t)(n_given > 0 ? n_given : l->n), sizeof *uniq);
    bk_status st = of && uniq ? BK_OK : bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
    if (!st) st = file_classes(dir, l, tag, of);
    int nu = 0;
    if (!st && n_given > 0) {
        for (; nu < n_given && !st; nu++)
            if (!(uniq[nu] = strdup(given[nu]))) st = bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
    } else if (!st) {
        /* the distinct names, sorted: a copy of the per-file list, uniq'd */
        char **sorted = malloc((size_t)l->n * sizeof *sorted);
        if (!sorted) st = bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
        else {
            memcpy(sorted, of, (size_t)l->n * sizeof *sorted);
            qsort(sorted, (size_t)l->n, sizeof *sorted, by_name);
            for (int64_t i = 0; i < l->n && !st; i++) {
                if (nu && !strcmp(sorted[i], uniq[nu - 1])) continue;
                if (nu == INT_MAX || !(uniq[nu] = strdup(sorted[i])))
                    st = bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
                else nu++;
            }
            free(sorted);
        }
    }
    /* each file's class index: a name lookup in uniq, sorted with each name's index */
    name_idx *keys = NULL;
    if (!st && !(keys = malloc((size_t)(nu ? nu : 1) * sizeof *keys)))
        st = bk_error(BK_ERR_NOMEM, "%s: out of memory for class names", dir);
    if (!st) {
        for (int k = 0; k < nu; k++) keys[k] = (name_idx){uniq[k], k};
        qsort(keys, (size_t)nu, sizeof *keys, by_key);
    }
    for (int64_t i = 0; i < l->n && !st; i++) {
        name_idx want = {of[i], 0}, *hit = bsearch(&want, keys, (size_t)nu, sizeof *keys, by_key);
        if (!hit) {
            char known[512];
            list_names(known, sizeof known, uniq, nu);
            st = bk_error(BK_ERR_INVALID, "%s/%s: class \"%s\" is not one of the %d classes of the training data (%s); "
                          "every test class must also be a training class: add its images to the training folder or "
                          "remove them here", dir, l->rel[i], of[i], nu, known);
            break;
        }
        cls[i] = (int32_t)hit->idx;
    }
    free(keys);
    if (of)
        for (int64_t i = 0; i < l->n; i++) free(of[i]);
    free(of);
    if (st) {
        bk_image_names_free(uniq, nu);
        return st;
    }
    *names = uniq;
    *n_names = nu;
    return BK_OK;
}
