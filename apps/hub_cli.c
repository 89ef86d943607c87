/* `brisk hub ...`: the hub's command line (server, checker and client). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "brisk/hub.h"
#include "core/fsutil.h"

int bk_hub_cli_main(int argc, char **argv);

static volatile sig_atomic_t g_hub_stop = 0;
static void on_stop(int sig) { (void)sig; g_hub_stop = 1; }

static void hub_usage(FILE *f)
{
    fprintf(f,
            "usage: brisk hub serve --root DIR --listen HOST:PORT [--threads N] [--max-file-bytes N]\n"
            "       brisk hub check --root DIR\n"
            "       brisk hub token create --user NAME            (admin token)\n"
            "       brisk hub publish OWNER/NAME --dir DIR --meta FILE [--type model|dataset] [--private]\n"
            "       brisk hub search [QUERY] [--type T] [--owner O] [--licence L] [--subject S] [--creator C] [--page N] [--per-page N]\n"
            "       brisk hub show OWNER/NAME[@VERSION|@ALIAS] [--audit]\n"
            "       brisk hub pull OWNER/NAME[@VERSION|@ALIAS] [--out DIR] [--cache DIR]\n"
            "       brisk hub alias OWNER/NAME ALIAS VERSION\n"
            "       brisk hub cite OWNER/NAME[@VERSION] [--format bibtex|datacite]\n"
            "       brisk hub delete OWNER/NAME@VERSION [--reason TEXT]\n"
            "Client commands take --url/--token or BRISK_HUB_URL/BRISK_HUB_TOKEN.\n");
}

typedef struct {
    const char *root, *listen, *url, *token, *dir, *meta, *type, *out, *cache, *user, *format, *reason;
    const char *owner, *licence, *subject, *creator, *page, *per_page;
    int threads, is_private, audit;
    long long max_file;
    const char *pos[4];
    int npos;
} hub_args;

static int parse(int argc, char **argv, hub_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        struct { const char *key; const char **dst; } str[] = {
            {"--root", &a->root}, {"--listen", &a->listen}, {"--url", &a->url}, {"--token", &a->token},
            {"--dir", &a->dir}, {"--meta", &a->meta}, {"--type", &a->type}, {"--out", &a->out},
            {"--cache", &a->cache}, {"--user", &a->user}, {"--format", &a->format}, {"--reason", &a->reason},
            {"--owner", &a->owner}, {"--licence", &a->licence}, {"--license", &a->licence},
            {"--subject", &a->subject}, {"--creator", &a->creator}, {"--page", &a->page}, {"--per-page", &a->per_page}};
        int done = 0;
        for (size_t k = 0; k < sizeof str / sizeof *str && !done; k++) {
            size_t n = strlen(str[k].key);
            if (strncmp(s, str[k].key, n)) continue;
            if (s[n] == '=') *str[k].dst = s + n + 1, done = 1;
            else if (!s[n] && i + 1 < argc) *str[k].dst = argv[++i], done = 1;
            else if (!s[n]) {
                fprintf(stderr, "brisk hub: %s needs a value\n", s);
                return -1;
            }
        }
        if (done) continue;
        if (!strcmp(s, "--private")) a->is_private = 1;
        else if (!strcmp(s, "--audit")) a->audit = 1;
        else if (!strncmp(s, "--threads=", 10)) a->threads = atoi(s + 10);
        else if (!strcmp(s, "--threads") && i + 1 < argc) a->threads = atoi(argv[++i]);
        else if (!strncmp(s, "--max-file-bytes=", 17)) a->max_file = atoll(s + 17);
        else if (!strcmp(s, "--max-file-bytes") && i + 1 < argc) a->max_file = atoll(argv[++i]);
        else if (s[0] == '-' && s[1] == '-') {
            fprintf(stderr, "brisk hub: unknown option \"%s\"\n", s);
            return -1;
        } else if (a->npos < 4) a->pos[a->npos++] = s;
        else {
            fprintf(stderr, "brisk hub: too many arguments at \"%s\"\n", s);
            return -1;
        }
    }
    if (!a->url) a->url = getenv("BRISK_HUB_URL");
    if (!a->token) a->token = getenv("BRISK_HUB_TOKEN");
    return 0;
}

static int fail(void)
{
    fprintf(stderr, "brisk hub: error: %s\n", bk_last_error());
    return 1;
}

/* Prints a response; non-2xx answers become "error: HTTP N: message". */
static int answer(long http, char *resp)
{
    int ok = http >= 200 && http < 300;
    if (ok) {
        fputs(resp, stdout);
    } else {
        json_t *v = json_loads(resp, 0, NULL);
        const char *msg = json_string_value(json_object_get(v, "error"));
        fprintf(stderr, "brisk hub: error: HTTP %ld: %s\n", http, msg ? msg : resp);
        json_decref(v);
    }
    free(resp);
    return ok ? 0 : 1;
}

/* "owner/name@ref" -> "/api/v1/records/owner/name" and ref. */
static int split_id(const char *id, char *base, size_t n, char *ref, size_t rn, int need_ref)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", id);
    char *at = strchr(tmp, '@');
    if (at) *at++ = 0;
    if (!strchr(tmp, '/') || (need_ref && !at)) {
        fprintf(stderr, "brisk hub: \"%s\": expected OWNER/NAME%s\n", id, need_ref ? "@VERSION" : "[@VERSION]");
        return -1;
    }
    char *esc = curl_easy_escape(NULL, strchr(tmp, '/') + 1, 0);
    *strchr(tmp, '/') = 0;
    char *esc_owner = curl_easy_escape(NULL, tmp, 0);
    snprintf(base, n, "/api/v1/records/%s/%s", esc_owner ? esc_owner : "", esc ? esc : "");
    curl_free(esc);
    curl_free(esc_owner);
    snprintf(ref, rn, "%s", at ? at : "latest");
    return 0;
}

static int serve(hub_args *a)
{
    bk_hub_server_options o = {.root = a->root, .listen = a->listen, .threads = a->threads,
                               .max_file_bytes = a->max_file};
    char *admin = NULL;
    bk_hub_server *s;
    if (bk_hub_server_create(&s, &o, &admin)) return fail();
    if (admin) {
        printf("admin token (shown once; also in %s/admin_token): %s\n", a->root, admin);
        free(admin);
    }
    printf("brisk hub listening on http://%s (root %s)\n", a->listen, a->root);
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!g_hub_stop) pause();
    bk_hub_server_destroy(s);
    return 0;
}

int bk_hub_cli_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        hub_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    hub_args a = {0};
    if (parse(argc - 2, argv + 2, &a)) return 2;
    if (!strcmp(cmd, "serve")) {
        if (!a.root || !a.listen) {
            fprintf(stderr, "brisk hub serve: --root DIR and --listen HOST:PORT are required\n");
            return 2;
        }
        return serve(&a);
    }
    if (!strcmp(cmd, "check")) {
        if (!a.root) {
            fprintf(stderr, "brisk hub check: --root DIR is required\n");
            return 2;
        }
        int problems;
        if (bk_hub_check(a.root, stdout, &problems)) return fail();
        return problems ? 1 : 0;
    }
    static const char *const client_cmds[] = {"token", "publish", "search", "show", "pull", "alias", "cite", "delete"};
    int known = 0;
    for (size_t i = 0; i < sizeof client_cmds / sizeof *client_cmds; i++) known |= !strcmp(cmd, client_cmds[i]);
    if (!known) {
        fprintf(stderr, "brisk hub: unknown command \"%s\"\n", cmd);
        hub_usage(stderr);
        return 2;
    }
    bk_hub_client *c;
    if (bk_hub_client_create(&c, a.url, a.token)) return fail();
    int rc = 2;
    long http = 0;
    char *resp = NULL, base[600], ref[200], path[1200];
    if (!strcmp(cmd, "token")) {
        if (a.npos != 1 || strcmp(a.pos[0], "create") || !a.user) {
            fprintf(stderr, "brisk hub token: usage: brisk hub token create --user NAME\n");
        } else {
            json_t *b = json_pack("{s:s}", "user", a.user);
            char *body = b ? json_dumps(b, 0) : NULL;
            json_decref(b);
            rc = !body || bk_hub_request(c, "POST", "/api/v1/tokens", body, &http, &resp) ? fail() : answer(http, resp);
            free(body);
        }
    } else if (!strcmp(cmd, "publish")) {
        if (a.npos != 1 || !a.dir || !a.meta) {
            fprintf(stderr, "brisk hub publish: usage: brisk hub publish OWNER/NAME --dir DIR --meta FILE\n");
        } else {
            char *meta;
            char cfg[4096], ck[4096];
            bk_path_join(cfg, sizeof cfg, a.dir, "config.json");
            bk_path_join(ck, sizeof ck, a.dir, "model_final.safetensors");
            const char *type = a.type ? a.type : bk_path_exists(cfg) && bk_path_exists(ck) ? "model" : "dataset";
            if (bk_read_file(a.meta, &meta, NULL)) rc = fail();
            else {
                rc = bk_hub_publish(c, a.pos[0], type, a.dir, meta, a.is_private, &http, &resp) ? fail()
                                                                                                 : answer(http, resp);
                free(meta);
            }
        }
    } else if (!strcmp(cmd, "search")) {
        char q[2048] = "/api/v1/search?";
        const char *keys[] = {"q", "type", "owner", "licence", "subject", "creator", "page", "per_page"};
        const char *vals[] = {a.npos ? a.pos[0] : NULL, a.type, a.owner, a.licence, a.subject, a.creator, a.page,
                              a.per_page};
        for (int i = 0; i < 8; i++) {
            if (!vals[i]) continue;
            char *e = curl_easy_escape(NULL, vals[i], 0);
            size_t l = strlen(q);
            snprintf(q + l, sizeof q - l, "%s=%s&", keys[i], e ? e : "");
            curl_free(e);
        }
        rc = bk_hub_request(c, "GET", q, NULL, &http, &resp) ? fail() : answer(http, resp);
    } else if (!strcmp(cmd, "show") || !strcmp(cmd, "cite")) {
        if (a.npos == 1 && !split_id(a.pos[0], base, sizeof base, ref, sizeof ref, 0)) {
            int bare = !strchr(a.pos[0], '@');
            if (!strcmp(cmd, "show") && a.audit) snprintf(path, sizeof path, "%s/audit", base);
            else if (!strcmp(cmd, "show") && bare) snprintf(path, sizeof path, "%s", base);
            else if (!strcmp(cmd, "show")) snprintf(path, sizeof path, "%s/versions/%s", base, ref);
            else snprintf(path, sizeof path, "%s/versions/%s/cite?format=%s", base, ref, a.format ? a.format : "bibtex");
            rc = bk_hub_request(c, "GET", path, NULL, &http, &resp) ? fail() : answer(http, resp);
        } else if (a.npos != 1) {
            fprintf(stderr, "brisk hub %s: expected OWNER/NAME[@VERSION]\n", cmd);
        }
    } else if (!strcmp(cmd, "pull")) {
        if (a.npos != 1) fprintf(stderr, "brisk hub pull: expected OWNER/NAME[@VERSION]\n");
        else rc = bk_hub_pull(c, a.pos[0], a.cache, a.out, stdout) ? fail() : 0;
    } else if (!strcmp(cmd, "alias")) {
        if (a.npos != 3 || split_id(a.pos[0], base, sizeof base, ref, sizeof ref, 0)) {
            fprintf(stderr, "brisk hub alias: usage: brisk hub alias OWNER/NAME ALIAS VERSION\n");
        } else {
            char *e = curl_easy_escape(NULL, a.pos[1], 0);
            snprintf(path, sizeof path, "%s/aliases/%s", base, e ? e : "");
            curl_free(e);
            char body[64];
            snprintf(body, sizeof body, "{\"version\": %d}", atoi(a.pos[2]));
            rc = bk_hub_request(c, "PUT", path, body, &http, &resp) ? fail() : answer(http, resp);
        }
    } else if (!strcmp(cmd, "delete")) {
        if (a.npos == 1 && !split_id(a.pos[0], base, sizeof base, ref, sizeof ref, 1)) {
            snprintf(path, sizeof path, "%s/versions/%s", base, ref);
            json_t *b = json_pack("{s:s}", "reason", a.reason ? a.reason : "deleted by its owner");
            char *body = b ? json_dumps(b, 0) : NULL;
            json_decref(b);
            rc = !body || bk_hub_request(c, "DELETE", path, body, &http, &resp) ? fail() : answer(http, resp);
            free(body);
        } else if (a.npos != 1) {
            fprintf(stderr, "brisk hub delete: expected OWNER/NAME@VERSION\n");
        }
    }
    bk_hub_client_destroy(c);
    return rc;
}
