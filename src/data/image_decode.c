/* Format detection, dispatch to the per-format decoders, and the float
 * conversion every loader path shares. */
#include "image_decode.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/fsutil.h"

static int starts(const unsigned char *b, size_t n, const void *magic, size_t m)
{
    return n >= m && memcmp(b, magic, m) == 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bk_image_format bk_image_sniff(const unsigned char *b, size_t n, const char **other)
{
    const char *o = NULL;
    if (other) *other = NULL;
    if (starts(b, n, "\x89PNG\r\n\x1a\n", 8)) return BK_IMG_PNG;
    if (starts(b, n, "\xff\xd8\xff", 3)) return BK_IMG_JPEG;
    /* classic TIFF (42) and BigTIFF (43), either byte order */
    if (starts(b, n, "II*\0", 4) || starts(b, n, "MM\0*", 4) || starts(b, n, "II+\0", 4) ||
        starts(b, n, "MM\0+", 4))
        return BK_IMG_TIFF;
    /* Formats OpenCV reads but brisk does not: named, so such a file is an
     * error that says what it is instead of a sample silently left out. A
     * BMP's 2-byte magic is backed by its DIB header size, so a text file
     * that happens to start with "BM" is not taken for one. */
    if (n >= 18 && b[0] == 'B' && b[1] == 'M') {
        uint32_t dib = le32(b + 14);
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124) o = "BMP";
    }
    if (starts(b, n, "GIF87a", 6) || starts(b, n, "GIF89a", 6)) o = "GIF";
    if (n >= 12 && starts(b, n, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) o = "WebP";
    if (starts(b, n, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts(b, n, "\xff\x4f\xff\x51", 4)) o = "JPEG 2000";
    if (starts(b, n, "\x76\x2f\x31\x01", 4)) o = "OpenEXR";
    if (starts(b, n, "#?RADIANCE", 10) || starts(b, n, "#?RGBE", 6)) o = "Radiance HDR";
    if (n >= 4 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && (b[2] == '\n' || b[2] == ' ' || b[2] == '\r')) {
        /* "P5" and a blank start many a text file: a PNM goes on with its width or a comment */
        size_t i = 3;
        while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
        if (i < n && ((b[i] >= '0' && b[i] <= '9') || b[i] == '#')) o = "PNM (PBM/PGM/PPM)";
    }
    if (o) {
        if (other) *other = o;
        return BK_IMG_OTHER;
    }
    return BK_IMG_NONE;
}

bk_status bk_image_check_size(const char *name, const char *format, int64_t w, int64_t h)
{
    if (w < 1 || h < 1)
        return bk_error(BK_ERR_IO, "%s: corrupt %s: its header gives a size of %lldx%lld pixels; "
                        "replace the file", name, format, (long long)w, (long long)h);
    if (w > BK_IMAGE_MAX_PIXELS / h)
        return bk_error(BK_ERR_IO, "%s: %s of %lldx%lld pixels, more than the %lld brisk decodes (a corrupt "
                        "header?); shrink or replace the image", name, format, (long long)w, (long long)h,
                        (long long)BK_IMAGE_MAX_PIXELS);
    return BK_OK;
}

bk_status bk_image_decode(const unsigned char *buf, size_t len, const char *name, int gray,
                          int header_only, bk_image *out)
{
    memset(out, 0, sizeof *out);
    const char *other;
    switch (bk_image_sniff(buf, len, &other)) {
    case BK_IMG_PNG: return bk_png_decode(buf, len, name, gray, header_only, out);
    case BK_IMG_JPEG: return bk_jpeg_decode(buf, len, name, gray, header_only, out);
    case BK_IMG_TIFF: return bk_tiff_decode(buf, len, name, gray, header_only, out);
    case BK_IMG_OTHER:
        return bk_error(BK_ERR_UNSUPPORTED, "%s: a %s image; brisk reads PNG, JPEG and TIFF: convert it "
                        "(e.g. `convert in out.png`) or remove it", name, other);
    default:
        return bk_error(BK_ERR_IO, "%s: not a PNG, JPEG or TIFF image (%s); replace or remove the file", name,
                        len ? "its first bytes match none of them" : "the file is empty");
    }
}

bk_status bk_image_read(const char *path, int gray, int header_only, bk_image *out)
{
    memset(out, 0, sizeof *out);
    char *buf;
    size_t len;
    bk_status st = bk_read_file(path, &buf, &len);
    if (st) return st;
    st = bk_image_decode((const unsigned char *)buf, len, path, gray, header_only, out);
    free(buf);
    return st;
}

/* 8-bit samples through a table: v / 255.0f exactly as a division gives
 * it (so decoded values equal numpy's float32(v) / 255 bit for bit), at
 * the cost of a load. */
static float u8_scale[256];
static void init_u8_scale(void)
{
    for (int v = 0; v < 256; v++) u8_scale[v] = (float)v / 255.0f;
}

void bk_image_to_chw(const bk_image *im, float *out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_u8_scale);
    int64_t plane = (int64_t)im->width * im->height;
    int c = im->channels;
    if (im->depth == 8) {
        const uint8_t *p = im->pix;
        for (int k = 0; k < c; k++)
            for (int64_t i = 0; i < plane; i++) out[k * plane + i] = u8_scale[p[i * c + k]];
    } else {
        const uint16_t *p = im->pix;
        for (int k = 0; k < c; k++)
            for (int64_t i = 0; i < plane; i++) out[k * plane + i] = (float)p[i * c + k] / 65535.0f;
    }
}

void bk_image_free(bk_image *im)
{
    if (!im) return;
    free(im->pix);
    memset(im, 0, sizeof *im);
}
