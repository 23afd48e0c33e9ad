# Social insurance fee dispute joint-handling platform (社会保险费征缴争议联合处置平台).
SHELL := /bin/bash
.DEFAULT_GOAL := build

TOOLS := $(CURDIR)/.tools/bin
BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
PROTOC_GEN_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION   := v2.33.0
GRPCURL_VERSION        := v1.9.3

BINARIES := intake routing meeting archive gateway disputectl
PKG := github.com/xiaoyi-disputes/disputes
MODULES := proto platform intake routing meeting archive gateway disputectl bench e2e

.PHONY: build generate tools lint test test-short test-faults deps run run-cluster test-cluster bench-intake bench-lifecycle bench-floor bench-cluster bench-events bench-archive clean fmt vet

## build: compile every binary into ./bin
build:
	@mkdir -p bin
	go build -o bin/ $(PKG)/intake/cmd/intake $(PKG)/routing/cmd/routing $(PKG)/meeting/cmd/meeting \
		$(PKG)/archive/cmd/archive $(PKG)/gateway/cmd/gateway $(PKG)/disputectl/cmd/disputectl

## tools: install the pinned code generators into ./.tools/bin (Go module proxy only)
tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/protoc-gen-grpc-gateway $(TOOLS)/protoc-gen-openapiv2

$(TOOLS)/buf:
	GOBIN=$(TOOLS) GOWORK=off go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
$(TOOLS)/protoc-gen-grpc-gateway:
	GOBIN=$(TOOLS) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(TOOLS)/protoc-gen-openapiv2:
	GOBIN=$(TOOLS) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
$(TOOLS)/grpcurl:
	GOBIN=$(TOOLS) GOWORK=off go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

## generate: regenerate Go, gateway and OpenAPI code from proto/ (byte-identical on re-run)
generate: tools
	cd proto && $(TOOLS)/buf lint && $(TOOLS)/buf generate
	gofmt -l proto >/dev/null

## lint: buf lint, gofmt and go vet
lint: tools
	cd proto && $(TOOLS)/buf lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.'); exit 1)
	go vet $(addprefix ./,$(addsuffix /...,$(MODULES)))

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '\.pb\.')

vet:
	go vet $(addprefix ./,$(addsuffix /...,$(MODULES)))
	go vet -tags faults ./e2e/...

## deps: install redis-server and etcd from Debian when missing
deps:
	@scripts/deps.sh

## test: every unit, integration and end-to-end test, then the fault experiments and a short run of each fuzz target,
## with their own Redis and etcd
test: deps build
	go vet $(addprefix ./,$(addsuffix /...,$(MODULES)))
	DISPUTES_BIN=$(CURDIR)/bin go test -count=1 -timeout 12m $(addprefix ./,$(addsuffix /...,$(MODULES)))
	$(MAKE) --no-print-directory test-faults
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s

## test-faults: the fault experiments (e2e, build tag faults) against the real binaries: processes and Redis
## killed, restarted and paused under load; each prints its counts and a SUMMARY line (RUN=<regexp> picks some)
RUN ?= ^TestFault
test-faults: deps build
	go vet -tags faults ./e2e/...
	DISPUTES_BIN=$(CURDIR)/bin go test -tags faults -count=1 -timeout 15m -v -run '$(RUN)' ./e2e/

## test-cluster: the end-to-end lifecycle tests on the scaled topology (a Redis Cluster of three masters and three
## replicas, a three-member etcd cluster, two replicas of intake, routing, meeting and the archive behind two gateways),
## and whole lifecycles through both gateways while an intake replica, the region's Redis master, an etcd member, a
## routing replica, a meeting replica, a gateway and the archive's writer are killed in turn (CLUSTER_RUN=<regexp>
## picks the tests; .ci/run runs it after make test)
CLUSTER_RUN ?= ^Test(DisputeLifecycleOverGateway|JointMeetingOfficeOverGateway|MeetingReadsOverGateway|ArchiveStatisticsOverGateway|ClusterOutlivesFailures)$$
test-cluster: deps build
	DISPUTES_E2E_CLUSTER=1 DISPUTES_BIN=$(CURDIR)/bin go test -count=1 -timeout 15m -v -run '$(CLUSTER_RUN)' ./e2e/

## test-short: the same without the end-to-end suite
test-short: deps
	go test -count=1 -short $(addprefix ./,$(addsuffix /...,$(MODULES)))

## fuzz: each fuzz target for FUZZTIME (10s): masking of free text and phones, the ID number and credit code
## checks; their seed corpora (testdata/fuzz) also run with every `go test`
FUZZTIME ?= 10s
.PHONY: fuzz
fuzz:
	cd platform && go test ./mask -run '^$$' -fuzz '^FuzzString$$' -fuzztime $(FUZZTIME)
	cd platform && go test ./mask -run '^$$' -fuzz '^FuzzPhone$$' -fuzztime $(FUZZTIME)
	cd platform && go test ./names -run '^$$' -fuzz '^FuzzParseDispute$$' -fuzztime $(FUZZTIME)
	cd intake && go test ./internal/dispute -run '^$$' -fuzz '^FuzzCheckIDNumber$$' -fuzztime $(FUZZTIME)
	cd intake && go test ./internal/dispute -run '^$$' -fuzz '^FuzzCheckCreditCode$$' -fuzztime $(FUZZTIME)
	cd intake && go test ./internal/grpcapi -run '^$$' -fuzz '^FuzzPageToken$$' -fuzztime $(FUZZTIME)
	cd meeting && go test ./internal/grpcapi -run '^$$' -fuzz '^FuzzPageToken$$' -fuzztime $(FUZZTIME)
	cd routing && go test ./internal/grpcapi -run '^$$' -fuzz '^FuzzWorklistToken$$' -fuzztime $(FUZZTIME)
	cd gateway && go test ./internal/gateway -run '^$$' -fuzz '^FuzzRegistrationBody$$' -fuzztime $(FUZZTIME)
	cd archive && go test ./internal/sealedlog -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME)

## run: start Redis, etcd, the four services and the gateway (Ctrl-C stops all)
run: deps build $(TOOLS)/grpcurl
	@scripts/run.sh

## run-cluster: the same on a Redis Cluster (3 masters, 3 replicas), a three-member etcd cluster and two
## replicas of intake, routing and meeting behind the gateway (data under ./var-cluster; Ctrl-C stops all)
run-cluster: deps build $(TOOLS)/grpcurl
	@scripts/run-cluster.sh

## bench-intake: RegisterDispute over gRPC (50 clients, Redis appendfsync always) beside a bare gRPC echo
bench-intake: deps
	@scripts/bench-intake.sh

## bench-lifecycle: whole lifecycles over gRPC (50 clients, 60 s, Redis appendfsync always): lifecycles/s, latency,
## CPU and Redis commands per lifecycle, consumer lag, close -> sealed; non-zero exit when a target is missed
bench-lifecycle: deps
	@scripts/bench-lifecycle.sh

## bench-floor: the platform's shape with none of its work (gRPC, one durable Redis write per call, the consumer
## groups applying one write per event) driven with a lifecycle's five calls: the floor under bench-lifecycle
bench-floor: deps
	@scripts/bench-floor.sh

## bench-cluster: the same through the topology of make run-cluster (a Redis Cluster of 3 masters and 3 replicas,
## 3 etcd members, 2 replicas of each service called in turn); Redis commands summed over the masters
bench-cluster: deps
	@TOPOLOGY=cluster scripts/bench-lifecycle.sh

## bench-events: each consumer group applying a backlog of real events (N disputes' worth); events/s per group
bench-events: deps
	@scripts/bench-events.sh

## bench-archive: dossiers sealed per second: the sealed log alone, batches of ~4 KB dossiers on this machine's
## disk; then one sealer tick end to end (Redis read, log, Redis mark) over TICK closed dossiers
SEALS ?= 32768
TICK ?= 5000
bench-archive: deps
	go test -count=1 -run '^$$' -bench 'BenchmarkSealBatch' -benchtime $(SEALS)x ./archive/internal/sealedlog/ 2>/dev/null | \
		grep -E '^(Benchmark|cpu|ok|FAIL)'
	go test -count=1 -run '^$$' -bench 'BenchmarkSealDue' -benchtime $(TICK)x ./archive/internal/sealing/ 2>/dev/null | \
		grep -E '^(Benchmark|ok|FAIL)'
	go test -count=1 -run '^$$' -bench 'BenchmarkStatistics' -benchtime 50x ./archive/internal/store/ 2>/dev/null | \
		grep -E '^(Benchmark|ok|FAIL)'

clean:
	rm -rf bin var
