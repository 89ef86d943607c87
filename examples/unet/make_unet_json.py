"""Generates unet.json: a small 2D UNet for the shapes example, Keras 2
Functional, channels_last, input 64x64x1, 4 classes (background, disc,
square, triangle). Run: python3 make_unet_json.py

    enc1  (Conv2D 3x3 same no bias, BatchNormalization, ReLU) x 2, 16   64x64
    pool1 MaxPooling2D 2; enc2 the same block, 32                       32x32
    pool2 MaxPooling2D 2; mid, 64                                       16x16
    up2   UpSampling2D 2 (nearest); cat2 Concatenate [up2, enc2];
          dec2, 32                                                      32x32
    up1   Conv2DTranspose 16 2x2 stride 2; cat1 Concatenate [up1, enc1];
          dec1, 16                                                      64x64
    head  Conv2D 1x1, 4 classes, log_softmax per pixel (for NLL, or Dice
          with source "log_softmax")
Both upsampling kinds are used on purpose, so the example exercises both.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import keras_json  # noqa: E402

CLASSES = 4


def build(size=64):
    n = keras_json.Net("unet")

    def block(name, h, filters):
        for i in (1, 2):
            h = n.conv(f"{name}_conv{i}", h, filters, 3, padding="same", use_bias=False)
            h = n.activation(f"{name}_relu{i}", n.bn(f"{name}_bn{i}", h), "relu")
        return h

    x = n.input("image", (size, size, 1))
    d1 = block("enc1", x, 16)
    d2 = block("enc2", n.maxpool("pool1", d1), 32)
    m = block("mid", n.maxpool("pool2", d2), 64)
    h = block("dec2", n.concat("cat2", [n.upsample("up2", m), d2]), 32)
    h = block("dec1", n.concat("cat1", [n.conv_t("up1", h, 16, 2, strides=2), d1]), 16)
    return n.to_json(n.conv("head", h, CLASSES, 1, activation="log_softmax"))


if __name__ == "__main__":
    keras_json.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "unet.json"), build())
    print("wrote unet.json")
