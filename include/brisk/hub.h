/* brisk hub: a registry of models and datasets (FAIR: findable, accessible,
 * interoperable, reusable). The server keeps a SQLite registry and a
 * content-addressed blob store under one root directory; the client talks
 * to it over HTTP. The REST API is described in docs/hub-api.md. */
#ifndef BRISK_HUB_H
#define BRISK_HUB_H

#include <stdint.h>
#include <stdio.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lets bk_run resolve "hub:" references in run configs (pulling them
 * from the hub at BRISK_HUB_URL into the local cache; train.h). Programs
 * that link the hub call it once at start. */
void bk_hub_register_resolver(void);

/* ---- server ---- */

typedef struct {
    const char *root;       /* registry directory; created when missing */
    const char *listen;     /* "HOST:PORT"; HOST must be an IPv4 address */
    int threads;            /* thread-pool size; <= 0 means 4 */
    int64_t max_file_bytes; /* per-file upload limit; <= 0 means 1 GiB */
} bk_hub_server_options;

typedef struct bk_hub_server bk_hub_server;

/* Opens (or initialises) the registry under opt->root, removes leftovers
 * of interrupted uploads, and starts serving. On the very first start an
 * admin token is created; its plain text is written to ROOT/admin_token
 * (mode 0600) and, only that once, returned in *admin_token (malloc'ed,
 * caller frees; NULL on later starts). *out is owned by the caller and
 * released with bk_hub_server_destroy. */
bk_status bk_hub_server_create(bk_hub_server **out, const bk_hub_server_options *opt,
                               char **admin_token);
/* The port actually bound (useful with port 0). */
int bk_hub_server_port(const bk_hub_server *s);
/* Stops serving (waits for requests in flight) and frees s; NULL is a no-op. */
void bk_hub_server_destroy(bk_hub_server *s);

/* Re-hashes every blob under root, checks that every file of every version
 * is in the store with its size and digest, that every version's manifest
 * digest matches its files, and runs SQLite's integrity check. Problems
 * are written to report, one per line; *problems counts them. Blobs no
 * version references are reported as notes, not problems. */
bk_status bk_hub_check(const char *root, FILE *report, int *problems);

/* ---- client ---- */

typedef struct bk_hub_client bk_hub_client;

/* url: the server's base URL ("http://127.0.0.1:8080"); token may be NULL
 * (anonymous). Both are copied. Free with bk_hub_client_destroy. */
bk_status bk_hub_client_create(bk_hub_client **out, const char *url, const char *token);
void bk_hub_client_destroy(bk_hub_client *c);

/* One JSON request. method is "GET", "POST", "PUT" or "DELETE"; path starts
 * with "/" (e.g. "/api/v1/search?q=mnist"); body may be NULL. *http gets the
 * HTTP status; *response the body (malloc'ed, NUL-terminated, caller frees).
 * Returns BK_OK whenever an HTTP answer came back, whatever its status. */
bk_status bk_hub_request(bk_hub_client *c, const char *method, const char *path,
                         const char *body, long *http, char **response);

/* Publishes the regular files directly inside dir as a new version of
 * "owner/name". meta_json is the record metadata (DataCite fields, plus
 * signature and provenance for models); type is "model" or "dataset". When
 * dir is a brisk run directory (config.json + model_final.safetensors) the
 * provenance is completed from it. *http / *response as bk_hub_request. */
bk_status bk_hub_publish(bk_hub_client *c, const char *id, const char *type, const char *dir,
                         const char *meta_json, int is_private, long *http, char **response);

/* Downloads every file of version id ("owner/name@ref", ref a number or an
 * alias; no "@" means latest) into the cache (cache_dir, or BRISK_HUB_CACHE,
 * or ~/.cache/brisk/hub), verifying sizes, SHA-256 digests and the manifest
 * digest; files already cached and intact are not fetched again. When
 * out_dir is given the files are also copied there under their names.
 * Writes "NAME PATH" per file to log (may be NULL). */
bk_status bk_hub_pull(bk_hub_client *c, const char *id, const char *cache_dir, const char *out_dir,
                      FILE *log);

#ifdef __cplusplus
}
#endif
#endif
