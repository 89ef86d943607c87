/* Hashing, names, manifest digests and the registry schema; see hub_internal.h. */
#include "hub_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

struct bk_sha256 {
    EVP_MD_CTX *md;
};

bk_status bk_sha256_new(bk_sha256 **out)
{
    *out = NULL;
    bk_sha256 *h = calloc(1, sizeof *h);
    if (!h) return bk_error(BK_ERR_NOMEM, "sha256: out of memory");
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        bk_sha256_free(h);
        return bk_error(BK_ERR_INTERNAL, "sha256: OpenSSL EVP initialisation failed");
    }
    *out = h;
    return BK_OK;
}

bk_status bk_sha256_update(bk_sha256 *h, const void *data, size_t len)
{
    if (len && EVP_DigestUpdate(h->md, data, len) != 1)
        return bk_error(BK_ERR_INTERNAL, "sha256: OpenSSL EVP update failed");
    return BK_OK;
}

bk_status bk_sha256_final(bk_sha256 *h, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->md, d, &n) != 1 || n != 32)
        return bk_error(BK_ERR_INTERNAL, "sha256: OpenSSL EVP final failed");
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[64] = 0;
    return BK_OK;
}

void bk_sha256_free(bk_sha256 *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

bk_status bk_sha256_hex(const void *data, size_t len, char hex[65])
{
    bk_sha256 *h;
    bk_status st = bk_sha256_new(&h);
    if (st) return st;
    st = bk_sha256_update(h, data, len);
    if (!st) st = bk_sha256_final(h, hex);
    bk_sha256_free(h);
    return st;
}

bk_status bk_sha256_file(const char *path, char hex[65], int64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bk_error(BK_ERR_IO, "cannot open \"%s\": %s", path, strerror(errno));
    bk_sha256 *h;
    bk_status st = bk_sha256_new(&h);
    if (st) {
        close(fd);
        return st;
    }
    static const size_t bufsz = 1 << 16;
    char *buf = malloc(bufsz);
    int64_t total = 0;
    if (!buf) st = bk_error(BK_ERR_NOMEM, "sha256 \"%s\": out of memory", path);
    while (!st) {
        ssize_t r = read(fd, buf, bufsz);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = bk_error(BK_ERR_IO, "cannot read \"%s\": %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        total += r;
        st = bk_sha256_update(h, buf, (size_t)r);
    }
    if (!st) st = bk_sha256_final(h, hex);
    if (!st && size) *size = total;
    free(buf);
    bk_sha256_free(h);
    close(fd);
    return st;
}

int bk_hub_is_sha256(const char *s)
{
    if (!s || strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

bk_status bk_hub_new_token(char out[64])
{
    unsigned char r[24];
    if (RAND_bytes(r, sizeof r) != 1)
        return bk_error(BK_ERR_INTERNAL, "cannot draw random bytes for a token (OpenSSL RAND_bytes)");
    memcpy(out, "bkt_", 4);
    for (size_t i = 0; i < sizeof r; i++) snprintf(out + 4 + 2 * i, 3, "%02x", r[i]);
    return BK_OK;
}

bk_status bk_hub_check_file_name(const char *name)
{
    if (!name || !*name) return bk_error(BK_ERR_INVALID, "file name is empty");
    size_t n = strlen(name);
    if (n > 255) return bk_error(BK_ERR_INVALID, "file name \"%.40s...\" is longer than 255 bytes", name);
    if (name[0] == '.')
        return bk_error(BK_ERR_INVALID, "file name \"%s\" starts with '.' (hidden files and \"..\" are "
                        "not allowed)", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '/' || ch == '\\')
            return bk_error(BK_ERR_INVALID, "file name \"%s\" contains a path separator; a version "
                            "is a flat list of files", name);
        if (ch < 0x20 || ch == 0x7f)
            return bk_error(BK_ERR_INVALID, "file name contains control character 0x%02x", ch);
    }
    return BK_OK;
}

bk_status bk_hub_check_ident(const char *s, const char *what)
{
    if (!s || !*s) return bk_error(BK_ERR_INVALID, "%s is empty", what);
    size_t n = strlen(s);
    if (n > 64) return bk_error(BK_ERR_INVALID, "%s \"%.20s...\" is longer than 64 characters", what, s);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return bk_error(BK_ERR_INVALID, "%s \"%s\" may contain only letters, digits, '.', '_' "
                            "and '-', and must start with a letter or digit", what, s);
    }
    return BK_OK;
}

static int cmp_file_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x ? x : "", y ? y : "");
}

bk_status bk_hub_manifest_digest(json_t *files, char out[72])
{
    size_t n = json_array_size(files);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) return bk_error(BK_ERR_NOMEM, "manifest digest: out of memory");
    for (size_t i = 0; i < n; i++) v[i] = json_array_get(files, i);
    qsort(v, n, sizeof *v, cmp_file_name);
    bk_sha256 *h;
    bk_status st = bk_sha256_new(&h);
    for (size_t i = 0; !st && i < n; i++) {
        char line[512];
        int len = snprintf(line, sizeof line, "%s %lld %s\n",
                           json_string_value(json_object_get(v[i], "sha256")),
                           (long long)json_integer_value(json_object_get(v[i], "size")),
                           json_string_value(json_object_get(v[i], "name")));
        if (len < 0 || (size_t)len >= sizeof line)
            st = bk_error(BK_ERR_INVALID, "manifest entry too long");
        else
            st = bk_sha256_update(h, line, (size_t)len);
    }
    char hex[65];
    if (!st) st = bk_sha256_final(h, hex);
    if (!st) snprintf(out, 72, "sha256:%s", hex);
    bk_sha256_free(h);
    free(v);
    return st;
}

void bk_hub_blob_path(char *out, size_t n, const char *root, const char *sha)
{
    snprintf(out, n, "%s/blobs/%.2s/%s", root, sha, sha + 2);
}

void bk_hub_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One schema, created idempotently. Versions are never updated except to
 * tombstone them; the FTS table is keyed by record id (rowid) and holds the
 * text of the record's newest version. */
static const char *k_schema =
    "CREATE TABLE IF NOT EXISTS hub_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
    " is_admin INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL"
    " REFERENCES users(id), created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS records(id INTEGER PRIMARY KEY, owner TEXT NOT NULL,"
    " name TEXT NOT NULL, type TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,"
    " title TEXT, licence TEXT, created TEXT NOT NULL, updated TEXT NOT NULL, UNIQUE(owner, name));"
    "CREATE TABLE IF NOT EXISTS versions(id INTEGER PRIMARY KEY, record_id INTEGER NOT NULL"
    " REFERENCES records(id), version INTEGER NOT NULL, digest TEXT NOT NULL,"
    " metadata TEXT NOT NULL, published_by TEXT NOT NULL, created TEXT NOT NULL,"
    " deleted TEXT, delete_reason TEXT, UNIQUE(record_id, version));"
    "CREATE TABLE IF NOT EXISTS files(version_id INTEGER NOT NULL REFERENCES versions(id),"
    " name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY(version_id, name));"
    "CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);"
    "CREATE TABLE IF NOT EXISTS aliases(record_id INTEGER NOT NULL REFERENCES records(id),"
    " alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY(record_id, alias));"
    "CREATE TABLE IF NOT EXISTS alias_audit(id INTEGER PRIMARY KEY, record_id INTEGER NOT NULL,"
    " alias TEXT NOT NULL, old_version INTEGER, new_version INTEGER, actor TEXT NOT NULL,"
    " at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subjects(record_id INTEGER NOT NULL, subject TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS subjects_rec ON subjects(record_id);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(owner, name, title, description, card,"
    " subjects);"
    "INSERT OR IGNORE INTO hub_meta(key, value) VALUES('format', '" BK_HUB_FORMAT "');";

bk_status bk_hub_db_open(sqlite3 **out, const char *root)
{
    *out = NULL;
    char path[BK_HUB_PATH_MAX];
    snprintf(path, sizeof path, "%s/registry.db", root);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        bk_status st = bk_error(BK_ERR_IO, "cannot open registry \"%s\": %s", path,
                                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return st;
    }
    /* A generous busy timeout lets concurrent publishers queue on the write
     * lock instead of failing; synchronous=FULL makes a commit durable. */
    sqlite3_busy_timeout(db, 10000);
    char *err = NULL;
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                      NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, k_schema, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        bk_status st = bk_error(BK_ERR_IO, "registry \"%s\": %s", path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return BK_OK;
}
