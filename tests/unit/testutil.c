#include "testutil.h"
#include <stdlib.h>
#include <sys/stat.h>

int bk_test_failures = 0;
int bk_test_checks = 0;

int bk_test_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, bk_test_checks - bk_test_failures, bk_test_failures);
    return bk_test_failures ? 1 : 0;
}

const char *bk_test_tmpdir(const char *name)
{
    static char buf[4096];
    const char *base = getenv("BRISK_TMP");
    if (!base) base = "/tmp";
    mkdir(base, 0755);
    snprintf(buf, sizeof buf, "%s/%s", base, name);
    mkdir(buf, 0755);
    return buf;
}
