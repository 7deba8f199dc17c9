# luffy-pay — developer entry points. The work is done by scripts/*.sh; see docs/ARCHITECTURE.md.
#   make up                 start the dev stack (http://127.0.0.1:8080), idempotent
#   make down               stop the dev stack (data in var/dev stays)
#   make status             what runs in the dev stack (fails when a part of it is down)
#   make token [USER=<id>]  print a JWT for a user of the dev stack (default 1); STACK=test: the test stack
#   make test               lint, unit tests, a fuzz smoke, then integration tests against a fresh private stack
#   make lint               swift format lint (.swift-format) and shellcheck on scripts/
#   make format             swift format the Swift sources in place (fixes make lint's layout findings)
#   make bench              wrk through nginx against the dev stack
#   make bench-ceiling      what the database alone sustains for each endpoint's statements (README, "The database's ceiling")
#   make bench-scale        a year of data (1,000,000 orders) in the dev stack, the bench beside the small data's (docs/SCALE.md)
#   make fuzz               each libFuzzer target in Fuzz/ for FUZZ_SECONDS (default 300)
#   make fuzz-api           schemathesis against the test stack, FUZZ_API_EXAMPLES (default 500) per operation
#   make deps               install missing Debian packages
#   make deploy-check       deploy/README.md's static build against its package and ldd lists
#   make cluster-up         start the cluster stack: 3 Galera nodes, 2 app instances (8080 balanced, 8081, 8082)
#   make cluster-down       stop the cluster stack (data in var/cluster stays); make cluster-status: what runs
#   make cluster-test       tests/cluster against a fresh private cluster stack (var/cluster-test, ports 28080…)
#   make bench-cluster      orders and settlements/s through one instance vs both, spread vs single, failover gap

SHELL := /bin/bash

# Swift is installed in /opt/swift on our machines.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

# USER is also the login name in the environment: only a USER= given to make counts.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),1)
# status and token: the dev stack, or the one named by STACK= on the command line (the tests use the
# test stack's; an environment variable STACK does not count either).
STACK_NAME := $(if $(filter command line,$(origin STACK)),$(STACK),dev)

.DEFAULT_GOAL := help
.PHONY: help up down status token test lint format bench bench-ceiling bench-scale fuzz fuzz-api deps deploy-check
.PHONY: cluster-up cluster-down cluster-status cluster-test bench-cluster

help:
	@sed -n '2,19s/^# \{0,1\}//p' Makefile

up:
	@scripts/stack.sh dev up
	@scripts/stack.sh dev summary

down:
	@scripts/stack.sh dev down

status:
	@scripts/stack.sh $(STACK_NAME) status

token:
	@scripts/stack.sh $(STACK_NAME) token $(TOKEN_USER)

test:
	@scripts/test.sh

lint:
	@scripts/lint.sh

format:
	@scripts/lint.sh format

bench:
	@scripts/bench.sh

bench-ceiling:
	@scripts/bench/ceiling.sh

bench-scale:
	@scripts/bench/scale.sh

FUZZ_SECONDS ?= 300
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

FUZZ_API_EXAMPLES ?= 500
fuzz-api:
	@scripts/fuzz-api.sh $(FUZZ_API_EXAMPLES)

deps:
	@scripts/deps.sh

deploy-check:
	@scripts/deploy-check.sh

cluster-up:
	@scripts/stack.sh cluster up
	@scripts/stack.sh cluster summary

cluster-down:
	@scripts/stack.sh cluster down

cluster-status:
	@scripts/stack.sh cluster status

cluster-test:
	@scripts/cluster-test.sh

bench-cluster:
	@scripts/bench/cluster.sh
