/* The predictions writer's whole-dataset form: float32 and IEEE half
 * datasets at nested paths, the half conversion's rounding over every
 * half value and every midpoint between two, and the atomic rename. */
#include "io/h5out.h"
#include "testutil.h"
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of half bits h (exact in float). */
static float half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

static void test_half_rounding(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint16_t b = (uint16_t)h;
        int e = (b >> 10) & 0x1f;
        float v = half_value(b);
        if (e == 31 && (b & 0x3ff)) { /* NaN stays NaN */
            uint16_t r = bk_float_to_half(v);
            bad += ((r >> 10) & 0x1f) != 31 || !(r & 0x3ff);
            continue;
        }
        bad += bk_float_to_half(v) != b; /* every half value converts to itself */
        if (e == 31 || (b & 0x7fff) == 0x7bff) continue;
        /* the midpoint to the next larger magnitude: ties go to the even one */
        uint16_t next = (uint16_t)(b + 1);
        double mid = ((double)v + (double)half_value(next)) / 2;
        float fm = (float)mid; /* exact: halves have 11 significant bits */
        uint16_t even = (b & 1) ? next : b;
        bad += bk_float_to_half(fm) != even;
        /* just off the midpoint, either way */
        bad += bk_float_to_half(nextafterf(fm, 0.0f)) != b;
        bad += bk_float_to_half(nextafterf(fm, (b & 0x8000) ? -INFINITY : INFINITY)) != next;
    }
    CHECK(bad == 0);
    if (bad) fprintf(stderr, "  %d half conversions wrong\n", bad);
    /* past the largest half (65504): 65519.99 rounds down, 65520 and up to inf */
    CHECK(bk_float_to_half(65519.99f) == 0x7bff);
    CHECK(bk_float_to_half(65520.0f) == 0x7c00);
    CHECK(bk_float_to_half(-1e10f) == 0xfc00);
    CHECK(bk_float_to_half(1e-9f) == 0 && bk_float_to_half(-1e-9f) == 0x8000);
    CHECK(bk_float_to_half(ldexpf(1, -25)) == 0);           /* a tie with zero: even */
    CHECK(bk_float_to_half(ldexpf(1.5f, -25)) == 1);        /* above it: the smallest subnormal */
}

static void read_back(hid_t f, const char *name, float *out, int64_t n, H5T_class_t *cls, size_t *size)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    CHECK(d >= 0);
    if (d < 0) return;
    hid_t t = H5Dget_type(d);
    *cls = H5Tget_class(t);
    *size = H5Tget_size(t);
    H5Tclose(t);
    hid_t sp = H5Dget_space(d);
    CHECK(H5Sget_simple_extent_npoints(sp) == n);
    H5Sclose(sp);
    CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
}

static void test_put(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/put.h5", bk_test_tmpdir("test_h5out"));
    unlink(path);
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.1f - 1.0f;
    int64_t dims[3] = {2, 3, 4};
    bk_shape s = bk_shape_make(3, dims);
    bk_h5out *h = NULL;
    CHECK_OK(bk_h5out_create(&h, path));
    if (!h) return;
    CHECK_OK(bk_h5out_put(h, "plain", &s, v, 0));
    CHECK_OK(bk_h5out_put(h, "cats/sub/cat 1.jpg", &s, v, 1));
    bk_status dup = bk_h5out_put(h, "plain", &s, v, 0);
    CHECK(dup == BK_ERR_INVALID && strstr(bk_last_error(), "\"plain\""));
    CHECK(access(path, F_OK) != 0); /* nothing at the destination before commit */
    CHECK_OK(bk_h5out_close(h, 1));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f < 0) return;
    float got[24];
    H5T_class_t cls;
    size_t size;
    read_back(f, "plain", got, 24, &cls, &size);
    CHECK(cls == H5T_FLOAT && size == 4 && memcmp(got, v, sizeof v) == 0);
    read_back(f, "cats/sub/cat 1.jpg", got, 24, &cls, &size);
    CHECK(cls == H5T_FLOAT && size == 2);
    int bad = 0;
    for (int i = 0; i < 24; i++) bad += got[i] != half_value(bk_float_to_half(v[i]));
    CHECK(bad == 0);
    H5Fclose(f);
    /* a discarded file leaves nothing behind */
    char other[4200];
    snprintf(other, sizeof other, "%s.discarded.h5", path);
    CHECK_OK(bk_h5out_create(&h, other));
    if (h) CHECK_OK(bk_h5out_put(h, "x", &s, v, 0));
    CHECK_OK(bk_h5out_close(h, 0));
    CHECK(access(other, F_OK) != 0);
}

int main(void)
{
    test_half_rounding();
    test_put();
    return bk_test_finish("test_h5out");
}
