# Nexu: `make run` builds and serves on 127.0.0.1:8080; `make test` builds with
# sanitizers and runs every test. Both install missing Debian packages first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test
RELEASE_TEST_DIR := build/release-tests
FUZZ_DIR := build/fuzz

.PHONY: run build test test-build release-test-build bench cluster fuzz soak format clean

build:
	scripts/install-deps.sh build
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
		-DNEXU_TESTS=OFF -DNEXU_BENCH=OFF
	cmake --build $(RELEASE_DIR) -j $(JOBS)

# A development server: db/ and logs/ here, a development key in .dev/ (created
# on first start, git-ignored, mode 0600).
run: build
	mkdir -p db logs
	NEXU_CREATE_KEY=$${NEXU_CREATE_KEY:-true} $(RELEASE_DIR)/app/nexu

# clang builds the sanitized tests about twice as fast as g++ and needs no
# warning exceptions inside Beast; the release build (g++) serves the tests
# that measure or crash the real server.
test-build:
	scripts/install-deps.sh test
	cmake -S . -B $(TEST_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DNEXU_SANITIZE=ON
	cmake --build $(TEST_DIR) -j $(JOBS)

# The crash, kill -9 and multi-instance tests need an optimised build (g++ -O2)
# to reach their load in bounded time; only those are configured there.
release-test-build:
	scripts/install-deps.sh test
	cmake -S . -B $(RELEASE_TEST_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_CXX_COMPILER=g++ -DNEXU_RELEASE_TESTS_ONLY=ON
	cmake --build $(RELEASE_TEST_DIR) -j $(JOBS)

test: test-build release-test-build
	cd $(TEST_DIR) && ctest -j $(JOBS) -LE release --output-on-failure --timeout 900
	cd $(RELEASE_TEST_DIR) && ctest -L release --output-on-failure --timeout 900

# Longer crash and multi-instance loops than `make test` runs.
soak: release-test-build
	tests/storage/kill9_test.sh $(RELEASE_TEST_DIR)/tests/storage/nexu_storage_driver 1000
	tests/storage/multi_instance_test.sh $(RELEASE_TEST_DIR)/tests/storage/nexu_storage_driver \
		300 10000

bench:
	scripts/install-deps.sh bench
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
		-DNEXU_TESTS=OFF -DNEXU_BENCH=ON
	cmake --build $(RELEASE_DIR) -j $(JOBS)
	bench/run.sh

cluster: build
	scripts/install-deps.sh test
	deploy/cluster.sh

fuzz:
	scripts/install-deps.sh test
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=clang++ -DNEXU_FUZZ=ON -DNEXU_SANITIZE=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	tests/fuzz/run.sh $(FUZZ_DIR) $${FUZZ_SECONDS:-600}

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
