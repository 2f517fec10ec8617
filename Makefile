# dropday — the two commands that matter: `make run` and `make test`.
GO ?= go
DATA_DIR ?= ./data

.PHONY: run demo build test generate lint fmt bench clean

## run: start dropday on SQLite in ./data (prints a one-time setup URL on first start)
run: generate
	$(GO) run ./cmd/dropday serve

## demo: dropday with a local Spotify stand-in and a seeded link releasing in 10 minutes
demo: generate
	$(GO) run ./cmd/dropday demo

## build: a static binary in bin/dropday
build: generate
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/dropday ./cmd/dropday

## test: every test, with the race detector. Browser tests need Chromium and
## PostgreSQL tests DROPDAY_TEST_POSTGRES_DSN; without them they skip loudly (CI fails instead).
test: generate
	$(GO) test -race -count=1 -timeout 20m ./...

## bench: the public pages (landing, smart link, signup, static ceiling),
## release day at scale (100,000 pre-saves, SQLite and, with
## DROPDAY_TEST_POSTGRES_DSN, PostgreSQL), its email, and release day under
## fan load; prints every row against its target (BENCHMARKS.md).
## Not part of `make test`. Knobs: make bench BENCH_FLAGS="-n 20000 -day-n 20000".
bench: generate
	$(GO) run ./cmd/dropday-bench $(BENCH_FLAGS)

## generate: templ components → *_templ.go (committed)
generate:
	$(GO) tool templ generate -log-level error

## lint: go vet, gofmt and templ generate must leave no diff
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) tool templ generate -log-level error
	@git diff --exit-code -- '*_templ.go' || (echo "templ generate changed files: commit them"; exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt views

clean:
	rm -rf bin
