/* Minimal test helpers: each check prints where it failed and counts. */
#ifndef BK_TESTUTIL_H
#define BK_TESTUTIL_H
#include <stdio.h>
#include <math.h>

extern int bk_test_failures;
extern int bk_test_checks;

#define CHECK(cond) do { bk_test_checks++; if (!(cond)) { bk_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_OK(expr) do { bk_test_checks++; bk_status s_ = (expr); if (s_ != BK_OK) { bk_test_failures++; \
    fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, bk_last_error()); } } while (0)
#define CHECK_NEAR(a, b, tol) do { bk_test_checks++; double a_ = (a), b_ = (b); \
    if (!(fabs(a_ - b_) <= (tol))) { bk_test_failures++; \
    fprintf(stderr, "%s:%d: %s = %g, expected %g (tol %g)\n", __FILE__, __LINE__, #a, a_, b_, (double)(tol)); } } while (0)

/* Prints "N passed, M failed" and returns the process exit code. */
int bk_test_finish(const char *name);
/* A scratch directory for this test (created); never NULL. */
const char *bk_test_tmpdir(const char *name);
#endif
