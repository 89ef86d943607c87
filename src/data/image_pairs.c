/* Pairing inputs with target images (masks, clean images) by name. The
 * reference CLI does not say how it pairs; by name survives a missing or
 * extra file where pairing by sorted position would shift every pair after
 * it silently, and the extension may differ (photos as JPEG, masks as
 * lossless PNG). */
#include "image_files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *rel;
    size_t stem;      /* length of rel without its extension */
    int64_t idx;
} stem_entry;

/* Length of rel less the extension of its file name ("a/b.c.png" -> "a/b.c"). */
static size_t stem_len(const char *rel)
{
    const char *slash = strrchr(rel, '/'), *dot = strrchr(rel, '.');
    if (!dot || (slash && dot < slash)) return strlen(rel);
    return (size_t)(dot - rel);
}

static int cmp_stem(const stem_entry *a, const stem_entry *b)
{
    size_t n = a->stem < b->stem ? a->stem : b->stem;
    int c = memcmp(a->rel, b->rel, n);
    if (c) return c;
    return a->stem < b->stem ? -1 : a->stem > b->stem;
}

static int by_stem(const void *a, const void *b) { return cmp_stem(a, b); }

bk_status bk_image_pair(const char *in_dir, const bk_image_list *in, const char *tgt_dir, const bk_image_list *tgt,
                        int64_t *match)
{
    stem_entry *t = malloc((size_t)(tgt->n ? tgt->n : 1) * sizeof *t);
    if (!t) return bk_error(BK_ERR_NOMEM, "%s: out of memory pairing %lld targets", tgt_dir, (long long)tgt->n);
    for (int64_t i = 0; i < tgt->n; i++) t[i] = (stem_entry){tgt->rel[i], stem_len(tgt->rel[i]), i};
    qsort(t, (size_t)tgt->n, sizeof *t, by_stem);
    bk_status st = BK_OK;
    for (int64_t i = 0; i < in->n && !st; i++) {
        stem_entry want = {in->rel[i], stem_len(in->rel[i]), 0};
        stem_entry *hit = bsearch(&want, t, (size_t)tgt->n, sizeof *t, by_stem);
        if (!hit) {
            st = bk_error(BK_ERR_INVALID, "%s/%s: no target image for this input: looked for \"%.*s.*\" in %s; "
                          "every input needs a target with the same relative path and name (any extension): add it, "
                          "or remove the input", in_dir, in->rel[i], (int)want.stem, want.rel, tgt_dir);
            break;
        }
        /* two targets with this name (a.png and a.tif): bsearch may land on either */
        stem_entry *other = hit > t && !cmp_stem(hit - 1, hit) ? hit - 1
                            : hit + 1 < t + tgt->n && !cmp_stem(hit + 1, hit) ? hit + 1 : NULL;
        if (other) {
            int first = strcmp(hit->rel, other->rel) < 0;
            st = bk_error(BK_ERR_INVALID, "%s/%s: two target images match this input, %s/%s and %s/%s; keep one",
                          in_dir, in->rel[i], tgt_dir, first ? hit->rel : other->rel, tgt_dir,
                          first ? other->rel : hit->rel);
            break;
        }
        match[i] = hit->idx;
    }
    free(t);
    return st;
}
