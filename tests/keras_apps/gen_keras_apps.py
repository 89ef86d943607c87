#!/usr/bin/env python3
"""Writes the model.to_json() of networks that Keras' application builders
produce, so brisk can be tested on them without Keras (not installed here).

Each builder below follows the Keras 2.11 source (keras/applications/resnet.py,
mobilenet_v2.py, densenet.py) call for call, with the same layer names, the
same config keys in the same order as Layer.get_config() writes them, and the
layer order Functional.get_config() uses (by depth from the output, ties by
traversal order; see `Graph.ordered`). A UNet (the classic 4-level one) is
written the way a user builds it with the Functional API.

Usage: gen_keras_apps.py OUT_DIR   (stdlib only; any python3)
Writes, for each network, NAME.json (the documented input size and 1000
ImageNet classes, or 256x256 for the UNets) and NAME_small.json for a quick
training step: 64x64 and 10 classes (at 32x32 the last stage is 1x1, so with
batch 2 its batch normalisations see 2 values each and the gradients
explode), 32x32 for the UNets (no batch normalisation). The
segmentation_models networks (sm_*) have a free input size and one file.
"""
import json
import os
import sys

KERAS_VERSION = "2.11.0"
CL = "channels_last"


# ---------------------------------------------------------------- serialisers
def init(cls):
    """Keras 2.x initializers.serialize(): seeded ones carry {"seed": null}."""
    return {"class_name": cls, "config": {} if cls in ("Zeros", "Ones") else {"seed": None}}


def base(name, trainable=True):
    """Layer.get_config(): name, trainable, dtype come first."""
    return {"name": name, "trainable": trainable, "dtype": "float32"}


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


class Graph:
    """A Functional model under construction: layers in call order, each
    with its inbound layer names. Unnamed layers get Keras' automatic names
    (snake_case class name, then _1, _2, ... in a fresh session)."""

    def __init__(self):
        self.layers = []  # (name, class_name, config, [inbound names])
        self.counts = {}

    def auto_name(self, prefix, zero_based=True):
        k = self.counts.get(prefix, 0)
        self.counts[prefix] = k + 1
        if zero_based:
            return prefix if k == 0 else "%s_%d" % (prefix, k)
        return "%s_%d" % (prefix, k + 1)

    def add(self, cls, name, cfg, inputs):
        assert all(n != name for n, *_ in self.layers), "duplicate layer name " + name
        self.layers.append((name, cls, cfg, list(inputs)))
        return name

    # ----- layers, with Keras' get_config() key order
    def Input(self, shape, name=None):
        name = name or self.auto_name("input", zero_based=False)
        cfg = {"batch_input_shape": [None] + list(shape), "dtype": "float32", "sparse": False,
               "ragged": False, "name": name}
        return self.add("InputLayer", name, cfg, [])

    def _conv_cfg(self, name, filters, kernel_size, strides, padding, activation, use_bias,
                  kernel_initializer):
        cfg = base(name)
        if filters is not None:
            cfg["filters"] = filters
        cfg.update({"kernel_size": pair(kernel_size), "strides": pair(strides),
                    "padding": padding.lower(), "data_format": CL, "dilation_rate": [1, 1],
                    "groups": 1, "activation": activation or "linear", "use_bias": use_bias,
                    "kernel_initializer": init(kernel_initializer), "bias_initializer": init("Zeros"),
                    "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "bias_constraint": None})
        return cfg

    def Conv2D(self, x, filters, kernel_size, strides=1, padding="valid", activation=None,
               use_bias=True, kernel_initializer="GlorotUniform", name=None):
        name = name or self.auto_name("conv2d")
        cfg = self._conv_cfg(name, filters, kernel_size, strides, padding, activation, use_bias,
                             kernel_initializer)
        return self.add("Conv2D", name, cfg, [x])

    def Conv2DTranspose(self, x, filters, kernel_size, strides=1, padding="valid", activation=None,
                        use_bias=True, kernel_initializer="GlorotUniform", name=None):
        name = name or self.auto_name("conv2d_transpose")
        cfg = self._conv_cfg(name, filters, kernel_size, strides, padding, activation, use_bias,
                             kernel_initializer)
        cfg["output_padding"] = None
        return self.add("Conv2DTranspose", name, cfg, [x])

    def DepthwiseConv2D(self, x, kernel_size, strides=1, padding="valid", activation=None,
                        use_bias=True, depth_multiplier=1, name=None):
        name = name or self.auto_name("depthwise_conv2d")
        # DepthwiseConv.get_config(): Conv's config without filters and the
        # kernel_* entries, then the depthwise_* ones appended
        cfg = self._conv_cfg(name, None, kernel_size, strides, padding, activation, use_bias,
                             "GlorotUniform")
        for k in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            del cfg[k]
        cfg.update({"depth_multiplier": depth_multiplier, "depthwise_initializer": init("GlorotUniform"),
                    "depthwise_regularizer": None, "depthwise_constraint": None})
        return self.add("DepthwiseConv2D", name, cfg, [x])

    def Dense(self, x, units, activation=None, name=None):
        name = name or self.auto_name("dense")
        cfg = base(name)
        cfg.update({"units": units, "activation": activation or "linear", "use_bias": True,
                    "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                    "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "bias_constraint": None})
        return self.add("Dense", name, cfg, [x])

    def BatchNormalization(self, x, epsilon=1e-3, momentum=0.99, scale=True, name=None):
        name = name or self.auto_name("batch_normalization")
        cfg = base(name)
        # build() turns axis=-1 (or 3) into the list [3] that get_config() returns
        cfg.update({"axis": [3], "momentum": momentum, "epsilon": epsilon, "center": True, "scale": scale,
                    "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"),
                    "moving_mean_initializer": init("Zeros"), "moving_variance_initializer": init("Ones"),
                    "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                    "gamma_constraint": None})
        return self.add("BatchNormalization", name, cfg, [x])

    def Activation(self, x, activation, name=None):
        name = name or self.auto_name("activation")
        cfg = base(name)
        cfg["activation"] = activation
        return self.add("Activation", name, cfg, [x])

    def ReLU(self, x, max_value=None, name=None):
        name = name or self.auto_name("re_lu")
        cfg = base(name)
        # ReLU stores its arguments cast to floatx: 6.0, 0.0, 0.0
        cfg.update({"max_value": None if max_value is None else float(max_value), "negative_slope": 0.0,
                    "threshold": 0.0})
        return self.add("ReLU", name, cfg, [x])

    def ZeroPadding2D(self, x, padding, name=None):
        name = name or self.auto_name("zero_padding2d")
        cfg = base(name)
        cfg.update({"padding": [list(p) for p in padding], "data_format": CL})
        return self.add("ZeroPadding2D", name, cfg, [x])

    def _pool(self, cls, prefix, x, pool_size, strides, padding, name):
        name = name or self.auto_name(prefix)
        cfg = base(name)
        cfg.update({"pool_size": pair(pool_size), "padding": padding,
                    "strides": pair(strides if strides is not None else pool_size), "data_format": CL})
        return self.add(cls, name, cfg, [x])

    def MaxPooling2D(self, x, pool_size=2, strides=None, padding="valid", name=None):
        return self._pool("MaxPooling2D", "max_pooling2d", x, pool_size, strides, padding, name)

    def AveragePooling2D(self, x, pool_size=2, strides=None, padding="valid", name=None):
        return self._pool("AveragePooling2D", "average_pooling2d", x, pool_size, strides, padding, name)

    def GlobalAveragePooling2D(self, x, name=None):
        name = name or self.auto_name("global_average_pooling2d")
        cfg = base(name)
        cfg.update({"data_format": CL, "keepdims": False})
        return self.add("GlobalAveragePooling2D", name, cfg, [x])

    def UpSampling2D(self, x, size=2, interpolation="nearest", name=None):
        name = name or self.auto_name("up_sampling2d")
        cfg = base(name)
        cfg.update({"size": pair(size), "data_format": CL, "interpolation": interpolation})
        return self.add("UpSampling2D", name, cfg, [x])

    def Add(self, xs, name=None):
        name = name or self.auto_name("add")
        return self.add("Add", name, base(name), xs)

    def Concatenate(self, xs, axis=-1, name=None):
        name = name or self.auto_name("concatenate")
        cfg = base(name)
        cfg["axis"] = axis
        return self.add("Concatenate", name, cfg, xs)

    # ----- export
    def ordered(self, output):
        """Functional._map_graph_network: depth = longest path to the output;
        layers sorted by decreasing depth, ties by first visit in a
        depth-first walk from the output (inputs in call order)."""
        by_name = {n: (n, c, cfg, ins) for n, c, cfg, ins in self.layers}
        index, post = {}, []

        def walk(n):  # iterative DFS would also do; these graphs are < 1000 deep
            if n in index:
                return
            index[n] = len(index)
            for i in by_name[n][3]:
                walk(i)
            post.append(n)

        sys.setrecursionlimit(10000)
        walk(output)
        depth = {}
        for n in reversed(post):
            d = depth.setdefault(n, 0)
            for i in by_name[n][3]:
                depth[i] = max(depth.get(i, 0), d + 1)
        return sorted(index, key=lambda n: (-depth[n], index[n]))

    def to_json(self, model_name, output):
        layers = []
        inputs = []
        by_name = {n: (n, c, cfg, ins) for n, c, cfg, ins in self.layers}
        for n in self.ordered(output):
            _, cls, cfg, ins = by_name[n]
            if cls == "InputLayer":
                inputs.append([n, 0, 0])
            layers.append({"class_name": cls, "config": cfg, "name": n,
                           "inbound_nodes": [[[i, 0, 0, {}] for i in ins]] if ins else []})
        model = {"class_name": "Functional",
                 "config": {"name": model_name, "layers": layers, "input_layers": inputs,
                            "output_layers": [[output, 0, 0]]},
                 "keras_version": KERAS_VERSION, "backend": "tensorflow"}
        return json.dumps(model)


# ---------------------------------------------------------------- ResNet50
def resnet_block1(g, x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """resnet.py block1: the bottleneck residual block."""
    if conv_shortcut:
        shortcut = g.Conv2D(x, 4 * filters, 1, strides=stride, name=name + "_0_conv")
        shortcut = g.BatchNormalization(shortcut, epsilon=1.001e-5, name=name + "_0_bn")
    else:
        shortcut = x
    x = g.Conv2D(x, filters, 1, strides=stride, name=name + "_1_conv")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name=name + "_1_bn")
    x = g.Activation(x, "relu", name=name + "_1_relu")
    x = g.Conv2D(x, filters, kernel_size, padding="SAME", name=name + "_2_conv")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name=name + "_2_bn")
    x = g.Activation(x, "relu", name=name + "_2_relu")
    x = g.Conv2D(x, 4 * filters, 1, name=name + "_3_conv")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name=name + "_3_bn")
    x = g.Add([shortcut, x], name=name + "_add")
    return g.Activation(x, "relu", name=name + "_out")


def resnet_stack1(g, x, filters, blocks, stride1=2, name=None):
    x = resnet_block1(g, x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = resnet_block1(g, x, filters, conv_shortcut=False, name=name + "_block" + str(i))
    return x


def resnet50(size=224, classes=1000):
    """resnet.ResNet50 -> ResNet(stack_fn, preact=False, use_bias=True, 'resnet50')."""
    g = Graph()
    img_input = g.Input([size, size, 3])
    x = g.ZeroPadding2D(img_input, ((3, 3), (3, 3)), name="conv1_pad")
    x = g.Conv2D(x, 64, 7, strides=2, use_bias=True, name="conv1_conv")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name="conv1_bn")
    x = g.Activation(x, "relu", name="conv1_relu")
    x = g.ZeroPadding2D(x, ((1, 1), (1, 1)), name="pool1_pad")
    x = g.MaxPooling2D(x, 3, strides=2, name="pool1_pool")
    x = resnet_stack1(g, x, 64, 3, stride1=1, name="conv2")
    x = resnet_stack1(g, x, 128, 4, name="conv3")
    x = resnet_stack1(g, x, 256, 6, name="conv4")
    x = resnet_stack1(g, x, 512, 3, name="conv5")
    x = g.GlobalAveragePooling2D(x, name="avg_pool")
    x = g.Dense(x, classes, activation="softmax", name="predictions")
    return g.to_json("resnet50", x)


# ---------------------------------------------------------------- MobileNetV2
def make_divisible(v, divisor, min_value=None):
    """mobilenet_v2._make_divisible: round to a multiple of divisor, never
    more than 10% down."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def correct_pad(hw, kernel_size):
    """imagenet_utils.correct_pad: the asymmetric padding TF's 'same' would
    use for a stride-2 convolution on an input of size hw."""
    adjust = (1 - hw[0] % 2, 1 - hw[1] % 2)
    correct = (kernel_size // 2, kernel_size // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def inverted_res_block(g, x, in_channels, hw, expansion, stride, alpha, filters, block_id):
    """mobilenet_v2._inverted_res_block. Returns (output, channels, hw)."""
    inputs = x
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    prefix = "block_{}_".format(block_id)
    if block_id:
        x = g.Conv2D(x, expansion * in_channels, 1, padding="same", use_bias=False, activation=None,
                     name=prefix + "expand")
        x = g.BatchNormalization(x, epsilon=1e-3, momentum=0.999, name=prefix + "expand_BN")
        x = g.ReLU(x, 6.0, name=prefix + "expand_relu")
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = g.ZeroPadding2D(x, correct_pad(hw, 3), name=prefix + "pad")
        hw = ((hw[0] - 1) // 2 + 1, (hw[1] - 1) // 2 + 1)
    x = g.DepthwiseConv2D(x, 3, strides=stride, activation=None, use_bias=False,
                          padding="same" if stride == 1 else "valid", name=prefix + "depthwise")
    x = g.BatchNormalization(x, epsilon=1e-3, momentum=0.999, name=prefix + "depthwise_BN")
    x = g.ReLU(x, 6.0, name=prefix + "depthwise_relu")
    x = g.Conv2D(x, pointwise_filters, 1, padding="same", use_bias=False, activation=None,
                 name=prefix + "project")
    x = g.BatchNormalization(x, epsilon=1e-3, momentum=0.999, name=prefix + "project_BN")
    if in_channels == pointwise_filters and stride == 1:
        return g.Add([inputs, x], name=prefix + "add"), pointwise_filters, hw
    return x, pointwise_filters, hw


# (filters, stride, expansion) of blocks 0..16, as MobileNetV2() lists them
MOBILENET_V2_BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
                       (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6),
                       (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]


def mobilenet_v2(size=224, classes=1000, alpha=1.0):
    g = Graph()
    img_input = g.Input([size, size, 3])
    first_block_filters = make_divisible(32 * alpha, 8)
    x = g.Conv2D(img_input, first_block_filters, 3, strides=(2, 2), padding="same", use_bias=False,
                 name="Conv1")
    x = g.BatchNormalization(x, epsilon=1e-3, momentum=0.999, name="bn_Conv1")
    x = g.ReLU(x, 6.0, name="Conv1_relu")
    ch, hw = first_block_filters, ((size + 1) // 2, (size + 1) // 2)
    for block_id, (filters, stride, expansion) in enumerate(MOBILENET_V2_BLOCKS):
        x, ch, hw = inverted_res_block(g, x, ch, hw, expansion, stride, alpha, filters, block_id)
    last_block_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = g.Conv2D(x, last_block_filters, 1, use_bias=False, name="Conv_1")
    x = g.BatchNormalization(x, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")
    x = g.ReLU(x, 6.0, name="out_relu")
    x = g.GlobalAveragePooling2D(x)  # unnamed in Keras: global_average_pooling2d
    x = g.Dense(x, classes, activation="softmax", name="predictions")
    return g.to_json("mobilenetv2_%0.2f_%s" % (alpha, size), x)


# ---------------------------------------------------------------- DenseNet121
def dense_conv_block(g, x, growth_rate, name):
    x1 = g.BatchNormalization(x, epsilon=1.001e-5, name=name + "_0_bn")
    x1 = g.Activation(x1, "relu", name=name + "_0_relu")
    x1 = g.Conv2D(x1, 4 * growth_rate, 1, use_bias=False, name=name + "_1_conv")
    x1 = g.BatchNormalization(x1, epsilon=1.001e-5, name=name + "_1_bn")
    x1 = g.Activation(x1, "relu", name=name + "_1_relu")
    x1 = g.Conv2D(x1, growth_rate, 3, padding="same", use_bias=False, name=name + "_2_conv")
    return g.Concatenate([x, x1], axis=3, name=name + "_concat")


def dense_block(g, x, ch, blocks, name):
    for i in range(blocks):
        x = dense_conv_block(g, x, 32, name=name + "_block" + str(i + 1))
        ch += 32
    return x, ch


def transition_block(g, x, ch, reduction, name):
    x = g.BatchNormalization(x, epsilon=1.001e-5, name=name + "_bn")
    x = g.Activation(x, "relu", name=name + "_relu")
    ch = int(ch * reduction)
    x = g.Conv2D(x, ch, 1, use_bias=False, name=name + "_conv")
    x = g.AveragePooling2D(x, 2, strides=2, name=name + "_pool")
    return x, ch


def densenet121(size=224, classes=1000, blocks=(6, 12, 24, 16)):
    g = Graph()
    img_input = g.Input([size, size, 3])
    x = g.ZeroPadding2D(img_input, ((3, 3), (3, 3)))  # unnamed: zero_padding2d
    x = g.Conv2D(x, 64, 7, strides=2, use_bias=False, name="conv1/conv")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name="conv1/bn")
    x = g.Activation(x, "relu", name="conv1/relu")
    x = g.ZeroPadding2D(x, ((1, 1), (1, 1)))  # zero_padding2d_1
    x = g.MaxPooling2D(x, 3, strides=2, name="pool1")
    ch = 64
    x, ch = dense_block(g, x, ch, blocks[0], name="conv2")
    x, ch = transition_block(g, x, ch, 0.5, name="pool2")
    x, ch = dense_block(g, x, ch, blocks[1], name="conv3")
    x, ch = transition_block(g, x, ch, 0.5, name="pool3")
    x, ch = dense_block(g, x, ch, blocks[2], name="conv4")
    x, ch = transition_block(g, x, ch, 0.5, name="pool4")
    x, ch = dense_block(g, x, ch, blocks[3], name="conv5")
    x = g.BatchNormalization(x, epsilon=1.001e-5, name="bn")
    x = g.Activation(x, "relu", name="relu")
    x = g.GlobalAveragePooling2D(x, name="avg_pool")
    x = g.Dense(x, classes, activation="softmax", name="predictions")
    return g.to_json("densenet121", x)


# ---------------------------------------------------------------- UNet
def unet(size=256, channels=3, upsampling=False):
    """The classic 4-level UNet (Ronneberger et al. 2015, 'same' padding as
    Keras ports write it): two 3x3 ReLU convolutions per level, 64..1024
    filters, 2x2 max pooling down; up either by Conv2DTranspose(2, stride 2)
    or by UpSampling2D + a 2x2 convolution (zhixuhao/unet), then concatenation
    with the skip connection; a 1x1 sigmoid convolution for one mask."""
    g = Graph()
    x = g.Input([size, size, channels])
    skips = []
    conv = dict(activation="relu", padding="same", kernel_initializer="HeNormal")
    filters = [64, 128, 256, 512]
    for level, f in enumerate(filters, 1):
        x = g.Conv2D(x, f, 3, name="conv%d_1" % level, **conv)
        x = g.Conv2D(x, f, 3, name="conv%d_2" % level, **conv)
        skips.append(x)
        x = g.MaxPooling2D(x, 2, name="pool%d" % level)
    x = g.Conv2D(x, 1024, 3, name="conv5_1", **conv)
    x = g.Conv2D(x, 1024, 3, name="conv5_2", **conv)
    for level, f in zip(range(6, 10), reversed(filters)):
        if upsampling:
            x = g.UpSampling2D(x, 2, name="up%d" % level)
            x = g.Conv2D(x, f, 2, name="up%d_conv" % level, **conv)
        else:
            x = g.Conv2DTranspose(x, f, 2, strides=2, padding="same", name="up%d" % level)
        x = g.Concatenate([skips[9 - level], x], axis=3, name="concat%d" % level)
        x = g.Conv2D(x, f, 3, name="conv%d_1" % level, **conv)
        x = g.Conv2D(x, f, 3, name="conv%d_2" % level, **conv)
    x = g.Conv2D(x, 1, 1, activation="sigmoid", name="mask")
    return g.to_json("unet_upsampling" if upsampling else "unet", x)


# ------------------------------------------- segmentation_models (qubvel) 1.0
# Unet and FPN as segmentation_models builds them (segmentation_models/models/
# unet.py, fpn.py, _common_blocks.py) on the VGG16 of keras.applications
# (include_top=False) and the ResNet18 of classification_models, with the
# free input size they are exported with: batch_input_shape [None, None,
# None, 3]. Decoder convolutions have no bias (batch norm follows) and
# he_uniform kernels; the head is a 3x3 convolution and the activation layer
# named after its function.
def vgg16_backbone(g, x):
    """keras.applications.vgg16.VGG16(include_top=False): returns the output
    (block5_pool) and every layer by name."""
    for block, (convs, f) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, convs + 1):
            x = g.Conv2D(x, f, 3, padding="same", activation="relu", name="block%d_conv%d" % (block, i))
        x = g.MaxPooling2D(x, 2, strides=2, name="block%d_pool" % block)
    return x


def resnet18_backbone(g, x):
    """classification_models.models.resnet.ResNet18(include_top=False): the
    pre-activation residual units, batch norm epsilon 2e-5, bn_data without
    scale, he_uniform kernels without bias."""
    conv = dict(use_bias=False, kernel_initializer="HeUniform")
    bn = dict(epsilon=2e-5, momentum=0.99)
    x = g.BatchNormalization(x, scale=False, name="bn_data", **bn)
    x = g.ZeroPadding2D(x, ((3, 3), (3, 3)))
    x = g.Conv2D(x, 64, 7, strides=2, name="conv0", **conv)
    x = g.BatchNormalization(x, name="bn0", **bn)
    x = g.Activation(x, "relu", name="relu0")
    x = g.ZeroPadding2D(x, ((1, 1), (1, 1)))
    x = g.MaxPooling2D(x, 3, strides=2, padding="valid", name="pooling0")
    for stage in range(4):
        for block in range(2):
            f, stride = 64 * 2 ** stage, 2 if stage and block == 0 else 1
            n = "stage%d_unit%d_" % (stage + 1, block + 1)
            y = g.BatchNormalization(x, name=n + "bn1", **bn)
            y = g.Activation(y, "relu", name=n + "relu1")
            shortcut = g.Conv2D(y, f, 1, strides=stride, name=n + "sc", **conv) if block == 0 else x
            y = g.ZeroPadding2D(y, ((1, 1), (1, 1)))
            y = g.Conv2D(y, f, 3, strides=stride, name=n + "conv1", **conv)
            y = g.BatchNormalization(y, name=n + "bn2", **bn)
            y = g.Activation(y, "relu", name=n + "relu2")
            y = g.ZeroPadding2D(y, ((1, 1), (1, 1)))
            y = g.Conv2D(y, f, 3, name=n + "conv2", **conv)
            x = g.Add([y, shortcut])
    x = g.BatchNormalization(x, name="bn1", **bn)
    return g.Activation(x, "relu", name="relu1")


BACKBONES = {  # builder, skip layers (deepest first) as segmentation_models lists them
    "vgg16": (vgg16_backbone, ["block5_conv3", "block4_conv3", "block3_conv3", "block2_conv2"]),
    "resnet18": (resnet18_backbone, ["stage4_unit1_relu1", "stage3_unit1_relu1", "stage2_unit1_relu1", "relu0"]),
}


INPUT_NAMES = {"resnet18": "data"}  # classification_models names its input; Keras' is input_N


def conv3x3_bn_relu(g, x, filters, name):
    x = g.Conv2D(x, filters, 3, padding="same", use_bias=False, kernel_initializer="HeUniform",
                 name=name + "_conv")
    x = g.BatchNormalization(x, name=name + "_bn")
    return g.Activation(x, "relu", name=name + "_relu")


def sm_unet(backbone, classes=3, activation="sigmoid", decoder_filters=(256, 128, 64, 32, 16)):
    g = Graph()
    build, skips = BACKBONES[backbone]
    x = build(g, g.Input([None, None, 3], name=INPUT_NAMES.get(backbone)))
    if backbone == "vgg16":  # the backbone ends in a pooling layer: a center block
        x = conv3x3_bn_relu(g, x, 512, "center_block1")
        x = conv3x3_bn_relu(g, x, 512, "center_block2")
    for i, f in enumerate(decoder_filters):
        x = g.UpSampling2D(x, 2, name="decoder_stage%d_upsampling" % i)
        if i < len(skips):
            x = g.Concatenate([x, skips[i]], axis=3, name="decoder_stage%d_concat" % i)
        x = conv3x3_bn_relu(g, x, f, "decoder_stage%da" % i)
        x = conv3x3_bn_relu(g, x, f, "decoder_stage%db" % i)
    x = g.Conv2D(x, classes, 3, padding="same", name="final_conv")
    x = g.Activation(x, activation, name=activation)
    return g.to_json("unet_" + backbone, x)


def sm_fpn(backbone, classes=3, activation="softmax", pyramid=256, segmentation=128):
    g = Graph()
    build, skips = BACKBONES[backbone]
    x = build(g, g.Input([None, None, 3], name=INPUT_NAMES.get(backbone)))
    channels = {"vgg16": 512, "resnet18": 512}[backbone]
    p = []
    for stage, skip in zip((5, 4, 3, 2), skips[:4]):
        if channels != pyramid:  # FPNBlock: match the pyramid's width first
            x = g.Conv2D(x, pyramid, 1, kernel_initializer="HeUniform", name="fpn_stage_p%d_pre_conv" % stage)
            channels = pyramid
        s = g.Conv2D(skip, pyramid, 1, kernel_initializer="HeUniform", name="fpn_stage_p%d_conv" % stage)
        x = g.UpSampling2D(x, 2, name="fpn_stage_p%d_upsampling" % stage)
        x = g.Add([x, s], name="fpn_stage_p%d_add" % stage)
        p.append(x)
    heads = []
    for stage, x in zip((5, 4, 3, 2), p):
        x = conv3x3_bn_relu(g, x, segmentation, "segm_stage%da" % stage)
        heads.append(conv3x3_bn_relu(g, x, segmentation, "segm_stage%db" % stage))
    s5, s4, s3, s2 = heads
    s5 = g.UpSampling2D(s5, 8, name="upsampling_stage5")
    s4 = g.UpSampling2D(s4, 4, name="upsampling_stage4")
    s3 = g.UpSampling2D(s3, 2, name="upsampling_stage3")
    x = g.Concatenate([s2, s3, s4, s5], axis=3, name="aggregation_concat")
    x = conv3x3_bn_relu(g, x, segmentation, "final_stage")
    x = g.UpSampling2D(x, 2, interpolation="bilinear", name="final_upsampling")
    x = g.Conv2D(x, classes, 3, padding="same", name="head_conv")
    x = g.Activation(x, activation, name=activation)
    return g.to_json("fpn_" + backbone, x)


NETWORKS = {
    "resnet50": (resnet50, dict(size=224, classes=1000), dict(size=64, classes=10)),
    "mobilenet_v2": (mobilenet_v2, dict(size=224, classes=1000), dict(size=64, classes=10)),
    "densenet121": (densenet121, dict(size=224, classes=1000), dict(size=64, classes=10)),
    "unet": (unet, dict(size=256), dict(size=32)),
    "unet_upsampling": (lambda **k: unet(upsampling=True, **k), dict(size=256), dict(size=32)),
    # free input size: the same network at every size (no _small variant needed)
    "sm_unet_vgg16": (lambda: sm_unet("vgg16"), None, None),
    "sm_unet_resnet18": (lambda: sm_unet("resnet18"), None, None),
    "sm_fpn_vgg16": (lambda: sm_fpn("vgg16"), None, None),
    "sm_fpn_resnet18": (lambda: sm_fpn("resnet18"), None, None),
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_keras_apps.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = 0
    for name, (build, full, small) in NETWORKS.items():
        for suffix, kw in (("", full), ("_small", small)) if full else (("", {}),):
            with open(os.path.join(out, name + suffix + ".json"), "w") as f:
                f.write(build(**kw))
            written += 1
    print("wrote %d networks to %s" % (written, out))


if __name__ == "__main__":
    main()
