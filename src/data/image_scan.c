/* Walking an images folder: every image file below it, by content, in an
 * order that does not depend on the file system, so runs repeat. */
#include "image_files.h"
#include "image_decode.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 64

typedef struct {
    const char *root;
    bk_image_list *out;
    int64_t cap;
    /* the folders being walked, to stop at a link back up the tree */
    dev_t dev[MAX_DEPTH];
    ino_t ino[MAX_DEPTH];
} scan_state;

static int image_extension(const char *name)
{
    static const char *const ext[] = {"png", "jpg", "jpeg", "jpe", "jfif", "tif", "tiff", "bmp", "dib", "gif",
                                      "webp", "jp2", "j2k", "pbm", "pgm", "ppm", "pnm", "exr", "hdr"};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot + 1, ext[i])) return 1;
    return 0;
}

static bk_status add(scan_state *s, const char *rel)
{
    bk_image_list *l = s->out;
    if (l->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 256;
        char **r = realloc(l->rel, (size_t)cap * sizeof *r);
        if (!r) return bk_error(BK_ERR_NOMEM, "%s: out of memory listing %lld images", s->root, (long long)l->n);
        l->rel = r;
        s->cap = cap;
    }
    if (!(l->rel[l->n] = strdup(rel)))
        return bk_error(BK_ERR_NOMEM, "%s: out of memory listing %lld images", s->root, (long long)l->n);
    l->n++;
    return BK_OK;
}

/* Sorts a file in or out by its first bytes. */
static bk_status classify(scan_state *s, const char *path, const char *rel, const char *name)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bk_error(BK_ERR_IO, "%s: cannot be read (%s); fix its permissions or remove it", path,
                        strerror(errno));
    unsigned char head[32];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    const char *other;
    switch (bk_image_sniff(head, n, &other)) {
    case BK_IMG_PNG:
    case BK_IMG_JPEG:
    case BK_IMG_TIFF: return add(s, rel);
    case BK_IMG_OTHER:
        return bk_error(BK_ERR_UNSUPPORTED, "%s: a %s image; brisk reads PNG, JPEG and TIFF: convert it (e.g. "
                        "`convert in out.png`) or move it out of the folder", path, other);
    default:
        if (image_extension(name))
            return bk_error(BK_ERR_IO, "%s: named like an image but %s; replace it or move it out of the folder",
                            path, n ? "its content is not PNG, JPEG or TIFF (corrupt?)" : "the file is empty");
        s->out->skipped++;
        return BK_OK;
    }
}

static bk_status walk(scan_state *s, const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return bk_error(BK_ERR_IO, "%s: cannot open the folder (%s)", dir, strerror(errno));
    bk_status st = BK_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        /* hidden entries: ".", "..", editor and notebook droppings (".ipynb_checkpoints"), macOS "._x.jpg" */
        if (e->d_name[0] == '.') continue;
        char path[4096], sub[4096];
        size_t dl = strlen(dir);
        int w1 = snprintf(path, sizeof path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
        int w2 = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (w1 < 0 || w2 < 0 || (size_t)w1 >= sizeof path || (size_t)w2 >= sizeof sub) {
            st = bk_error(BK_ERR_INVALID, "%s/%s: path longer than %zu bytes; shorten the folder names", dir,
                          e->d_name, sizeof path - 1);
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) {
            /* a dangling link: only an error where an image was meant */
            if (image_extension(e->d_name))
                st = bk_error(BK_ERR_IO, "%s: cannot be read (%s); fix or remove it", path, strerror(errno));
            else s->out->skipped++;
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            int loop = 0;
            for (int i = 0; i <= depth && !loop; i++) loop = s->dev[i] == sb.st_dev && s->ino[i] == sb.st_ino;
            if (loop) continue; /* a link to a folder above: already being walked */
            if (depth + 1 >= MAX_DEPTH) {
                st = bk_error(BK_ERR_INVALID, "%s: folders nested more than %d deep under %s; flatten them", path,
                              MAX_DEPTH, s->root);
                break;
            }
            s->dev[depth + 1] = sb.st_dev;
            s->ino[depth + 1] = sb.st_ino;
            st = walk(s, path, sub, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            st = classify(s, path, sub, e->d_name);
        }
    }
    closedir(d);
    return st;
}

static int by_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bk_status bk_image_scan(const char *dir, bk_image_list *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return bk_error(BK_ERR_IO, "%s: no such folder (%s); check the path", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return bk_error(BK_ERR_INVALID, "%s: a file, not a folder; the images loader reads every image in a "
                        "folder: name the folder that holds the images", dir);
    scan_state s = {.root = dir, .out = out};
    s.dev[0] = sb.st_dev;
    s.ino[0] = sb.st_ino;
    bk_status st = walk(&s, dir, "", 0);
    if (st) return st;
    if (out->n == 0) {
        if (out->skipped)
            return bk_error(BK_ERR_INVALID, "%s: no PNG, JPEG or TIFF images in this folder or below it (%lld other "
                            "files); check the path", dir, (long long)out->skipped);
        return bk_error(BK_ERR_INVALID, "%s: no files in this folder or below it; check the path", dir);
    }
    qsort(out->rel, (size_t)out->n, sizeof *out->rel, by_path);
    return BK_OK;
}

void bk_image_list_free(bk_image_list *l)
{
    if (!l) return;
    for (int64_t i = 0; i < l->n; i++) free(l->rel[i]);
    free(l->rel);
    memset(l, 0, sizeof *l);
}
