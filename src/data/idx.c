/* MNIST-style IDX files (gzip'd or plain). The pixels stay uint8 in memory,
 * a quarter of the float size, and are scaled when a batch is read. */
#include "data_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

typedef struct {
    uint8_t *pixels; /* count * rows * cols */
    uint8_t *labels; /* count, or NULL */
} idx_impl;

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads exactly len bytes; gzread takes an unsigned int, so large payloads
 * go in pieces. Returns the number of bytes read (short on EOF or error). */
static size_t gz_read_all(gzFile f, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        size_t want = len - got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(f, buf + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* zlib's reason for the last failure, without the path it prefixes;
 * *err is Z_OK when nothing failed (Z_BUF_ERROR: the input ended early). */
static const char *gz_reason(gzFile f, const char *path, int *err)
{
    const char *msg = gzerror(f, err);
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':') msg += n + 1;
    while (*msg == ' ') msg++;
    return msg;
}

/* Opens path, checks the magic and reads the ndim big-endian dims after it.
 * hint says which file the caller should have passed. */
static bk_status idx_open(gzFile *out, const char *path, uint32_t magic, uint32_t *dims,
                          int ndim, const char *hint)
{
    *out = NULL;
    if (!file_exists(path))
        return bk_error(BK_ERR_IO, "%s: no such file; %s", path, hint);
    gzFile f = gzopen(path, "rb");
    if (!f) return bk_error(BK_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    uint8_t hdr[4 + 4 * 3];
    size_t need = 4 + 4 * (size_t)ndim;
    size_t got = gz_read_all(f, hdr, need);
    int zerr;
    const char *why = gz_reason(f, path, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR) {
        /* why points into f: format before closing. */
        bk_status st = bk_error(BK_ERR_IO, "%s: the gzip stream is corrupt (%s); "
                                "download the file again", path, why);
        gzclose(f);
        return st;
    }
    if (got < 4) {
        gzclose(f);
        return bk_error(BK_ERR_IO, "%s: file is empty or truncated (%zu header bytes); "
                        "download it again", path, got);
    }
    uint32_t m = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (m != magic) {
        gzclose(f);
        return bk_error(BK_ERR_IO, "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x); %s",
                        path, magic == IDX_IMAGES_MAGIC ? "images" : "labels", m, magic, hint);
    }
    if (got < need) {
        gzclose(f);
        return bk_error(BK_ERR_IO, "%s: header truncated (%zu of %zu bytes); download it again",
                        path, got, need);
    }
    for (int i = 0; i < ndim; i++) {
        const uint8_t *p = hdr + 4 + 4 * i;
        dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    *out = f;
    return BK_OK;
}

/* Reads the payload and insists the file ends right after it: a short or
 * over-long file means a broken download or the wrong file. */
static bk_status idx_payload(gzFile f, const char *path, uint8_t **out, size_t len)
{
    *out = NULL;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return bk_error(BK_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    size_t got = gz_read_all(f, buf, len);
    int zerr;
    const char *why = gz_reason(f, path, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR) {
        free(buf);
        return bk_error(BK_ERR_IO, "%s: the gzip stream is corrupt (%s); download the file again",
                        path, why);
    }
    if (got < len) {
        free(buf);
        return bk_error(BK_ERR_IO, "%s: truncated: the header promises %zu data bytes but "
                        "only %zu are there; download the file again", path, len, got);
    }
    if (gzgetc(f) != -1) {
        free(buf);
        return bk_error(BK_ERR_IO, "%s: has data after the %zu bytes the header describes; "
                        "the header or the file is corrupt", path, len);
    }
    /* Reading past the end is what makes zlib check the gzip trailer, so a
     * bad CRC or a missing trailer only shows up now. */
    why = gz_reason(f, path, &zerr);
    if (zerr != Z_OK) {
        free(buf);
        return bk_error(BK_ERR_IO, "%s: the gzip stream is corrupt or cut short (%s); "
                        "download the file again", path, why);
    }
    *out = buf;
    return BK_OK;
}

static bk_status read_images(const char *path, uint8_t **pixels, uint32_t *n, uint32_t *rows,
                             uint32_t *cols)
{
    gzFile f;
    uint32_t d[3] = {0};
    bk_status st = idx_open(&f, path, IDX_IMAGES_MAGIC, d, 3,
                            "pass the *-images-idx3-ubyte[.gz] file (or its folder) as input_path");
    if (st) return st;
    if (d[1] == 0 || d[2] == 0) {
        gzclose(f);
        return bk_error(BK_ERR_IO, "%s: images of %ux%u pixels; the header is corrupt", path, d[1], d[2]);
    }
    uint64_t px = (uint64_t)d[1] * d[2];
    if (px > INT32_MAX || !bk_data_size_ok(d[0], (int64_t)px, 1)) {
        gzclose(f);
        return bk_error(BK_ERR_IO, "%s: %u images of %ux%u do not fit in memory; "
                        "the header is probably corrupt", path, d[0], d[1], d[2]);
    }
    st = idx_payload(f, path, pixels, (size_t)d[0] * (size_t)px);
    gzclose(f);
    *n = d[0]; *rows = d[1]; *cols = d[2];
    return st;
}

static bk_status read_labels(const char *path, uint8_t **labels, uint32_t *n)
{
    gzFile f;
    uint32_t d[1] = {0};
    bk_status st = idx_open(&f, path, IDX_LABELS_MAGIC, d, 1,
                            "pass the *-labels-idx1-ubyte[.gz] file as target_path");
    if (st) return st;
    st = idx_payload(f, path, labels, d[0]);
    gzclose(f);
    *n = d[0];
    return st;
}

/* Finds <dir>/<split>-<kind>-idx?-ubyte, gzip'd or not, also in the
 * "<kind>.idx3" spelling of the original MNIST site. */
static int find_in_folder(char *out, size_t len, const char *dir, const char *split,
                          const char *kind, int ndim)
{
    static const char *const fmts[] = {"%s/%s-%s-idx%d-ubyte.gz", "%s/%s-%s-idx%d-ubyte",
                                       "%s/%s-%s.idx%d-ubyte.gz", "%s/%s-%s.idx%d-ubyte"};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        snprintf(out, len, fmts[i], dir, split, kind, ndim);
        if (file_exists(out)) return 1;
    }
    snprintf(out, len, fmts[0], dir, split, kind, ndim);
    return 0;
}

/* The labels file next to an images file, by the standard naming. */
static int sibling_labels(char *out, size_t len, const char *images)
{
    static const char *const pairs[][2] = {{"images-idx3", "labels-idx1"},
                                           {"images.idx3", "labels.idx1"}};
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    for (size_t i = 0; i < 2; i++) {
        const char *hit = strstr(base, pairs[i][0]);
        if (!hit) continue;
        int w = snprintf(out, len, "%.*s%s%s", (int)(hit - images), images, pairs[i][1],
                         hit + strlen(pairs[i][0]));
        return w > 0 && (size_t)w < len && file_exists(out);
    }
    return 0;
}

static bk_status idx_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    idx_impl *m = ds->impl;
    int64_t px = bk_shape_numel(&ds->input_shape);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = idx[i];
        if (k < 0 || k >= ds->count) return bk_data_bad_index(ds, k);
        const uint8_t *src = m->pixels + k * px;
        float *dst = x + i * px;
        for (int64_t j = 0; j < px; j++) dst[j] = (float)src[j] / 255.0f;
        if (y && m->labels) y[i] = (float)m->labels[k];
    }
    return BK_OK;
}

static void idx_destroy(bk_dataset *ds)
{
    idx_impl *m = ds->impl;
    if (m) {
        free(m->pixels);
        free(m->labels);
        free(m);
    }
    free(ds);
}

bk_status bk_dataset_open_mnist(bk_dataset **out, const bk_data_options *opt)
{
    *out = NULL;
    if (!opt || !opt->input_path)
        return bk_error(BK_ERR_INVALID, "mnist: input_path is not set; name the images file "
                        "or the folder holding the four IDX files");
    char img[4096], lab[4096];
    const char *labels_path = opt->target_path;
    struct stat st;
    if (stat(opt->input_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        const char *split = opt->train ? "train" : "t10k";
        if (!find_in_folder(img, sizeof img, opt->input_path, split, "images", 3))
            return bk_error(BK_ERR_IO, "%s: no %s-images-idx3-ubyte[.gz] in this folder; "
                            "it should hold the standard four MNIST files", opt->input_path, split);
        if (!labels_path) {
            if (!find_in_folder(lab, sizeof lab, opt->input_path, split, "labels", 1))
                return bk_error(BK_ERR_IO, "%s: no %s-labels-idx1-ubyte[.gz] in this folder; "
                                "it should hold the standard four MNIST files", opt->input_path, split);
            labels_path = lab;
        }
    } else {
        snprintf(img, sizeof img, "%s", opt->input_path);
        /* Without labels the dataset serves inference, so a missing
         * sibling is not an error. */
        if (!labels_path && sibling_labels(lab, sizeof lab, img)) labels_path = lab;
    }

    idx_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "mnist: out of memory");
    uint32_t n = 0, rows = 0, cols = 0, nl = 0;
    bk_status s = read_images(img, &m->pixels, &n, &rows, &cols);
    if (!s && labels_path) {
        s = read_labels(labels_path, &m->labels, &nl);
        if (!s && nl != n)
            s = bk_error(BK_ERR_IO, "%s has %u images but %s has %u labels; "
                         "pass the images and labels of the same split", img, n, labels_path, nl);
    }
    bk_dataset *ds = s ? NULL : bk_data_alloc("%s", img);
    if (!s && !ds) s = bk_error(BK_ERR_NOMEM, "%s: out of memory", img);
    if (s) {
        free(m->pixels); free(m->labels); free(m);
        return s;
    }
    int64_t dims[3] = {1, rows, cols};
    ds->count = n;
    ds->input_shape = bk_shape_make(3, dims);
    ds->target_shape = bk_shape_make(0, NULL);
    ds->has_targets = m->labels != NULL;
    ds->read = idx_read;
    ds->destroy = idx_destroy;
    ds->impl = m;
    *out = ds;
    return BK_OK;
}
