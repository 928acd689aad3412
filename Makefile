# Custos. The two set-up commands are `make run` and `make test`.
GO        ?= go
BIN       := bin/custos
PG_ADMIN  ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
# PostgreSQL tests create (and drop) a fresh database per run through this DSN.
export CUSTOS_TEST_POSTGRES ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo '$(PG_ADMIN)')

.PHONY: build chromium run test test-short race fuzz fuzz-smoke bench bench-smoke lint clean

build:
	$(GO) build -o $(BIN) ./cmd/custos

## run: the whole system on the embedded SQLite store under ./data.
run: build
	./$(BIN) dev --data data

## chromium: Debian's Chromium for the web UI's browser tests (pinned;
## installed with apt-get when missing, kept between runs).
chromium:
	@./scripts/install-chromium.sh

## test: the whole suite, with the race detector, including PostgreSQL and
## the browser tests.
test: build chromium
	@if [ -z "$$CUSTOS_TEST_POSTGRES" ]; then \
		echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'; \
		echo '!! PostgreSQL is not answering on 127.0.0.1:5432: the PostgreSQL   !!'; \
		echo '!! store tests will be SKIPPED. .ci/run starts it; locally run:     !!'; \
		echo '!!   pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start'; \
		echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'; \
	else echo "custos: PostgreSQL tests enabled ($$CUSTOS_TEST_POSTGRES)"; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) --no-print-directory fuzz-smoke bench-smoke

## fuzz: long fuzzing of every decoder of untrusted input (FUZZTIME each).
FUZZTIME ?= 2m
FUZZ_TARGETS := \
	./approvals/intent:FuzzParseTransfer ./approvals/intent:FuzzParseAmount \
	./approvals:FuzzParseMessage ./approvals:FuzzCertificateVerify ./approvals:FuzzVerifyAssertion ./approvals/proof:FuzzProofParse \
	./approvals/policy:FuzzParse ./approvals/policy:FuzzToEURCents \
	./audit:FuzzParseLine ./audit:FuzzVerify ./audit:FuzzVerifyMutation \
	./coordinator/httpapi:FuzzSubmitBody \
	./hd:FuzzParseExtendedKey ./hd:FuzzParsePath ./hd:FuzzMnemonic \
	./internal/auth:FuzzParseAPIKey ./internal/auth:FuzzVerifyPasswordParse ./internal/auth:FuzzHashSessionToken \
	./internal/seal:FuzzOpen ./webhook:FuzzVerify \
	./frost:FuzzDecodeElement ./frost:FuzzDecodeScalar ./frost:FuzzSignCommitmentList \
	./dkg:FuzzUnmarshalRound1 ./dkg:FuzzUnmarshalRound2
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

# The smoke run counts executions rather than time: a time-limited run can
# end in "context deadline exceeded" when the deadline lands while the
# fuzzer handles a new input, which would make CI flaky.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

## bench: the performance figures quoted in the README.
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./approvals/policy/ ./audit/ ./coordinator/ ./coordinator/webui/ ./store/... ./frost/ ./dkg/ | tee bench.out
	$(GO) run ./cmd/loadgen -duration 20s -concurrency 1
	$(GO) run ./cmd/loadgen -duration 20s -concurrency 2
	@if [ -n "$$CUSTOS_TEST_POSTGRES" ]; then $(GO) run ./cmd/loadgen -duration 20s -concurrency 1 -postgres "$$CUSTOS_TEST_POSTGRES"; \
	else echo "bench: PostgreSQL not answering; its load run is skipped"; fi
	$(GO) run ./cmd/loadgen -frost 2-3,3-5,5-7,7-10 -dkg-runs 5 -signs 200 -duration 10s -frost-concurrency 1,4,8

bench-smoke:
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./approvals/policy/ ./audit/ ./coordinator/ ./coordinator/webui/ ./store/... ./frost/ ./dkg/ > /dev/null
	$(GO) run ./cmd/loadgen -duration 2s -warmup 1s -concurrency 1 > /dev/null
	$(GO) run ./cmd/loadgen -frost 2-3 -dkg-runs 1 -signs 5 -duration 1s -frost-concurrency 2 > /dev/null

clean:
	rm -rf bin data bench.out
