/* The brisk command line: a thin layer over libbrisk. The only code that
 * parses argv, installs signal handlers or chooses the exit status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "brisk/brisk.h"
#include "brisk/hub.h"

int bk_hub_cli_main(int argc, char **argv); /* apps/hub_cli.c */

static volatile int g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: brisk [train] [--app=pde] --config=FILE [--resume DIR] [--no-progress]\n"
            "       brisk summary --config=FILE | NETWORK.json\n"
            "       brisk hub COMMAND ...   (model/dataset hub; brisk hub --help)\n"
            "       brisk --version\n"
            "\n"
            "Trains, evaluates or runs inference as the run configuration says\n"
            "(the neural_network JSON format with a Keras-exported network).\n"
            "Ctrl-C saves the training state; --resume DIR continues from it.\n"
            "--app=pde is accepted as the reference CLI wants it for the PDE losses;\n"
            "brisk does not need it (a PDE loss in the config is the PDE solver).\n"
            "summary prints the network's layers and parameter counts; it needs only\n"
            "the config's \"layers\", or a bare Keras model.to_json() file.\n");
}

/* Accepts --key=value, --key value and (as the reference CLI's tutorials
 * write it) --key= value. */
static const char *opt_value(int argc, char **argv, int *i, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(argv[*i], key, n)) return NULL;
    if (argv[*i][n] == '=' && argv[*i][n + 1] == 0 && *i + 1 < argc) return argv[++*i];
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] == 0 && *i + 1 < argc) return argv[++*i];
    return NULL;
}

/* Reports an error and ends the process; under mpirun, ends every rank of
 * the job, so none waits forever for this one. */
static int fail(bk_status st)
{
    (void)st;
    if (bk_dist_size() > 1) {
        fprintf(stderr, "brisk: error: rank %d of %d: %s\n", bk_dist_rank(), bk_dist_size(), bk_last_error());
        fflush(stderr);
        bk_dist_abort(1);
    }
    fprintf(stderr, "brisk: error: %s\n", bk_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    bk_hub_register_resolver(); /* hub: references in configs */
    const char *config = NULL, *resume = NULL, *cmd = "train", *app = NULL;
    int progress = isatty(STDERR_FILENO);
    if (argc > 1 && !strcmp(argv[1], "hub")) return bk_hub_cli_main(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("brisk %s\n", BRISK_VERSION_STRING);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--config"))) {
            config = v;
        } else if ((v = opt_value(argc, argv, &i, "--resume"))) {
            resume = v;
        } else if ((v = opt_value(argc, argv, &i, "--app"))) {
            app = v;
        } else if (!strcmp(argv[i], "--no-progress")) {
            progress = 0;
        } else if (i == 1 && (!strcmp(argv[i], "train") || !strcmp(argv[i], "summary"))) {
            cmd = argv[i];
        } else if (!strcmp(cmd, "summary") && !config && argv[i][0] != '-') {
            config = argv[i]; /* brisk summary NETWORK.json */
        } else {
            fprintf(stderr, "brisk: unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!config) {
        fprintf(stderr, "brisk: no --config=FILE given%s\n", strcmp(cmd, "summary") ? "" : " (or NETWORK.json)");
        usage(stderr);
        return 2;
    }
    bk_status st = bk_config_check_app(NULL, app);
    if (st) {
        fprintf(stderr, "brisk: %s\n", bk_last_error());
        return 2;
    }
    if (!strcmp(cmd, "summary")) {
        if (bk_summary_file(config, stdout)) {
            fprintf(stderr, "brisk: error: %s\n", bk_last_error());
            return 1;
        }
        return 0;
    }
    st = bk_dist_init(&argc, &argv);
    if (st) {
        fprintf(stderr, "brisk: error: %s\n", bk_last_error());
        return 1;
    }
    bk_run_config *c = NULL;
    st = bk_config_open(&c, config);
    if (st) return fail(st);
    if ((st = bk_config_check_app(c, app))) {
        bk_config_close(c);
        return fail(st);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bk_run_options opt = {.resume_dir = resume, .stop = &g_stop, .progress = progress};
    st = bk_run(c, &opt);
    bk_config_close(c);
    if (st == BK_ERR_INTERRUPTED) {
        /* every rank stopped at the same step (the flag travels with the
         * gradients); one says so */
        if (bk_dist_rank() == 0) fprintf(stderr, "brisk: %s\n", bk_last_error());
        bk_dist_finalize();
        return 130;
    }
    if (st) return fail(st);
    bk_dist_finalize();
    return 0;
}
