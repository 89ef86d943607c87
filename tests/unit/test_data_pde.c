/* The "pde" loader (Burgers initial conditions): shapes, targets equal to
 * inputs, the documented formulas (fixed_uniform frequencies, one raised
 * cosine), superpositions when more terms are allowed, repeatability from
 * (seed, stream) and bad options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "brisk/data.h"
#include "testutil.h"

static double raised(double c, int64_t x, int64_t d) { return 0.5 * (1 - cos(2 * M_PI * c * (double)x / (double)d)); }

/* 1 when b is one raised cosine 1/2 (1 - cos(theta x)) (theta from b(1), checked at x = 2, 3) */
static int single_term(const float *b)
{
    double th = acos(1 - 2 * (double)b[1]);
    return fabs(raised(th / (2 * M_PI), 2, 1) - b[2]) < 1e-4 && fabs(raised(th / (2 * M_PI), 3, 1) - b[3]) < 1e-4;
}

int main(void)
{
    enum { D = 16, N = 200 };
    bk_pde_options o = {.domain_size = D, .count = N, .cmin = 3, .cmax = 6, .max_terms = 3, .seed = 7, .stream = 1};
    bk_dataset *ds = NULL, *ds2 = NULL, *ds3 = NULL;
    static float x[N * D], y[N * D], x2[N * D], x3[N * D];
    int64_t idx[N];
    for (int i = 0; i < N; i++) idx[i] = i;
    CHECK_OK(bk_dataset_open_pde(&ds, &o));
    CHECK(ds->count == N && ds->has_targets);
    CHECK(ds->input_shape.ndim == 2 && ds->input_shape.dims[0] == 1 && ds->input_shape.dims[1] == D);
    CHECK(bk_shape_equal(&ds->input_shape, &ds->target_shape));
    CHECK_OK(ds->read(ds, idx, N, x, y));
    CHECK(!memcmp(x, y, sizeof x)); /* the loss gets the initial condition as the target */
    int in_range = 1, multi = 0;
    for (int i = 0; i < N; i++) {
        for (int p = 0; p < D; p++) in_range &= x[i * D + p] >= 0 && x[i * D + p] <= 1;
        in_range &= x[i * D] == 0; /* b(0) = 0, as u(0, t) = 0 wants */
        multi += !single_term(x + i * D);
    }
    CHECK(in_range);
    /* 1 to 3 terms, uniformly: about 2/3 are superpositions */
    printf("  random_uniform, up to 3 terms: %d of %d samples are superpositions\n", multi, N);
    CHECK(multi > N / 2 && multi < 5 * N / 6);
    /* a sample depends on (seed, stream, index) only: order, batch and reopening do not matter */
    int64_t some[3] = {17, 3, 17};
    float s3[3 * D];
    CHECK_OK(ds->read(ds, some, 3, s3, NULL));
    CHECK(!memcmp(s3, x + 17 * D, D * sizeof(float)) && !memcmp(s3 + 2 * D, x + 17 * D, D * sizeof(float)));
    CHECK(!memcmp(s3 + D, x + 3 * D, D * sizeof(float)));
    CHECK_OK(bk_dataset_open_pde(&ds2, &o));
    CHECK_OK(ds2->read(ds2, idx, N, x2, NULL));
    CHECK(!memcmp(x, x2, sizeof x));
    bk_dataset_destroy(ds2);
    o.stream = 2; /* the test set */
    CHECK_OK(bk_dataset_open_pde(&ds2, &o));
    CHECK_OK(ds2->read(ds2, idx, N, x2, NULL));
    CHECK(memcmp(x, x2, sizeof x) != 0);
    o.stream = 1;
    o.seed = 8;
    CHECK_OK(bk_dataset_open_pde(&ds3, &o));
    CHECK_OK(ds3->read(ds3, idx, N, x3, NULL));
    CHECK(memcmp(x, x3, sizeof x) != 0);
    bk_dataset_destroy(ds2);
    bk_dataset_destroy(ds3);
    int64_t bad = N;
    CHECK(ds->read(ds, &bad, 1, x3, NULL) == BK_ERR_INVALID);
    bk_dataset_destroy(ds);

    /* one term: exactly the reference's b(x) */
    bk_pde_options one = {.domain_size = D, .count = 5, .cmin = 4, .cmax = 4, .max_terms = 1, .seed = 1, .stream = 1};
    CHECK_OK(bk_dataset_open_pde(&ds, &one));
    CHECK_OK(ds->read(ds, idx, 5, x, NULL));
    double err = 0;
    for (int i = 0; i < 5; i++)
        for (int p = 0; p < D; p++) err = fmax(err, fabs(x[i * D + p] - raised(4, p, D)));
    CHECK(err < 1e-6);
    bk_dataset_destroy(ds);
    one.max_terms = 1;
    one.cmin = 3;
    one.cmax = 6;
    one.count = N;
    CHECK_OK(bk_dataset_open_pde(&ds, &one));
    CHECK_OK(ds->read(ds, idx, N, x, NULL));
    multi = 0;
    for (int i = 0; i < N; i++) multi += !single_term(x + i * D);
    CHECK(multi == 0);
    bk_dataset_destroy(ds);

    /* fixed_uniform: c_i = cmin + i (cmax - cmin) / (n - 1) */
    bk_pde_options fx = {.domain_size = D, .count = 4, .cmin = 2, .cmax = 5, .fixed_uniform = 1, .seed = 3};
    CHECK_OK(bk_dataset_open_pde(&ds, &fx));
    CHECK_OK(ds->read(ds, idx, 4, x, NULL));
    err = 0;
    for (int i = 0; i < 4; i++)
        for (int p = 0; p < D; p++) err = fmax(err, fabs(x[i * D + p] - raised(2 + i, p, D)));
    CHECK(err < 1e-6);
    bk_dataset_destroy(ds);
    fx.count = 1; /* one example: c = cmin */
    CHECK_OK(bk_dataset_open_pde(&ds, &fx));
    CHECK_OK(ds->read(ds, idx, 1, x, NULL));
    CHECK(fabs(x[3] - raised(2, 3, D)) < 1e-6);
    bk_dataset_destroy(ds);

    /* bad options are errors, not datasets */
    bk_pde_options b = o;
    b.domain_size = 2;
    CHECK(bk_dataset_open_pde(&ds, &b) == BK_ERR_INVALID && ds == NULL);
    b = o;
    b.count = 0;
    CHECK(bk_dataset_open_pde(&ds, &b) == BK_ERR_INVALID);
    b = o;
    b.cmin = 5;
    b.cmax = 4;
    CHECK(bk_dataset_open_pde(&ds, &b) == BK_ERR_INVALID);
    b = o;
    b.max_terms = 0;
    CHECK(bk_dataset_open_pde(&ds, &b) == BK_ERR_INVALID);
    return bk_test_finish("test_data_pde");
}
