/* Filesystem helpers; see fsutil.h. POSIX only (Linux is the target). */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fsync, O_CLOEXEC, O_DIRECTORY under -std=c11 */
#endif
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* A short hint for the errno values people actually hit. */
static const char *errno_hint(int e)
{
    switch (e) {
    case ENOSPC: return "; the disk is full";
    case EDQUOT: return "; the disk quota is exceeded";
    case EACCES:
    case EPERM: return "; check the permissions of the file and its directory";
    case EROFS: return "; the filesystem is read-only";
    case ENOENT: return "; check that the path and its parent directories exist";
    case ENOTDIR: return "; a component of the path is a file, not a directory";
    case ENAMETOOLONG: return "; the path is too long";
    default: return "";
    }
}

bk_status bk_mkdir_p(const char *path)
{
    if (!path || !*path) return bk_error(BK_ERR_INVALID, "mkdir: empty directory path");
    size_t len = strlen(path);
    char *buf = malloc(len + 1);
    if (!buf) return bk_error(BK_ERR_NOMEM, "mkdir \"%s\": out of memory", path);
    memcpy(buf, path, len + 1);

    /* Walk the prefixes ending before each '/', then the whole path. Only
     * EEXIST is tolerated, and only when the existing thing is a directory,
     * so "a/b" where a is a file gets a clear message. */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && buf[i] != '/') continue;
        if (i < len && buf[i - 1] == '/') continue; /* "a//b" */
        char saved = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) != 0) {
            int e = errno;
            struct stat st;
            if (e == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) {
                /* fine: already there */
            } else if (e == EEXIST) {
                bk_status s = bk_error(BK_ERR_IO, "cannot create directory \"%s\": \"%s\" exists "
                                       "and is not a directory", path, buf);
                free(buf);
                return s;
            } else {
                bk_status s = bk_error(BK_ERR_IO, "cannot create directory \"%s\" (at \"%s\"): %s%s",
                                       path, buf, strerror(e), errno_hint(e));
                free(buf);
                return s;
            }
        }
        buf[i] = saved;
    }
    free(buf);
    return BK_OK;
}

struct bk_atomic_file {
    int fd;
    int failed;     /* a write failed: commit must not publish the file */
    char *path;
    char *tmp;
};

static void atomic_free(bk_atomic_file *f)
{
    if (!f) return;
    free(f->path);
    free(f->tmp);
    free(f);
}

bk_status bk_atomic_open(bk_atomic_file **out, const char *path)
{
    *out = NULL;
    if (!path || !*path) return bk_error(BK_ERR_INVALID, "atomic write: empty file path");
    bk_atomic_file *f = calloc(1, sizeof *f);
    if (!f) return bk_error(BK_ERR_NOMEM, "\"%s\": out of memory", path);
    f->fd = -1;
    size_t plen = strlen(path);
    /* The pid keeps two processes writing the same path from sharing a temp
     * file; the same directory keeps rename() atomic (no cross-device move). */
    size_t tlen = plen + 32;
    f->path = malloc(plen + 1);
    f->tmp = malloc(tlen);
    if (!f->path || !f->tmp) {
        atomic_free(f);
        return bk_error(BK_ERR_NOMEM, "\"%s\": out of memory", path);
    }
    memcpy(f->path, path, plen + 1);
    snprintf(f->tmp, tlen, "%s.tmp.%ld", path, (long)getpid());

    do {
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } while (f->fd < 0 && errno == EINTR);
    if (f->fd < 0) {
        int e = errno;
        bk_status s = bk_error(BK_ERR_IO, "cannot write \"%s\": creating temporary file \"%s\" failed: %s%s",
                               path, f->tmp, strerror(e), errno_hint(e));
        atomic_free(f);
        return s;
    }
    *out = f;
    return BK_OK;
}

bk_status bk_atomic_write(bk_atomic_file *f, const void *data, size_t len)
{
    if (!f) return bk_error(BK_ERR_INVALID, "atomic write: NULL file handle");
    if (f->failed)
        return bk_error(BK_ERR_IO, "cannot write \"%s\": an earlier write to it failed", f->path);
    const char *p = data;
    while (len > 0) {
        /* Linux caps one write() at ~2 GiB; chunking keeps big tensors safe. */
        size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        ssize_t w = write(f->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            f->failed = 1;
            return bk_error(BK_ERR_IO, "cannot write \"%s\" (temporary file \"%s\"): %s%s",
                            f->path, f->tmp, strerror(e), errno_hint(e));
        }
        if (w == 0) {
            f->failed = 1;
            return bk_error(BK_ERR_IO, "cannot write \"%s\" (temporary file \"%s\"): write made no progress; "
                            "the disk may be full", f->path, f->tmp);
        }
        p += w;
        len -= (size_t)w;
    }
    return BK_OK;
}

/* Makes the rename itself durable; without it a crash can lose the new
 * directory entry even though the file data was synced. */
static bk_status fsync_parent_dir(const char *path)
{
    size_t n = strlen(path) + 2;
    char *dir = malloc(n);
    if (!dir) return bk_error(BK_ERR_NOMEM, "\"%s\": out of memory", path);
    bk_path_dirname(dir, n, path);
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* A directory we may write into but not open for reading (mode
         * 0300) is legal; the file is in place, only durability is weaker. */
        free(dir);
        return BK_OK;
    }
    bk_status s = BK_OK;
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        /* EINVAL/ENOTSUP: filesystems that cannot sync directories. */
        int e = errno;
        s = bk_error(BK_ERR_IO, "\"%s\" was written but syncing its directory \"%s\" failed: %s; "
                     "the file may not survive a crash", path, dir, strerror(e));
    }
    close(fd);
    free(dir);
    return s;
}

bk_status bk_atomic_commit(bk_atomic_file *f)
{
    if (!f) return bk_error(BK_ERR_INVALID, "atomic write: NULL file handle");
    if (f->failed) {
        bk_status s = bk_error(BK_ERR_IO, "\"%s\" was not written: an earlier write to it failed "
                               "(the previous content, if any, is unchanged)", f->path);
        bk_atomic_discard(f);
        return s;
    }
    /* fsync before rename: otherwise the rename can reach the disk before
     * the data and a crash leaves an empty file at path. */
    if (fsync(f->fd) != 0) {
        int e = errno;
        bk_status s = bk_error(BK_ERR_IO, "cannot write \"%s\": fsync of \"%s\" failed: %s%s",
                               f->path, f->tmp, strerror(e), errno_hint(e));
        bk_atomic_discard(f);
        return s;
    }
    int fd = f->fd;
    f->fd = -1;
    /* close() can report deferred write errors (NFS), so it is checked. */
    if (close(fd) != 0 && errno != EINTR) {
        int e = errno;
        bk_status s = bk_error(BK_ERR_IO, "cannot write \"%s\": closing \"%s\" failed: %s%s",
                               f->path, f->tmp, strerror(e), errno_hint(e));
        bk_atomic_discard(f);
        return s;
    }
    if (rename(f->tmp, f->path) != 0) {
        int e = errno;
        bk_status s = bk_error(BK_ERR_IO, "cannot write \"%s\": renaming \"%s\" over it failed: %s%s",
                               f->path, f->tmp, strerror(e),
                               e == EISDIR ? "; the destination is a directory" : errno_hint(e));
        bk_atomic_discard(f);
        return s;
    }
    bk_status s = fsync_parent_dir(f->path);
    atomic_free(f);
    return s;
}

void bk_atomic_discard(bk_atomic_file *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    unlink(f->tmp); /* may already be gone (renamed); nothing to report */
    atomic_free(f);
}

bk_status bk_write_file_atomic(const char *path, const void *data, size_t len)
{
    bk_atomic_file *f;
    bk_status s = bk_atomic_open(&f, path);
    if (s) return s;
    s = bk_atomic_write(f, data, len);
    if (s) {
        bk_atomic_discard(f);
        return s;
    }
    return bk_atomic_commit(f);
}

bk_status bk_read_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    if (len) *len = 0;
    if (!path || !*path) return bk_error(BK_ERR_INVALID, "read: empty file path");
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        return bk_error(BK_ERR_IO, "cannot open \"%s\": %s%s", path, strerror(e), errno_hint(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bk_error(BK_ERR_IO, "cannot stat \"%s\": %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return bk_error(BK_ERR_IO, "cannot read \"%s\": it is a directory; expected a file", path);
    }
    /* st_size is only a first guess: pipes and /proc files report 0, and a
     * file may grow while we read, so the loop reads until EOF. */
    size_t cap = (st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX - 1) ? (size_t)st.st_size + 1 : 4096;
    size_t used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return bk_error(BK_ERR_NOMEM, "out of memory reading \"%s\" (%zu bytes)", path, cap);
    }
    for (;;) {
        if (used == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                close(fd);
                return bk_error(BK_ERR_NOMEM, "\"%s\" is too large to read into memory", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return bk_error(BK_ERR_NOMEM, "out of memory reading \"%s\" (%zu bytes)", path, cap * 2);
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - used;
        if (want > ((size_t)1 << 30)) want = (size_t)1 << 30;
        ssize_t r = read(fd, buf + used, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return bk_error(BK_ERR_IO, "cannot read \"%s\": %s", path, strerror(e));
        }
        if (r == 0) break;
        used += (size_t)r;
    }
    close(fd);
    /* Room for the terminating NUL: the loop stops only with used < cap or
     * after growing, except when EOF lands exactly on cap. */
    if (used == cap) {
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            return bk_error(BK_ERR_NOMEM, "out of memory reading \"%s\"", path);
        }
        buf = nb;
    }
    buf[used] = 0;
    *out = buf;
    if (len) *len = used;
    return BK_OK;
}

int bk_path_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

int bk_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Appends src to out (holding *used bytes) without overflowing n. */
static void append(char *out, size_t n, size_t *used, const char *src, size_t len)
{
    if (*used + 1 >= n) return;
    size_t room = n - 1 - *used;
    if (len > room) len = room;
    memcpy(out + *used, src, len);
    *used += len;
    out[*used] = 0;
}

void bk_path_join(char *out, size_t n, const char *dir, const char *name)
{
    if (n == 0) return;
    out[0] = 0;
    size_t used = 0;
    if (!name) name = "";
    if (!dir || !*dir || name[0] == '/') {
        append(out, n, &used, name, strlen(name));
        return;
    }
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/') dlen--; /* "a/" + "b" -> "a/b", but keep "/" */
    append(out, n, &used, dir, dlen);
    if (!*name) return;
    if (dir[dlen - 1] != '/') append(out, n, &used, "/", 1);
    append(out, n, &used, name, strlen(name));
}

void bk_path_dirname(char *out, size_t n, const char *path)
{
    if (n == 0) return;
    out[0] = 0;
    size_t used = 0;
    if (!path || !*path) {
        append(out, n, &used, ".", 1);
        return;
    }
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;     /* trailing slashes */
    while (len > 0 && path[len - 1] != '/') len--;     /* last component */
    if (len == 0) {
        append(out, n, &used, ".", 1);
        return;
    }
    while (len > 1 && path[len - 1] == '/') len--;     /* separator(s) */
    append(out, n, &used, path, len);
}
