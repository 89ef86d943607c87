"""The benchmark networks, each as a Keras model.to_json() document for
brisk and as the equivalent PyTorch module (same layers, same work)."""
import json
import os
import sys

import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _layer(cls, name, cfg, inbound=None):
    cfg = dict(cfg, name=name)
    d = {"class_name": cls, "name": name, "config": cfg}
    if inbound is not None:
        d["inbound_nodes"] = [[[i, 0, 0, {}] for i in inbound]]
    return d


class Net:
    """Collects Functional layers in order."""

    def __init__(self, name, input_shape):
        self.name, self.layers = name, []
        self.add("InputLayer", "input", {"batch_input_shape": [None] + list(input_shape)}, [])

    def add(self, cls, name, cfg, inbound):
        self.layers.append(_layer(cls, name, cfg, inbound))
        return name

    def json(self, out):
        return {"class_name": "Functional", "config": {"name": self.name, "layers": self.layers,
                "input_layers": [["input", 0, 0]], "output_layers": [[out, 0, 0]]}}


def fashion_cnn():
    n = Net("fashion_cnn", [28, 28, 1])
    x = n.add("Conv2D", "conv1", {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}, ["input"])
    x = n.add("MaxPooling2D", "pool1", {"pool_size": 2}, [x])
    x = n.add("Conv2D", "conv2", {"filters": 64, "kernel_size": 3, "padding": "same", "activation": "relu"}, [x])
    x = n.add("MaxPooling2D", "pool2", {"pool_size": 2}, [x])
    x = n.add("Flatten", "flatten", {}, [x])
    x = n.add("Dense", "fc1", {"units": 128, "activation": "relu"}, [x])
    x = n.add("Dense", "fc2", {"units": 10}, [x])
    torch_net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return n.json(x), torch_net, (1, 28, 28)


class _Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(y + (self.short(x) if self.short is not None else x))


def resnet18(size=64):
    n = Net("resnet18", [size, size, 3])
    x = n.add("Conv2D", "stem", {"filters": 64, "kernel_size": 7, "strides": 2, "padding": "same", "use_bias": False}, ["input"])
    x = n.add("BatchNormalization", "stem_bn", {}, [x])
    x = n.add("Activation", "stem_relu", {"activation": "relu"}, [x])
    x = n.add("MaxPooling2D", "stem_pool", {"pool_size": 3, "strides": 2, "padding": "same"}, [x])
    blocks, cin = [], 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for b in range(2):
            stride = 2 if (b == 0 and stage > 0) else 1
            p = f"s{stage}b{b}"
            y = n.add("Conv2D", p + "_c1", {"filters": cout, "kernel_size": 3, "strides": stride, "padding": "same", "use_bias": False}, [x])
            y = n.add("BatchNormalization", p + "_bn1", {}, [y])
            y = n.add("Activation", p + "_r1", {"activation": "relu"}, [y])
            y = n.add("Conv2D", p + "_c2", {"filters": cout, "kernel_size": 3, "padding": "same", "use_bias": False}, [y])
            y = n.add("BatchNormalization", p + "_bn2", {}, [y])
            s = x
            if stride != 1 or cin != cout:
                s = n.add("Conv2D", p + "_sc", {"filters": cout, "kernel_size": 1, "strides": stride, "use_bias": False}, [x])
                s = n.add("BatchNormalization", p + "_scbn", {}, [s])
            y = n.add("Add", p + "_add", {}, [y, s])
            x = n.add("Activation", p + "_out", {"activation": "relu"}, [y])
            blocks.append(_Block(cin, cout, stride))
            cin = cout
    x = n.add("GlobalAveragePooling2D", "gap", {}, [x])
    x = n.add("Dense", "fc", {"units": 10}, [x])
    torch_net = nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))
    return n.json(x), torch_net, (3, size, size)


def _example_json(name, file):
    with open(os.path.join(ROOT, "examples", name, file)) as f:
        return json.load(f)


def braggnn():
    """The example network (examples/braggnn) and the published PyTorch
    module it was checked against (tests/parity/models_science.py)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
    import models_science  # noqa: E402
    return _example_json("braggnn", "braggnn.json"), models_science.PublishedBraggNN(), (1, 11, 11)


def cookienetae():
    """The example network (examples/cookienetae): Conv2D encoder, Conv2DTranspose decoder."""
    layers, cin = [], 1
    for i, c in enumerate((16, 32, 64, 128)):
        layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU()] + ([nn.MaxPool2d(2)] if i < 3 else [])
        cin = c
    for c in (128, 64, 32):
        layers += [nn.ConvTranspose2d(cin, c, 2, stride=2), nn.ReLU()]
        cin = c
    layers += [nn.ConvTranspose2d(32, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 3, padding=1), nn.ReLU()]
    return _example_json("cookienetae", "cookienetae.json"), nn.Sequential(*layers), (1, 128, 128)


MODELS = {
    # name: (builder, train batch, inference batch, loss)
    "fashion_cnn": (fashion_cnn, 128, 1024, "nll"),
    "resnet18_64": (resnet18, 32, 128, "nll"),
    "braggnn": (braggnn, 512, 4096, "mse"),
    "cookienetae": (cookienetae, 32, 64, "mse"),
}
