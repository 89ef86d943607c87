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

#endif
