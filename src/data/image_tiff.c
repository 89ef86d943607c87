/* TIFF through libtiff, first page only (as imread). 8- and 16-bit
 * unsigned gray (min-is-black) and RGB, with or without extra samples
 * (alpha, dropped), any compression libtiff has, strips or tiles, one
 * plane or one per sample, are read as stored. Everything else libtiff can
 * render (palettes, 1/2/4-bit, min-is-white, YCbCr, CMYK, ...) goes
 * through its 8-bit RGBA interface, as OpenCV does for those. Gray from
 * RGB uses OpenCV's rounded fixed-point luma. Errors and warnings come
 * back through handlers of this file only (libtiff >= 4.5), so threads
 * decoding at once keep their messages apart. */
#include "image_decode.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

typedef struct {
    const unsigned char *buf;
    toff_t len, pos;
    char msg[512];   /* libtiff's first error */
} tiff_src;

static tmsize_t src_read(thandle_t h, void *out, tmsize_t n)
{
    tiff_src *s = (tiff_src *)h;
    if (n < 0) return -1;
    toff_t left = s->pos < s->len ? s->len - s->pos : 0;
    tmsize_t k = (toff_t)n < left ? n : (tmsize_t)left;
    memcpy(out, s->buf + s->pos, (size_t)k);
    s->pos += (toff_t)k;
    return k;
}

static tmsize_t src_write(thandle_t h, void *in, tmsize_t n)
{
    (void)h; (void)in; (void)n;
    return -1;
}

static toff_t src_seek(thandle_t h, toff_t off, int whence)
{
    tiff_src *s = (tiff_src *)h;
    toff_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->len : 0;
    s->pos = base + off;
    return s->pos;
}

static int src_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t src_size(thandle_t h) { return ((tiff_src *)h)->len; }

/* libtiff reads a mapped file in place: the buffer is the mapping. */
static int src_map(thandle_t h, void **base, toff_t *size)
{
    tiff_src *s = (tiff_src *)h;
    *base = (void *)s->buf;
    *size = s->len;
    return 1;
}

static void src_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h; (void)base; (void)size;
}

static int on_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t;
    tiff_src *s = user;
    if (!s->msg[0]) {
        int k = snprintf(s->msg, sizeof s->msg, "%s%s", module ? module : "", module ? ": " : "");
        if (k >= 0 && (size_t)k < sizeof s->msg) vsnprintf(s->msg + k, sizeof s->msg - (size_t)k, fmt, ap);
    }
    return 1; /* handled: libtiff's global handler (stderr) stays out of it */
}

/* Warnings (unknown tags, odd but readable fields) do not spoil pixels. */
static int on_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t; (void)user; (void)module; (void)fmt; (void)ap;
    return 1;
}

static bk_status tiff_fail(const tiff_src *s, const char *name, const char *what)
{
    return bk_error(BK_ERR_IO, "%s: corrupt TIFF: %s (libtiff: %s); replace or remove the file", name, what,
                    s->msg[0] ? s->msg : "no reason given");
}

/* Copies a block of stored samples (rows x cols pixels at (y0, x0), rows of
 * `stride` bytes, one plane `plane` of spp or all spp interleaved) into the
 * interleaved buffer of the whole image. */
static void put_block(unsigned char *img, int w, int spp, size_t bps, const unsigned char *blk, size_t stride,
                      int y0, int x0, int rows, int cols, int plane, int separate)
{
    for (int y = 0; y < rows; y++) {
        unsigned char *d = img + (((size_t)(y0 + y) * (size_t)w + (size_t)x0) * (size_t)spp) * bps;
        const unsigned char *s = blk + (size_t)y * stride;
        if (!separate) {
            memcpy(d, s, (size_t)cols * (size_t)spp * bps);
        } else {
            for (int x = 0; x < cols; x++) memcpy(d + ((size_t)x * (size_t)spp + (size_t)plane) * bps, s + (size_t)x * bps, bps);
        }
    }
}

/* All samples of the page as stored, interleaved: w * h * spp of bps bytes. */
static bk_status read_stored(TIFF *t, const tiff_src *s, const char *name, int w, int h, int spp, size_t bps,
                             unsigned char **out)
{
    uint16_t config = PLANARCONFIG_CONTIG;
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &config);
    int separate = config == PLANARCONFIG_SEPARATE, planes = separate ? spp : 1;
    unsigned char *img = malloc((size_t)w * (size_t)h * (size_t)spp * bps);
    unsigned char *blk = NULL;
    bk_status st = BK_OK;
    if (!img) return bk_error(BK_ERR_NOMEM, "%s: out of memory for a %dx%d TIFF", name, w, h);
    if (TIFFIsTiled(t)) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
        tmsize_t tsz = TIFFTileSize(t);
        if (tw == 0 || th == 0 || tsz <= 0) st = tiff_fail(s, name, "bad tile size");
        else if (!(blk = malloc((size_t)tsz))) st = bk_error(BK_ERR_NOMEM, "%s: out of memory for a TIFF tile", name);
        size_t stride = (size_t)tw * (size_t)(separate ? 1 : spp) * bps;
        for (int p = 0; p < planes && !st; p++)
            for (uint32_t y = 0; y < (uint32_t)h && !st; y += th)
                for (uint32_t x = 0; x < (uint32_t)w && !st; x += tw) {
                    if (TIFFReadEncodedTile(t, TIFFComputeTile(t, x, y, 0, (uint16_t)p), blk, tsz) < 0) {
                        st = tiff_fail(s, name, "a tile cannot be read");
                        break;
                    }
                    int rows = (int)((uint32_t)h - y < th ? (uint32_t)h - y : th);
                    int cols = (int)((uint32_t)w - x < tw ? (uint32_t)w - x : tw);
                    put_block(img, w, spp, bps, blk, stride, (int)y, (int)x, rows, cols, p, separate);
                }
    } else {
        uint32_t rps = (uint32_t)h;
        TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > (uint32_t)h) rps = (uint32_t)h;
        tmsize_t ssz = TIFFStripSize(t);
        if (ssz <= 0) st = tiff_fail(s, name, "bad strip size");
        else if (!(blk = malloc((size_t)ssz))) st = bk_error(BK_ERR_NOMEM, "%s: out of memory for a TIFF strip", name);
        size_t stride = (size_t)w * (size_t)(separate ? 1 : spp) * bps;
        for (int p = 0; p < planes && !st; p++)
            for (uint32_t y = 0; y < (uint32_t)h; y += rps) {
                int rows = (int)((uint32_t)h - y < rps ? (uint32_t)h - y : rps);
                tmsize_t want = (tmsize_t)((size_t)rows * stride);
                if (TIFFReadEncodedStrip(t, TIFFComputeStrip(t, y, (uint16_t)p), blk, want) < want) {
                    st = tiff_fail(s, name, "a strip is missing or cut short");
                    break;
                }
                put_block(img, w, spp, bps, blk, stride, (int)y, 0, rows, w, p, separate);
            }
    }
    free(blk);
    if (st) {
        free(img);
        return st;
    }
    *out = img;
    return BK_OK;
}

/* Stored gray or RGB samples to the output layout: BGR, or gray. */
static void stored_to_image(const unsigned char *src, int spp, int rgb, int gray, bk_image *im)
{
    size_t n = (size_t)im->width * (size_t)im->height;
    int c = im->channels;
#define CONVERT(T)                                                                                  \
    do {                                                                                            \
        const T *s = (const T *)src;                                                                \
        T *d = (T *)im->pix;                                                                        \
        for (size_t i = 0; i < n; i++, s += spp, d += c) {                                          \
            if (!rgb) {                                                                             \
                for (int k = 0; k < c; k++) d[k] = s[0];                                            \
            } else if (gray) {                                                                      \
                d[0] = (T)bk_image_luma(s[2], s[1], s[0]);                                          \
            } else {                                                                                \
                d[0] = s[2];                                                                        \
                d[1] = s[1];                                                                        \
                d[2] = s[0];                                                                        \
            }                                                                                       \
        }                                                                                           \
    } while (0)
    if (im->depth == 8) CONVERT(uint8_t);
    else CONVERT(uint16_t);
#undef CONVERT
}

/* Through libtiff's RGBA interface (8 bits, upright). */
static bk_status read_rgba(TIFF *t, const tiff_src *s, const char *name, int gray, bk_image *im)
{
    char why[1024] = "";
    if (!TIFFRGBAImageOK(t, why))
        return bk_error(BK_ERR_UNSUPPORTED, "%s: a TIFF whose pixels brisk cannot read (libtiff: %s); convert it "
                        "to 8- or 16-bit gray or RGB", name, why);
    size_t n = (size_t)im->width * (size_t)im->height;
    uint32_t *raster = malloc(n * sizeof *raster);
    if (!raster) return bk_error(BK_ERR_NOMEM, "%s: out of memory for a %dx%d TIFF", name, im->width, im->height);
    if (!TIFFReadRGBAImageOriented(t, (uint32_t)im->width, (uint32_t)im->height, raster, ORIENTATION_TOPLEFT, 1)) {
        free(raster);
        return tiff_fail(s, name, "its pixels cannot be read");
    }
    uint8_t *d = im->pix;
    for (size_t i = 0; i < n; i++) {
        unsigned r = TIFFGetR(raster[i]), g = TIFFGetG(raster[i]), b = TIFFGetB(raster[i]);
        if (gray) {
            *d++ = (uint8_t)bk_image_luma(b, g, r);
        } else {
            *d++ = (uint8_t)b;
            *d++ = (uint8_t)g;
            *d++ = (uint8_t)r;
        }
    }
    free(raster);
    return BK_OK;
}

bk_status bk_tiff_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                         bk_image *out)
{
    memset(out, 0, sizeof *out);
    tiff_src s = {.buf = buf, .len = (toff_t)len};
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return bk_error(BK_ERR_NOMEM, "%s: out of memory starting the TIFF decoder", name);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &s);
    TIFF *t = TIFFClientOpenExt(name, "r", (thandle_t)&s, src_read, src_write, src_seek, src_close, src_size,
                                src_map, src_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!t) return tiff_fail(&s, name, "its header cannot be read");
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, fmt = SAMPLEFORMAT_UINT, photo = 0xffff;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo);
    bk_status st = bk_image_check_size(name, "TIFF", w, h);
    /* read as stored: what imread keeps at full depth */
    int rgb = photo == PHOTOMETRIC_RGB && spp >= 3;
    int stored = (bps == 8 || bps == 16) && fmt == SAMPLEFORMAT_UINT && (rgb || (photo == PHOTOMETRIC_MINISBLACK && spp >= 1));
    if (!st && (fmt == SAMPLEFORMAT_IEEEFP || fmt == SAMPLEFORMAT_INT || bps > 16))
        st = bk_error(BK_ERR_UNSUPPORTED, "%s: a TIFF of %u-bit %s samples; brisk reads 8- and 16-bit unsigned "
                      "images (save it so, or use the numpy/hdf5 loaders for other data)", name, (unsigned)bps,
                      fmt == SAMPLEFORMAT_IEEEFP ? "floating-point" : fmt == SAMPLEFORMAT_INT ? "signed" : "unsigned");
    if (st) {
        TIFFClose(t);
        return st;
    }
    out->width = (int)w;
    out->height = (int)h;
    out->channels = gray ? 1 : 3;
    out->depth = stored && bps == 16 ? 16 : 8;
    if (header_only) {
        TIFFClose(t);
        return BK_OK;
    }
    out->pix = malloc((size_t)w * (size_t)h * (size_t)out->channels * (size_t)(out->depth / 8));
    if (!out->pix) {
        TIFFClose(t);
        memset(out, 0, sizeof *out);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory for a %ux%u TIFF", name, (unsigned)w, (unsigned)h);
    }
    if (stored) {
        unsigned char *raw = NULL;
        st = read_stored(t, &s, name, (int)w, (int)h, spp, bps / 8, &raw);
        if (!st) stored_to_image(raw, spp, rgb, gray, out);
        free(raw);
    } else {
        st = read_rgba(t, &s, name, gray, out);
    }
    TIFFClose(t);
    if (st) bk_image_free(out);
    return st;
}
