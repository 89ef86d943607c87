/* Internals shared by the hub's server, checker and client. */
#ifndef BK_HUB_INTERNAL_H
#define BK_HUB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>
#include "brisk/hub.h"

#define BK_HUB_PATH_MAX 4096
#define BK_HUB_ROOT_MAX 1024 /* longest root / cache directory accepted */
#define BK_HUB_FORMAT "brisk-hub-registry/1"

/* ---- hashing (OpenSSL EVP) ---- */
typedef struct bk_sha256 bk_sha256;
/* Incremental SHA-256; free with bk_sha256_free (NULL ok). */
bk_status bk_sha256_new(bk_sha256 **out);
bk_status bk_sha256_update(bk_sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits + NUL to hex. */
bk_status bk_sha256_final(bk_sha256 *h, char hex[65]);
void bk_sha256_free(bk_sha256 *h);
/* Digest of a memory block / of a whole file (and its size when size!=NULL). */
bk_status bk_sha256_hex(const void *data, size_t len, char hex[65]);
bk_status bk_sha256_file(const char *path, char hex[65], int64_t *size);
/* 1 when s is exactly 64 lowercase hex digits. */
int bk_hub_is_sha256(const char *s);
/* A fresh random token "bkt_" + 48 hex digits (from RAND_bytes). */
bk_status bk_hub_new_token(char out[64]);

/* ---- names ---- */
/* File names inside a version: 1..255 bytes, no '/', '\\', no control
 * characters, not starting with '.', so no path can escape a directory. */
bk_status bk_hub_check_file_name(const char *name);
/* Owners, record names and aliases: [A-Za-z0-9][A-Za-z0-9._-]{0,63}, what
 * keeps them safe in URLs, paths and identifiers. what names it in errors. */
bk_status bk_hub_check_ident(const char *s, const char *what);

/* ---- manifests ---- */
/* files: a JSON array of {name, size, sha256}, already validated. The
 * manifest digest is "sha256:" + SHA-256 of the lines
 * "<sha256> <size> <name>\n" sorted by name, so it identifies the content
 * of a version independently of upload order. out must hold 72 bytes. */
bk_status bk_hub_manifest_digest(json_t *files, char out[72]);

/* ---- metadata ---- */
/* Validates record metadata for type "model" or "dataset". On failure the
 * message names the field (e.g. "metadata.creators[0].name: required"). */
bk_status bk_hub_validate_metadata(json_t *meta, const char *type);

/* ---- registry ---- */
/* Opens ROOT/registry.db in WAL mode with a busy timeout, creating the
 * schema when needed. Caller closes with sqlite3_close. */
bk_status bk_hub_db_open(sqlite3 **out, const char *root);
/* ROOT/blobs/ab/cdef... for a hex digest. */
void bk_hub_blob_path(char *out, size_t n, const char *root, const char *sha);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void bk_hub_now(char out[32]);

/* ---- client ---- */
/* The cache directory: given, else BRISK_HUB_CACHE, else ~/.cache/brisk/hub. */
bk_status bk_hub_cache_dir(const char *given, char *out, size_t n);
/* bk_hub_pull, also handing back the verified version object (caller
 * frees; NULL on failure) so callers know the exact version and digest. */
bk_status bk_hub_pull_version(bk_hub_client *c, const char *id, const char *cache_dir, const char *out_dir, FILE *log,
                              json_t **version);

/* ---- registry queries (hub_query.c), shared by the REST API and the web
 * pages so both answer from the same code and the same access rules ---- */
static inline int col_int(sqlite3_stmt *s, int i) { return sqlite3_column_int(s, i); }
static inline const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}
/* 1 when s is a version number (1 to 9 decimal digits). */
int bk_hub_is_number(const char *s);

/* Who is asking: user_id 0 is anonymous. */
typedef struct {
    long long user_id;
    char user[65];
    int is_admin;
} bk_hub_viewer;

typedef struct {
    long long id;
    char owner[65], name[65], type[16];
    int is_private;
} bk_hub_record;

/* 1 found, 0 not found, -1 database error. */
int bk_hub_find_record(sqlite3 *db, const char *owner, const char *name, bk_hub_record *r);
/* Private records are readable by their owner and the admin only. */
int bk_hub_can_read(const bk_hub_viewer *who, const bk_hub_record *r);
/* Resolves ref (a number or an alias) to a version number: 1 found, 0 not,
 * -1 database error. */
int bk_hub_resolve_ref(sqlite3 *db, long long rec, const char *ref, int *version);
/* The JSON of one version (metadata, files with download URLs under base,
 * tombstone); NULL on error. Caller owns the result. */
json_t *bk_hub_version_json(sqlite3 *db, const bk_hub_record *r, int version, const char *base);
/* The record summary: versions (with tombstones), aliases, title, licence. */
json_t *bk_hub_record_json(sqlite3 *db, const bk_hub_record *r);
/* Citations of a version object v (from bk_hub_version_json); url is the
 * version's landing URL. BibTeX is malloc'ed text; DataCite a new object. */
char *bk_hub_bibtex(json_t *v, const char *url);
json_t *bk_hub_datacite(json_t *v, const char *url);

typedef struct {
    const char *q, *type, *owner, *licence, *subject, *creator; /* NULL: no filter */
    long page, per_page;
} bk_hub_search_q;
/* Full-text search plus filters, ranked (bm25) or newest first, paginated,
 * showing private records only to their owner and the admin. Returns the
 * HTTP status: 200 with *out = {"total", "page", "per_page", "results"},
 * 400 (bad parameter) or 500 with the message in err. */
int bk_hub_search(sqlite3 *db, const bk_hub_viewer *who, const bk_hub_search_q *q, json_t **out, char *err,
                  size_t n);

/* ---- web pages (hub_web.c, hub_markdown.c) ---- */
/* Writes s HTML-escaped (& < > " ') to f; NULL writes nothing. */
void bk_hub_html_escape(FILE *f, const char *s);
/* Renders a markdown subset (headings, paragraphs, lists, fenced and inline
 * code, **bold**, [links](http...)) as HTML; all text is escaped and only
 * http(s) links become anchors, so a card cannot inject markup. */
void bk_hub_markdown(FILE *f, const char *md);
/* The search page for q; the record page of owner/name at ref (NULL: the
 * latest, else the newest version). Each returns malloc'ed HTML and sets
 * *code to the HTTP status (a page is returned for errors too). */
char *bk_hub_web_search(sqlite3 *db, const bk_hub_viewer *who, const bk_hub_search_q *q, int *code);
char *bk_hub_web_record(sqlite3 *db, const bk_hub_viewer *who, const char *owner, const char *name,
                        const char *ref, const char *base, int *code);
char *bk_hub_web_error(int code, const char *msg);

#endif
