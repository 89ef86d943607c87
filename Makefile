# Entry points for the README's commands. The dependencies are installed by
# scripts/install-deps.sh (run it first on a fresh machine, as the README says).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBRISK_WERROR=ON

.PHONY: all build fashion-mnist test test-sanitize clean

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# The main job: train the Fashion-MNIST CNN and print its test accuracy.
fashion-mnist: build
	cd examples/fashion-mnist && ../../$(BUILD)/brisk --config=config.json
	@tail -n 1 examples/fashion-mnist/out_fashion_test.txt | \
	  awk '{printf "Fashion-MNIST test accuracy after %d epochs: %.2f%%\n", $$1, 100*$$3}'

# The whole suite: unit, gradient checks, PyTorch parity, end-to-end.
test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DBRISK_WERROR=ON -DBRISK_SANITIZE=ON"

clean:
	rm -rf build build-asan
