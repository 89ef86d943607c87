/* Runs the transforms of a JSON file on one sample, for the parity test
 * against OpenCV and PyTorch (test_parity_transforms.py).
 *
 *   tf_runner LIST.json IN.f32 OUT.f32 SIDE EPOCH SAMPLE DIM...
 *
 * LIST.json holds a data section's keys ({"transforms": [...],
 * "target_is_mask": true, ...}), read with the real config reader. IN.f32
 * is the sample, raw float32 of shape DIM...; OUT.f32 gets the result and
 * stdout its shape ("3 19 24"). */
#include "brisk/data.h"
#include "train/config_transforms.h"
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "tf_runner: %s: %s\n", what, bk_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: tf_runner LIST.json IN.f32 OUT.f32 SIDE EPOCH SAMPLE DIM...\n");
        return 2;
    }
    bk_json_doc doc = {0};
    bk_transform_config cfg;
    bk_sample_transform tf = {0};
    if (bk_json_load_file(&doc, argv[1]) || bk_config_parse_transforms(&doc, doc.root, "", &cfg))
        return fail("reading the transforms");
    int64_t dims[BK_MAX_DIMS];
    int nd = argc - 7;
    if (nd > BK_MAX_DIMS) return fail("too many dims");
    for (int i = 0; i < nd; i++) dims[i] = atoll(argv[7 + i]);
    bk_shape in = bk_shape_make(nd, dims), out;
    int64_t n = bk_shape_numel(&in);
    float *x = malloc((size_t)n * sizeof *x), *y = NULL;
    FILE *f = fopen(argv[2], "rb");
    if (!x || !f || fread(x, sizeof *x, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "tf_runner: cannot read %lld floats from %s\n", (long long)n, argv[2]);
        return 1;
    }
    fclose(f);
    cfg.seed = 1;
    if (bk_transforms_create(&tf, &cfg)) return fail("creating the transforms");
    if (tf.apply(tf.ctx, atoi(argv[4]), atoll(argv[6]), atoi(argv[5]), x, &in, &y, &out)) return fail("apply");
    f = fopen(argv[3], "wb");
    if (!f || fwrite(y, sizeof *y, (size_t)bk_shape_numel(&out), f) != (size_t)bk_shape_numel(&out)) {
        fprintf(stderr, "tf_runner: cannot write %s\n", argv[3]);
        return 1;
    }
    fclose(f);
    for (int i = 0; i < out.ndim; i++) printf("%s%lld", i ? " " : "", (long long)out.dims[i]);
    printf("\n");
    free(x);
    free(y);
    bk_transforms_destroy(&tf);
    bk_json_free(&doc);
    return 0;
}
