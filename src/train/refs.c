/* hub: references of a run configuration, resolved when a run starts
 * through the resolver the hub library registers (config.h, train.h). The
 * trainer knows nothing of HTTP: an embedder that links only the core
 * gets a clear error for a hub: reference instead of a network request. */
#include <stdlib.h>
#include <string.h>
#include "brisk/train.h"
#include "config.h"

static bk_ref_resolver g_resolver;

void bk_config_set_ref_resolver(bk_ref_resolver resolver) { g_resolver = resolver; }

int bk_is_hub_ref(const char *s) { return s && !strncmp(s, "hub:", 4); }

/* Adds what ref k resolved to (the resolver's JSON text) to the run's
 * provenance, with the JSON path it came from. */
static bk_status record(bk_run_config *c, int k, const char *text)
{
    json_error_t je;
    json_t *prov = text ? json_loads(text, 0, &je) : json_object();
    if (!json_is_object(prov)) {
        json_decref(prov);
        return bk_error(BK_ERR_INTERNAL, "%s: the hub resolver's provenance is not a JSON object", c->refs[k].key);
    }
    if ((!c->hub_refs && !(c->hub_refs = json_array())) || json_object_set_new(prov, "key", json_string(c->refs[k].key)) ||
        json_array_append_new(c->hub_refs, prov))
        return bk_error(BK_ERR_NOMEM, "out of memory");
    return BK_OK;
}

bk_status bk_run_config_resolve_refs(bk_run_config *c)
{
    for (int k = 0; k < c->n_refs; k++) {
        char *dest = c->refs[k].dest;
        if (!bk_is_hub_ref(dest)) continue; /* resolved already */
        if (!g_resolver)
            return bk_json_error_at(&c->doc, c->refs[k].key, BK_ERR_UNSUPPORTED, "\"%s\" is a hub reference, and this "
                                    "program has no hub: link libbrisk_hub and call bk_hub_register_resolver(), or give "
                                    "a local path", dest);
        char ref[1024];
        snprintf(ref, sizeof ref, "%s", dest);
        /* the same reference twice (a list's first entry is also the key's
         * single form) is pulled and recorded once */
        int same = -1;
        for (int j = 0; j < k && same < 0; j++)
            if (!strcmp(c->refs[j].key, c->refs[k].key) && !bk_is_hub_ref(c->refs[j].dest)) same = j;
        if (same >= 0) {
            snprintf(dest, c->refs[k].len, "%s", c->refs[same].dest);
            continue;
        }
        char *prov = NULL;
        bk_status st = g_resolver(ref, c->refs[k].checkpoint ? "model_final.safetensors" : NULL, dest, c->refs[k].len,
                                  &prov);
        if (st) {
            char msg[1024]; /* bk_json_error_at reuses the message buffer */
            snprintf(msg, sizeof msg, "%s", bk_last_error());
            snprintf(dest, c->refs[k].len, "%s", ref);
            free(prov);
            return bk_json_error_at(&c->doc, c->refs[k].key, st, "%s", msg);
        }
        st = record(c, k, prov);
        free(prov);
        if (st) return st;
    }
    return BK_OK;
}
