"""Writes Keras 2 Functional `model.to_json()` networks without Keras.

The example generators (examples/*/make_*_json.py) build their networks
with these helpers so each JSON file is reproducible from plain python3.
Every layer carries the keys a real tf.keras 2.x export has (dtype,
initializers, regularizers, constraints), so brisk reads what users have,
not a trimmed dialect.
"""
import json

GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
_NO_REG = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
           "kernel_constraint": None, "bias_constraint": None}


class Net:
    """Accumulates layers; each call returns the new layer's name so that
    graphs read like the Keras functional API."""

    def __init__(self, name):
        self.name = name
        self.layers = []
        self.inputs = []

    def _add(self, cls, name, inbound, **cfg):
        if any(l["name"] == name for l in self.layers):
            raise ValueError(f"duplicate layer name {name}")
        config = {"name": name, "trainable": True, "dtype": "float32", **cfg}
        nodes = [[[src, 0, 0, {}] for src in inbound]] if inbound else []
        self.layers.append({"class_name": cls, "config": config, "name": name, "inbound_nodes": nodes})
        return name

    def input(self, name, shape):
        self.inputs.append(name)
        return self._add("InputLayer", name, [], batch_input_shape=[None, *shape], sparse=False, ragged=False)

    def conv(self, name, x, filters, k, padding="valid", activation="linear", use_bias=True, strides=1):
        return self._add("Conv2D", name, [x], filters=filters, kernel_size=[k, k], strides=[strides, strides],
                         padding=padding, data_format="channels_last", dilation_rate=[1, 1], groups=1,
                         activation=activation, use_bias=use_bias, kernel_initializer=GLOROT,
                         bias_initializer=ZEROS, **_NO_REG)

    def conv_t(self, name, x, filters, k, strides=1, padding="valid", activation="linear"):
        return self._add("Conv2DTranspose", name, [x], filters=filters, kernel_size=[k, k],
                         strides=[strides, strides], padding=padding, output_padding=None,
                         data_format="channels_last", dilation_rate=[1, 1], groups=1, activation=activation,
                         use_bias=True, kernel_initializer=GLOROT, bias_initializer=ZEROS, **_NO_REG)

    def dense(self, name, x, units, activation="linear"):
        return self._add("Dense", name, [x], units=units, activation=activation, use_bias=True,
                         kernel_initializer=GLOROT, bias_initializer=ZEROS, **_NO_REG)

    def bn(self, name, x, rank=4):
        return self._add("BatchNormalization", name, [x], axis=[rank - 1], momentum=0.99, epsilon=1e-3,
                         center=True, scale=True, beta_initializer=ZEROS,
                         gamma_initializer={"class_name": "Ones", "config": {}},
                         moving_mean_initializer=ZEROS,
                         moving_variance_initializer={"class_name": "Ones", "config": {}},
                         beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                         gamma_constraint=None)

    def maxpool(self, name, x, k=2):
        return self._add("MaxPooling2D", name, [x], pool_size=[k, k], padding="valid", strides=[k, k],
                         data_format="channels_last")

    def upsample(self, name, x, k=2):
        return self._add("UpSampling2D", name, [x], size=[k, k], data_format="channels_last",
                         interpolation="nearest")

    def reshape(self, name, x, shape):
        return self._add("Reshape", name, [x], target_shape=list(shape))

    def flatten(self, name, x):
        return self._add("Flatten", name, [x], data_format="channels_last")

    def dot(self, name, a, b, axes):
        return self._add("Dot", name, [a, b], axes=axes, normalize=False)

    def softmax(self, name, x, axis=-1):
        return self._add("Softmax", name, [x], axis=axis)

    def activation(self, name, x, act):
        return self._add("Activation", name, [x], activation=act)

    def leaky(self, name, x, alpha):
        return self._add("LeakyReLU", name, [x], alpha=alpha)

    def add(self, name, xs):
        return self._add("Add", name, xs)

    def concat(self, name, xs, axis=-1):
        return self._add("Concatenate", name, xs, axis=axis)

    def to_json(self, output):
        return {"class_name": "Functional",
                "config": {"name": self.name, "layers": self.layers,
                           "input_layers": [[n, 0, 0] for n in self.inputs],
                           "output_layers": [[output, 0, 0]]},
                "keras_version": "2.13.1", "backend": "tensorflow"}


def write(path, model):
    """One layer per line: diffs of the committed files stay readable."""
    layers = model["config"]["layers"]
    head = dict(model, config=dict(model["config"], layers="@LAYERS@"))
    text = json.dumps(head)
    body = ",\n  ".join(json.dumps(l) for l in layers)
    with open(path, "w") as f:
        f.write(text.replace('"@LAYERS@"', "[\n  " + body + "\n]") + "\n")
