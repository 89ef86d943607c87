/* "hub:" references in run configs: a data path or a checkpoint given as
 * hub:OWNER/NAME[@REF][/FILE] is pulled into the local cache (verified) and
 * replaced by the cached file's path. */
#ifndef BK_HUB_RESOLVE_H
#define BK_HUB_RESOLVE_H
#include <stddef.h>
#include <jansson.h>
#include "brisk/status.h"

/* Resolves ref ("hub:owner/name@3/file.h5"; no @REF means latest) against
 * the hub at BRISK_HUB_URL (token BRISK_HUB_TOKEN, cache BRISK_HUB_CACHE or
 * ~/.cache/brisk/hub). The file is FILE when given, else the version's only
 * file, else the file named prefer (may be NULL), else the only file with
 * prefer's extension. Writes the
 * cached path to out and sets *prov (caller owns) to {"ref", "id" (the
 * exact version), "digest" (manifest), "file", "sha256", "path"}. */
bk_status bk_hub_resolve(const char *ref, const char *prefer, char *out, size_t n, json_t **prov);
#endif
