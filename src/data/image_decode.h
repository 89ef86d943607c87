/* Decoding PNG, JPEG and TIFF files into pixels as OpenCV's imread gives
 * them, since the reference CLI reads its images with OpenCV and a network
 * trained there must see the same numbers here:
 *   - colour comes out as 3 channels in BGR order, alpha is dropped (never
 *     blended), a gray file asked for colour gives 3 equal channels;
 *   - "gray" gives 1 channel: a colour file is reduced with the luma weights
 *     0.299 R + 0.587 G + 0.114 B, computed as OpenCV computes them for each
 *     format (libpng's rgb_to_gray for PNG, libjpeg's own Y for JPEG,
 *     OpenCV's rounded fixed-point formula for TIFF and CMYK JPEG);
 *   - 8- and 16-bit samples keep their depth (16-bit as OpenCV's
 *     IMREAD_ANYDEPTH); bk_image_to_chw divides by 255 or 65535.
 * The format comes from the file's first bytes, never its name. */
#ifndef BK_DATA_IMAGE_DECODE_H
#define BK_DATA_IMAGE_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "brisk/status.h"

typedef enum {
    BK_IMG_NONE = 0,  /* not an image we know of */
    BK_IMG_PNG,
    BK_IMG_JPEG,
    BK_IMG_TIFF,
    BK_IMG_OTHER      /* an image format brisk does not read (BMP, GIF, ...) */
} bk_image_format;

/* A decoded image: rows of interleaved samples, channel order B, G, R. */
typedef struct {
    int width, height;
    int channels;        /* 1 (gray) or 3 (BGR) */
    int depth;           /* bits per sample: 8 (uint8_t) or 16 (uint16_t) */
    void *pix;           /* height * width * channels samples; malloc'ed */
} bk_image;

/* Largest image decoded, in pixels (OpenCV's default limit too): a bigger
 * header is more likely a corrupt file than a real picture. */
#define BK_IMAGE_MAX_PIXELS ((int64_t)1 << 30)

/* The format of data starting with buf[0..len); *other_name (may be NULL)
 * gets the name of an unsupported format ("BMP", "GIF", ...). */
bk_image_format bk_image_sniff(const unsigned char *buf, size_t len, const char **other_name);

/* Decodes a whole file held in memory. name is the file, for messages.
 * gray: 1 channel instead of BGR. header_only: fills width and height
 * (channels and depth as decoding would give them) and leaves pix NULL.
 * On failure *out is left empty and the message names the file. */
bk_status bk_image_decode(const unsigned char *buf, size_t len, const char *name, int gray,
                          int header_only, bk_image *out);

/* Reads and decodes the file at path (see bk_image_decode). */
bk_status bk_image_read(const char *path, int gray, int header_only, bk_image *out);

/* Writes the image as float32 [channels, height, width] into out (which
 * holds channels * height * width floats): each sample divided by 255
 * (8-bit) or 65535 (16-bit), so values lie in [0, 1]. */
void bk_image_to_chw(const bk_image *im, float *out);

/* Frees the pixels and empties *im (NULL and empty images are fine). */
void bk_image_free(bk_image *im);

/* The decoders behind bk_image_decode, one per file format (image_png.c,
 * image_jpeg.c, image_tiff.c); same contract. */
bk_status bk_png_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                        bk_image *out);
bk_status bk_jpeg_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                         bk_image *out);
bk_status bk_tiff_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                         bk_image *out);

/* EXIF orientation (image_exif.c), which OpenCV applies to JPEGs: the tag's
 * value (1-8) from an APP1 marker's data, 1 (upright) when there is none
 * or it cannot be read; the size an image of width x height has once
 * turned; and the turn itself, in place. */
int bk_exif_orientation(const unsigned char *app1, size_t len);
void bk_exif_oriented_size(int orientation, int *width, int *height);
bk_status bk_exif_apply(bk_image *im, int orientation, const char *name);

/* Shared by the decoders: the error for a size over BK_IMAGE_MAX_PIXELS
 * or zero (BK_OK when the size is fine), and OpenCV's fixed-point BGR to
 * gray (cvtColor's weights 0.299, 0.587, 0.114 in 14 bits, rounded). */
bk_status bk_image_check_size(const char *name, const char *format, int64_t width, int64_t height);
static inline unsigned bk_image_luma(unsigned b, unsigned g, unsigned r)
{
    return (b * 1868u + g * 9617u + r * 4899u + (1u << 13)) >> 14;
}
#endif
