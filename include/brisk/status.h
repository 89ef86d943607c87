/* brisk: status codes and the thread-local error message.
 * Every fallible function returns bk_status; on failure a message saying
 * what and where is available from bk_last_error() on the same thread. */
#ifndef BRISK_STATUS_H
#define BRISK_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BK_OK = 0,
    BK_ERR_INVALID = 1,     /* bad input: config, arguments, data */
    BK_ERR_IO = 2,          /* file missing, unreadable, truncated */
    BK_ERR_NOMEM = 3,       /* allocation failed */
    BK_ERR_SHAPE = 4,       /* shapes that do not fit */
    BK_ERR_UNSUPPORTED = 5, /* valid but not implemented here */
    BK_ERR_NUMERIC = 6,     /* NaN/Inf appeared */
    BK_ERR_INTERNAL = 7,    /* a library (oneDNN, HDF5...) failed */
    BK_ERR_INTERRUPTED = 8  /* stopped on request */
} bk_status;

/* Sets the calling thread's error message (printf-style) and returns code,
 * so callers can write `return bk_error(BK_ERR_IO, "...", ...);`. */
bk_status bk_error(bk_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message ("file.json: " + old message)
 * and returns code. Used when an error travels up through layers. */
bk_status bk_error_context(bk_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The calling thread's last message; never NULL. Valid until the next error. */
const char *bk_last_error(void);

/* Clears the calling thread's message. */
void bk_error_clear(void);

/* A short name for a status code ("invalid input", "I/O error", ...). */
const char *bk_status_name(bk_status s);

#ifdef __cplusplus
}
#endif
#endif
