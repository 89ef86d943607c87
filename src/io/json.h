/* JSON documents for configs: jansson does the parsing, this layer keeps
 * the source text so every error can say "<file>:<line>:<col>: <path>: ...".
 * Jansson keeps no positions for values, so bk_json_locate re-scans the
 * text with a small tokenizer to find where a JSON path lives.
 *
 * Paths look like `neural_network.layers[3].config.filters`: object keys
 * separated by '.', array indices in []. The root is "". */
#ifndef BK_IO_JSON_H
#define BK_IO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "brisk/status.h"

typedef struct {
    json_t *root;    /* the top-level object; owned by the doc */
    char *text;      /* the source text, NUL-terminated; owned by the doc */
    size_t len;      /* bytes in text, without the NUL */
    char file[1024]; /* name used in messages (the path, or a given name) */
} bk_json_doc;

/* Reads and parses a JSON file whose top level must be an object. Duplicate
 * keys are errors. Syntax errors read "<file>:<line>:<col>: JSON syntax
 * error: <what>" plus a hint for common slips (trailing or missing comma,
 * comments, single quotes...). On failure doc is left empty (safe to free). */
bk_status bk_json_load_file(bk_json_doc *doc, const char *path);
/* Same for text held in memory (copied); name stands in for the file name. */
bk_status bk_json_load_string(bk_json_doc *doc, const char *text, const char *name);
/* Releases root and text; the doc can be loaded again. Safe on a zeroed
 * or already freed doc. */
void bk_json_free(bk_json_doc *doc);

/* Finds path in doc->text. Returns 1 and the 1-based line and column
 * (counted in characters, a tab is one) of the key for an object member,
 * or of the value's first character for an array element or the root "";
 * returns 0 when the path is not in the text. */
int bk_json_locate(const bk_json_doc *doc, const char *path, int *line, int *col);

/* Sets the error message "<file>:<line>:<col>: <path>: <formatted>" (just
 * "<file>: <path>: ..." when path cannot be located, no "<path>: " for the
 * root) and returns code, for `return bk_json_error_at(...)`. doc may be
 * NULL (no file or position then). */
bk_status bk_json_error_at(const bk_json_doc *doc, const char *path, bk_status code,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Typed member getters. obj is the object found at obj_path (used only in
 * messages). A member that is absent or null, or a NULL obj, gives def and
 * BK_OK, so defaults live at the call site. A member of the wrong type is
 * BK_ERR_INVALID with a message naming file:line:col, the path, the
 * expected type and what was found. */
/* Integers; a real is accepted only when it is integral and in range. */
bk_status bk_json_get_int(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                          const char *key, int64_t def, int64_t *out);
/* Integers or reals. */
bk_status bk_json_get_double(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *key, double def, double *out);
/* true/false only; *out is 1 or 0. */
bk_status bk_json_get_bool(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                           const char *key, int def, int *out);
/* Strings; *out is borrowed from the doc (valid until bk_json_free), or def. */
bk_status bk_json_get_string(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *key, const char *def, const char **out);

/* out = obj_path + "." + key (just key when obj_path is empty). Always
 * NUL-terminated when n > 0, truncated if needed. */
void bk_json_child_path(char *out, size_t n, const char *obj_path, const char *key);
/* out = arr_path + "[i]". */
void bk_json_index_path(char *out, size_t n, const char *arr_path, size_t i);

/* Fails on the first key of obj (in document order) that is not one of
 * known[0..n_known): `config.json:7:9: a.b.batch_sizee: unknown key
 * "batch_sizee"; did you mean "batch_size"?`, or a list of the known keys
 * when none is close. Also fails when obj is not an object. */
bk_status bk_json_check_keys(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *const *known, int n_known);

/* The entry of known[0..n) closest to word by case-insensitive Levenshtein
 * distance, if that distance is <= max(2, strlen(word)/3); else NULL. Ties
 * go to the earlier entry. The result points into known. */
const char *bk_closest_word(const char *word, const char *const *known, int n);

/* Error for a name that is not one of known[0..n) (a layer class, a loss,
 * an optimizer...): `<file>:<l>:<c>: <path>: unknown <what> "<name>"; did
 * you mean "<closest>"? (known: a, b, ...)`. Returns code. */
bk_status bk_json_unknown_name(const bk_json_doc *doc, const char *path, bk_status code,
                               const char *what, const char *name, const char *const *known, int n);

/* A short description of a JSON value for messages: `string "abc"`,
 * `integer 3`, `an array`, `null`... Writes into buf (NUL-terminated). */
const char *bk_json_describe(const json_t *v, char *buf, size_t n);

#endif
