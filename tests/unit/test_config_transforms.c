/* The data section's transform lists: what a good list reads as, and the
 * located error of every kind of malformed entry. */
#include "train/config_transforms.h"
#include "testutil.h"
#include <stdarg.h>
#include <string.h>

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

/* Parses text (a data object, placed where a run config has it, after
 * PREFIX on the first line) into *out; returns the status. */
#define PREFIX "{\"neural_network\": {\"data\": "
static bk_status parse(const char *text, bk_transform_config *out)
{
    bk_json_doc doc;
    memset(&doc, 0, sizeof doc);
    char full[4096];
    snprintf(full, sizeof full, PREFIX "%s}}", text);
    bk_status st = bk_json_load_string(&doc, full, "cfg.json");
    json_t *d = json_object_get(json_object_get(doc.root, "neural_network"), "data");
    if (!st) st = bk_config_parse_transforms(&doc, d, "neural_network.data", out);
    bk_json_free(&doc);
    return st;
}

/* text must fail with a message holding every one of the NULL-ended subs. */
static void bad(int line, const char *text, ...)
{
    bk_transform_config c;
    bk_status st = parse(text, &c);
    bk_test_checks++;
    if (st == BK_OK) {
        bk_test_failures++;
        fprintf(stderr, "line %d: accepted: %s\n", line, text);
        return;
    }
    va_list ap;
    va_start(ap, text);
    for (const char *s; (s = va_arg(ap, const char *));) {
        bk_test_checks++;
        if (!contains(bk_last_error(), s)) {
            bk_test_failures++;
            fprintf(stderr, "line %d: message lacks \"%s\": %s\n", line, s, bk_last_error());
        }
    }
    va_end(ap);
}
#define BAD(...) bad(__LINE__, __VA_ARGS__, (const char *)NULL)

int main(void)
{
    bk_transform_config c;
    CHECK_OK(parse("{\"transforms\": [\n"
                   "  {\"convert_color\": \"BGR2RGB\"}, {\"random_horizontal_flip\": 0.5},\n"
                   "  {\"jitter_crop\": 0.1}, {\"random_rotate\": 20}, {\"resize\": [416, 208]},\n"
                   "  {\"normalize\": {\"mean\": 0.5, \"std\": 0.5}}],\n"
                   " \"input_transforms\": [{\"normalize\": {\"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]}},\n"
                   "   {\"random_patches\": {\"number\": 100, \"size\": 10}}, {\"center_crop\": [3, 2]}],\n"
                   " \"target_transforms\": [{\"rotate\": -90}, {\"random_zoom\": 0.2}, {\"random_vertical_flip\": 1},\n"
                   "   {\"normalize\": {\"std\": 0.003921568}}, {\"convert_color\": \"COLOR_GRAY2RGB\"}],\n"
                   " \"target_is_mask\": true}", &c));
    CHECK(c.shared.n == 6 && c.input.n == 3 && c.target.n == 5 && c.target_is_mask == 1);
    CHECK(c.shared.t[0].kind == BK_TF_CONVERT_COLOR && c.shared.t[0].color == BK_COLOR_BGR2RGB);
    CHECK(c.shared.t[1].kind == BK_TF_RANDOM_HFLIP && c.shared.t[1].value == 0.5);
    CHECK(c.shared.t[2].kind == BK_TF_JITTER_CROP && c.shared.t[2].value == 0.1);
    CHECK(c.shared.t[3].kind == BK_TF_RANDOM_ROTATE && c.shared.t[3].value == 20);
    /* [Sx, Sy] is width then height */
    CHECK(c.shared.t[4].kind == BK_TF_RESIZE && c.shared.t[4].width == 416 && c.shared.t[4].height == 208);
    CHECK(c.shared.t[5].kind == BK_TF_NORMALIZE && c.shared.t[5].n_mean == 1 && c.shared.t[5].mean[0] == 0.5f);
    CHECK(c.input.t[0].n_mean == 3 && c.input.t[0].n_std == 3 && c.input.t[0].std[2] == 0.225f);
    CHECK(c.input.t[1].kind == BK_TF_RANDOM_PATCHES && c.input.t[1].number == 100 && c.input.t[1].size == 10);
    CHECK(c.input.t[2].kind == BK_TF_CENTER_CROP && c.input.t[2].width == 3 && c.input.t[2].height == 2);
    CHECK(c.target.t[0].kind == BK_TF_ROTATE && c.target.t[0].value == -90);
    CHECK(c.target.t[1].kind == BK_TF_RANDOM_ZOOM && c.target.t[2].kind == BK_TF_RANDOM_VFLIP);
    /* {"std": s} alone: mean 0 */
    CHECK(c.target.t[3].n_mean == 1 && c.target.t[3].mean[0] == 0 && c.target.t[3].std[0] == 0.003921568f);
    CHECK(c.target.t[4].color == BK_COLOR_GRAY2RGB);
    /* absent and empty lists do nothing */
    CHECK_OK(parse("{\"transforms\": [], \"input_transforms\": null}", &c));
    CHECK(!bk_transform_config_any(&c) && c.target_is_mask == 0);

    /* each mistake names the file, line, column and path */
    BAD("{\"transforms\": [{\"resise\": [2, 2]}]}", "cfg.json:1:46: neural_network.data.transforms[0].resise",
        "unknown transform \"resise\"; did you mean \"resize\"?");
    BAD("{\"transforms\": [{\"flip\": 0.5}]}", "unknown transform \"flip\"", "random_horizontal_flip");
    BAD("{\"transforms\": [{\"resize\": [2, 2], \"normalize\": {\"std\": 2}}]}",
        "neural_network.data.transforms[0]:", "one key; this one has 2 (\"resize\", \"normalize\")");
    BAD("{\"transforms\": [{}]}", "transforms[0]", "an empty transform");
    BAD("{\"transforms\": {\"resize\": [2, 2]}}", "neural_network.data.transforms:", "expected a list of transforms");
    BAD("{\"transforms\": [\"resize\"]}", "transforms[0]", "expected a one-key object", "string \"resize\"");
    BAD("{\"input_transforms\": [{\"normalize\": {\"std\": 1}},\n {\"resize\": [-4, 2]}]}",
        "cfg.json:2:3: neural_network.data.input_transforms[1].resize", "sizes must be positive");
    BAD("{\"transforms\": [{\"resize\": 224}]}", "transforms[0].resize", "[Sx, Sy]", "integer 224");
    BAD("{\"transforms\": [{\"center_crop\": [2.5, 2]}]}", "transforms[0].center_crop", "two integers");
    BAD("{\"transforms\": [{\"center_crop\": [2, 2, 2]}]}", "transforms[0].center_crop", "[Sx, Sy]");
    BAD("{\"transforms\": [{\"random_horizontal_flip\": 1.5}]}", "transforms[0].random_horizontal_flip",
        "p must be in [0, 1], got 1.5");
    BAD("{\"transforms\": [{\"random_vertical_flip\": \"yes\"}]}", "random_vertical_flip", "a probability p");
    BAD("{\"transforms\": [{\"jitter_crop\": -0.1}]}", "jitter_crop", "Cmax must be in [0, 1]");
    BAD("{\"transforms\": [{\"random_zoom\": [0.1]}]}", "random_zoom", "expected a number Cmax");
    BAD("{\"transforms\": [{\"random_rotate\": -5}]}", "random_rotate", "non-negative");
    BAD("{\"transforms\": [{\"rotate\": \"90\"}]}", "transforms[0].rotate", "an angle in degrees");
    BAD("{\"transforms\": [{\"convert_color\": \"BGR2RBG\"}]}", "transforms[0].convert_color",
        "unknown colour conversion code \"BGR2RBG\"; did you mean \"BGR2RGB\"?", "BGR2GRAY, RGB2GRAY", "GRAY2RGB");
    BAD("{\"transforms\": [{\"convert_color\": 4}]}", "convert_color", "OpenCV colour conversion code");
    BAD("{\"transforms\": [{\"normalize\": {\"mean\": 0.5, \"sd\": 0.2}}]}", "transforms[0].normalize.sd",
        "unknown key \"sd\"; did you mean \"std\"?");
    BAD("{\"transforms\": [{\"normalize\": {}}]}", "transforms[0].normalize", "give \"mean\" and/or \"std\"");
    BAD("{\"transforms\": [{\"normalize\": 0.5}]}", "transforms[0].normalize", "{\"mean\": m, \"std\": s}");
    BAD("{\"transforms\": [{\"normalize\": {\"std\": 0}}]}", "normalize", "std must be positive");
    BAD("{\"transforms\": [{\"normalize\": {\"mean\": [0.5, \"a\"]}}]}", "transforms[0].normalize.mean[1]",
        "expected a number");
    BAD("{\"transforms\": [{\"normalize\": {\"mean\": [0.5, 0.5], \"std\": [1, 1, 1]}}]}", "normalize",
        "mean has 2 values and std 3");
    BAD("{\"transforms\": [{\"random_patches\": {\"number\": 4}}]}", "transforms[0].random_patches",
        "needs \"number\"", "\"size\"");
    BAD("{\"transforms\": [{\"random_patches\": {\"number\": 0, \"size\": 3}}]}", "random_patches",
        "number must be in [1, 1000000]");
    BAD("{\"transforms\": [{\"random_patches\": {\"number\": 2, \"size\": 3, \"count\": 1}}]}",
        "random_patches.count", "unknown key \"count\"");
    BAD("{\"transforms\": [{\"random_patches\": [4, 4]}]}", "random_patches", "{\"number\": n, \"size\": s}");
    BAD("{\"target_is_mask\": 1}", "target_is_mask");
    return bk_test_finish("test_config_transforms");
}
