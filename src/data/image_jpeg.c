/* JPEG through libjpeg(-turbo), as OpenCV's JPEG reader uses it: BGR
 * straight from the decoder (JCS_EXT_BGR), gray as libjpeg's own luma
 * (JCS_GRAYSCALE), CMYK/YCCK turned into BGR with OpenCV's formula, and
 * the EXIF orientation applied. */
#include "image_decode.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;   /* first, so libjpeg's pointer is ours too */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];   /* the fatal error */
    char lost[JMSG_LENGTH_MAX];  /* the first warning that means pixels are missing */
} jpeg_err;

static void on_error(j_common_ptr ci)
{
    jpeg_err *e = (jpeg_err *)ci->err;
    ci->err->format_message(ci, e->msg);
    longjmp(e->jb, 1);
}

/* libjpeg only warns when data is missing or garbled, fills the gap with
 * gray and goes on; a truncated photo must not become a training sample,
 * so those warnings fail the decode afterwards. Others (extraneous bytes
 * between markers, an unknown JFIF revision, a bad ICC marker) leave the
 * pixels intact and pass quietly, as they do in OpenCV. */
static void on_message(j_common_ptr ci, int level)
{
    if (level >= 0) return; /* trace output */
    jpeg_err *e = (jpeg_err *)ci->err;
    switch (ci->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
        if (!e->lost[0]) ci->err->format_message(ci, e->lost);
        break;
    default:
        break;
    }
}

/* OpenCV's CMYK conversion (icvCvt_CMYK2BGR/Gray): libjpeg hands Adobe's
 * inverted CMYK over as stored, and OpenCV reads it so. */
static void cmyk_to_bgr(const unsigned char *src, unsigned char *dst, size_t pixels, int gray)
{
    for (size_t i = 0; i < pixels; i++, src += 4) {
        int k = src[3];
        int c = k - ((255 - src[0]) * k >> 8);
        int m = k - ((255 - src[1]) * k >> 8);
        int y = k - ((255 - src[2]) * k >> 8);
        if (gray) {
            *dst++ = (unsigned char)bk_image_luma((unsigned)y, (unsigned)m, (unsigned)c);
        } else {
            *dst++ = (unsigned char)y;
            *dst++ = (unsigned char)m;
            *dst++ = (unsigned char)c;
        }
    }
}

/* The orientation in the first EXIF APP1 marker (1 when none). */
static int exif_orientation(j_decompress_ptr ci)
{
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6))
            return bk_exif_orientation(m->data, m->data_length);
    return 1;
}

bk_status bk_jpeg_decode(const unsigned char *buf, size_t len, const char *name, int gray, int header_only,
                         bk_image *out)
{
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct ci;
    jpeg_err e;
    /* zeroed first so the cleanup below is safe whenever libjpeg fails */
    memset(&ci, 0, sizeof ci);
    memset(&e, 0, sizeof e);
    ci.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    /* Assigned after setjmp and read after the longjmp: volatile. */
    unsigned char *volatile pix = NULL;
    unsigned char *volatile cmyk = NULL;
    JSAMPROW *volatile rows = NULL;
    volatile bk_status fail = BK_OK;
    if (setjmp(e.jb)) {
        free(pix);
        free(cmyk);
        free(rows);
        jpeg_destroy_decompress(&ci);
        if (fail) return fail;
        return bk_error(BK_ERR_IO, "%s: corrupt JPEG (libjpeg: %s); replace or remove the file", name, e.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&ci, TRUE);
    if ((fail = bk_image_check_size(name, "JPEG", ci.image_width, ci.image_height))) longjmp(e.jb, 1);
    int orientation = exif_orientation(&ci);
    int is_cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    int channels = gray ? 1 : 3, w = (int)ci.image_width, h = (int)ci.image_height;
    if (header_only) {
        jpeg_destroy_decompress(&ci);
        bk_exif_oriented_size(orientation, &w, &h);
        out->width = w;
        out->height = h;
        out->channels = channels;
        out->depth = 8;
        return BK_OK;
    }
    ci.out_color_space = is_cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_EXT_BGR;
    jpeg_start_decompress(&ci);
    int comps = is_cmyk ? 4 : channels;
    if (ci.output_components != comps || (int)ci.output_width != w || (int)ci.output_height != h) {
        fail = bk_error(BK_ERR_INTERNAL, "%s: libjpeg gave %d components of %ux%u, expected %d of %dx%d; "
                        "please report this file", name, ci.output_components, ci.output_width,
                        ci.output_height, comps, w, h);
        longjmp(e.jb, 1);
    }
    size_t row = (size_t)w * (size_t)comps;
    pix = malloc((size_t)w * (size_t)h * (size_t)channels);
    if (is_cmyk) cmyk = malloc(row * (size_t)h);
    rows = malloc((size_t)h * sizeof *rows);
    if (!pix || !rows || (is_cmyk && !cmyk)) {
        fail = bk_error(BK_ERR_NOMEM, "%s: out of memory for a %dx%d JPEG", name, w, h);
        longjmp(e.jb, 1);
    }
    unsigned char *dst = is_cmyk ? cmyk : pix;
    for (int y = 0; y < h; y++) rows[y] = dst + (size_t)y * row;
    while (ci.output_scanline < ci.output_height)
        jpeg_read_scanlines(&ci, rows + ci.output_scanline, ci.output_height - ci.output_scanline);
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(rows);
    if (e.lost[0]) {
        free(pix);
        free(cmyk);
        return bk_error(BK_ERR_IO, "%s: corrupt or truncated JPEG (libjpeg: %s); replace or remove the file", name,
                        e.lost);
    }
    if (is_cmyk) {
        cmyk_to_bgr(cmyk, pix, (size_t)w * (size_t)h, gray);
        free(cmyk);
    }
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->depth = 8;
    out->pix = pix;
    bk_status st = bk_exif_apply(out, orientation, name);
    if (st) bk_image_free(out);
    return st;
}
