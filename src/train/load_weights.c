#include "load_weights.h"
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include "checkpoint.h"
#include "core/fsutil.h"
#include "io/keras_h5.h"
#include "keras_load.h"

/* Converts a PyTorch state dict, a whole pickled module or a TorchScript /
 * libtorch archive (the reference CLI's .pt) to safetensors with torch,
 * json and struct only (no `safetensors` package in Debian 12). The names
 * ("conv1.weight") and layouts are PyTorch's, which are brisk's. Only
 * double quotes inside: the command is wrapped in single quotes. */
static const char pt_to_safetensors[] =
    "python3 -c 'import torch,json,struct,sys\n"
    "p,o=sys.argv[1:3]\n"
    "try: sd=torch.jit.load(p,map_location=\"cpu\").state_dict()\n"
    "except Exception: sd=torch.load(p,map_location=\"cpu\")\n"
    "sd=sd.state_dict() if hasattr(sd,\"state_dict\") else sd\n"
    "h,b,n={},[],0\n"
    "for k,t in sd.items():\n"
    " if torch.is_tensor(t) and t.is_floating_point():\n"
    "  v=t.detach().float().flatten().tolist();h[k]={\"dtype\":\"F32\",\"shape\":list(t.shape),\"data_offsets\":[n,n+4*len(v)]}\n"
    "  b.append(struct.pack(\"<%df\"%len(v),*v));n+=4*len(v)\n"
    "j=json.dumps(h).encode();j+=b\" \"*(-len(j)%8)\n"
    "open(o,\"wb\").write(struct.pack(\"<Q\",len(j))+j+b\"\".join(b))'";

typedef enum { F_UNKNOWN, F_SAFETENSORS, F_HDF5, F_ZIP, F_PICKLE } file_kind;

/* The format from the first bytes (magic numbers, not the name). */
static file_kind sniff(const unsigned char *b, size_t n, long long size)
{
    if (n >= 8 && !memcmp(b, "\x89HDF\r\n\x1a\n", 8)) return F_HDF5;
    if (n >= 4 && !memcmp(b, "PK\x03\x04", 4)) return F_ZIP;
    if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) return F_PICKLE;
    if (n >= 9) {
        /* safetensors: u64 little-endian header length, then '{' */
        unsigned long long h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
        if (h >= 2 && (long long)h <= size - 8 && b[8] == '{') return F_SAFETENSORS;
    }
    return F_UNKNOWN;
}

static bk_status read_head(const char *path, unsigned char *b, size_t *n, long long *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return bk_error(BK_ERR_IO, "%s: cannot open (no such file or no permission); check checkpoints.load", path);
    *n = fread(b, 1, 16, fp);
    *size = fseek(fp, 0, SEEK_END) == 0 ? (long long)ftell(fp) : -1;
    fclose(fp);
    return BK_OK;
}

static bk_status pytorch_error(const char *path, const char *what)
{
    return bk_error(BK_ERR_UNSUPPORTED, "%s: a PyTorch/libtorch file (%s); brisk reads safetensors (its own "
                    "checkpoints) and Keras .h5 weights. Convert it once with PyTorch (names and layouts carry "
                    "over), then set checkpoints.load to the new file:\n%s \"%s\" OUT.safetensors",
                    path, what, pt_to_safetensors, path);
}

/* "dir/model_checkpoint_<N>.pt" -> "dir/model_epoch_<N>.safetensors"; 0
 * when path is not named like that. */
static int rmldnn_fallback(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int epoch = -1, end = 0;
    if (sscanf(base, "model_checkpoint_%d.pt%n", &epoch, &end) != 1 || base[end] || epoch < 0) return 0;
    char dir[1024], name[64];
    bk_path_dirname(dir, sizeof dir, path);
    snprintf(name, sizeof name, "model_epoch_%d.safetensors", epoch);
    bk_path_join(out, n, base == path ? "" : dir, name);
    return 1;
}

static void warn_missing(FILE *out, FILE *warn, const char *path, const char *missing)
{
    fflush(out); /* keeps the warning after the lines before it when both go to one log */
    if (missing[0])
        fprintf(warn, "warning: %s has no weights for layer(s) %s; they keep their initial values\n", path, missing);
}

static bk_status load_keras(bk_model *m, bk_keras_h5 *f, const char *path, FILE *out, FILE *warn)
{
    const char *v = bk_keras_h5_version(f);
    fprintf(out, "Loading model checkpoint from HDF5 file: %s (%s%s%s)\n", path,
            bk_keras_h5_layout_name(bk_keras_h5_layout_of(f)), v[0] ? ", keras_version " : "", v);
    char missing[2048];
    bk_status st = bk_keras_load(m, f, path, out, missing, sizeof missing);
    if (!st) warn_missing(out, warn, path, missing);
    return st;
}

/* A zip: a Keras 3 .keras archive holds model.weights.h5; anything else
 * zipped is taken for PyTorch's format (torch.save, libtorch). */
static bk_status load_zip(bk_model *m, const char *path, FILE *out, FILE *warn)
{
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &err);
    if (!za) return bk_error(BK_ERR_IO, "%s: starts like a zip archive but cannot be read as one (libzip error %d); "
                             "the file may be truncated", path, err);
    zip_int64_t i = zip_name_locate(za, "model.weights.h5", 0);
    if (i < 0) {
        int keras = zip_name_locate(za, "config.json", 0) >= 0 && zip_name_locate(za, "metadata.json", 0) >= 0;
        zip_close(za);
        if (keras)
            return bk_error(BK_ERR_UNSUPPORTED, "%s: a Keras .keras archive without model.weights.h5 (its weights "
                            "were saved in another format, such as npz); save it with Keras' default h5 weights, "
                            "or save_weights to a .weights.h5 file", path);
        return pytorch_error(path, "a zip archive without a Keras model.weights.h5");
    }
    zip_stat_t sb;
    zip_stat_init(&sb);
    bk_status st = BK_OK;
    char *buf = NULL;
    if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        st = bk_error(BK_ERR_IO, "%s: cannot read model.weights.h5 in the archive (%s)", path, zip_strerror(za));
    if (!st && !(buf = malloc(sb.size ? sb.size : 1)))
        st = bk_error(BK_ERR_NOMEM, "%s: out of memory for model.weights.h5 (%llu bytes)", path,
                      (unsigned long long)sb.size);
    zip_file_t *zf = st ? NULL : zip_fopen_index(za, (zip_uint64_t)i, 0);
    if (!st && !zf) st = bk_error(BK_ERR_IO, "%s: cannot open model.weights.h5 in the archive (%s)", path, zip_strerror(za));
    zip_uint64_t got = 0;
    while (!st && got < sb.size) {
        zip_int64_t r = zip_fread(zf, buf + got, sb.size - got);
        if (r <= 0) st = bk_error(BK_ERR_IO, "%s: model.weights.h5 is cut short in the archive (%s)", path,
                                  zip_file_strerror(zf));
        else got += (zip_uint64_t)r;
    }
    if (zf) zip_fclose(zf);
    zip_close(za);
    char name[1300];
    snprintf(name, sizeof name, "%s:model.weights.h5", path);
    bk_keras_h5 *f = NULL;
    if (!st) st = bk_keras_h5_open_image(&f, buf, (size_t)sb.size, name);
    free(buf);
    if (!st) st = load_keras(m, f, name, out, warn);
    bk_keras_h5_close(f);
    return st;
}

bk_status bk_load_weights(bk_model *m, const char *path, FILE *out, FILE *warn)
{
    char alt[1200];
    const char *use = path;
    if (!bk_path_exists(path)) {
        if (!rmldnn_fallback(path, alt, sizeof alt))
            return bk_error(BK_ERR_IO, "%s: no such file; check checkpoints.load", path);
        if (!bk_path_exists(alt))
            return bk_error(BK_ERR_IO, "%s: no such file, nor %s, which is what brisk saves for that epoch "
                            "(the reference CLI's model_checkpoint_N.pt is brisk's model_epoch_N.safetensors)",
                            path, alt);
        use = alt;
    }
    if (bk_is_dir(use))
        return bk_error(BK_ERR_UNSUPPORTED, "%s: a directory (a TensorFlow SavedModel?); checkpoints.load takes a "
                        "weights file: safetensors, Keras .h5 / .weights.h5 or a .keras archive", use);
    unsigned char head[16];
    size_t n = 0;
    long long size = 0;
    bk_status st = read_head(use, head, &n, &size);
    if (st) return st;
    file_kind kind = sniff(head, n, size);
    if (use != path) fprintf(out, "%s is not there; brisk saved that epoch as %s\n", path, use);
    if (kind == F_HDF5) {
        bk_keras_h5 *f = NULL;
        st = bk_keras_h5_open(&f, use);
        if (!st) st = load_keras(m, f, use, out, warn);
        bk_keras_h5_close(f);
    } else if (kind == F_ZIP) {
        st = load_zip(m, use, out, warn);
    } else if (kind == F_PICKLE) {
        st = pytorch_error(use, "a pickle, as torch.save wrote before PyTorch 1.6");
    } else if (kind == F_SAFETENSORS) {
        fprintf(out, "Loading model checkpoint from file: %s\n", use);
        char missing[2048];
        st = bk_checkpoint_load_logged(m, use, 0, out, missing, sizeof missing);
        if (!st) warn_missing(out, warn, use, missing);
    } else {
        st = bk_error(BK_ERR_UNSUPPORTED, "%s: %s; brisk reads safetensors checkpoints (model_epoch_N.safetensors, "
                      "as it saves them), Keras HDF5 weights (.h5 from model.save or save_weights, Keras 3 "
                      ".weights.h5) and Keras 3 .keras archives", use,
                      n == 0 ? "the file is empty" : "not a weights file brisk knows (by its first bytes)");
    }
    if (!st) fprintf(out, "Loaded weights from %s\n", use);
    fflush(out); /* before an error message the caller prints to stderr */
    return st;
}
