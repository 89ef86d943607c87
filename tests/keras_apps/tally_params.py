#!/usr/bin/env python3
"""Counts a Keras model.to_json() network's parameters the way Keras does,
from the JSON alone: an independent check of gen_keras_apps.py (its counts
must equal Keras' documented ones) and of `brisk summary`.

Walks the layers in file order (Sequential: each feeds the next;
Functional: inbound_nodes), infers every output shape (spatial..., C),
channels_last as Keras has it, with None for a free size, checks that
merged shapes agree, and counts weights:
  ConvND  prod(k)*Cin/groups*F (+F)     ConvNDTranspose  prod(k)*Cin*F (+F)
  DepthwiseConvND  prod(k)*Cin*m (+Cin*m)
  SeparableConvND  prod(k)*Cin*m + Cin*m*F (+F)
  Dense  Cin*U (+U)
  BatchNormalization  (scale + center)*C trainable, 2*C moving statistics
    (never trainable)
  InstanceNormalization  2*C when affine (PyTorch form) or center/scale.
Weights of a layer with "trainable": false count as non-trainable.
Parameters do not depend on the free sizes of fully convolutional nets; a
Dense on a flattened free size has no count (an error, as in Keras).

Usage: tally_params.py NET.json  ->  prints "TOTAL TRAINABLE"
       tally_params.py NET.json --size 64,48  ->  the same with the input's
           spatial size set (free or declared), then the output shape
           (channels_last, no batch); a size the network cannot take (a
           merge of other shapes, an empty output) is an AssertionError.
As a module: tally(model, size=None) -> (total, trainable, output shape).
"""
import json
import math
import sys


def tup(v, nd):
    return list(v) if isinstance(v, (list, tuple)) else [v] * nd


def conv_len(n, k, s, d, padding):
    if n is None:
        return None
    k = (k - 1) * d + 1
    if padding == "same":
        return -(-n // s)
    if padding == "valid":
        return (n - k) // s + 1
    p = padding if isinstance(padding, int) else padding[0]  # explicit zeros (brisk's int form)
    return (n + 2 * p - k) // s + 1


def deconv_len(n, k, s, padding, out_pad):
    if n is None:
        return None
    if out_pad is None:
        return n * s if padding == "same" else n * s + max(k - s, 0)
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * s + k - 2 * pad + out_pad


def pad_pairs(p, nd):
    if isinstance(p, int):
        return [(p, p)] * nd
    return [tuple(x) if isinstance(x, (list, tuple)) else (x, x) for x in p]


def flat(shape, name):
    if any(d is None for d in shape):
        raise SystemExit("%s: a flattened free (None) size: the parameters depend on the input size" % name)
    return math.prod(shape)


def inbound(layer):
    """Names of a layer's inputs: Keras 2 lists or Keras 3 keras_history."""
    inb = layer.get("inbound_nodes")
    if not inb:
        return None
    node = inb[0]
    if isinstance(node, list):
        return [t[0] for t in node]
    args = node["args"][0]
    args = args if isinstance(args, list) else [args]
    return [a["config"]["keras_history"][0] for a in args]


def sized(shape, size):
    """A declared input shape (channels last) with its spatial dims set."""
    if size is None:
        return tuple(shape)
    assert len(size) == len(shape) - 1, "size %s for an input of shape %s" % (size, shape)
    return tuple(size) + (shape[-1],)


def layer_shape(cls, cfg, name, ins, size=None):
    """Output shape and (weights, moving statistics) of one layer."""
    x = ins[0] if ins else None
    nd = len(x) - 1 if x else 0
    w = stats = 0
    cin = x[-1] if x else None
    if cls == "InputLayer":
        y = sized((cfg.get("batch_input_shape") or cfg["batch_shape"])[1:], size)
    elif cls.startswith(("Conv", "DepthwiseConv", "SeparableConv")) and cls[-2:] in ("1D", "2D", "3D", "se"):
        transpose = cls.endswith("Transpose")
        k = tup(cfg["kernel_size"], nd)
        s = tup(cfg.get("strides", 1), nd)
        d = tup(cfg.get("dilation_rate") or 1, nd)
        pad = cfg.get("padding", "valid")
        bias = cfg.get("use_bias", True)
        kk = math.prod(k)
        if cls.startswith("Depthwise"):
            cout = cin * cfg.get("depth_multiplier", 1)
            w = kk * cout + (cout if bias else 0)
        elif cls.startswith("Separable"):
            mid = cin * cfg.get("depth_multiplier", 1)
            cout = cfg["filters"]
            w = kk * mid + mid * cout + (cout if bias else 0)
        elif transpose:
            cout = cfg["filters"]
            w = kk * cin * cout + (cout if bias else 0)
        else:
            cout = cfg["filters"]
            w = kk * cin // (cfg.get("groups") or 1) * cout + (cout if bias else 0)
        if transpose:
            op = cfg.get("output_padding")
            op = tup(op, nd) if op is not None else [None] * nd
            sp = [deconv_len(x[i], k[i], s[i], pad, op[i]) for i in range(nd)]
        else:
            sp = [conv_len(x[i], k[i], s[i], d[i], pad) for i in range(nd)]
        y = tuple(sp) + (cout,)
    elif cls == "Dense":
        w = cin * cfg["units"] + (cfg["units"] if cfg.get("use_bias", True) else 0)
        y = tuple(x[:-1]) + (cfg["units"],)
    elif cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis if isinstance(axis, list) else [axis]
        assert axis in ([-1], [len(x)]), "%s: BatchNormalization over axis %s" % (name, axis)
        w = (int(cfg.get("scale", True)) + int(cfg.get("center", True))) * cin
        stats = 2 * cin
        y = x
    elif cls == "InstanceNormalization":
        affine = cfg.get("affine", cfg.get("center", True) or cfg.get("scale", True))
        if "affine" in cfg:
            w = 2 * cin if affine else 0
        else:  # keras-contrib: axis None -> one gamma and beta for all channels
            per = cin if cfg.get("axis") is not None else 1
            w = (int(cfg.get("scale", True)) + int(cfg.get("center", True))) * per
        y = x
    elif cls.startswith(("MaxPooling", "AveragePooling")):
        p = tup(cfg["pool_size"], nd)
        s = tup(cfg.get("strides") or cfg["pool_size"], nd)
        y = tuple(conv_len(x[i], p[i], s[i], 1, cfg.get("padding", "valid")) for i in range(nd)) + (cin,)
    elif cls.startswith("ZeroPadding"):
        pp = pad_pairs(cfg["padding"], nd)
        y = tuple(None if x[i] is None else x[i] + sum(pp[i]) for i in range(nd)) + (cin,)
    elif cls.startswith("Cropping"):
        pp = pad_pairs(cfg["cropping"], nd)
        y = tuple(None if x[i] is None else x[i] - sum(pp[i]) for i in range(nd)) + (cin,)
    elif cls.startswith("UpSampling"):
        f = tup(cfg["size"], nd)
        y = tuple(None if x[i] is None else x[i] * f[i] for i in range(nd)) + (cin,)
    elif cls.startswith(("GlobalAveragePooling", "GlobalMaxPooling")):
        y = (1,) * nd + (cin,) if cfg.get("keepdims") else (cin,)
    elif cls in ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D",
                 "SpatialDropout3D"):
        y = x
    elif cls == "Flatten":
        y = (flat(x, name),)
    elif cls == "Reshape":
        t = list(cfg["target_shape"])
        if -1 in t:
            known = math.prod(v for v in t if v != -1)
            t[t.index(-1)] = flat(x, name) // known
        assert flat(x, name) == math.prod(t), "%s: Reshape of %s to %s" % (name, x, t)
        y = tuple(t)
    elif cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        for s in ins:
            assert len(s) == len(x) and all(a == b or None in (a, b) for a, b in zip(s, x)), \
                "%s: %s of shapes %s" % (name, cls, ins)
        y = x
    elif cls == "Concatenate":
        axis = cfg.get("axis", -1)
        axis = axis % len(x) if axis < 0 else axis - 1  # Keras counts the batch axis
        for s in ins:
            assert len(s) == len(x) and all(a == b or None in (a, b) for i, (a, b) in enumerate(zip(s, x))
                                            if i != axis), "%s: Concatenate of shapes %s" % (name, ins)
        y = list(x)
        y[axis] = None if any(s[axis] is None for s in ins) else sum(s[axis] for s in ins)
        y = tuple(y)
    else:
        raise SystemExit("%s: no rule for class %s" % (name, cls))
    assert all(d is None or d > 0 for d in y), "%s: empty output %s" % (name, y)
    return y, w, stats


def tally(model, size=None):
    cfg = model["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]
    sequential = model["class_name"] == "Sequential"
    shapes, total, trainable, last = {}, 0, 0, None
    for i, layer in enumerate(layers):
        cls, lcfg = layer["class_name"], layer["config"]
        name = layer.get("name") or lcfg.get("name") or "layer_%d" % i
        srcs = inbound(layer)
        if srcs is None:
            if last is None or not sequential:
                bis = lcfg.get("batch_input_shape") or lcfg.get("batch_shape")
                if cls != "InputLayer":  # a first layer carrying its input shape
                    assert bis, name + ": no input"
                    last = sized(bis[1:], size)
                ins = [last] if last is not None and cls != "InputLayer" else []
            else:
                ins = [last]
        else:
            ins = [shapes[s] for s in srcs]
        y, w, stats = layer_shape(cls, lcfg, name, ins, size)
        frozen = lcfg.get("trainable", layer.get("trainable", True)) is False
        total += w + stats
        trainable += 0 if frozen else w
        shapes[name] = last = y
    outs = cfg.get("output_layers") if isinstance(cfg, dict) else None
    if outs and isinstance(outs[0], str):  # Keras 3 writes one output as ["name", 0, 0]
        outs = [outs]
    return total, trainable, shapes[outs[0][0]] if outs else last


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        net = json.load(f)
    if len(sys.argv) == 4 and sys.argv[2] == "--size":
        total, trainable, out = tally(net, [int(v) for v in sys.argv[3].split(",")])
        print(total, trainable, *out)
    else:
        print(*tally(net)[:2])
