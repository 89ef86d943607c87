/* The `images` dataset: folders of PNG/JPEG/TIFF files, with class labels
 * from folder names or target images from a second folder. Files are found
 * and paired at open (image_scan.c, image_labels.c, image_pairs.c),
 * decoded (image_decode.c) at open or per read, and transformed per read,
 * on the dataset's own thread pool (work_pool.c). */
#include "data_internal.h"
#include "image_decode.h"
#include "image_files.h"
#include "work_pool.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TGT_NONE, TGT_LABELS, TGT_IMAGES };

typedef struct {
    char in_dir[PATH_MAX], tgt_dir[PATH_MAX];
    bk_image_list in, tgt;
    int mode;                    /* TGT_* */
    int same;                    /* the targets are the inputs' own files (target_path = input_path) */
    int64_t *match;              /* TGT_IMAGES: target file of each input (an index into tgt, or in when same) */
    int32_t *cls;                /* TGT_LABELS: class of each input */
    char **classes;
    int n_classes;
    int in_gray, tgt_gray;
    bk_image *in_img, *tgt_img;  /* preloaded pixels; NULL: decoded per read */
    int64_t n_tgt_img;           /* entries of tgt_img it owns (0 when it is in_img) */
    bk_sample_transform tf;
    int has_tf;
    bk_shape in_raw, tgt_raw;    /* the first input's and target's size before transforms */
    int pair_equal;              /* the first pair's input and target have one size: so must every pair */
    int epoch;                   /* from set_epoch; -1 before */
    bk_work_pool *pool;
} images_impl;

static void impl_free(images_impl *m)
{
    if (!m) return;
    bk_work_pool_destroy(m->pool);
    if (m->in_img)
        for (int64_t i = 0; i < m->in.n; i++) bk_image_free(&m->in_img[i]);
    for (int64_t i = 0; i < m->n_tgt_img; i++) bk_image_free(&m->tgt_img[i]);
    if (m->tgt_img != m->in_img) free(m->tgt_img);
    free(m->in_img);
    bk_image_list_free(&m->in);
    bk_image_list_free(&m->tgt);
    free(m->match);
    free(m->cls);
    bk_image_names_free(m->classes, m->n_classes);
    free(m);
}

static void images_destroy(bk_dataset *ds)
{
    impl_free(ds->impl);
    free(ds);
}

/* The file of input k, or of target file t. */
static void in_path(const images_impl *m, int64_t k, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", m->in_dir, m->in.rel[k]);
}

static void tgt_path(const images_impl *m, int64_t t, char *buf, size_t n)
{
    if (m->same) in_path(m, t, buf, n);
    else snprintf(buf, n, "%s/%s", m->tgt_dir, m->tgt.rel[t]);
}

static bk_shape image_shape(const bk_image *im)
{
    int64_t d[3] = {im->channels, im->height, im->width};
    return bk_shape_make(3, d);
}

/* What a sample of raw shape `raw` becomes: the transform's out_shape, or raw. */
static bk_status sample_shape(const images_impl *m, int side, const bk_shape *raw, bk_shape *out)
{
    if (!m->has_tf) {
        *out = *raw;
        return BK_OK;
    }
    bk_status st = m->tf.out_shape(m->tf.ctx, side, raw, out);
    if (st) return st;
    for (int i = 0; i < out->ndim; i++)
        if (out->dims[i] < 0) {
            char a[64], b[64];
            return bk_error(BK_ERR_SHAPE, "the transforms make %s of varying size (%s from %s): batches need one "
                            "size; add a \"resize\" transform after them", side ? "targets" : "inputs",
                            bk_shape_str(out, a, sizeof a), bk_shape_str(raw, b, sizeof b));
        }
    return BK_OK;
}

/* The error for a sample of the wrong size. */
static bk_status wrong_size(const images_impl *m, int side, const char *path, const bk_shape *raw, const bk_shape *got,
                            const bk_shape *want)
{
    char g[64], w[64], r[64], first[PATH_MAX + 256];
    if (side == 0) in_path(m, 0, first, sizeof first);
    else tgt_path(m, m->match[0], first, sizeof first);
    const bk_shape *first_raw = side ? &m->tgt_raw : &m->in_raw;
    if (!m->has_tf)
        return bk_error(BK_ERR_SHAPE, "%s: %s of %lldx%lld pixels, but the first %s, %s, is %lldx%lld and sets the "
                        "dataset's size %s: add a \"resize\" transform so all %ss come out one size",
                        path, side ? "target" : "image", (long long)raw->dims[2], (long long)raw->dims[1],
                        side ? "target" : "image", first, (long long)first_raw->dims[2], (long long)first_raw->dims[1],
                        bk_shape_str(want, w, sizeof w), side ? "target" : "image");
    return bk_error(BK_ERR_SHAPE, "%s: comes out of the transforms as %s (from %s), but the dataset's %ss are %s (the "
                    "first %s, %s): add a \"resize\" transform at the end so all samples come out one size",
                    path, bk_shape_str(got, g, sizeof g), bk_shape_str(raw, r, sizeof r), side ? "target" : "input",
                    bk_shape_str(want, w, sizeof w), side ? "target" : "image", first);
}

/* Writes image im (of file path) into dst as the dataset's sample: float,
 * transformed, checked against want. */
static bk_status emit(const images_impl *m, int side, int64_t k, int epoch, const bk_image *im, const char *path,
                      float *dst, const bk_shape *want)
{
    bk_shape raw = image_shape(im);
    if (!m->has_tf) {
        if (!bk_shape_equal(&raw, want)) return wrong_size(m, side, path, &raw, &raw, want);
        bk_image_to_chw(im, dst);
        return BK_OK;
    }
    float *buf = malloc((size_t)bk_shape_numel(&raw) * sizeof *buf);
    if (!buf) return bk_error(BK_ERR_NOMEM, "%s: out of memory for a %dx%d image", path, im->width, im->height);
    bk_image_to_chw(im, buf);
    float *o = NULL;
    bk_shape os;
    bk_status st = m->tf.apply(m->tf.ctx, side, k, epoch, buf, &raw, &o, &os);
    free(buf);
    if (st) {
        free(o);
        return bk_error_context(st, "%s: ", path);
    }
    if (!bk_shape_equal(&os, want)) st = wrong_size(m, side, path, &raw, &os, want);
    else memcpy(dst, o, (size_t)bk_shape_numel(want) * sizeof *dst);
    free(o);
    return st;
}

/* Where the first pair's input and target agree in size, every pair must:
 * a mask of another size is a mask of another image. */
static bk_status check_pair(const images_impl *m, const bk_image *in, const bk_image *tg, const char *ip,
                            const char *tp)
{
    if (!m->pair_equal || (in->width == tg->width && in->height == tg->height)) return BK_OK;
    return bk_error(BK_ERR_SHAPE, "%s: target of %dx%d pixels, but its input %s is %dx%d; a target (mask) must be "
                    "the size of its image: fix or remove the pair", tp, tg->width, tg->height, ip, in->width,
                    in->height);
}

typedef struct {
    bk_dataset *ds;
    const int64_t *idx;
    float *x, *y;
    int epoch;
} read_job;

static bk_status read_sample(void *ctx, int64_t j)
{
    read_job *job = ctx;
    bk_dataset *ds = job->ds;
    images_impl *m = ds->impl;
    int64_t k = job->idx[j];
    if (k < 0 || k >= ds->count) return bk_data_bad_index(ds, k);
    char ip[PATH_MAX + 256], tp[PATH_MAX + 256];
    in_path(m, k, ip, sizeof ip);
    bk_image own_in = {0}, own_tg = {0};
    const bk_image *im = m->in_img ? &m->in_img[k] : &own_in;
    bk_status st = m->in_img ? BK_OK : bk_image_read(ip, m->in_gray, 0, &own_in);
    if (!st) st = emit(m, 0, k, job->epoch, im, ip, job->x + j * bk_shape_numel(&ds->input_shape), &ds->input_shape);
    if (!st && job->y && m->mode == TGT_LABELS) job->y[j] = (float)m->cls[k];
    if (!st && job->y && m->mode == TGT_IMAGES) {
        int64_t t = m->match[k];
        tgt_path(m, t, tp, sizeof tp);
        const bk_image *tg = &own_tg;
        if (m->tgt_img) tg = &m->tgt_img[t];
        else if (m->same && m->tgt_gray == m->in_gray) tg = im; /* decoded once for both sides */
        else st = bk_image_read(tp, m->tgt_gray, 0, &own_tg);
        if (!st) st = check_pair(m, im, tg, ip, tp);
        if (!st) st = emit(m, 1, k, job->epoch, tg, tp, job->y + j * bk_shape_numel(&ds->target_shape),
                           &ds->target_shape);
    }
    bk_image_free(&own_in);
    bk_image_free(&own_tg);
    return st;
}

static bk_status images_read(bk_dataset *ds, const int64_t *idx, int64_t n, float *x, float *y)
{
    images_impl *m = ds->impl;
    read_job job = {ds, idx, x, ds->has_targets ? y : NULL, m->epoch};
    return bk_work_pool_run(m->pool, n, read_sample, &job);
}

static void images_set_epoch(bk_dataset *ds, int epoch) { ((images_impl *)ds->impl)->epoch = epoch; }

static bk_status images_sample_name(bk_dataset *ds, int64_t i, char *buf, size_t len)
{
    images_impl *m = ds->impl;
    if (len) snprintf(buf, len, "%s", m->in.rel[i]);
    return BK_OK;
}

int bk_dataset_num_classes(const bk_dataset *ds)
{
    if (!ds || ds->destroy != images_destroy) return 0;
    return ((const images_impl *)ds->impl)->n_classes;
}

const char *bk_dataset_class_name(const bk_dataset *ds, int k)
{
    if (k < 0 || k >= bk_dataset_num_classes(ds)) return NULL;
    return ((const images_impl *)ds->impl)->classes[k];
}

/* ---- preloading ---- */

static bk_status preload_one(void *ctx, int64_t i)
{
    images_impl *m = ctx;
    char p[PATH_MAX + 256];
    if (i < m->in.n) {
        in_path(m, i, p, sizeof p);
        return bk_image_read(p, m->in_gray, 0, &m->in_img[i]);
    }
    i -= m->in.n;
    tgt_path(m, i, p, sizeof p);
    return bk_image_read(p, m->tgt_gray, 0, &m->tgt_img[i]);
}

/* Decodes every file, then checks every sample's size, so a bad file
 * stops the run at open rather than in epoch 3. */
static bk_status preload(bk_dataset *ds, images_impl *m)
{
    if (!(m->in_img = calloc((size_t)m->in.n, sizeof *m->in_img)))
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld images", m->in_dir, (long long)m->in.n);
    if (m->mode == TGT_IMAGES) {
        if (m->same && m->tgt_gray == m->in_gray) {
            m->tgt_img = m->in_img; /* each image is its own target: decoded once */
        } else {
            int64_t n = m->same ? m->in.n : m->tgt.n;
            if (!(m->tgt_img = calloc((size_t)n, sizeof *m->tgt_img)))
                return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld targets", m->tgt_dir, (long long)n);
            m->n_tgt_img = n;
        }
    }
    bk_status st = bk_work_pool_run(m->pool, m->in.n + m->n_tgt_img, preload_one, m);
    for (int64_t k = 0; k < m->in.n && !st; k++) {
        char ip[PATH_MAX + 256], tp[PATH_MAX + 256];
        bk_shape raw = image_shape(&m->in_img[k]), got;
        in_path(m, k, ip, sizeof ip);
        st = sample_shape(m, 0, &raw, &got);
        if (st) st = bk_error_context(st, "%s: ", ip);
        else if (!bk_shape_equal(&got, &ds->input_shape)) st = wrong_size(m, 0, ip, &raw, &got, &ds->input_shape);
        if (st || m->mode != TGT_IMAGES) continue;
        const bk_image *tg = &m->tgt_img[m->match[k]];
        tgt_path(m, m->match[k], tp, sizeof tp);
        raw = image_shape(tg);
        st = check_pair(m, &m->in_img[k], tg, ip, tp);
        if (!st) st = sample_shape(m, 1, &raw, &got);
        if (st) continue;
        if (!bk_shape_equal(&got, &ds->target_shape)) st = wrong_size(m, 1, tp, &raw, &got, &ds->target_shape);
    }
    return st;
}

/* ---- open ---- */

/* dir without trailing slashes, for joining names to. */
static bk_status set_dir(char *dst, const char *src, const char *key)
{
    size_t n = strlen(src);
    while (n > 1 && src[n - 1] == '/') n--;
    if (n >= PATH_MAX) return bk_error(BK_ERR_INVALID, "%s: path too long (%s)", src, key);
    memcpy(dst, src, n);
    dst[n] = 0;
    return BK_OK;
}

/* 1 when a and b name the same folder. */
static int same_folder(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb)) return !strcmp(a, b);
    return !strcmp(ra, rb);
}

static bk_status find_targets(images_impl *m, const bk_images_options *opt)
{
    bk_status st;
    if (opt->labels) {
        m->mode = TGT_LABELS;
        if (!(m->cls = malloc((size_t)m->in.n * sizeof *m->cls)))
            return bk_error(BK_ERR_NOMEM, "%s: out of memory for %lld labels", m->in_dir, (long long)m->in.n);
        return bk_image_labels(m->in_dir, &m->in, opt->tag && opt->tag[0] ? opt->tag : NULL, opt->classes, opt->n_classes, &m->classes, &m->n_classes, m->cls);
    }
    if (!opt->target_path || !opt->target_path[0]) return BK_OK;
    m->mode = TGT_IMAGES;
    if ((st = set_dir(m->tgt_dir, opt->target_path, "target_path"))) return st;
    if (!(m->match = malloc((size_t)m->in.n * sizeof *m->match)))
        return bk_error(BK_ERR_NOMEM, "%s: out of memory pairing %lld images", m->in_dir, (long long)m->in.n);
    m->same = same_folder(m->in_dir, m->tgt_dir);
    if (m->same) {
        /* inpainting, denoising: each image is its own target */
        for (int64_t i = 0; i < m->in.n; i++) m->match[i] = i;
        return BK_OK;
    }
    if ((st = bk_image_scan(m->tgt_dir, &m->tgt))) return st;
    return bk_image_pair(m->in_dir, &m->in, m->tgt_dir, &m->tgt, m->match);
}

/* The dataset's shapes, from the first input's and target's headers. */
static bk_status set_shapes(bk_dataset *ds, images_impl *m)
{
    char p[PATH_MAX + 256];
    bk_image h;
    in_path(m, 0, p, sizeof p);
    bk_status st = bk_image_read(p, m->in_gray, 1, &h);
    if (st) return st;
    m->in_raw = image_shape(&h);
    if ((st = sample_shape(m, 0, &m->in_raw, &ds->input_shape))) return bk_error_context(st, "%s: ", p);
    if (m->mode == TGT_LABELS) {
        ds->target_shape = bk_shape_make(0, NULL);
    } else if (m->mode == TGT_IMAGES) {
        tgt_path(m, m->match[0], p, sizeof p);
        if ((st = bk_image_read(p, m->tgt_gray, 1, &h))) return st;
        m->tgt_raw = image_shape(&h);
        m->pair_equal = m->tgt_raw.dims[1] == m->in_raw.dims[1] && m->tgt_raw.dims[2] == m->in_raw.dims[2];
        if ((st = sample_shape(m, 1, &m->tgt_raw, &ds->target_shape))) return bk_error_context(st, "%s: ", p);
    }
    return BK_OK;
}

bk_status bk_dataset_open_images(bk_dataset **out, const bk_images_options *opt)
{
    *out = NULL;
    if (!opt || !opt->input_path || !opt->input_path[0])
        return bk_error(BK_ERR_INVALID, "images: no input folder given; set input_path");
    if (opt->labels && opt->target_path && opt->target_path[0])
        return bk_error(BK_ERR_INVALID, "%s: both class labels (from folder names) and target images (%s) asked "
                        "for; keep one", opt->input_path, opt->target_path);
    if (opt->transform && (!opt->transform->apply || !opt->transform->out_shape))
        return bk_error(BK_ERR_INVALID, "%s: the transform lacks its apply or out_shape function", opt->input_path);
    images_impl *m = calloc(1, sizeof *m);
    if (!m) return bk_error(BK_ERR_NOMEM, "%s: out of memory opening the images", opt->input_path);
    m->in_gray = opt->input_grayscale != 0;
    m->tgt_gray = opt->target_grayscale != 0;
    m->epoch = -1;
    if (opt->transform) {
        m->tf = *opt->transform;
        m->has_tf = 1;
    }
    bk_dataset *ds = NULL;
    bk_status st = set_dir(m->in_dir, opt->input_path, "input_path");
    if (!st) st = bk_image_scan(m->in_dir, &m->in);
    if (!st) st = find_targets(m, opt);
    if (!st && !(ds = bk_data_alloc("%s", m->in_dir)))
        st = bk_error(BK_ERR_NOMEM, "%s: out of memory opening the images", m->in_dir);
    if (!st) {
        ds->impl = m;
        ds->count = m->in.n;
        ds->has_targets = m->mode != TGT_NONE;
        st = set_shapes(ds, m);
    }
    if (!st) st = bk_work_pool_create(&m->pool, opt->threads, m->in_dir);
    if (!st && opt->preload) st = preload(ds, m);
    if (st) {
        impl_free(m);
        free(ds);
        return st;
    }
    ds->read = images_read;
    ds->destroy = images_destroy;
    ds->set_epoch = opt->evaluation ? NULL : images_set_epoch;
    ds->sample_name = images_sample_name;
    *out = ds;
    return BK_OK;
}
