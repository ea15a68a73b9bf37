# make run   — poll and serve the sources of ./config.yaml on 127.0.0.1:8080
# make demo  — the same with bundled sample feeds, no internet needed
# make test  — every test, installing what the tests need first
.PHONY: run demo test deps build

run:
	go run ./cmd/feedrelay serve -config config.yaml

demo:
	go run ./cmd/feedrelay serve -config examples/demo.yaml

build:
	CGO_ENABLED=0 go build -trimpath -o feedrelay ./cmd/feedrelay

deps:
	./scripts/install-test-deps
	go mod download

test: deps
	test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
	go vet ./...
	go run ./cmd/feedrelay check -config config.yaml
	go run ./cmd/feedrelay check -config examples/demo.yaml
	go test -race -count=1 ./...
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=10s -fuzzminimizetime=2s ./feeds
