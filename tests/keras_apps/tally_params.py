#!/usr/bin/env python3
"""Counts a Keras model.to_json() network's parameters the way Keras does,
from the JSON alone: an independent check of gen_keras_apps.py (its counts
must equal Keras' documented ones) and of `brisk summary`.

Walks the layers in file order, infers every output shape (H, W, C) from the
inbound layers, checks that merged shapes agree, and counts weights:
Conv2D k*k*Cin/groups*F (+F), Conv2DTranspose k*k*Cin*F (+F),
DepthwiseConv2D k*k*Cin*m (+Cin*m), Dense Cin*U (+U), BatchNormalization
4*C of which 2*C (gamma, beta) are trainable: the moving mean and variance
are not.

Usage: tally_params.py NET.json  ->  prints "TOTAL TRAINABLE"
"""
import json
import sys


def out_len(n, k, s, padding):
    return -(-n // s) if padding == "same" else (n - k) // s + 1


def tally(model):
    shapes, total, trainable = {}, 0, 0
    for layer in model["config"]["layers"]:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        ins = [shapes[t[0]] for t in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        x = ins[0] if ins else None
        w = 0
        if cls == "InputLayer":
            y = tuple(cfg["batch_input_shape"][1:])
        elif cls in ("Conv2D", "DepthwiseConv2D", "Conv2DTranspose"):
            (kh, kw), (sh, sw), pad = cfg["kernel_size"], cfg["strides"], cfg["padding"]
            assert cfg["dilation_rate"] == [1, 1], name
            cin = x[2]
            if cls == "Conv2D":
                cout = cfg["filters"]
                w = kh * kw * cin // cfg["groups"] * cout
            elif cls == "DepthwiseConv2D":
                cout = cin * cfg["depth_multiplier"]
                w = kh * kw * cout
            else:
                cout = cfg["filters"]
                w = kh * kw * cin * cout
            w += cout if cfg["use_bias"] else 0
            if cls == "Conv2DTranspose":
                grow = (lambda n, k, s: n * s) if pad == "same" else (lambda n, k, s: (n - 1) * s + k)
                y = (grow(x[0], kh, sh), grow(x[1], kw, sw), cout)
            else:
                y = (out_len(x[0], kh, sh, pad), out_len(x[1], kw, sw, pad), cout)
        elif cls == "Dense":
            assert len(x) == 1, name + ": Dense on an unflattened input"
            w = x[0] * cfg["units"] + cfg["units"]
            y = (cfg["units"],)
        elif cls == "BatchNormalization":
            assert cfg["center"] and cfg["scale"], name
            w = 4 * x[-1]
            trainable -= 2 * x[-1]
            y = x
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            (kh, kw), (sh, sw), pad = cfg["pool_size"], cfg["strides"], cfg["padding"]
            y = (out_len(x[0], kh, sh, pad), out_len(x[1], kw, sw, pad), x[2])
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            y = (x[0] + t + b, x[1] + l + r, x[2])
        elif cls == "UpSampling2D":
            y = (x[0] * cfg["size"][0], x[1] * cfg["size"][1], x[2])
        elif cls == "GlobalAveragePooling2D":
            y = (x[2],)
        elif cls in ("Activation", "ReLU"):
            y = x
        elif cls == "Add":
            assert all(s == x for s in ins), "%s: Add of shapes %s" % (name, ins)
            y = x
        elif cls == "Concatenate":
            assert cfg["axis"] in (-1, 3), name
            assert all(s[:2] == x[:2] for s in ins), "%s: Concatenate of shapes %s" % (name, ins)
            y = x[:2] + (sum(s[2] for s in ins),)
        else:
            raise SystemExit("%s: no rule for class %s" % (name, cls))
        assert all(d > 0 for d in y), "%s: empty output %s" % (name, y)
        shapes[name] = y
        total += w
        trainable += w
    return total, trainable


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(*tally(json.load(f)))
