#include "brisk/status.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BK_MSG_LEN 4096
static _Thread_local char tls_msg[BK_MSG_LEN];

bk_status bk_error(bk_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
    va_end(ap);
    return code;
}

bk_status bk_error_context(bk_status code, const char *fmt, ...)
{
    char prefix[BK_MSG_LEN], old[BK_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_msg, sizeof old);
    size_t plen = strlen(prefix);
    if (plen >= sizeof tls_msg) plen = sizeof tls_msg - 1;
    memcpy(tls_msg, prefix, plen);
    size_t rest = sizeof tls_msg - 1 - plen, olen = strlen(old);
    if (olen > rest) olen = rest;
    memcpy(tls_msg + plen, old, olen);
    tls_msg[plen + olen] = 0;
    return code;
}

const char *bk_last_error(void) { return tls_msg; }

void bk_error_clear(void) { tls_msg[0] = 0; }

const char *bk_status_name(bk_status s)
{
    switch (s) {
    case BK_OK: return "ok";
    case BK_ERR_INVALID: return "invalid input";
    case BK_ERR_IO: return "I/O error";
    case BK_ERR_NOMEM: return "out of memory";
    case BK_ERR_SHAPE: return "shape mismatch";
    case BK_ERR_UNSUPPORTED: return "unsupported";
    case BK_ERR_NUMERIC: return "numerical error";
    case BK_ERR_INTERNAL: return "internal error";
    case BK_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}
