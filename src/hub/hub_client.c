/* The hub client (libcurl): JSON requests, publishing a directory as one
 * multipart request, and pulling a version into a verified local cache. */
#include "hub_internal.h"

/* Paths are built in fixed buffers from a root whose length is checked on
 * entry (BK_HUB_ROOT_MAX), so GCC's worst-case truncation estimates do not
 * apply. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include "brisk/brisk.h"
#include "core/fsutil.h"

struct bk_hub_client {
    char *url;
    char *token;
    struct curl_slist *headers;
};

typedef struct {
    char *buf;
    size_t len;
    int oom;
} membuf;

static size_t to_mem(char *p, size_t sz, size_t n, void *ud)
{
    membuf *m = ud;
    size_t k = sz * n;
    char *b = realloc(m->buf, m->len + k + 1);
    if (!b) {
        m->oom = 1;
        return 0;
    }
    memcpy(b + m->len, p, k);
    m->buf = b;
    m->len += k;
    b[m->len] = 0;
    return k;
}

bk_status bk_hub_client_create(bk_hub_client **out, const char *url, const char *token)
{
    *out = NULL;
    if (!url || !*url)
        return bk_error(BK_ERR_INVALID, "no hub URL: give --url or set BRISK_HUB_URL (e.g. http://127.0.0.1:8080)");
    static int inited;
    if (!inited) { /* once, from the (single-threaded) CLI */
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) return bk_error(BK_ERR_INTERNAL, "libcurl initialisation failed");
        inited = 1;
    }
    bk_hub_client *c = calloc(1, sizeof *c);
    if (!c) return bk_error(BK_ERR_NOMEM, "out of memory");
    c->url = strdup(url);
    size_t n = c->url ? strlen(c->url) : 0;
    while (n && c->url[n - 1] == '/') c->url[--n] = 0;
    if (token && *token) {
        c->token = strdup(token);
        char h[256];
        snprintf(h, sizeof h, "Authorization: Bearer %s", token);
        c->headers = c->token ? curl_slist_append(NULL, h) : NULL;
        if (!c->headers) {
            bk_hub_client_destroy(c);
            return bk_error(BK_ERR_NOMEM, "out of memory");
        }
    }
    if (!c->url) {
        bk_hub_client_destroy(c);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    *out = c;
    return BK_OK;
}

void bk_hub_client_destroy(bk_hub_client *c)
{
    if (!c) return;
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->token);
    free(c);
}

/* A curl handle for url + path with our headers; extra headers appended. */
static CURL *easy(bk_hub_client *c, const char *path, struct curl_slist *hdrs, membuf *m)
{
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    size_t n = strlen(c->url) + strlen(path) + 1;
    char *u = malloc(n);
    if (!u) {
        curl_easy_cleanup(h);
        return NULL;
    }
    snprintf(u, n, "%s%s", c->url, path);
    curl_easy_setopt(h, CURLOPT_URL, u);
    free(u); /* libcurl copies strings it is given */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs ? hdrs : c->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (m) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_mem);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
    }
    return h;
}

static bk_status perform(CURL *h, const char *what, long *http)
{
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) return bk_error(BK_ERR_IO, "%s: %s", what, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    return BK_OK;
}

bk_status bk_hub_request(bk_hub_client *c, const char *method, const char *path, const char *body, long *http,
                         char **response)
{
    *response = NULL;
    membuf m = {0};
    struct curl_slist *hdrs = NULL;
    for (struct curl_slist *p = c->headers; p; p = p->next) hdrs = curl_slist_append(hdrs, p->data);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    CURL *h = hdrs ? easy(c, path, hdrs, &m) : NULL;
    if (!h) {
        curl_slist_free_all(hdrs);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    char what[512];
    snprintf(what, sizeof what, "%s %s%s", method, c->url, path);
    bk_status st = perform(h, what, http);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (!st && m.oom) st = bk_error(BK_ERR_NOMEM, "out of memory");
    if (st) {
        free(m.buf);
        return st;
    }
    *response = m.buf ? m.buf : strdup("");
    return *response ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory");
}

/* The entry of brisk_resolved.hub for config key PARENT.KEY, or NULL. */
static json_t *resolved_ref(json_t *hub, const char *parent, const char *key)
{
    char want[256];
    snprintf(want, sizeof want, "%s.%s", parent, key);
    json_t *e;
    size_t i;
    json_array_foreach(hub, i, e) {
        const char *k = json_string_value(json_object_get(e, "key"));
        if (k && !strcmp(k, want)) return e;
    }
    return NULL;
}

/* Fills metadata.provenance from a brisk run directory: the resolved
 * config, the checkpoint's digest, the data it was trained on. */
static void fill_provenance(json_t *meta, const char *dir, json_t *files)
{
    char cfg[BK_HUB_PATH_MAX], ckpt[BK_HUB_PATH_MAX];
    bk_path_join(cfg, sizeof cfg, dir, "config.json");
    bk_path_join(ckpt, sizeof ckpt, dir, "model_final.safetensors");
    if (!bk_path_exists(cfg) || !bk_path_exists(ckpt)) return;
    json_t *prov = json_object_get(meta, "provenance");
    if (!json_is_object(prov)) {
        prov = json_object();
        json_object_set_new(meta, "provenance", prov);
    }
    json_t *conf = json_load_file(cfg, 0, NULL);
    if (conf && !json_object_get(prov, "config")) json_object_set(prov, "config", conf);
    if (!json_object_get(prov, "brisk_version"))
        json_object_set_new(prov, "brisk_version", json_string(BRISK_VERSION_STRING));
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        if (!strcmp(json_string_value(json_object_get(f, "name")), "model_final.safetensors"))
            json_object_set_new(prov, "checkpoint", json_pack("{s:s, s:O}", "file", "model_final.safetensors",
                                                              "sha256", json_object_get(f, "sha256")));
    }
    /* Data the run read: hub references as the exact versions and manifest
     * digests the run resolved them to (brisk_resolved.hub), local paths as
     * they were given. A checkpoint loaded from the hub is the parent. */
    json_t *nn = json_object_get(conf, "neural_network");
    json_t *data = json_object_get(nn, "data");
    json_t *hub = json_object_get(json_object_get(conf, "brisk_resolved"), "hub");
    if (json_is_object(data) && !json_object_get(prov, "datasets")) {
        json_t *ds = json_array();
        const char *keys[] = {"input_path", "target_path", "test_input_path", "test_target_path", "path"};
        for (int k = 0; k < 5; k++) {
            const char *v = json_string_value(json_object_get(data, keys[k]));
            if (!v) continue;
            json_t *e = resolved_ref(hub, "neural_network.data", keys[k]);
            json_array_append_new(ds, e ? json_pack("{s:s, s:O, s:O, s:O}", "role", keys[k], "id",
                                                    json_object_get(e, "id"), "digest", json_object_get(e, "digest"),
                                                    "file", json_object_get(e, "file"))
                                        : json_pack("{s:s, s:s}", "role", keys[k], "id", v));
        }
        json_object_set_new(prov, "datasets", ds);
    }
    json_t *parent = resolved_ref(hub, "neural_network.checkpoints", "load");
    if (parent && !json_object_get(prov, "parent")) {
        json_object_set(prov, "parent", json_object_get(parent, "id"));
        json_object_set(prov, "parent_digest", json_object_get(parent, "digest"));
    }
    json_decref(conf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bk_status bk_hub_publish(bk_hub_client *c, const char *id, const char *type, const char *dir, const char *meta_json,
                         int is_private, long *http, char **response)
{
    *response = NULL;
    const char *slash = strchr(id, '/');
    if (!slash || strchr(id, '@')) return bk_error(BK_ERR_INVALID, "\"%s\": expected owner/name", id);
    json_error_t je;
    json_t *meta = json_loads(meta_json, 0, &je);
    if (!meta) return bk_error(BK_ERR_INVALID, "metadata: JSON syntax error at line %d, column %d: %s", je.line,
                               je.column, je.text);
    DIR *d = opendir(dir);
    if (!d) {
        json_decref(meta);
        return bk_error(BK_ERR_IO, "cannot open directory \"%s\": %s", dir, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    bk_status st = BK_OK;
    while (!st && (e = readdir(d))) {
        char p[BK_HUB_PATH_MAX];
        bk_path_join(p, sizeof p, dir, e->d_name);
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "meta.json") || !strcmp(e->d_name, "metadata.json"))
            continue;
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = strdup(e->d_name))) {
            names = nn ? nn : names;
            st = bk_error(BK_ERR_NOMEM, "out of memory");
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (!st && !n) st = bk_error(BK_ERR_INVALID, "directory \"%s\" has no files to publish", dir);
    if (!st) qsort(names, n, sizeof *names, cmp_str);
    json_t *files = json_array();
    for (size_t i = 0; !st && i < n; i++) {
        char p[BK_HUB_PATH_MAX], hex[65];
        int64_t size;
        bk_path_join(p, sizeof p, dir, names[i]);
        st = bk_hub_check_file_name(names[i]);
        if (!st) st = bk_sha256_file(p, hex, &size);
        if (!st)
            json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", names[i], "size", (json_int_t)size,
                                                   "sha256", hex));
    }
    if (!st) fill_provenance(meta, dir, files);
    json_t *doc = json_pack("{s:s, s:b, s:o, s:o}", "type", type, "private", is_private, "metadata", meta,
                            "files", files);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!st && !text) st = bk_error(BK_ERR_NOMEM, "out of memory");
    membuf m = {0};
    CURL *h = NULL;
    curl_mime *mime = NULL;
    if (!st) {
        char path[512];
        snprintf(path, sizeof path, "/api/v1/records/%s/versions", id);
        h = easy(c, path, NULL, &m);
        mime = h ? curl_mime_init(h) : NULL;
        if (!mime) st = bk_error(BK_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, "meta");
        curl_mime_data(part, text, CURL_ZERO_TERMINATED);
        curl_mime_type(part, "application/json");
        for (size_t i = 0; i < n; i++) {
            char p[BK_HUB_PATH_MAX];
            bk_path_join(p, sizeof p, dir, names[i]);
            part = curl_mime_addpart(mime);
            curl_mime_name(part, "file");
            if (curl_mime_filedata(part, p) != CURLE_OK) {
                st = bk_error(BK_ERR_IO, "cannot read \"%s\"", p);
                break;
            }
            curl_mime_filename(part, names[i]);
        }
    }
    if (!st) {
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
        st = perform(h, "publish", http);
        if (!st && m.oom) st = bk_error(BK_ERR_NOMEM, "out of memory");
    }
    curl_mime_free(mime);
    if (h) curl_easy_cleanup(h);
    free(text);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st) {
        free(m.buf);
        return st;
    }
    *response = m.buf ? m.buf : strdup("");
    return *response ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory");
}

typedef struct {
    int fd;
    bk_sha256 *h;
    int64_t got;
    int err;
} sink;

static size_t to_file(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t k = sz * n;
    if (bk_sha256_update(s->h, p, k) || write(s->fd, p, k) != (ssize_t)k) {
        s->err = 1;
        return 0;
    }
    s->got += (int64_t)k;
    return k;
}

static bk_status copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    bk_status st = bk_read_file(from, &data, &len);
    if (st) return st;
    st = bk_write_file_atomic(to, data, len);
    free(data);
    return st;
}

/* Downloads one file into the cache at dest, verified. */
static bk_status fetch(bk_hub_client *c, const char *path, const char *dest, const char *tmpdir, const char *sha,
                       int64_t size)
{
    char tmp[BK_HUB_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/dl-XXXXXX", tmpdir);
    sink s = {.fd = mkstemp(tmp)};
    if (s.fd < 0) return bk_error(BK_ERR_IO, "cannot create a file in \"%s\": %s", tmpdir, strerror(errno));
    bk_status st = bk_sha256_new(&s.h);
    CURL *h = st ? NULL : easy(c, path, NULL, NULL);
    if (!st && !h) st = bk_error(BK_ERR_NOMEM, "out of memory");
    long http = 0;
    if (!st) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_file);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        st = perform(h, path, &http);
        curl_easy_cleanup(h);
    }
    char hex[65] = "";
    if (!st && s.err) st = bk_error(BK_ERR_IO, "writing \"%s\" failed", tmp);
    if (!st && http != 200) st = bk_error(BK_ERR_IO, "%s: HTTP %ld", path, http);
    if (!st) st = bk_sha256_final(s.h, hex);
    if (!st && (s.got != size || strcmp(hex, sha)))
        st = bk_error(BK_ERR_IO, "%s: downloaded %lld bytes with SHA-256 %s, expected %lld bytes with %s", path,
                      (long long)s.got, hex, (long long)size, sha);
    if (!st && fsync(s.fd) != 0) st = bk_error(BK_ERR_IO, "fsync: %s", strerror(errno));
    close(s.fd);
    bk_sha256_free(s.h);
    if (!st && rename(tmp, dest) != 0) st = bk_error(BK_ERR_IO, "cannot move into the cache: %s", strerror(errno));
    if (st) unlink(tmp);
    return st;
}

bk_status bk_hub_cache_dir(const char *given, char *out, size_t n)
{
    if (given && *given) snprintf(out, n, "%s", given);
    else if (getenv("BRISK_HUB_CACHE") && *getenv("BRISK_HUB_CACHE")) snprintf(out, n, "%s", getenv("BRISK_HUB_CACHE"));
    else if (getenv("HOME")) snprintf(out, n, "%s/.cache/brisk/hub", getenv("HOME"));
    else return bk_error(BK_ERR_INVALID, "no cache directory: set BRISK_HUB_CACHE or HOME");
    if (strlen(out) > BK_HUB_ROOT_MAX) return bk_error(BK_ERR_INVALID, "cache directory path longer than %d bytes", BK_HUB_ROOT_MAX);
    return BK_OK;
}

bk_status bk_hub_pull(bk_hub_client *c, const char *id, const char *cache_dir, const char *out_dir, FILE *log)
{
    return bk_hub_pull_version(c, id, cache_dir, out_dir, log, NULL);
}

bk_status bk_hub_pull_version(bk_hub_client *c, const char *id, const char *cache_dir, const char *out_dir, FILE *log,
                              json_t **version_out)
{
    if (version_out) *version_out = NULL;
    char owner[128], rest[256], ref[128] = "latest";
    if (sscanf(id, "%127[^/]/%255s", owner, rest) != 2) return bk_error(BK_ERR_INVALID, "\"%s\": expected owner/name[@version]", id);
    char *at = strchr(rest, '@');
    if (at) {
        snprintf(ref, sizeof ref, "%s", at + 1);
        *at = 0;
    }
    if (bk_hub_check_ident(owner, "owner") || bk_hub_check_ident(rest, "name") || bk_hub_check_ident(ref, "version"))
        return bk_error_context(BK_ERR_INVALID, "%s: ", id);
    char cache[BK_HUB_PATH_MAX];
    bk_status st = bk_hub_cache_dir(cache_dir, cache, sizeof cache);
    if (st) return st;
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/records/%s/%s/versions/%s", owner, rest, ref);
    long http;
    char *resp;
    st = bk_hub_request(c, "GET", path, NULL, &http, &resp);
    if (st) return st;
    json_t *v = json_loads(resp, 0, NULL);
    if (http != 200 || !v) {
        st = bk_error(BK_ERR_IO, "%s: HTTP %ld: %s", id, http,
                      json_string_value(json_object_get(v, "error")) ? json_string_value(json_object_get(v, "error")) : resp);
        json_decref(v);
        free(resp);
        return st;
    }
    free(resp);
    if (json_object_get(v, "deleted")) {
        st = bk_error(BK_ERR_IO, "%s was deleted (%s); its files are gone", json_string_value(json_object_get(v, "id")),
                      json_string_value(json_object_get(json_object_get(v, "deleted"), "reason")));
        json_decref(v);
        return st;
    }
    json_t *files = json_object_get(v, "files");
    char digest[72], tmpdir[BK_HUB_PATH_MAX + 8];
    /* The manifest must hash to the version's digest: a server cannot hand
     * out a different file list under the same identifier. */
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        if (bk_hub_check_file_name(json_string_value(json_object_get(f, "name"))) ||
            !bk_hub_is_sha256(json_string_value(json_object_get(f, "sha256"))))
            st = bk_error(BK_ERR_IO, "%s: the server sent an invalid manifest entry", id);
    }
    if (!st) st = bk_hub_manifest_digest(files, digest);
    if (!st && strcmp(digest, json_string_value(json_object_get(v, "digest")) ? json_string_value(json_object_get(v, "digest")) : ""))
        st = bk_error(BK_ERR_IO, "%s: the file list hashes to %s, not to the version's digest %s", id, digest,
                      json_string_value(json_object_get(v, "digest")));
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", cache);
    if (!st) st = bk_mkdir_p(tmpdir);
    if (!st && out_dir) st = bk_mkdir_p(out_dir);
    int version = (int)json_integer_value(json_object_get(v, "version"));
    for (size_t i = 0; !st && i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        int64_t size = json_integer_value(json_object_get(f, "size"));
        char dest[BK_HUB_PATH_MAX], dir[BK_HUB_PATH_MAX], hex[65];
        bk_hub_blob_path(dest, sizeof dest, cache, sha);
        bk_path_dirname(dir, sizeof dir, dest);
        st = bk_mkdir_p(dir);
        int64_t have = -1;
        /* A cached blob is trusted only after re-hashing it. */
        if (!st && bk_path_exists(dest) && (bk_sha256_file(dest, hex, &have) || strcmp(hex, sha) || have != size))
            unlink(dest);
        if (!st && !bk_path_exists(dest)) {
            snprintf(path, sizeof path, "/api/v1/records/%s/%s/versions/%d/files/%s", owner, rest, version, name);
            st = fetch(c, path, dest, tmpdir, sha, size);
        }
        if (!st && out_dir) {
            char to[BK_HUB_PATH_MAX];
            bk_path_join(to, sizeof to, out_dir, name);
            st = copy_file(dest, to);
            if (!st && log) fprintf(log, "%s %s\n", name, to);
        } else if (!st && log) {
            fprintf(log, "%s %s\n", name, dest);
        }
    }
    if (!st && version_out) *version_out = v;
    else json_decref(v);
    return st;
}
