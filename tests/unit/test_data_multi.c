/* Datasets of several arrays per sample (bk_dataset_open_arrays): shapes,
 * the planar batch layout, one shuffle for all arrays, subsets, and the
 * errors for mismatched sample counts. */
#include "brisk/data.h"
#include "testutil.h"
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

static void put(hid_t f, const char *name, int rank, const hsize_t *dims, int scale)
{
    float buf[64];
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    hsize_t row = n / dims[0];
    for (hsize_t i = 0; i < n; i++) buf[i] = (float)((int)(i / row) * scale + (int)(i % row));
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_NATIVE_FLOAT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Dclose(d);
    H5Sclose(s);
}

/* Every sample of every batch: array k's row is its sample's (value/scale). */
static void check_batches(bk_dataset *ds, int shuffle)
{
    bk_loader *ld;
    CHECK_OK(bk_loader_create(&ld, ds, 4, shuffle, 5));
    CHECK_OK(bk_loader_begin_epoch(ld, 1));
    int seen = 0, moved = 0;
    for (;;) {
        bk_batch b;
        int done;
        CHECK_OK(bk_loader_next(ld, &b, &done));
        if (done) break;
        const float *x1 = b.x, *x2 = b.x + b.n * 3, *y = b.y;
        for (int64_t i = 0; i < b.n; i++) {
            int s = (int)(x1[i * 3] / 10);
            CHECK(x1[i * 3 + 2] == (float)(s * 10 + 2));
            CHECK(x2[i * 2] == (float)(s * 100) && x2[i * 2 + 1] == (float)(s * 100 + 1));
            CHECK(y[i] == (float)s);
            moved += s != seen;
            seen++;
        }
    }
    CHECK(seen == (int)ds->count);
    CHECK(!shuffle || moved > 0);
    bk_loader_destroy(ld);
}

int main(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/multi.h5", bk_test_tmpdir("data_multi"));
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d1[2] = {10, 3}, d2[2] = {10, 2}, dy[1] = {10}, d3[2] = {9, 2};
    put(f, "x1", 2, d1, 10);
    put(f, "x2", 2, d2, 100);
    put(f, "y", 1, dy, 1);
    put(f, "short", 2, d3, 100);
    H5Fclose(f);

    for (int preload = 0; preload < 2; preload++) {
        bk_data_arrays a = {.n_inputs = 2, .n_targets = 1, .input_paths = {path, path}, .input_keys = {"x1", "x2"},
                            .target_paths = {path}, .target_keys = {"y"}, .preload = preload};
        bk_dataset *ds = NULL, *sub = NULL;
        CHECK_OK(bk_dataset_open_arrays(&ds, 1, &a));
        if (!ds) continue;
        CHECK(ds->count == 10 && bk_dataset_num_inputs(ds) == 2 && bk_dataset_num_targets(ds) == 1);
        CHECK(bk_dataset_input_shape(ds, 0)->dims[0] == 3 && bk_dataset_input_shape(ds, 1)->dims[0] == 2);
        CHECK(bk_dataset_target_shape(ds, 0)->ndim == 0);          /* a 1-D target: one value per sample */
        CHECK(bk_shape_numel(&ds->input_shape) == 5);               /* buffers are sized by the total */
        CHECK(strstr(ds->input_names[1], "x2") != NULL);
        check_batches(ds, 0);
        check_batches(ds, 1);
        CHECK_OK(bk_dataset_subset(&sub, ds, 6, 4));
        if (sub) {
            CHECK(bk_dataset_num_inputs(sub) == 2 && bk_dataset_input_shape(sub, 1)->dims[0] == 2);
            int64_t idx[2] = {0, 3};
            float x[10], y[2];
            CHECK_OK(sub->read(sub, idx, 2, x, y));
            CHECK(x[0] == 60 && x[3] == 90 && x[6] == 600 && x[8] == 900 && y[0] == 6 && y[1] == 9);
            bk_dataset_destroy(sub);
        }
        bk_dataset_destroy(ds);
    }

    /* arrays with different sample counts: both named with their counts */
    bk_data_arrays bad = {.n_inputs = 2, .input_paths = {path, path}, .input_keys = {"x1", "short"}};
    bk_dataset *ds = NULL;
    CHECK(bk_dataset_open_arrays(&ds, 1, &bad) == BK_ERR_SHAPE && ds == NULL);
    CHECK(strstr(bk_last_error(), "x1 has 10 samples") && strstr(bk_last_error(), "short has 9"));
    /* hdf5 arrays need their dataset named */
    bk_data_arrays nokey = {.n_inputs = 1, .input_paths = {path}};
    CHECK(bk_dataset_open_arrays(&ds, 1, &nokey) == BK_ERR_INVALID && strstr(bk_last_error(), "input_key"));
    return bk_test_finish("test_data_multi");
}
