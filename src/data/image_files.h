/* The files of an images dataset and what each sample's target is: the
 * folder scan (image_scan.c), class labels from folder names
 * (image_labels.c) and input/target pairing (image_pairs.c). */
#ifndef BK_DATA_IMAGE_FILES_H
#define BK_DATA_IMAGE_FILES_H
#include <stdint.h>
#include "brisk/status.h"

typedef struct {
    int64_t n;
    char **rel;        /* paths relative to the folder ("cats/a.jpg"), sorted by strcmp */
    int64_t skipped;   /* files left out because they are not images */
} bk_image_list;

/* Finds every PNG, JPEG and TIFF file under dir (sub-folders included,
 * symbolic links followed, entries whose name starts with "." left out),
 * judged by content, not name. A file in another image format (BMP,
 * GIF...) or named like an image but holding none (empty, corrupt) is an
 * error naming it, so no sample goes missing silently; other files are
 * counted in skipped. A missing folder, or one without images, is an
 * error. Caller frees *out with bk_image_list_free, also after a
 * failure. */
bk_status bk_image_scan(const char *dir, bk_image_list *out);
void bk_image_list_free(bk_image_list *l);

/* Class labels from folder names. With tag NULL or "", a file's class is
 * the folder it sits in; with a tag, the folder just below the last folder
 * named tag in the file's full path. Class k is names[k]: the classes found, sorted by strcmp, or
 * a copy of given[0..n_given) when n_given > 0 (a test set takes its
 * training set's classes; a class outside them is an error naming it).
 * cls[i] gets file i's class. *names is malloc'ed, as is each name: free
 * with bk_image_names_free(names, n). */
bk_status bk_image_labels(const char *dir, const bk_image_list *l, const char *tag, const char *const *given, int n_given, char ***names, int *n_names, int32_t *cls);
void bk_image_names_free(char **names, int n);

/* Pairs each input with the target that has the same relative path less
 * its extension ("cats/a.jpg" with "cats/a.png"): match[i] is its index in
 * tgt. An input without a target, or with two (a.png and a.tif), is an
 * error naming the file and the folder searched. */
bk_status bk_image_pair(const char *in_dir, const bk_image_list *in, const char *tgt_dir, const bk_image_list *tgt,
                        int64_t *match);
#endif
