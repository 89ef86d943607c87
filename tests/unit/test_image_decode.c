/* The image decoders against independent references: every case that
 * tests/unit/image_refs.py writes (PNG, JPEG, TIFF of each depth and
 * channel layout, colour and gray requests, corrupt files) must decode to
 * its reference exactly, or fail with a message naming the file. */
#include "data/image_decode.h"
#include "testutil.h"
#include <stdlib.h>
#include <string.h>

static char dir[2048];

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

static float *read_ref(const char *name, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    float *v = malloc(n * sizeof *v);
    size_t got = f && v ? fread(v, sizeof *v, n, f) : 0;
    if (f) fclose(f);
    if (got != n) {
        free(v);
        return NULL;
    }
    return v;
}

static void check_ok(const char *file, int gray, int c, int h, int w, const char *ref_name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    bk_image head, im;
    bk_status st = bk_image_read(path, gray, 1, &head);
    bk_test_checks++;
    if (st || head.width != w || head.height != h || head.channels != c || head.pix) {
        bk_test_failures++;
        fprintf(stderr, "%s (gray %d): header gives %dx%dx%d (status %d: %s), expected %dx%dx%d\n", file, gray,
                head.channels, head.height, head.width, st, st ? bk_last_error() : "", c, h, w);
    }
    st = bk_image_read(path, gray, 0, &im);
    bk_test_checks++;
    if (st) {
        bk_test_failures++;
        fprintf(stderr, "%s (gray %d): %s\n", file, gray, bk_last_error());
        return;
    }
    CHECK(im.depth == head.depth);
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    float *ref = read_ref(ref_name, n);
    float *got = malloc(n * sizeof *got);
    CHECK(ref != NULL && got != NULL);
    if (ref && got && im.channels == c && im.height == h && im.width == w) {
        bk_image_to_chw(&im, got);
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (got[i] != ref[i] && !bad++) first = i;
        bk_test_checks++;
        if (bad) {
            bk_test_failures++;
            fprintf(stderr, "%s (gray %d): %zu of %zu values differ; first at %zu: %.9g, expected %.9g\n", file, gray,
                    bad, n, first, got[first], ref[first]);
        }
    } else {
        bk_test_checks++;
        bk_test_failures++;
        fprintf(stderr, "%s (gray %d): decoded %dx%dx%d, expected %dx%dx%d\n", file, gray, im.channels, im.height,
                im.width, c, h, w);
    }
    free(ref);
    free(got);
    bk_image_free(&im);
}

static void check_err(const char *file, int gray, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    bk_image im;
    bk_status st = bk_image_read(path, gray, 0, &im);
    bk_test_checks++;
    if (st == BK_OK || im.pix || !contains(bk_last_error(), path) || !contains(bk_last_error(), text)) {
        bk_test_failures++;
        fprintf(stderr, "%s: expected an error naming the file and saying \"%s\"; got status %d: %s\n", file, text,
                st, st ? bk_last_error() : "");
    }
    bk_image_free(&im);
}

static void check_sniff(void)
{
    const char *other;
    CHECK(bk_image_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8, NULL) == BK_IMG_PNG);
    CHECK(bk_image_sniff((const unsigned char *)"\x89PNG\r\n", 6, NULL) == BK_IMG_NONE);
    CHECK(bk_image_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4, NULL) == BK_IMG_JPEG);
    CHECK(bk_image_sniff((const unsigned char *)"MM\0*", 4, NULL) == BK_IMG_TIFF);
    CHECK(bk_image_sniff((const unsigned char *)"II+\0", 4, NULL) == BK_IMG_TIFF);
    CHECK(bk_image_sniff((const unsigned char *)"GIF89a..", 8, &other) == BK_IMG_OTHER && !strcmp(other, "GIF"));
    CHECK(bk_image_sniff((const unsigned char *)"P5\n28 28\n255\n", 13, &other) == BK_IMG_OTHER);
    /* text that merely starts like a format stays text */
    CHECK(bk_image_sniff((const unsigned char *)"P5 notes about the run", 22, NULL) == BK_IMG_NONE);
    CHECK(bk_image_sniff((const unsigned char *)"BMW parts list, 2024 ...", 24, NULL) == BK_IMG_NONE);
    CHECK(bk_image_sniff((const unsigned char *)"", 0, NULL) == BK_IMG_NONE);
}

int main(void)
{
    const char *src = getenv("BRISK_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s", bk_test_tmpdir("image_decode"));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/image_refs.py %s >/dev/null", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "tests/unit/image_refs.py failed: it needs python3 with numpy and PIL (python3-pil), djpeg "
                "(libjpeg-turbo-progs), tiffcp (libtiff-tools) and pnmtopng (netpbm): scripts/install-deps.sh --test\n");
        return 1;
    }
    check_sniff();
    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%s/manifest.txt", dir);
    FILE *f = fopen(manifest, "r");
    CHECK(f != NULL);
    int cases = 0;
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char file[256], ref[300], text[256];
        int gray, c, h, w;
        if (sscanf(line, "ok %255s %d %d %d %d %299s", file, &gray, &c, &h, &w, ref) == 6) {
            check_ok(file, gray, c, h, w, ref);
            cases++;
        } else if (sscanf(line, "err %255s %d %255[^\n]", file, &gray, text) == 3) {
            check_err(file, gray, text);
            cases++;
        } else {
            fprintf(stderr, "manifest line not understood: %s", line);
            bk_test_failures++;
        }
    }
    if (f) fclose(f);
    printf("%d cases\n", cases);
    CHECK(cases > 150);
    return bk_test_finish("test_image_decode");
}
