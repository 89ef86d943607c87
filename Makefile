# Entry points for the README's commands. The dependencies are installed by
# scripts/install-deps.sh (run it first on a fresh machine, as the README says).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBRISK_WERROR=ON

.PHONY: all build fashion-mnist braggnn cookienetae unet test test-sanitize clean

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# The main job: train the Fashion-MNIST CNN and print its test accuracy.
fashion-mnist: build
	cd examples/fashion-mnist && ../../$(BUILD)/brisk --config=config.json
	@tail -n 1 examples/fashion-mnist/out_fashion_test.txt | \
	  awk '{printf "Fashion-MNIST test accuracy after %d epochs: %.2f%%\n", $$1, 100*$$3}'

# The scientific examples: simulate the data (seeded, C + libhdf5), train,
# write the test predictions to HDF5, and score them against the known truth
# and a classic baseline computed on the same inputs.
EX = ../../$(BUILD)/examples
BRISK = ../../$(BUILD)/brisk

# BraggNN: Bragg peak centres (px error percentiles vs the intensity centroid).
# The published recipe (Adam 3e-4, batch 512, zero biases) learns slowly:
# the output bias alone needs ~1,500 steps to reach the patch centre.
braggnn: build
	cd examples/braggnn && $(EX)/braggnn_sim --out=train.h5 --n=40000 --seed=1 && \
	  $(EX)/braggnn_sim --out=test.h5 --n=5000 --seed=2
	cd examples/braggnn && $(BRISK) --config=config.json && $(BRISK) --config=infer.json
	cd examples/braggnn && $(EX)/braggnn_eval --test=test.h5 --pred=pred.h5

# CookieNetAE: denoising streaking spectra (test MSE vs a smoothed input).
cookienetae: build
	cd examples/cookienetae && $(EX)/cookie_sim --out=train.h5 --n=2000 --seed=1 && \
	  $(EX)/cookie_sim --out=test.h5 --n=200 --seed=2
	cd examples/cookienetae && $(BRISK) --config=config.json && $(BRISK) --config=infer.json
	cd examples/cookienetae && $(EX)/cookie_eval --test=test.h5 --pred=pred.h5

# UNet: segmenting simulated shapes (Dice vs thresholding).
unet: build
	cd examples/unet && $(EX)/unet_sim --out=train.h5 --n=2000 --seed=1 && \
	  $(EX)/unet_sim --out=test.h5 --n=300 --seed=2
	cd examples/unet && $(BRISK) --config=config.json && $(BRISK) --config=infer.json
	cd examples/unet && $(EX)/unet_eval --test=test.h5 --pred=pred.h5

# The whole suite: unit, gradient checks, PyTorch parity, end-to-end.
test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
# but for the long training runs labelled "heavy" (tests/CMakeLists.txt),
# whose code paths the other tests cover.
test-sanitize:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBRISK_WERROR=ON -DBRISK_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j2 -LE heavy

clean:
	rm -rf build build-asan
