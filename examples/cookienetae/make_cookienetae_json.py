"""Generates cookienetae.json: CookieNetAE, the denoising autoencoder of the
LCLS angular-streaking (CookieBox) spectrometer, as a Keras 2 Functional
network, channels_last, input 128x128x1 (angles x energies).
Run: python3 make_cookienetae_json.py

    enc1..enc4  Conv2D 3x3 same, 1->16->32->64->128, ReLU; MaxPooling2D 2
                after the first three (128x128 -> 16x16)
    dec1..dec3  Conv2DTranspose 2x2 stride 2 (valid), 128->128->64->32, ReLU
                (16x16 -> 128x128)
    dec4        Conv2DTranspose 3x3 stride 1 same (padding 1), 32->16, ReLU
    out         Conv2D 3x3 same, 16->1, ReLU (the density is non-negative)

Parameters: enc 160 + 4,640 + 18,496 + 73,856; dec 65,664 + 32,832 +
8,224 + 4,624; out 145: 208,641 in all.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import keras_json  # noqa: E402


def build(size=128):
    n = keras_json.Net("cookienetae")
    h = n.input("image", (size, size, 1))
    for i, f in enumerate((16, 32, 64, 128)):
        h = n.conv(f"enc{i + 1}", h, f, 3, padding="same", activation="relu")
        if i < 3:
            h = n.maxpool(f"pool{i + 1}", h)
    for i, f in enumerate((128, 64, 32)):
        h = n.conv_t(f"dec{i + 1}", h, f, 2, strides=2, padding="valid", activation="relu")
    h = n.conv_t("dec4", h, 16, 3, strides=1, padding="same", activation="relu")
    return n.to_json(n.conv("out", h, 1, 3, padding="same", activation="relu"))


if __name__ == "__main__":
    keras_json.write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cookienetae.json"), build())
    print("wrote cookienetae.json")
