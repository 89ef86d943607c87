/* Filesystem helpers: directory creation, whole-file reads, and atomic
 * writes (temp file + fsync + rename + directory fsync) so that a crash or
 * a full disk never leaves a half-written checkpoint or config at the
 * destination path: readers see either the old file or the new one. */
#ifndef BK_CORE_FSUTIL_H
#define BK_CORE_FSUTIL_H

#include <stddef.h>
#include "brisk/status.h"

/* Creates path and any missing parents (like `mkdir -p`, mode 0755 before
 * umask). An existing directory is fine; an existing non-directory is an
 * error naming it. */
bk_status bk_mkdir_p(const char *path);

/* Writes len bytes to path atomically: the data goes to "<path>.tmp.<pid>"
 * in the same directory, is fsynced, then renamed over path, and the
 * directory is fsynced. On failure the temp file is removed and path is
 * untouched. */
bk_status bk_write_file_atomic(const char *path, const void *data, size_t len);

/* The incremental form of bk_write_file_atomic, for files too big to build
 * in memory. Open, write any number of times, then either commit (makes the
 * file visible at path) or discard (removes the temp file). Both free f; a
 * failed bk_atomic_write does not free f: the caller still commits or
 * discards (commit after a failed write fails and cleans up). */
typedef struct bk_atomic_file bk_atomic_file;
bk_status bk_atomic_open(bk_atomic_file **out, const char *path);
bk_status bk_atomic_write(bk_atomic_file *f, const void *data, size_t len);
/* fsync + rename + directory fsync; frees f whatever the outcome. */
bk_status bk_atomic_commit(bk_atomic_file *f);
/* Removes the temp file and frees f; NULL is a no-op. */
void bk_atomic_discard(bk_atomic_file *f);

/* Reads a whole file. *out is malloc'ed (caller frees) with one extra NUL
 * byte after the *len bytes so text can be used as a C string. len may be
 * NULL. */
bk_status bk_read_file(const char *path, char **out, size_t *len);

/* 1 when something exists at path (following symlinks), else 0. */
int bk_path_exists(const char *path);
/* 1 when path is a directory (following symlinks), else 0. */
int bk_is_dir(const char *path);

/* out = dir + "/" + name with exactly one separator; an empty dir or an
 * absolute name gives name. Truncates to n-1 bytes; always NUL-terminated
 * when n > 0. */
void bk_path_join(char *out, size_t n, const char *dir, const char *name);
/* The directory part of path, like dirname(1): "a/b/c" -> "a/b",
 * "c" -> ".", "/c" -> "/", "a/b/" -> "a". Truncates like bk_path_join. */
void bk_path_dirname(char *out, size_t n, const char *path);

#endif
