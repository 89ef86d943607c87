/* PNG through libpng, with the transformations OpenCV's PNG reader asks
 * libpng for, so pixels match imread's: alpha stripped (tRNS too),
 * palettes and 1/2/4-bit gray expanded to 8 bits, BGR order, gray to RGB
 * by replication, and RGB to gray by libpng's rgb_to_gray with weights
 * 0.299 and 0.587. 16-bit files stay 16-bit. */
#include "image_decode.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    char msg[256];      /* libpng's reason for the failure */
} png_src;

static void read_mem(png_structp png, png_bytep out, size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "the file ends early (truncated)");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

/* libpng calls this for a fatal error; it must not return. */
static void on_error(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (an ancillary chunk with a bad CRC, an unknown sRGB profile)
 * leave the pixels intact: OpenCV decodes such files, so do we, quietly. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

bk_status bk_png_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                        bk_image *out)
{
    memset(out, 0, sizeof *out);
    png_src src = {.buf = buf, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return bk_error(BK_ERR_NOMEM, "%s: out of memory starting the PNG decoder", name);
    }
    /* Assigned after setjmp and read after the longjmp: volatile, or the
     * compiler may keep a stale copy in a register. */
    unsigned char *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    volatile bk_status fail = BK_OK;
    if (setjmp(png_jmpbuf(png))) {
        free(pix);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (fail) return fail; /* a size error already has its message */
        return bk_error(BK_ERR_IO, "%s: corrupt PNG (libpng: %s); replace or remove the file", name, src.msg);
    }
    png_set_read_fn(png, &src, read_mem);
    png_read_info(png, info);
    png_uint_32 w, h;
    int bit_depth, color_type;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    if ((fail = bk_image_check_size(name, "PNG", w, h))) png_longjmp(png, 1);
    int is_color = (color_type & PNG_COLOR_MASK_COLOR) != 0; /* palettes included */
    int channels = gray ? 1 : 3, depth = bit_depth == 16 ? 16 : 8;
    if (!header_only) {
        if (bit_depth == 16 && little_endian()) png_set_swap(png);
        png_set_strip_alpha(png);
        if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (!is_color && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (is_color && !gray) png_set_bgr(png);
        else if (!is_color && !gray) png_set_gray_to_rgb(png);
        else if (is_color && gray) png_set_rgb_to_gray_fixed(png, 1, 29900, 58700); /* 0.299, 0.587 */
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        size_t row = png_get_rowbytes(png, info);
        if (png_get_channels(png, info) != channels || png_get_bit_depth(png, info) != depth ||
            row != (size_t)w * (size_t)channels * (size_t)(depth / 8)) {
            fail = bk_error(BK_ERR_INTERNAL, "%s: libpng gave %d channels of %d bits, expected %d of %d; "
                            "please report this file", name, png_get_channels(png, info),
                            png_get_bit_depth(png, info), channels, depth);
            png_longjmp(png, 1);
        }
        pix = malloc(row * h);
        rows = malloc(h * sizeof *rows);
        if (!pix || !rows) {
            fail = bk_error(BK_ERR_NOMEM, "%s: out of memory for a %ux%u PNG", name, (unsigned)w, (unsigned)h);
            png_longjmp(png, 1);
        }
        for (png_uint_32 y = 0; y < h; y++) rows[y] = pix + y * row;
        png_read_image(png, rows);
        /* as OpenCV: a file cut after its pixel data is still corrupt */
        png_read_end(png, NULL);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->width = (int)w;
    out->height = (int)h;
    out->channels = channels;
    out->depth = depth;
    out->pix = pix;
    return BK_OK;
}
