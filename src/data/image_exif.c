/* EXIF orientation: cameras store a portrait photo as landscape pixels with
 * a tag saying how to turn them. OpenCV's imread turns JPEGs upright by
 * that tag, so a network trained there saw them upright; so do we. */
#include "image_decode.h"
#include <stdlib.h>
#include <string.h>

static unsigned rd16(const unsigned char *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int bk_exif_orientation(const unsigned char *d, size_t n)
{
    /* "Exif\0\0", then a TIFF header and IFD0, which holds tag 0x0112 */
    if (n < 14 || memcmp(d, "Exif\0\0", 6)) return 1;
    const unsigned char *t = d + 6;
    size_t tn = n - 6;
    int big;
    if (!memcmp(t, "II", 2)) big = 0;
    else if (!memcmp(t, "MM", 2)) big = 1;
    else return 1;
    if (rd16(t + 2, big) != 42) return 1;
    uint32_t ifd = rd32(t + 4, big);
    if (ifd > tn || tn - ifd < 2) return 1;
    unsigned count = rd16(t + ifd, big);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + 12 * (size_t)i;
        if (e + 12 > tn) return 1;
        if (rd16(t + e, big) != 0x0112) continue;
        /* type SHORT, one value, stored in the entry itself */
        if (rd16(t + e + 2, big) != 3 || rd32(t + e + 4, big) != 1) return 1;
        unsigned v = rd16(t + e + 8, big);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

void bk_exif_oriented_size(int orientation, int *width, int *height)
{
    if (orientation >= 5) {
        int w = *width;
        *width = *height;
        *height = w;
    }
}

bk_status bk_exif_apply(bk_image *im, int orientation, const char *name)
{
    if (orientation <= 1 || orientation > 8) return BK_OK;
    int w = im->width, h = im->height, c = im->channels;
    size_t bps = (size_t)im->depth / 8, px = (size_t)c * bps;
    int ow = w, oh = h;
    bk_exif_oriented_size(orientation, &ow, &oh);
    unsigned char *dst = malloc((size_t)w * (size_t)h * px);
    if (!dst) return bk_error(BK_ERR_NOMEM, "%s: out of memory turning a %dx%d image upright", name, w, h);
    const unsigned char *src = im->pix;
    /* For each output pixel, the source pixel as OpenCV's flips and
     * transposes place it (orientations 5-8 transpose first). */
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int sy, sx;
            switch (orientation) {
            case 2: sy = y; sx = w - 1 - x; break;
            case 3: sy = h - 1 - y; sx = w - 1 - x; break;
            case 4: sy = h - 1 - y; sx = x; break;
            case 5: sy = x; sx = y; break;
            case 6: sy = h - 1 - x; sx = y; break;
            case 7: sy = h - 1 - x; sx = w - 1 - y; break;
            default: sy = x; sx = w - 1 - y; break; /* 8 */
            }
            memcpy(dst + ((size_t)y * ow + x) * px, src + ((size_t)sy * w + sx) * px, px);
        }
    free(im->pix);
    im->pix = dst;
    im->width = ow;
    im->height = oh;
    return BK_OK;
}
