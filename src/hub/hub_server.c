/* The hub's HTTP server: libmicrohttpd with a thread pool, one SQLite
 * connection per HTTP request (WAL lets readers run beside the writer),
 * and a content-addressed blob store. The routes are documented in
 * docs/hub-api.md.
 *
 * Publishing is one multipart/form-data request: a "meta" part (record
 * metadata and the file manifest) followed by one "file" part per file.
 * Each file streams into ROOT/tmp while it is hashed, is checked against
 * the manifest, and only when every file is good are the files renamed into
 * ROOT/blobs and the version committed in one SQLite transaction. A crash
 * before the commit leaves at most unreferenced blobs and temp files, which
 * the next start removes; so a version is either all there or not at all. */
#include "hub_internal.h"

/* Paths are built in fixed buffers from a root whose length is checked on
 * entry (BK_HUB_ROOT_MAX), so GCC's worst-case truncation estimates do not
 * apply. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>
#include "core/fsutil.h"

#define MAX_JSON_BODY (64 * 1024)
#define MAX_META_PART (1024 * 1024)
#define MAX_SEGS 10

struct bk_hub_server {
    char root[BK_HUB_PATH_MAX];
    struct MHD_Daemon *daemon;
    int port;
    int64_t max_file;
};

typedef struct {
    char name[256];
    int64_t size;
    char sha[65];
    int received;
    char tmp[BK_HUB_PATH_MAX];
} up_file;

/* State of one publish request while its body streams in. */
typedef struct {
    struct MHD_PostProcessor *pp;
    char *meta;
    size_t meta_len;
    json_t *doc; /* the parsed "meta" part; NULL until the first file part */
    up_file *files;
    size_t nfiles;
    long cur; /* index of the file being received, or -1 */
    int fd;
    bk_sha256 *hash;
    int64_t got;
    int code; /* first error's HTTP status, 0 while all is well */
    char err[1024];
} upload;

typedef struct {
    bk_hub_server *srv;
    sqlite3 *db;
    char *body;
    size_t len;
    int body_too_big;
    upload *up;
    int auth_bad; /* a token was given but is not valid */
    bk_hub_viewer who;
} request;

typedef bk_hub_record record;

/* ---------- responses ---------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *ctype, char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* Steals v. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!s) return MHD_NO;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    return send_text(c, code, "application/json", t);
}

static enum MHD_Result send_err(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_err(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return send_json(c, code, json_pack("{s:s, s:i}", "error", msg, "status", (int)code));
}

static enum MHD_Result send_db_err(struct MHD_Connection *c, sqlite3 *db)
{
    return send_err(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "registry database error: %s", sqlite3_errmsg(db));
}

/* ---------- small helpers ---------- */

static void set_up_err(upload *u, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_up_err(upload *u, int code, const char *fmt, ...)
{
    if (u->code) return; /* the first error is the one that explains */
    u->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->err, sizeof u->err, fmt, ap);
    va_end(ap);
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v && *v ? v : NULL;
}

static void base_url(struct MHD_Connection *c, char *out, size_t n)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    snprintf(out, n, "http://%s", host ? host : "localhost");
}

/* ---------- auth ---------- */

/* Looks the bearer token up by its hash: the database never holds a token
 * that would let a reader of the file act as a user. */
static void authenticate(struct MHD_Connection *c, request *rq)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h) return;
    if (strncmp(h, "Bearer ", 7)) {
        rq->auth_bad = 1;
        return;
    }
    const char *tok = h + 7;
    char hex[65];
    if (bk_sha256_hex(tok, strlen(tok), hex)) {
        rq->auth_bad = 1;
        return;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(rq->db, "SELECT u.id, u.name, u.is_admin FROM tokens t JOIN users u ON "
                           "u.id = t.user_id WHERE t.hash = ?", -1, &s, NULL) != SQLITE_OK) {
        rq->auth_bad = 1;
        return;
    }
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) {
        rq->who.user_id = sqlite3_column_int64(s, 0);
        snprintf(rq->who.user, sizeof rq->who.user, "%s", col_text(s, 1));
        rq->who.is_admin = col_int(s, 2);
    } else {
        rq->auth_bad = 1;
    }
    sqlite3_finalize(s);
}

static int can_write(const request *rq, const char *owner)
{
    return rq->who.is_admin || (rq->who.user_id && !strcmp(rq->who.user, owner));
}

/* Runs one statement with text/int parameters given as a format string:
 * 's' text, 'i' int64, 'n' NULL (its long long argument is skipped, so
 * one argument list serves both the NULL and the non-NULL form). */
static int exec_bind(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return -1;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 's') sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else if (fmt[i] == 'i') sqlite3_bind_int64(s, i + 1, va_arg(ap, long long));
        else {
            (void)va_arg(ap, long long);
            sqlite3_bind_null(s, i + 1);
        }
    }
    va_end(ap);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* ---------- publish ---------- */

static void upload_free(upload *u)
{
    if (!u) return;
    if (u->pp) MHD_destroy_post_processor(u->pp);
    if (u->fd >= 0) close(u->fd);
    bk_sha256_free(u->hash);
    for (size_t i = 0; i < u->nfiles; i++)
        if (u->files[i].tmp[0]) unlink(u->files[i].tmp);
    free(u->files);
    free(u->meta);
    json_decref(u->doc);
    free(u);
}

/* Parses and checks the "meta" part: {"type", "private", "metadata", "files"}. */
static void upload_parse_meta(upload *u, int64_t max_file)
{
    if (u->doc || u->code) return;
    if (!u->meta) {
        set_up_err(u, 400, "the \"meta\" part must come before the first \"file\" part");
        return;
    }
    json_error_t je;
    u->doc = json_loadb(u->meta, u->meta_len, JSON_REJECT_DUPLICATES, &je);
    if (!u->doc || !json_is_object(u->doc)) {
        set_up_err(u, 400, "meta: malformed JSON at line %d, column %d: %s", je.line, je.column,
                   u->doc ? "top level must be an object" : je.text);
        return;
    }
    const char *type = json_string_value(json_object_get(u->doc, "type"));
    if (!type || (strcmp(type, "model") && strcmp(type, "dataset"))) {
        set_up_err(u, 422, "type: required, \"model\" or \"dataset\"");
        return;
    }
    json_t *p = json_object_get(u->doc, "private");
    if (p && !json_is_boolean(p)) {
        set_up_err(u, 422, "private: must be true or false");
        return;
    }
    json_t *meta = json_object_get(u->doc, "metadata");
    if (!meta) {
        set_up_err(u, 422, "metadata: required field is missing");
        return;
    }
    if (bk_hub_validate_metadata(meta, type)) {
        set_up_err(u, 422, "%s", bk_last_error());
        return;
    }
    json_t *files = json_object_get(u->doc, "files");
    if (!json_is_array(files) || !json_array_size(files)) {
        set_up_err(u, 422, "files: required, a non-empty array of {\"name\", \"size\", \"sha256\"}");
        return;
    }
    u->nfiles = json_array_size(files);
    u->files = calloc(u->nfiles, sizeof *u->files);
    if (!u->files) {
        set_up_err(u, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < u->nfiles; i++) {
        json_t *f = json_array_get(files, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        json_t *size = json_object_get(f, "size");
        if (!name) return set_up_err(u, 422, "files[%zu].name: required", i);
        if (bk_hub_check_file_name(name)) return set_up_err(u, 422, "files[%zu].name: %s", i, bk_last_error());
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return set_up_err(u, 422, "files[%zu].size: required, a non-negative integer", i);
        if (!bk_hub_is_sha256(sha))
            return set_up_err(u, 422, "files[%zu].sha256: required, 64 lowercase hex digits", i);
        if (json_integer_value(size) > max_file)
            return set_up_err(u, 413, "files[%zu]: \"%s\" is %lld bytes; this hub accepts at most %lld "
                              "bytes per file", i, name, (long long)json_integer_value(size),
                              (long long)max_file);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(u->files[k].name, name))
                return set_up_err(u, 422, "files[%zu].name: \"%s\" is listed twice", i, name);
        snprintf(u->files[i].name, sizeof u->files[i].name, "%s", name);
        snprintf(u->files[i].sha, sizeof u->files[i].sha, "%s", sha);
        u->files[i].size = json_integer_value(size);
    }
}

/* Closes the file being received and checks its size and digest. */
static void upload_finish_file(upload *u)
{
    if (u->cur < 0) return;
    up_file *f = &u->files[u->cur];
    u->cur = -1;
    char hex[65] = "";
    if (!u->code && bk_sha256_final(u->hash, hex)) set_up_err(u, 500, "%s", bk_last_error());
    bk_sha256_free(u->hash);
    u->hash = NULL;
    if (!u->code && fsync(u->fd) != 0) set_up_err(u, 500, "fsync: %s", strerror(errno));
    close(u->fd);
    u->fd = -1;
    if (u->code) return;
    if (u->got != f->size)
        return set_up_err(u, 422, "file \"%s\": received %lld bytes, the manifest declares %lld", f->name,
                          (long long)u->got, (long long)f->size);
    if (strcmp(hex, f->sha))
        return set_up_err(u, 422, "file \"%s\": SHA-256 of the received bytes is %s, the manifest "
                          "declares %s", f->name, hex, f->sha);
    f->received = 1;
}

static void upload_start_file(upload *u, const char *root, size_t idx)
{
    up_file *f = &u->files[idx];
    snprintf(f->tmp, sizeof f->tmp, "%s/tmp/up-XXXXXX", root);
    u->fd = mkstemp(f->tmp);
    if (u->fd < 0) {
        f->tmp[0] = 0;
        return set_up_err(u, 500, "cannot create a temporary file in %s/tmp: %s", root, strerror(errno));
    }
    u->got = 0;
    u->cur = (long)idx;
    if (bk_sha256_new(&u->hash)) set_up_err(u, 500, "%s", bk_last_error());
}

typedef struct {
    upload *u;
    bk_hub_server *srv;
} iter_ctx;

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *ctype, const char *enc, const char *data, uint64_t off,
                                 size_t size)
{
    (void)kind, (void)ctype, (void)enc;
    request *rq = cls;
    upload *u = rq->up;
    if (u->code) return MHD_NO;
    if (!strcmp(key, "meta")) {
        if (u->doc) {
            set_up_err(u, 400, "the \"meta\" part must come once, before the files");
            return MHD_NO;
        }
        if (u->meta_len + size > MAX_META_PART) {
            set_up_err(u, 413, "the \"meta\" part is larger than %d bytes", MAX_META_PART);
            return MHD_NO;
        }
        char *m = realloc(u->meta, u->meta_len + size + 1);
        if (!m) {
            set_up_err(u, 500, "out of memory");
            return MHD_NO;
        }
        memcpy(m + u->meta_len, data, size);
        u->meta = m;
        u->meta_len += size;
        m[u->meta_len] = 0;
        return MHD_YES;
    }
    if (strcmp(key, "file")) {
        set_up_err(u, 400, "unknown form part \"%s\" (expected \"meta\" and \"file\")", key);
        return MHD_NO;
    }
    upload_parse_meta(u, rq->srv->max_file);
    if (u->code) return MHD_NO;
    if (!filename) {
        set_up_err(u, 400, "a \"file\" part has no filename");
        return MHD_NO;
    }
    if (u->cur < 0 || off == 0 || strcmp(u->files[u->cur].name, filename)) {
        upload_finish_file(u);
        if (u->code) return MHD_NO;
        if (bk_hub_check_file_name(filename)) {
            set_up_err(u, 400, "file part: %s", bk_last_error());
            return MHD_NO;
        }
        size_t idx = u->nfiles;
        for (size_t i = 0; i < u->nfiles; i++)
            if (!strcmp(u->files[i].name, filename)) idx = i;
        if (idx == u->nfiles) {
            set_up_err(u, 400, "file part \"%s\" is not in the manifest", filename);
            return MHD_NO;
        }
        if (u->files[idx].received || u->files[idx].tmp[0]) {
            set_up_err(u, 400, "file part \"%s\" sent twice", filename);
            return MHD_NO;
        }
        upload_start_file(u, rq->srv->root, idx);
        if (u->code) return MHD_NO;
    }
    up_file *f = &u->files[u->cur];
    if (u->got + (int64_t)size > f->size) {
        set_up_err(u, f->size >= rq->srv->max_file ? 413 : 422,
                   "file \"%s\": more bytes than the %lld the manifest declares", f->name,
                   (long long)f->size);
        return MHD_NO;
    }
    if (bk_sha256_update(u->hash, data, size)) {
        set_up_err(u, 500, "%s", bk_last_error());
        return MHD_NO;
    }
    for (size_t w = 0; w < size;) {
        ssize_t n = write(u->fd, data + w, size - w);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            set_up_err(u, 507, "writing the upload: %s", strerror(errno));
            return MHD_NO;
        }
        w += (size_t)n;
    }
    u->got += (int64_t)size;
    return MHD_YES;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Moves verified temp files into the store. Existing blobs are kept: same
 * name, same bytes. */
static int store_blobs(bk_hub_server *srv, upload *u, char *err, size_t n)
{
    for (size_t i = 0; i < u->nfiles; i++) {
        up_file *f = &u->files[i];
        char path[BK_HUB_PATH_MAX], dir[BK_HUB_PATH_MAX];
        bk_hub_blob_path(path, sizeof path, srv->root, f->sha);
        bk_path_dirname(dir, sizeof dir, path);
        if (bk_mkdir_p(dir)) {
            snprintf(err, n, "%s", bk_last_error());
            return -1;
        }
        if (bk_path_exists(path)) {
            unlink(f->tmp);
        } else if (rename(f->tmp, path) != 0) {
            snprintf(err, n, "cannot move the upload into the store: %s", strerror(errno));
            return -1;
        }
        f->tmp[0] = 0;
        if (fsync_dir(dir) != 0) {
            snprintf(err, n, "fsync %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Space-joined values of one member of each object in arr (for search). */
static char *join_field(json_t *arr, const char *key)
{
    size_t cap = 1, len = 0;
    char *out = calloc(1, 1);
    for (size_t i = 0; out && i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_object_get(json_array_get(arr, i), key));
        if (!v) continue;
        size_t n = strlen(v);
        char *o = realloc(out, cap + n + 1);
        if (!o) {
            free(out);
            return NULL;
        }
        out = o;
        cap += n + 1;
        memcpy(out + len, v, n);
        len += n;
        out[len++] = ' ';
        out[len] = 0;
    }
    return out;
}

static const char *licence_of(json_t *meta)
{
    json_t *r = json_array_get(json_object_get(meta, "rightsList"), 0);
    const char *l = json_string_value(json_object_get(r, "rightsIdentifier"));
    return l ? l : json_string_value(json_object_get(r, "rights"));
}

/* Inserts the version, its files, the latest alias and the search text in
 * one transaction. Returns the new version number, 0 with *code set on a
 * conflict, or -1 on a database error. */
static int commit_version(request *rq, const char *owner, const char *name, upload *u, int *code, char *err,
                          size_t errn)
{
    sqlite3 *db = rq->db;
    json_t *meta = json_object_get(u->doc, "metadata");
    const char *type = json_string_value(json_object_get(u->doc, "type"));
    json_t *priv = json_object_get(u->doc, "private");
    char digest[72], now[32];
    if (bk_hub_manifest_digest(json_object_get(u->doc, "files"), digest)) return -1;
    bk_hub_now(now);
    char *metatext = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *desc = join_field(json_object_get(meta, "descriptions"), "description");
    char *subj = join_field(json_object_get(meta, "subjects"), "subject");
    const char *title = json_string_value(json_object_get(json_array_get(json_object_get(meta, "titles"), 0),
                                                          "title"));
    const char *card = json_string_value(json_object_get(meta, "modelCard"));
    const char *lic = licence_of(meta);
    int version = -1;
    record r;
    if (!metatext || !desc || !subj) goto out;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto out;
    int found = bk_hub_find_record(db, owner, name, &r);
    if (found < 0) goto rollback;
    if (found && strcmp(r.type, type)) {
        *code = 409;
        snprintf(err, errn, "%s/%s is a %s; it cannot get a %s version", owner, name, r.type, type);
        version = 0;
        goto rollback;
    }
    if (!found) {
        if (exec_bind(db, "INSERT INTO records(owner, name, type, private, created, updated) "
                      "VALUES(?, ?, ?, ?, ?, ?)", "sssiss", owner, name, type,
                      (long long)(priv && json_is_true(priv)), now, now))
            goto rollback;
        if (bk_hub_find_record(db, owner, name, &r) != 1) goto rollback;
    } else if (priv && exec_bind(db, "UPDATE records SET private = ? WHERE id = ?", "ii",
                                 (long long)json_is_true(priv), r.id)) {
        goto rollback;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) + 1 FROM versions WHERE record_id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_int64(s, 1, r.id);
    int next = sqlite3_step(s) == SQLITE_ROW ? col_int(s, 0) : -1;
    sqlite3_finalize(s);
    if (next < 1) goto rollback;
    if (exec_bind(db, "INSERT INTO versions(record_id, version, digest, metadata, published_by, created) "
                  "VALUES(?, ?, ?, ?, ?, ?)", "iissss", r.id, (long long)next, digest, metatext, rq->who.user, now))
        goto rollback;
    long long vid = sqlite3_last_insert_rowid(db);
    for (size_t i = 0; i < u->nfiles; i++)
        if (exec_bind(db, "INSERT INTO files(version_id, name, size, sha256) VALUES(?, ?, ?, ?)", "isis",
                      vid, u->files[i].name, (long long)u->files[i].size, u->files[i].sha))
            goto rollback;
    int old = 0;
    int have_old = bk_hub_resolve_ref(db, r.id, "latest", &old);
    if (have_old < 0) goto rollback;
    if (exec_bind(db, "INSERT OR REPLACE INTO aliases(record_id, alias, version) VALUES(?, 'latest', ?)",
                  "ii", r.id, (long long)next) ||
        exec_bind(db, "INSERT INTO alias_audit(record_id, alias, old_version, new_version, actor, at) "
                  "VALUES(?, 'latest', ?, ?, ?, ?)", have_old ? "iiiss" : "iniss", r.id,
                  have_old ? (long long)old : (long long)next, (long long)next, rq->who.user, now))
        goto rollback;
    if (exec_bind(db, "UPDATE records SET title = ?, licence = ?, updated = ? WHERE id = ?", "sssi",
                  title, lic ? lic : "", now, r.id) ||
        exec_bind(db, "DELETE FROM subjects WHERE record_id = ?", "i", r.id) ||
        exec_bind(db, "DELETE FROM search WHERE rowid = ?", "i", r.id) ||
        exec_bind(db, "INSERT INTO search(rowid, owner, name, title, description, card, subjects) "
                  "VALUES(?, ?, ?, ?, ?, ?, ?)", "issssss", r.id, owner, name, title, desc,
                  card ? card : "", subj))
        goto rollback;
    json_t *subjects = json_object_get(meta, "subjects");
    for (size_t i = 0; i < json_array_size(subjects); i++)
        if (exec_bind(db, "INSERT INTO subjects(record_id, subject) VALUES(?, ?)", "is", r.id,
                      json_string_value(json_object_get(json_array_get(subjects, i), "subject"))))
            goto rollback;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto rollback;
    version = next;
    goto out;
rollback:
    if (version < 0) snprintf(err, errn, "registry database error: %s", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    free(metatext);
    free(desc);
    free(subj);
    return version;
}

static enum MHD_Result finish_publish(struct MHD_Connection *c, request *rq, const char *owner,
                                      const char *name)
{
    upload *u = rq->up;
    if (u->pp) {
        MHD_destroy_post_processor(u->pp); /* flushes the last part */
        u->pp = NULL;
    }
    upload_finish_file(u);
    if (!u->code && !u->doc) upload_parse_meta(u, rq->srv->max_file);
    /* Empty files need no part: their content is known. */
    for (size_t i = 0; !u->code && i < u->nfiles; i++) {
        if (u->files[i].received) continue;
        if (u->files[i].size != 0) {
            set_up_err(u, 400, "file \"%s\" is in the manifest but was not uploaded", u->files[i].name);
            break;
        }
        upload_start_file(u, rq->srv->root, i);
        upload_finish_file(u);
    }
    if (u->code) return send_err(c, (unsigned)u->code, "%s", u->err);
    char err[1024] = "";
    if (store_blobs(rq->srv, u, err, sizeof err)) return send_err(c, 500, "%s", err);
    int code = 0;
    int version = commit_version(rq, owner, name, u, &code, err, sizeof err);
    if (version <= 0) return send_err(c, code ? (unsigned)code : 500, "%s", err);
    record r;
    char base[512];
    base_url(c, base, sizeof base);
    if (bk_hub_find_record(rq->db, owner, name, &r) != 1) return send_db_err(c, rq->db);
    json_t *v = bk_hub_version_json(rq->db, &r, version, base);
    return v ? send_json(c, MHD_HTTP_CREATED, v) : send_db_err(c, rq->db);
}

/* ---------- other routes ---------- */

static enum MHD_Result get_record(struct MHD_Connection *c, request *rq, const record *r)
{
    json_t *out = bk_hub_record_json(rq->db, r);
    return out ? send_json(c, 200, out) : send_db_err(c, rq->db);
}

static enum MHD_Result cite(struct MHD_Connection *c, request *rq, const record *r, int version)
{
    const char *fmt = arg(c, "format");
    if (fmt && strcmp(fmt, "bibtex") && strcmp(fmt, "datacite"))
        return send_err(c, 400, "format \"%s\" is not one of bibtex, datacite", fmt);
    char base[512], url[1024];
    base_url(c, base, sizeof base);
    snprintf(url, sizeof url, "%s/api/v1/records/%s/%s/versions/%d", base, r->owner, r->name, version);
    json_t *v = bk_hub_version_json(rq->db, r, version, base);
    if (!v) return send_db_err(c, rq->db);
    if (fmt && !strcmp(fmt, "datacite")) {
        json_t *d = bk_hub_datacite(v, url);
        json_decref(v);
        return d ? send_json(c, 200, d) : MHD_NO;
    }
    char *text = bk_hub_bibtex(v, url);
    json_decref(v);
    return text ? send_text(c, 200, "application/x-bibtex; charset=utf-8", text) : MHD_NO;
}

/* The query string of a search (API or web page). */
static bk_hub_search_q search_args(struct MHD_Connection *c)
{
    bk_hub_search_q q = {.q = arg(c, "q"), .type = arg(c, "type"), .owner = arg(c, "owner"),
                         .licence = arg(c, "licence") ? arg(c, "licence") : arg(c, "license"),
                         .subject = arg(c, "subject") ? arg(c, "subject") : arg(c, "domain"),
                         .creator = arg(c, "creator"), .page = 1, .per_page = 20};
    if (arg(c, "page")) q.page = atol(arg(c, "page"));
    if (arg(c, "per_page")) q.per_page = atol(arg(c, "per_page"));
    return q;
}

static enum MHD_Result search(struct MHD_Connection *c, request *rq)
{
    bk_hub_search_q q = search_args(c);
    json_t *out;
    char err[512];
    int code = bk_hub_search(rq->db, &rq->who, &q, &out, err, sizeof err);
    return code == 200 ? send_json(c, 200, out) : send_err(c, (unsigned)code, "%s", err);
}

/* Web pages: "/" (search) and "/records/OWNER/NAME[?v=REF]". */
static enum MHD_Result web(struct MHD_Connection *c, request *rq, char **seg, int n)
{
    int code = 404;
    char *html;
    if (n == 0) {
        bk_hub_search_q q = search_args(c);
        html = bk_hub_web_search(rq->db, &rq->who, &q, &code);
    } else if (n == 3 && !strcmp(seg[0], "records")) {
        char base[512];
        base_url(c, base, sizeof base);
        html = bk_hub_web_record(rq->db, &rq->who, seg[1], seg[2], arg(c, "v"), base, &code);
    } else {
        html = bk_hub_web_error(404, "no such route: the pages are / and /records/OWNER/NAME, the API lives under /api/v1");
    }
    return html ? send_text(c, (unsigned)code, "text/html; charset=utf-8", html) : MHD_NO;
}

static enum MHD_Result get_file(struct MHD_Connection *c, request *rq, const record *r, int version,
                                const char *fname)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(rq->db, "SELECT f.size, f.sha256, v.deleted, v.delete_reason FROM versions v "
                           "LEFT JOIN files f ON f.version_id = v.id AND f.name = ? WHERE v.record_id = ? "
                           "AND v.version = ?", -1, &s, NULL) != SQLITE_OK)
        return send_db_err(c, rq->db);
    sqlite3_bind_text(s, 1, fname, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, r->id);
    sqlite3_bind_int(s, 3, version);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return send_err(c, 404, "%s/%s@%d not found", r->owner, r->name, version);
    }
    if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
        enum MHD_Result ret = send_err(c, 410, "%s/%s@%d was deleted at %s (%s); its metadata stays "
                                       "readable, its files are gone", r->owner, r->name, version,
                                       col_text(s, 2), col_text(s, 3));
        sqlite3_finalize(s);
        return ret;
    }
    if (sqlite3_column_type(s, 1) == SQLITE_NULL) {
        sqlite3_finalize(s);
        return send_err(c, 404, "%s/%s@%d has no file \"%s\"", r->owner, r->name, version, fname);
    }
    int64_t size = sqlite3_column_int64(s, 0);
    char sha[65], path[BK_HUB_PATH_MAX];
    snprintf(sha, sizeof sha, "%s", col_text(s, 1));
    sqlite3_finalize(s);
    bk_hub_blob_path(path, sizeof path, rq->srv->root, sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return send_err(c, 500, "blob %s is missing from the store; run brisk hub check", sha);
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "X-Content-SHA256", sha);
    char etag[70];
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    MHD_add_response_header(resp, "ETag", etag);
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static json_t *parse_body(request *rq, const char **err)
{
    json_error_t e;
    json_t *v = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &e);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        *err = "request body: malformed JSON (expected an object)";
        return NULL;
    }
    return v;
}

static enum MHD_Result create_token(struct MHD_Connection *c, request *rq)
{
    if (!rq->who.is_admin) return send_err(c, 403, "only the admin creates users and tokens");
    const char *err;
    json_t *b = parse_body(rq, &err);
    if (!b) return send_err(c, 400, "%s", err);
    const char *user = json_string_value(json_object_get(b, "user"));
    if (!user) {
        json_decref(b);
        return send_err(c, 422, "user: required");
    }
    if (bk_hub_check_ident(user, "user")) {
        json_decref(b);
        return send_err(c, 422, "%s", bk_last_error());
    }
    char tok[64], hex[65], now[32];
    bk_hub_now(now);
    if (bk_hub_new_token(tok) || bk_sha256_hex(tok, strlen(tok), hex)) {
        json_decref(b);
        return send_err(c, 500, "%s", bk_last_error());
    }
    int fail = sqlite3_exec(rq->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
               exec_bind(rq->db, "INSERT OR IGNORE INTO users(name, is_admin, created) VALUES(?, 0, ?)",
                         "ss", user, now) ||
               exec_bind(rq->db, "INSERT INTO tokens(hash, user_id, created) SELECT ?, id, ? FROM users "
                         "WHERE name = ?", "sss", hex, now, user) ||
               sqlite3_exec(rq->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK;
    if (fail) {
        enum MHD_Result r = send_db_err(c, rq->db);
        sqlite3_exec(rq->db, "ROLLBACK", NULL, NULL, NULL);
        json_decref(b);
        return r;
    }
    json_t *out = json_pack("{s:s, s:s}", "user", user, "token", tok);
    json_decref(b);
    return send_json(c, 201, out);
}

static enum MHD_Result set_alias(struct MHD_Connection *c, request *rq, const record *r, const char *alias)
{
    if (!strcmp(alias, "latest"))
        return send_err(c, 409, "alias \"latest\" is managed by the hub: it follows the newest version");
    if (bk_hub_check_ident(alias, "alias") || bk_hub_is_number(alias))
        return send_err(c, 400, "alias \"%s\": must be a name (letters, digits, '.', '_', '-'), not a "
                        "number", alias);
    const char *err;
    json_t *b = parse_body(rq, &err);
    if (!b) return send_err(c, 400, "%s", err);
    json_t *vj = json_object_get(b, "version");
    if (!json_is_integer(vj)) {
        json_decref(b);
        return send_err(c, 422, "version: required, an integer");
    }
    int version = (int)json_integer_value(vj);
    json_decref(b);
    if (sqlite3_exec(rq->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return send_db_err(c, rq->db);
    sqlite3_stmt *s;
    int state = -1; /* 0 missing, 1 live, 2 deleted */
    if (sqlite3_prepare_v2(rq->db, "SELECT deleted IS NOT NULL FROM versions WHERE record_id = ? AND "
                           "version = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, r->id);
        sqlite3_bind_int(s, 2, version);
        int rc = sqlite3_step(s);
        state = rc == SQLITE_ROW ? 1 + col_int(s, 0) : rc == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(s);
    }
    if (state != 1) {
        sqlite3_exec(rq->db, "ROLLBACK", NULL, NULL, NULL);
        if (state < 0) return send_db_err(c, rq->db);
        return send_err(c, state ? 409 : 404, "%s/%s@%d %s", r->owner, r->name, version,
                        state ? "is deleted; an alias cannot point to it" : "does not exist");
    }
    int old = 0, had = bk_hub_resolve_ref(rq->db, r->id, alias, &old);
    char now[32];
    bk_hub_now(now);
    if (had < 0 ||
        exec_bind(rq->db, "INSERT OR REPLACE INTO aliases(record_id, alias, version) VALUES(?, ?, ?)", "isi",
                  r->id, alias, (long long)version) ||
        exec_bind(rq->db, "INSERT INTO alias_audit(record_id, alias, old_version, new_version, actor, at) "
                  "VALUES(?, ?, ?, ?, ?, ?)", had ? "isiiss" : "isniss", r->id, alias,
                  had ? (long long)old : (long long)version, (long long)version, rq->who.user, now) ||
        sqlite3_exec(rq->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        enum MHD_Result ret = send_db_err(c, rq->db);
        sqlite3_exec(rq->db, "ROLLBACK", NULL, NULL, NULL);
        return ret;
    }
    json_t *out = json_pack("{s:s, s:i}", "alias", alias, "version", version);
    json_object_set_new(out, "previous", had ? json_integer(old) : json_null());
    return send_json(c, 200, out);
}

static enum MHD_Result get_audit(struct MHD_Connection *c, request *rq, const record *r)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(rq->db, "SELECT alias, old_version, new_version, actor, at FROM alias_audit "
                           "WHERE record_id = ? ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return send_db_err(c, rq->db);
    sqlite3_bind_int64(s, 1, r->id);
    json_t *arr = json_array();
    while (sqlite3_step(s) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:o, s:i, s:s, s:s}", "alias", col_text(s, 0), "from",
                              sqlite3_column_type(s, 1) == SQLITE_NULL ? json_null()
                                                                       : json_integer(col_int(s, 1)),
                              "to", col_int(s, 2), "actor", col_text(s, 3), "at", col_text(s, 4));
        json_array_append_new(arr, e);
    }
    sqlite3_finalize(s);
    return send_json(c, 200, json_pack("{s:o}", "moves", arr));
}

static enum MHD_Result delete_version(struct MHD_Connection *c, request *rq, const record *r, int version)
{
    const char *reason = "deleted by its owner";
    json_t *b = NULL;
    if (rq->len) {
        const char *err;
        b = parse_body(rq, &err);
        if (!b) return send_err(c, 400, "%s", err);
        if (json_is_string(json_object_get(b, "reason"))) reason = json_string_value(json_object_get(b, "reason"));
    }
    char now[32];
    bk_hub_now(now);
    int fail = sqlite3_exec(rq->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK;
    sqlite3_stmt *s;
    int gone = 0;
    if (!fail && sqlite3_prepare_v2(rq->db, "SELECT deleted IS NOT NULL FROM versions WHERE record_id = ? "
                                    "AND version = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, r->id);
        sqlite3_bind_int(s, 2, version);
        gone = sqlite3_step(s) == SQLITE_ROW ? col_int(s, 0) : 0;
        sqlite3_finalize(s);
    }
    if (!fail && gone) {
        sqlite3_exec(rq->db, "ROLLBACK", NULL, NULL, NULL);
        json_decref(b);
        return send_err(c, 410, "%s/%s@%d is already deleted", r->owner, r->name, version);
    }
    /* latest moves back to the newest live version (or goes away). */
    int latest = 0, has_latest = fail ? -1 : bk_hub_resolve_ref(rq->db, r->id, "latest", &latest);
    fail = fail || has_latest < 0 ||
           exec_bind(rq->db, "UPDATE versions SET deleted = ?, delete_reason = ? WHERE record_id = ? AND "
                     "version = ?", "ssii", now, reason, r->id, (long long)version);
    if (!fail && has_latest && latest == version) {
        int prev = 0;
        if (sqlite3_prepare_v2(rq->db, "SELECT coalesce(max(version), 0) FROM versions WHERE record_id = ? "
                               "AND deleted IS NULL", -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, r->id);
            if (sqlite3_step(s) == SQLITE_ROW) prev = col_int(s, 0);
            sqlite3_finalize(s);
        }
        fail = (prev ? exec_bind(rq->db, "UPDATE aliases SET version = ? WHERE record_id = ? AND alias = "
                                 "'latest'", "ii", (long long)prev, r->id)
                     : exec_bind(rq->db, "DELETE FROM aliases WHERE record_id = ? AND alias = 'latest'", "i",
                                 r->id)) ||
               exec_bind(rq->db, "INSERT INTO alias_audit(record_id, alias, old_version, new_version, actor, "
                         "at) VALUES(?, 'latest', ?, ?, ?, ?)", "iiiss", r->id, (long long)version,
                         (long long)prev, rq->who.user, now);
    }
    fail = fail || sqlite3_exec(rq->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK;
    json_decref(b);
    if (fail) {
        enum MHD_Result ret = send_db_err(c, rq->db);
        sqlite3_exec(rq->db, "ROLLBACK", NULL, NULL, NULL);
        return ret;
    }
    char base[512];
    base_url(c, base, sizeof base);
    json_t *v = bk_hub_version_json(rq->db, r, version, base);
    return v ? send_json(c, 200, v) : send_db_err(c, rq->db);
}

/* ---------- routing ---------- */

static int split_path(char *url, char **seg)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(url, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGS) return -1;
        seg[n++] = p;
    }
    return n;
}

static int is_publish(const char *method, char **seg, int n)
{
    return n == 6 && !strcmp(method, "POST") && !strcmp(seg[2], "records") && !strcmp(seg[5], "versions");
}

static enum MHD_Result route(struct MHD_Connection *c, request *rq, const char *method, char **seg, int n)
{
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get && (n == 0 || strcmp(seg[0], "api"))) return web(c, rq, seg, n);
    if (n < 3 || strcmp(seg[0], "api") || strcmp(seg[1], "v1"))
        return send_err(c, 404, "no such route: %s /%s%s (the API lives under /api/v1)", method,
                        n ? seg[0] : "", n > 1 ? "/..." : "");
    if (n == 3 && !strcmp(seg[2], "health"))
        return get ? send_json(c, 200, json_pack("{s:b, s:s}", "ok", 1, "format", BK_HUB_FORMAT))
                   : send_err(c, 405, "use GET");
    if (n == 3 && !strcmp(seg[2], "whoami")) {
        if (!rq->who.user_id) return send_err(c, 401, "no token given (Authorization: Bearer TOKEN)");
        return send_json(c, 200, json_pack("{s:s, s:b}", "user", rq->who.user, "admin", rq->who.is_admin));
    }
    if (n == 3 && !strcmp(seg[2], "search")) return get ? search(c, rq) : send_err(c, 405, "use GET");
    if (n == 3 && !strcmp(seg[2], "tokens")) {
        if (strcmp(method, "POST")) return send_err(c, 405, "use POST");
        if (!rq->who.user_id) return send_err(c, 401, "creating tokens needs the admin token");
        return create_token(c, rq);
    }
    if (n < 5 || strcmp(seg[2], "records"))
        return send_err(c, 404, "no such route: %s %s", method, seg[2]);
    const char *owner = seg[3], *name = seg[4];
    if (bk_hub_check_ident(owner, "owner") || bk_hub_check_ident(name, "name"))
        return send_err(c, 400, "%s", bk_last_error());
    record r;
    int found = bk_hub_find_record(rq->db, owner, name, &r);
    if (found < 0) return send_db_err(c, rq->db);
    /* Private records are indistinguishable from missing ones to others. */
    if (!found || !bk_hub_can_read(&rq->who, &r)) return send_err(c, 404, "record %s/%s not found", owner, name);
    if (n == 5) return get ? get_record(c, rq, &r) : send_err(c, 405, "use GET");
    if (n == 6 && !strcmp(seg[5], "audit")) return get ? get_audit(c, rq, &r) : send_err(c, 405, "use GET");
    if (n == 7 && !strcmp(seg[5], "aliases")) {
        if (strcmp(method, "PUT")) return send_err(c, 405, "use PUT");
        if (!rq->who.user_id) return send_err(c, 401, "moving an alias needs a token");
        if (!can_write(rq, r.owner)) return send_err(c, 403, "only %s (or the admin) may change %s/%s",
                                                     r.owner, r.owner, r.name);
        return set_alias(c, rq, &r, seg[6]);
    }
    if (n < 7 || strcmp(seg[5], "versions")) return send_err(c, 404, "no such route under %s/%s", owner, name);
    int version = 0;
    int ok = bk_hub_resolve_ref(rq->db, r.id, seg[6], &version);
    if (ok < 0) return send_db_err(c, rq->db);
    if (!ok) return send_err(c, 404, "%s/%s@%s not found", owner, name, seg[6]);
    if (n == 7) {
        if (!strcmp(method, "DELETE")) {
            if (!rq->who.user_id) return send_err(c, 401, "deleting needs a token");
            if (!can_write(rq, r.owner)) return send_err(c, 403, "only %s (or the admin) may delete from %s/%s",
                                                         r.owner, r.owner, r.name);
            return delete_version(c, rq, &r, version);
        }
        if (!get) return send_err(c, 405, "use GET or DELETE");
        char base[512];
        base_url(c, base, sizeof base);
        json_t *v = bk_hub_version_json(rq->db, &r, version, base);
        return v ? send_json(c, 200, v) : send_db_err(c, rq->db);
    }
    if (n == 8 && !strcmp(seg[7], "cite")) return get ? cite(c, rq, &r, version) : send_err(c, 405, "use GET");
    if (n == 9 && !strcmp(seg[7], "files"))
        return get ? get_file(c, rq, &r, version, seg[8]) : send_err(c, 405, "use GET");
    return send_err(c, 404, "no such route under %s/%s@%d", owner, name, version);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    bk_hub_server *srv = cls;
    request *rq = *con_cls;
    char path[2048];
    char *seg[MAX_SEGS];
    snprintf(path, sizeof path, "%s", url);
    int n = split_path(path, seg);
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->srv = srv;
        *con_cls = rq;
        if (bk_hub_db_open(&rq->db, srv->root)) return send_err(c, 500, "%s", bk_last_error());
        authenticate(c, rq);
        if (rq->auth_bad) return send_err(c, 401, "the token is not valid");
        if (n > 0 && is_publish(method, seg, n)) {
            /* Refuse before reading a byte of the upload when we can. */
            if (!rq->who.user_id) return send_err(c, 401, "publishing needs a token (Authorization: Bearer TOKEN)");
            if (bk_hub_check_ident(seg[3], "owner") || bk_hub_check_ident(seg[4], "name"))
                return send_err(c, 400, "%s", bk_last_error());
            if (!can_write(rq, seg[3]))
                return send_err(c, 403, "user %s may not publish under owner %s", rq->who.user, seg[3]);
            record r;
            int found = bk_hub_find_record(rq->db, seg[3], seg[4], &r);
            if (found < 0) return send_db_err(c, rq->db);
            rq->up = calloc(1, sizeof *rq->up);
            if (!rq->up) return MHD_NO;
            rq->up->fd = -1;
            rq->up->cur = -1;
            rq->up->pp = MHD_create_post_processor(c, 64 * 1024, post_iter, rq);
            if (!rq->up->pp)
                return send_err(c, 400, "publishing needs a multipart/form-data body with a \"meta\" part "
                                "and \"file\" parts");
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (rq->up) {
            if (!rq->up->code && MHD_post_process(rq->up->pp, data, *data_size) != MHD_YES && !rq->up->code)
                set_up_err(rq->up, 400, "malformed multipart/form-data body");
        } else if (rq->len + *data_size > MAX_JSON_BODY) {
            rq->body_too_big = 1;
        } else {
            char *b = realloc(rq->body, rq->len + *data_size + 1);
            if (!b) return MHD_NO;
            memcpy(b + rq->len, data, *data_size);
            rq->body = b;
            rq->len += *data_size;
            b[rq->len] = 0;
        }
        *data_size = 0;
        return MHD_YES;
    }
    if (n < 0) return send_err(c, 404, "no such route: %s %s", method, url);
    if (rq->up) return finish_publish(c, rq, seg[3], seg[4]);
    if (rq->body_too_big) return send_err(c, 413, "request body larger than %d bytes", MAX_JSON_BODY);
    return route(c, rq, method, seg, n);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    request *rq = *con_cls;
    if (!rq) return;
    upload_free(rq->up); /* removes temp files of a failed or aborted upload */
    free(rq->body);
    sqlite3_close(rq->db);
    free(rq);
    *con_cls = NULL;
}

/* ---------- startup ---------- */

static bk_status write_secret(const char *path, const char *text)
{
    char tmp[BK_HUB_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return bk_error(BK_ERR_IO, "cannot create \"%s\": %s", tmp, strerror(errno));
    size_t n = strlen(text);
    int ok = fchmod(fd, 0600) == 0 && write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
             fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return bk_error(BK_ERR_IO, "cannot write \"%s\": %s", path, strerror(errno));
    }
    return BK_OK;
}

static bk_status ensure_admin(sqlite3 *db, const char *root, char **admin_token)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM users WHERE is_admin = 1", -1, &s, NULL) != SQLITE_OK)
        return bk_error(BK_ERR_IO, "registry: %s", sqlite3_errmsg(db));
    int n = sqlite3_step(s) == SQLITE_ROW ? col_int(s, 0) : -1;
    sqlite3_finalize(s);
    if (n != 0) return n < 0 ? bk_error(BK_ERR_IO, "registry: %s", sqlite3_errmsg(db)) : BK_OK;
    char tok[64], hex[65], now[32], path[BK_HUB_PATH_MAX];
    bk_status st = bk_hub_new_token(tok);
    if (!st) st = bk_sha256_hex(tok, strlen(tok), hex);
    if (st) return st;
    bk_hub_now(now);
    /* The file first: if it cannot be written, no admin exists whose token
     * nobody knows, and the next start tries again. */
    snprintf(path, sizeof path, "%s/admin_token", root);
    if ((st = write_secret(path, tok))) return st;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        exec_bind(db, "INSERT OR IGNORE INTO users(name, is_admin, created) VALUES('admin', 1, ?)", "s", now) ||
        exec_bind(db, "INSERT INTO tokens(hash, user_id, created) SELECT ?, id, ? FROM users WHERE name = "
                  "'admin'", "ss", hex, now) ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = bk_error(BK_ERR_IO, "registry: cannot create the admin: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    if (admin_token) {
        *admin_token = strdup(tok);
        if (!*admin_token) return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    return BK_OK;
}

/* Temp files of uploads cut short, and blobs renamed into the store by an
 * upload whose commit never happened, are removed before serving: nothing
 * else writes while this runs. */
static bk_status sweep(sqlite3 *db, const char *root, int *removed)
{
    char dir[BK_HUB_PATH_MAX], p[BK_HUB_PATH_MAX + 300];
    *removed = 0;
    snprintf(dir, sizeof dir, "%s/tmp", root);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) == 0) ++*removed;
    }
    if (d) closedir(d);
    snprintf(dir, sizeof dir, "%s/blobs", root);
    d = opendir(dir);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", -1, &s, NULL) != SQLITE_OK) {
        if (d) closedir(d);
        return bk_error(BK_ERR_IO, "registry: %s", sqlite3_errmsg(db));
    }
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) != 2) continue;
        char sub[BK_HUB_PATH_MAX + 8];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *d2 = opendir(sub);
        struct dirent *f;
        while (d2 && (f = readdir(d2))) {
            char sha[80];
            snprintf(sha, sizeof sha, "%s%s", e->d_name, f->d_name);
            if (!bk_hub_is_sha256(sha)) continue;
            sqlite3_reset(s);
            sqlite3_bind_text(s, 1, sha, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) == SQLITE_DONE) {
                snprintf(p, sizeof p, "%s/%s", sub, f->d_name);
                if (unlink(p) == 0) ++*removed;
            }
        }
        if (d2) closedir(d2);
    }
    sqlite3_finalize(s);
    if (d) closedir(d);
    return BK_OK;
}

bk_status bk_hub_server_create(bk_hub_server **out, const bk_hub_server_options *opt, char **admin_token)
{
    *out = NULL;
    if (admin_token) *admin_token = NULL;
    if (!opt || !opt->root || !opt->listen) return bk_error(BK_ERR_INVALID, "hub serve: --root and --listen are required");
    if (strlen(opt->root) > BK_HUB_ROOT_MAX)
        return bk_error(BK_ERR_INVALID, "--root: path longer than %d bytes", BK_HUB_ROOT_MAX);
    char host[64];
    int port = -1;
    const char *colon = strrchr(opt->listen, ':');
    if (!colon || (size_t)(colon - opt->listen) >= sizeof host || sscanf(colon + 1, "%d", &port) != 1 ||
        port < 0 || port > 65535)
        return bk_error(BK_ERR_INVALID, "--listen \"%s\": expected HOST:PORT, e.g. 127.0.0.1:8080", opt->listen);
    memcpy(host, opt->listen, (size_t)(colon - opt->listen));
    host[colon - opt->listen] = 0;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return bk_error(BK_ERR_INVALID, "--listen \"%s\": \"%s\" is not an IPv4 address", opt->listen, host);
    bk_hub_server *srv = calloc(1, sizeof *srv);
    if (!srv) return bk_error(BK_ERR_NOMEM, "out of memory");
    snprintf(srv->root, sizeof srv->root, "%s", opt->root);
    srv->max_file = opt->max_file_bytes > 0 ? opt->max_file_bytes : (int64_t)1 << 30;
    char p[BK_HUB_PATH_MAX + 16];
    bk_status st = bk_mkdir_p(srv->root);
    snprintf(p, sizeof p, "%s/blobs", srv->root);
    if (!st) st = bk_mkdir_p(p);
    snprintf(p, sizeof p, "%s/tmp", srv->root);
    if (!st) st = bk_mkdir_p(p);
    sqlite3 *db = NULL;
    if (!st) st = bk_hub_db_open(&db, srv->root);
    int removed = 0;
    if (!st) st = ensure_admin(db, srv->root, admin_token);
    if (!st) st = sweep(db, srv->root, &removed);
    sqlite3_close(db);
    if (st) {
        if (admin_token) {
            free(*admin_token);
            *admin_token = NULL;
        }
        free(srv);
        return st;
    }
    int threads = opt->threads > 0 ? opt->threads : 4;
    srv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                                   NULL, handler, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                   MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED,
                                   completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!srv->daemon) {
        free(srv);
        if (admin_token) {
            free(*admin_token);
            *admin_token = NULL;
        }
        return bk_error(BK_ERR_IO, "cannot listen on %s (address in use, or not a local address?)", opt->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    *out = srv;
    return BK_OK;
}

int bk_hub_server_port(const bk_hub_server *s) { return s->port; }

void bk_hub_server_destroy(bk_hub_server *s)
{
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    free(s);
}
