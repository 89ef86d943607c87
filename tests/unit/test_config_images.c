/* The images loader's config keys as bk_run_config_load reads them:
 * types, grayscale inheritance, both spellings of the test tag, labels. */
#include "train/config.h"
#include "testutil.h"
#include <stdio.h>
#include <string.h>

static char dir[2048];

/* Writes a config whose data section is `data` and loads it. */
static bk_status load(bk_run_config *c, const char *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return BK_ERR_IO;
    fprintf(f, "{\"neural_network\": {\"layers\": [{\"class_name\": \"Dense\", \"config\": {\"units\": 2}}],\n"
               " \"loss\": {\"function\": \"NLL\"}, \"data\": {%s}}}\n", data);
    fclose(f);
    return bk_run_config_load(c, path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", bk_test_tmpdir("config_images"));
    bk_run_config c;
    CHECK_OK(load(&c, "\"input_type\": \"images\", \"target_type\": \"labels\", \"input_path\": \"tr\", "
                      "\"grayscale\": true, \"training_tag\": \"training\", \"testing_tag\": \"testing\""));
    CHECK(c.data.type == BK_DATA_IMAGES && c.data.target_labels);
    CHECK(c.data.input_grayscale && c.data.target_grayscale && !c.data.transforms.target_is_mask);
    CHECK(!strcmp(c.data.training_tag, "training") && !strcmp(c.data.test_tag, "testing"));
    bk_run_config_free(&c);

    /* one side's key beats "grayscale"; type "images" with target images */
    CHECK_OK(load(&c, "\"type\": \"images\", \"input_path\": \"img\", \"target_path\": \"mask\", \"grayscale\": true, "
                      "\"input_grayscale\": false, \"target_is_mask\": true, \"preload\": true"));
    CHECK(c.data.type == BK_DATA_IMAGES && !c.data.target_labels && c.data.preload);
    CHECK(!c.data.input_grayscale && c.data.target_grayscale && c.data.transforms.target_is_mask);
    CHECK(c.data.training_tag[0] == 0 && c.data.test_tag[0] == 0);
    bk_run_config_free(&c);

    CHECK_OK(load(&c, "\"input_type\": \"images\", \"target_type\": \"images\", \"input_path\": \"img\", "
                      "\"target_path\": \"m\", \"target_grayscale\": true"));
    CHECK(c.data.type == BK_DATA_IMAGES && !c.data.target_labels && !c.data.input_grayscale && c.data.target_grayscale);
    bk_run_config_free(&c);
    /* "labels" on numpy keeps meaning class-index targets read from a file */
    CHECK_OK(load(&c, "\"input_type\": \"numpy\", \"target_type\": \"labels\", \"input_path\": \"x.npy\", "
                      "\"target_path\": \"y.npy\""));
    CHECK(c.data.type == BK_DATA_NUMPY && !c.data.target_labels);
    bk_run_config_free(&c);

    /* refusals, each naming its key */
    const char *bad[][2] = {
        {"\"type\": \"images\", \"input_path\": \"i\", \"input_key\": \"x\"", "input_key"},
        {"\"type\": \"images\", \"input_path\": \"i\", \"test_tag\": \"t\"", "needs target_type"},
        {"\"input_type\": \"images\", \"target_type\": \"labels\", \"input_path\": \"i\", \"test_target_path\": \"m\"",
         "test_target_path"},
        {"\"type\": \"hdf5\", \"input_path\": \"a.h5\", \"target_grayscale\": false", "target_grayscale"},
        {"\"input_type\": \"images\", \"target_type\": \"labels\", \"input_path\": \"i\", \"training_tag\": \"a/b\"",
         "one folder name"},
        {"\"input_type\": \"images\", \"target_type\": \"labels\", \"input_path\": \"i\", \"test_tag\": \"\"",
         "one folder name"},
        {"\"type\": \"images\", \"input_path\": \"i\", \"grayscale\": 1", "grayscale"},
        {"\"input_type\": \"images\", \"target_type\": \"hdf5\", \"input_path\": \"i\"", "must match"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bk_status st = load(&c, bad[i][0]);
        CHECK(st != BK_OK);
        bk_test_checks++;
        if (!strstr(bk_last_error(), bad[i][1])) {
            bk_test_failures++;
            fprintf(stderr, "case %zu: message lacks \"%s\": %s\n", i, bad[i][1], bk_last_error());
        }
        bk_run_config_free(&c);
    }
    return bk_test_finish("test_config_images");
}
