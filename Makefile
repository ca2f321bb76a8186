# The two front-door commands: `make run` and `make test`.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all build run test test-build release-check unit e2e fuzz bootstrap format check clean bench

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTOS_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# First run: a development .env with a fresh random secret, so that
# `build/agentos token ...` and the server agree on it.
.env:
	@printf 'AGENTOS_ENV=development\nBETTER_AUTH_SECRET=%s\n' "$$(openssl rand -hex 32)" > .env
	@echo "make: wrote .env (development, random BETTER_AUTH_SECRET)"

# Quiet: what bootstrap installs, the build's errors (only when it fails),
# then the server's own start banner.
run: bootstrap .env
	@echo "make run: building $(BUILD)/agentos"
	@log=$$(mktemp); \
	if { cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTOS_TESTS=OFF && \
	     cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory; } >"$$log" 2>&1; then \
	  rm -f "$$log"; \
	else \
	  grep -vE '^\[ *[0-9]+%\]|^-- |^g?make(\[[0-9]+\])?: (Entering|Leaving)' "$$log" >&2; \
	  rm -f "$$log"; echo "make run: the build failed" >&2; exit 1; \
	fi
	@exec "$(abspath $(BUILD))/agentos"

test-build:
	@scripts/bootstrap --test
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAGENTOS_SANITIZE=ON -DAGENTOS_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

# Tests that need PostgreSQL or Redis get throw-away servers from
# with_services.sh (or TEST_DATABASE_URL / TEST_REDIS_URL when set).
SERVICES = tests/support/with_services.sh

unit: test-build
	$(SERVICES) sh -c 'cd $(TEST_BUILD) && ctest --output-on-failure'

# The fuzz targets over their seed corpora (tests/fuzz/README.md); make
# test runs them too, as ctest's fuzz_smoke_* tests.
fuzz: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -L fuzz

# tests/compat measures the server against the real agno 3.1.10 (its app,
# schemas and client, installed in the venv by bootstrap --test).
PYTESTS = tests/e2e tests/compat

e2e: test-build
	AGENTOS_BIN=$(CURDIR)/$(TEST_BUILD)/agentos $(SERVICES) .venv/bin/python -m pytest -q $(PYTESTS)

# The image builds with -O3 (Release), where GCC warns of more: keep it building.
release-check:
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DAGENTOS_TESTS=OFF >/dev/null
	@cmake --build build-release -j $(JOBS) >/dev/null

test: test-build release-check
	$(SERVICES) sh -c 'cd $(TEST_BUILD) && ctest --output-on-failure && cd $(CURDIR) && \
	  AGENTOS_BIN=$(CURDIR)/$(TEST_BUILD)/agentos .venv/bin/python -m pytest -q $(PYTESTS)'

# The static checks (scripts/check/run): format, the strict-warning build,
# clang-tidy, cppcheck and function lengths; a summary line for each.
check: test-build
	@scripts/bootstrap --check
	@BUILD=$(TEST_BUILD) JOBS=$(JOBS) scripts/check/run

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

# Ours beside nginx (and the other anchors) on this machine; prints one table and
# writes bench/RESULTS.md. Not part of `make test`: it measures, it asserts nothing.
bench: build
	@bench/run

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-release
