/* brisk: train, evaluate or run inference from one run configuration
 * (the `neural_network` JSON format), the way `brisk --config=...` does. */
#ifndef BRISK_TRAIN_H
#define BRISK_TRAIN_H

#include <stddef.h>
#include <stdio.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bk_run_config bk_run_config;

/* Reads and validates a run configuration. Caller closes it. */
bk_status bk_config_open(bk_run_config **out, const char *path);
void bk_config_close(bk_run_config *c);

typedef struct {
    const char *resume_dir;     /* continue the run saved in this folder, or NULL */
    volatile int *stop;         /* when it becomes non-zero: save state and stop */
    int progress;               /* draw a progress bar on stderr */
    FILE *out;                  /* console lines (NULL: stdout) */
} bk_run_options;

/* Trains (input_path set), evaluates (test_input_path) and/or writes
 * predictions (test_output_path with no input_path), as the config says.
 * Returns BK_ERR_INTERRUPTED after saving state when *stop was raised,
 * BK_ERR_NUMERIC when the loss became NaN/Inf (last checkpoint kept). */
bk_status bk_run(bk_run_config *c, const bk_run_options *opt);

/* The reference CLI's --app=<application>: "pde" (the PDE losses), "obj"
 * and "gan" (not supported by brisk: BK_ERR_UNSUPPORTED), anything else
 * BK_ERR_INVALID. brisk needs no --app: a PDE loss is the PDE application.
 * app NULL or "" is the generic trainer and always fits. With c (may be
 * NULL: the name alone is checked), "pde" must come with a config whose
 * loss is a PDE loss, or with no loss (inference), else BK_ERR_INVALID. */
bk_status bk_config_check_app(const bk_run_config *c, const char *app);

/* A data path or checkpoint written "hub:OWNER/NAME@VERSION[/FILE]" stays
 * as written while the config is read; bk_run resolves it when the run
 * starts, through the resolver registered here (the hub library registers
 * one: bk_hub_register_resolver in hub.h), so reading a config never
 * touches the network. The resolver writes the local path of ref's file
 * into out (prefer: the file to take when the version holds several, or
 * NULL) and, in *provenance (malloc'd JSON text; may stay NULL), what it
 * resolved to, for the run's record. Without one, a hub: reference is an
 * error that says to link the hub. */
typedef bk_status (*bk_ref_resolver)(const char *ref, const char *prefer, char *out, size_t n, char **provenance);
void bk_config_set_ref_resolver(bk_ref_resolver resolver);

/* Writes a Keras-style summary table of the config's network to out. */
bk_status bk_summary(bk_run_config *c, FILE *out);
/* The same for a file: a bare Keras model.to_json() network, or a run
 * configuration, of which only "layers" is needed (no data, loss or
 * optimizer). Free input sizes (null) show as None. */
bk_status bk_summary_file(const char *path, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
