/* Gradient checks of the normalization and shape layers:
 * BatchNormalization on non-channel axes and axis lists (training, center /
 * scale off, frozen), LayerNormalization, GroupNormalization,
 * InstanceNormalization (tfa and keras-contrib forms), SpatialDropout1D-3D,
 * UpSampling1D-3D (nearest, bilinear), ZeroPadding1D-3D and Cropping1D-3D in
 * each config form, Permute and RepeatVector. See gc_harness.h. */
#include "gc_harness.h"

typedef struct {
    const char *name;
    const char *json;
    gc_opts o;
} gc_case;

/* a convolution in front, so a parameter gradient flows through the layer
 * under test as well as the input gradient */
#define PRE1 GC_L("Conv1D", "'name': 'p', 'filters': 3, 'kernel_size': 2") ", "
#define PRE2 GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2]") ", "
#define PRE3 GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': [1, 2, 1]") ", "
/* before per-channel normalization a bias has an exactly zero gradient */
#define PRE2NB GC_L("Conv2D", "'name': 'p', 'filters': 3, 'kernel_size': [2, 2], 'use_bias': false") ", "
#define BN(cfg) GC_L("BatchNormalization", "'name': 'bn', " cfg)
#define LN(cfg) GC_L("LayerNormalization", "'name': 'ln', " cfg)
#define GN(cfg) GC_L("GroupNormalization", "'name': 'gn', " cfg)
#define IN(cfg) GC_L("InstanceNormalization", "'name': 'in_norm', " cfg)

static const gc_case norm_cases[] = {
    /* BatchNormalization off the channel axis: statistics over the batch and the other axes */
    {"bn_axis1_2d", GC_SEQ("4, 3, 2", BN("'axis': 1")), {.batch = 3}},
    {"bn_axis2_2d_momentum", GC_SEQ("4, 3, 2", PRE2 BN("'axis': 2, 'momentum': 0.9, 'epsilon': 0.01")), {.batch = 2}},
    {"bn_axis1_1d", GC_SEQ("5, 3", BN("'axis': [1]")), {.batch = 3}},
    {"bn_axes_list_2d", GC_SEQ("4, 3, 2", BN("'axis': [1, 3]")), {.batch = 4}},
    {"bn_axes_list_3d", GC_SEQ("3, 2, 3, 2", BN("'axis': [1, 2]")), {.batch = 3}},
    {"bn_axis1_center_false", GC_SEQ("4, 3, 2", BN("'axis': 1, 'center': false")), {.batch = 3}},
    {"bn_axis1_scale_false", GC_SEQ("4, 3, 2", BN("'axis': 1, 'scale': false")), {.batch = 3}},
    {"bn_axis1_frozen", GC_SEQ("4, 3, 2", PRE2 BN("'axis': 1, 'trainable': false")), {.batch = 2}},
    /* LayerNormalization */
    {"ln_default_2d", GC_SEQ("3, 4, 3", LN("'axis': -1")), {.batch = 2}},
    {"ln_axes_all_2d", GC_SEQ("3, 4, 3", PRE2 LN("'axis': [1, 2, 3], 'epsilon': 0.01")), {.batch = 2}},
    {"ln_axis1_1d", GC_SEQ("5, 3", LN("'axis': 1")), {.batch = 2}},
    {"ln_axes_3d", GC_SEQ("2, 3, 2, 3", LN("'axis': [2, 4]")), {.batch = 2}},
    {"ln_dense", GC_SEQ("6", GC_L("Dense", "'name': 'd', 'units': 5") ", " LN("'axis': -1")), {.batch = 3}},
    {"ln_center_false", GC_SEQ("4, 4", LN("'center': false")), {.batch = 2}},
    {"ln_scale_false", GC_SEQ("4, 4", LN("'scale': false")), {.batch = 2}},
    /* GroupNormalization */
    {"gn_groups2_2d", GC_SEQ("3, 3, 4", GN("'groups': 2")), {.batch = 2}},
    {"gn_per_channel_1d", GC_SEQ("5, 3", GN("'groups': -1, 'epsilon': 0.01")), {.batch = 2}},
    {"gn_groups1_3d", GC_SEQ("2, 3, 2, 2", PRE3 GN("'groups': 1")), {.batch = 2}},
    {"gn_axis1_2d", GC_SEQ("4, 3, 2", GN("'groups': 2, 'axis': 1")), {.batch = 2}},
    {"gn_center_scale_false", GC_SEQ("3, 3, 4", GN("'groups': 2, 'center': false, 'scale': false")), {.batch = 2}},
    /* InstanceNormalization: tfa (writes groups -1) and keras-contrib ((x - mean) / (std + eps)) */
    {"in_tfa_2d", GC_SEQ("3, 4, 3", PRE2NB IN("'groups': -1, 'axis': -1")), {.batch = 2}},
    {"in_contrib_axis_2d", GC_SEQ("3, 4, 3", IN("'axis': -1, 'epsilon': 0.1")), {.batch = 2}},
    {"in_contrib_none_1d", GC_SEQ("6, 2", IN("'epsilon': 0.01")), {.batch = 2}},
    {"in_contrib_center_false_3d", GC_SEQ("2, 3, 2, 2", IN("'axis': -1, 'center': false")), {.batch = 2}},
    /* the PyTorch-argument form of the reference CLI's files: per channel, no parameters unless affine */
    {"in_torch_plain_3d", GC_SEQ("2, 3, 2, 2", GC_L("Conv3D", "'name': 'p', 'filters': 2, 'kernel_size': [1, 2, 1], 'use_bias': false") ", "
                                           IN("'affine': false, 'track_running_stats': false, 'momentum': 0.1, "
                                              "'epsilon': 1e-05")), {.batch = 2}},
    {"in_torch_affine_2d", GC_SEQ("3, 4, 3", PRE2NB IN("'affine': true, 'epsilon': 0.01")), {.batch = 2}},
};

static const gc_case shape_cases[] = {
    /* SpatialDropout: one draw per (sample, channel) */
    {"sdrop1d", GC_SEQ("6, 4", PRE1 GC_L("SpatialDropout1D", "'name': 'sd', 'rate': 0.5")), {.batch = 3}},
    {"sdrop2d", GC_SEQ("4, 4, 2", PRE2 GC_L("SpatialDropout2D", "'name': 'sd', 'rate': 0.4")), {.batch = 3}},
    {"sdrop3d", GC_SEQ("2, 3, 2, 2", PRE3 GC_L("SpatialDropout3D", "'name': 'sd', 'rate': 0.5")), {.batch = 3}},
    {"sdrop2d_rate0", GC_SEQ("3, 3, 2", GC_L("SpatialDropout2D", "'name': 'sd', 'rate': 0.0")), {.batch = 2}},
    /* UpSampling */
    {"up1d", GC_SEQ("4, 2", PRE1 GC_L("UpSampling1D", "'name': 'u', 'size': 3")), {.batch = 2}},
    {"up2d_nearest", GC_SEQ("3, 4, 2", PRE2 GC_L("UpSampling2D", "'name': 'u', 'size': [2, 3]")), {.batch = 2}},
    {"up2d_bilinear", GC_SEQ("3, 4, 2", PRE2 GC_L("UpSampling2D", "'name': 'u', 'size': 2, 'interpolation': 'bilinear'")),
     {.batch = 2}},
    {"up2d_bilinear_3x1", GC_SEQ("3, 3, 2", GC_L("UpSampling2D", "'name': 'u', 'size': [3, 1], 'interpolation': 'bilinear'")),
     {.batch = 2}},
    {"up3d", GC_SEQ("2, 2, 3, 2", PRE3 GC_L("UpSampling3D", "'name': 'u', 'size': [2, 1, 2]")), {.batch = 2}},
    /* ZeroPadding: int, per-axis ints, [before, after] pairs */
    {"zpad1d_int", GC_SEQ("5, 2", PRE1 GC_L("ZeroPadding1D", "'name': 'z', 'padding': 2")), {.batch = 2}},
    {"zpad1d_pair", GC_SEQ("5, 2", GC_L("ZeroPadding1D", "'name': 'z', 'padding': [0, 3]") ", "
                           GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 3")), {.batch = 2}},
    {"zpad2d_int", GC_SEQ("3, 3, 2", PRE2 GC_L("ZeroPadding2D", "'name': 'z', 'padding': 1")), {.batch = 2}},
    {"zpad2d_sym", GC_SEQ("3, 3, 2", GC_L("ZeroPadding2D", "'name': 'z', 'padding': [1, 2]") ", "
                          GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': [3, 2]")), {.batch = 2}},
    {"zpad2d_pairs", GC_SEQ("3, 3, 2", GC_L("ZeroPadding2D", "'name': 'z', 'padding': [[1, 0], [2, 1]]") ", "
                            GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': [2, 3]")), {.batch = 2}},
    {"zpad3d_pairs", GC_SEQ("2, 2, 2, 2", GC_L("ZeroPadding3D", "'name': 'z', 'padding': [[1, 0], [0, 1], [1, 1]]") ", "
                            GC_L("Conv3D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
    {"zpad3d_ints", GC_SEQ("2, 2, 2, 2", PRE3 GC_L("ZeroPadding3D", "'name': 'z', 'padding': [1, 0, 2]")), {.batch = 2}},
    /* Cropping */
    {"crop1d_pair", GC_SEQ("7, 2", PRE1 GC_L("Cropping1D", "'name': 'k', 'cropping': [2, 1]")), {.batch = 2}},
    {"crop1d_default", GC_SEQ("5, 2", GC_L("Cropping1D", "'name': 'k'")), {.batch = 2}},
    {"crop2d_pairs", GC_SEQ("5, 6, 2", PRE2 GC_L("Cropping2D", "'name': 'k', 'cropping': [[1, 0], [2, 1]]")), {.batch = 2}},
    {"crop2d_int", GC_SEQ("5, 5, 2", GC_L("Cropping2D", "'name': 'k', 'cropping': 1")), {.batch = 2}},
    {"crop2d_sym", GC_SEQ("5, 5, 2", GC_L("Cropping2D", "'name': 'k', 'cropping': [2, 1]")), {.batch = 2}},
    {"crop3d", GC_SEQ("4, 4, 4, 2", PRE3 GC_L("Cropping3D", "'name': 'k', 'cropping': [[1, 0], [0, 1], [1, 2]]")),
     {.batch = 2}},
    /* Permute (Keras axes over the channels_last tensor) and RepeatVector */
    {"permute_21", GC_SEQ("5, 3", PRE1 GC_L("Permute", "'name': 'pm', 'dims': [2, 1]") ", "
                          GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
    {"permute_312", GC_SEQ("3, 4, 2", GC_L("Permute", "'name': 'pm', 'dims': [3, 1, 2]") ", "
                           GC_L("Conv2D", "'name': 'c', 'filters': 2, 'kernel_size': [1, 2]")), {.batch = 2}},
    {"permute_213_flatten", GC_SEQ("3, 4, 2", GC_L("Permute", "'name': 'pm', 'dims': [2, 1, 3]") ", "
                                   GC_L("Flatten", "'name': 'f'") ", " GC_L("Dense", "'name': 'd', 'units': 3")),
     {.batch = 2}},
    {"permute_4d", GC_SEQ("2, 3, 2, 2", GC_L("Permute", "'name': 'pm', 'dims': [4, 2, 1, 3]")), {.batch = 2}},
    {"repeatvector", GC_SEQ("4", GC_L("Dense", "'name': 'd', 'units': 3") ", " GC_L("RepeatVector", "'name': 'rv', 'n': 3") ", "
                            GC_L("Conv1D", "'name': 'c', 'filters': 2, 'kernel_size': 2")), {.batch = 2}},
};

static void run_cases(const gc_case *c, int n)
{
    for (int i = 0; i < n; i++) gc_check(c[i].name, c[i].json, &c[i].o);
}

int main(void)
{
    run_cases(norm_cases, (int)(sizeof norm_cases / sizeof norm_cases[0]));
    run_cases(shape_cases, (int)(sizeof shape_cases / sizeof shape_cases[0]));
    gc_summary("gradcheck_norm_shape");
    return bk_test_finish("test_gradcheck_norm_shape");
}
