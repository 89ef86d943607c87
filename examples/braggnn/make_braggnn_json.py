"""Generates braggnn.json: BraggNN (Liu et al., IUCrJ 2022) as a Keras 2
Functional network, channels_last, input 11x11x1. Run: python3 make_braggnn_json.py

The non-local (attention) block of the PyTorch original
    theta = conv1x1(x).view(B,32,81).permute(0,2,1)        # (B,81,32)
    phi   = conv1x1(x).view(B,32,81)                       # (B,32,81)
    f     = softmax(theta @ phi, dim=-1)                   # (B,81,81)
    y     = (f @ g.view(B,32,81).permute(0,2,1))           # (B,81,32)
    z     = conv1x1(y.permute(0,2,1).view(B,32,9,9)) + x
is written with Keras layers: Reshape (9,9,32)->(81,32) keeps the 81
positions in row-major order (as torch's view does), Dot(axes=2) of theta
and phi contracts the 32 channels, Softmax(axis=-1) normalises over the 81
keys, Dot(axes=(2,1)) with g sums over them.

Parameters (weights + biases), 33,172 in all, as published:
    conv1      3x3, 1->64        64*9    + 64 =    640
    nlb_theta  1x1, 64->32       64*32   + 32 =  2,080
    nlb_phi    1x1, 64->32                       2,080
    nlb_g      1x1, 64->32                       2,080
    nlb_w      1x1, 32->64       32*64   + 64 =  2,112
    conv2      3x3, 64->32       64*32*9 + 32 = 18,464
    conv3      3x3, 32->8        32*8*9  + 8  =  2,312
    fc1        200->16           200*16  + 16 =  3,216
    fc2        16->8             16*8    + 8  =    136
    fc3        8->4              8*4     + 4  =     36
    fc4        4->2              4*2     + 2  =     10
    fc_out     2->2              2*2     + 2  =      6
                                        total   33,172
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import keras_json  # noqa: E402

SLOPE = 0.01
EXPECTED_PARAMS = 33172


def build():
    n = keras_json.Net("braggnn")
    x = n.input("patch", (11, 11, 1))
    c1 = n.conv("conv1", x, 64, 3)                                   # 9x9x64, no activation
    theta = n.reshape("nlb_theta_flat", n.conv("nlb_theta", c1, 32, 1), (81, 32))
    phi = n.reshape("nlb_phi_flat", n.conv("nlb_phi", c1, 32, 1), (81, 32))
    g = n.reshape("nlb_g_flat", n.conv("nlb_g", c1, 32, 1), (81, 32))
    scores = n.dot("nlb_scores", theta, phi, axes=2)                 # (81, 81)
    attn = n.softmax("nlb_attention", scores, axis=-1)
    y = n.dot("nlb_y", attn, g, axes=[2, 1])                         # (81, 32)
    y = n.conv("nlb_w", n.reshape("nlb_y_map", y, (9, 9, 32)), 64, 1)
    h = n.leaky("nlb_act", n.add("nlb_add", [y, c1]), SLOPE)
    h = n.leaky("conv2_act", n.conv("conv2", h, 32, 3), SLOPE)       # 7x7x32
    h = n.leaky("conv3_act", n.conv("conv3", h, 8, 3), SLOPE)        # 5x5x8
    h = n.flatten("flatten", h)                                      # 200
    for name, units in (("fc1", 16), ("fc2", 8), ("fc3", 4), ("fc4", 2)):
        h = n.leaky(name + "_act", n.dense(name, h, units), SLOPE)
    out = n.dense("fc_out", h, 2)                                    # (row, col) / 11
    return n.to_json(out)


def count_params(model):
    """Parameter count from the JSON alone (Conv2D/Dense only occur here)."""
    shapes = {}
    total = 0
    for l in model["config"]["layers"]:
        c, name = l["config"], l["name"]
        src = l["inbound_nodes"][0][0][0] if l["inbound_nodes"] else None
        if l["class_name"] == "InputLayer":
            shapes[name] = c["batch_input_shape"][1:]
        elif l["class_name"] == "Conv2D":
            cin = shapes[src][-1]
            k = c["kernel_size"]
            total += cin * c["filters"] * k[0] * k[1] + c["filters"]
            hw = [s - k[i] + 1 for i, s in enumerate(shapes[src][:2])] if c["padding"] == "valid" else shapes[src][:2]
            shapes[name] = hw + [c["filters"]]
        elif l["class_name"] == "Dense":
            total += shapes[src][-1] * c["units"] + c["units"]
            shapes[name] = [c["units"]]
        elif l["class_name"] == "Reshape":
            shapes[name] = c["target_shape"]
        elif l["class_name"] == "Flatten":
            p = 1
            for d in shapes[src]:
                p *= d
            shapes[name] = [p]
        elif l["class_name"] == "Dot":
            a, b = (i[0] for i in l["inbound_nodes"][0])
            shapes[name] = [shapes[a][0], shapes[b][-1] if c["axes"] == [2, 1] else shapes[b][0]]
        else:
            shapes[name] = shapes[src]
    return total


if __name__ == "__main__":
    model = build()
    n = count_params(model)
    if n != EXPECTED_PARAMS:
        sys.exit(f"braggnn: {n} parameters, expected {EXPECTED_PARAMS}")
    keras_json.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "braggnn.json"), model)
    print(f"wrote braggnn.json ({n} parameters)")
