/* The data section's transform keys, read into typed lists. */
#ifndef BK_IO_CONFIG_TRANSFORMS_H
#define BK_IO_CONFIG_TRANSFORMS_H
#include "brisk/data.h"
#include "io/json.h"

/* Reads "transforms", "input_transforms", "target_transforms" (lists of
 * one-key objects, e.g. [{"resize": [224, 224]}, {"normalize": {"std":
 * 0.5}}]) and "target_is_mask" of the data object d, found at JSON path
 * `path`, into out (its seed is left 0 for the caller). Absent or empty
 * lists are empty. Every malformed entry is an error that names the file,
 * line, column and JSON path of what is wrong. */
bk_status bk_config_parse_transforms(const bk_json_doc *doc, json_t *d, const char *path, bk_transform_config *out);
#endif
