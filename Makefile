# kplanediag: every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAB := $(PY) -m lab.labctl
K3S_LAB := $(LAB) --flavour k3s
KPD := $(VENV)/bin/kplanediag
DEMO_NODE := kplanediag-worker
KIND_NAME := kplanediag
KIND_KUBECONFIG ?= $(HOME)/.cache/kplanediag/kind/kubeconfig
KIND_HA_NAME := kplanediag-ha
KIND_HA_KUBECONFIG ?= $(HOME)/.cache/kplanediag/kind-ha/kubeconfig
DIST := dist
# The e2e suites run the source tree (default) or, with E2E_FROM=wheel (CI), the wheel installed by
# `make install-check` into a venv of its own: kplanediag, `python -m kplanediag` and the scripts all
# come from that install (tests/e2e/conftest.py asserts it); the tests and lab/ stay the tree's.
WHEEL_VENV := build/venv-wheel
E2E_FROM ?= source
ifeq ($(E2E_FROM),wheel)
E2E_PREREQ := $(WHEEL_VENV)/.installed
E2E_PYTEST := KPLANEDIAG_INSTALLED=1 PYTHONSAFEPATH=1 $(WHEEL_VENV)/bin/python -m pytest --import-mode=importlib -o pythonpath=
else
E2E_PREREQ :=
E2E_PYTEST := $(PY) -m pytest
endif

.PHONY: help venv lab-build cluster-up cluster-down demo test test-unit test-e2e lint docs proto bench bench-serve bench-scale \
        kind-image kind-up kind-down e2e-kind ci-workflow kind-ha-up kind-ha-down e2e-kind-ha \
        k3s-lab-up k3s-lab-down e2e-k3s dist install-check deps-range krew screenshots serve-image serve-image-load clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## create .venv with kplanediag (editable) and its test and lint tools
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint,dist]'
	touch $@

lab-build: venv ## build (or reuse) the pinned lab binaries into ~/.cache/kplanediag
	$(LAB) build

cluster-up: venv ## build, start and seed the lab cluster; prints its kubeconfig
	$(LAB) up

cluster-down: venv ## delete the lab cluster
	$(LAB) down

demo: cluster-up ## start the lab cluster, silence one worker, diagnose it with kplanediag check
	@$(LAB) restore
	@$(LAB) silence-node $(DEMO_NODE) --wait
	@echo; echo "\$$ kplanediag check --kubeconfig $$($(LAB) kubeconfig)"
	@$(KPD) check --kubeconfig "$$($(LAB) kubeconfig)"; echo "(exit code $$?)"
	@$(LAB) restore >/dev/null 2>&1

test: cluster-up $(E2E_PREREQ) ## the whole suite: lint, unit tests, e2e tests against the lab cluster (E2E_FROM=wheel: the installed wheel)
	$(MAKE) lint
	status=0; \
	$(PY) -m pytest tests --ignore=tests/e2e || status=$$?; \
	KPLANEDIAG_E2E_KUBECONFIG="$$($(LAB) kubeconfig)" $(E2E_PYTEST) tests/e2e || status=$$?; \
	exit $$status

test-unit: venv ## unit tests only (no cluster)
	$(PY) -m pytest tests/unit

test-e2e: cluster-up $(E2E_PREREQ) ## e2e tests only, against the lab cluster (E2E_FROM=wheel: the installed wheel)
	KPLANEDIAG_E2E_KUBECONFIG="$$($(LAB) kubeconfig)" $(E2E_PYTEST) tests/e2e

lint: venv ## ruff, mypy --strict, import-linter contracts, docs in sync
	$(VENV)/bin/ruff check kplanediag lab tests bench setup.py deploy/krew deploy/prometheus
	$(VENV)/bin/ruff format --check kplanediag lab tests bench setup.py deploy/krew deploy/prometheus
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

docs: venv ## regenerate docs/codes.md, profiles.md, components.md, lists.md and deploy's RBAC files from their tables
	$(PY) -c 'from kplanediag.analysis.knowledge.codes import codes_markdown; print(codes_markdown(), end="")' > docs/codes.md
	$(PY) -c 'from kplanediag.analysis.knowledge.docs import profiles_markdown; print(profiles_markdown(), end="")' > docs/profiles.md
	$(PY) -c 'from kplanediag.analysis.knowledge.components import components_markdown; print(components_markdown(), end="")' > docs/components.md
	$(PY) -c 'from kplanediag.snapshot.registry_docs import lists_markdown; print(lists_markdown(), end="")' > docs/lists.md
	$(PY) -c 'from kplanediag.snapshot.registry_docs import rbac_yaml; print(rbac_yaml(False), end="")' > deploy/rbac.yaml
	$(PY) -c 'from kplanediag.snapshot.registry_docs import rbac_yaml; print(rbac_yaml(True), end="")' > deploy/serve/rbac.yaml

PROTO_DIR := kplanediag/collect/protobuf
proto: venv ## regenerate kplanediag/collect/protobuf/k8s_pb2.py(i) from k8s.proto
	$(PY) -m grpc_tools.protoc -I $(PROTO_DIR) --python_out=$(PROTO_DIR) --pyi_out=$(PROTO_DIR) $(PROTO_DIR)/k8s.proto

bench: lab-build ## offline analysis benchmark, then live on a 1,000-node kwok cluster (ARGS='--sizes 300,1000')
	$(PY) -m bench.offline --json bench/results/offline.json
	$(PY) -m bench.series --json bench/results/series.json
	$(PY) -m bench.bundles --json bench/results/bundles.json
	$(PY) -m bench.live $(ARGS)

bench-serve: lab-build ## serve's API-server bytes per interval on watches against a re-list (its own kwok cluster)
	$(PY) -m bench.serve_cost --json bench/results/serve_cost.json $(ARGS)

bench-scale: lab-build ## live check at 3k, 30k, 150k pods on 5,000 kwok nodes, pods created directly (ARGS='--keep')
	$(PY) -m bench.scale $(ARGS)

kind-image: lab-build ## build the offline kind node image (Docker engine started by hand if none runs)
	eval "$$(lab/kind/docker.sh up)" && lab/kind/build-extras.sh && lab/kind/build-image.sh

kind-up: lab-build ## create the kind cluster of kind-config.yaml (official image with Docker, else offline)
	KIND_KUBECONFIG=$(KIND_KUBECONFIG) KIND_NAME=$(KIND_NAME) lab/kind.sh up

kind-down: ## delete the kind cluster
	KIND_KUBECONFIG=$(KIND_KUBECONFIG) KIND_NAME=$(KIND_NAME) lab/kind.sh down

serve-image: venv ## build kplanediag serve's container image offline (lab/serve-image.sh: Debian rootfs + the wheel)
	lab/serve-image.sh

serve-image-load: kind-up ## the serve image, loaded into the kind cluster (deploy/serve, tests/e2e/test_serve.py)
	lab/serve-image.sh load

e2e-kind: kind-up serve-image-load $(E2E_PREREQ) ## the e2e suite against the kind cluster, with real data-plane faults
	KPLANEDIAG_E2E_TARGET=kind KPLANEDIAG_E2E_KUBECONFIG=$(KIND_KUBECONFIG) $(E2E_PYTEST) tests/e2e

ci-workflow: kind-up dist ## run docs/ci.md's GitHub Actions workflow, step by step, against the kind cluster (lab/ci_workflow.py)
	$(PY) -m lab.ci_workflow --kubeconfig $(KIND_KUBECONFIG)

kind-ha-up: lab-build ## create the highly available kind cluster of kind-ha-config.yaml (3 control planes)
	KIND_CONFIG=kind-ha-config.yaml KIND_KUBECONFIG=$(KIND_HA_KUBECONFIG) KIND_NAME=$(KIND_HA_NAME) lab/kind.sh up

kind-ha-down: ## delete the highly available kind cluster
	KIND_CONFIG=kind-ha-config.yaml KIND_KUBECONFIG=$(KIND_HA_KUBECONFIG) KIND_NAME=$(KIND_HA_NAME) lab/kind.sh down

e2e-kind-ha: kind-ha-up $(E2E_PREREQ) ## control-plane faults on the HA kind cluster: paused nodes, moved leader, stopped API server
	KPLANEDIAG_E2E_TARGET=kind-ha KPLANEDIAG_E2E_KUBECONFIG=$(KIND_HA_KUBECONFIG) $(E2E_PYTEST) tests/e2e/test_kind_ha.py

k3s-lab-up: venv ## build, start and seed the k3s-shaped lab cluster (kplanediag-k3s); prints its kubeconfig
	$(K3S_LAB) up

k3s-lab-down: venv ## delete the k3s-shaped lab cluster
	$(K3S_LAB) down

e2e-k3s: k3s-lab-up $(E2E_PREREQ) ## the k3s e2e tests (tests/e2e/test_k3s_lab.py) against the k3s-shaped lab
	KPLANEDIAG_E2E_TARGET=k3s KPLANEDIAG_E2E_KUBECONFIG="$$($(K3S_LAB) kubeconfig)" $(E2E_PYTEST) tests/e2e/test_k3s_lab.py

dist: venv ## build the wheel and sdist into dist/ (the commit baked in: setup.py)
	rm -f $(DIST)/kplanediag-*.whl $(DIST)/kplanediag-*.tar.gz
	$(PY) -m build --quiet --outdir $(DIST) .

install-check: dist ## install the wheel (not editable) into a fresh build/venv-wheel and run it; E2E_FROM=wheel uses it
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(WHEEL_VENV)/bin/python -m pip install --quiet "$$(ls $(DIST)/kplanediag-*.whl)[test]"
	@# lab/ and tests/ for the e2e suites, after site-packages: `import kplanediag` is the installed copy
	$(WHEEL_VENV)/bin/python -c 'import site, sys; open(site.getsitepackages()[0] + "/kplanediag-e2e-tree.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	cd / && PYTHONSAFEPATH=1 $(CURDIR)/$(WHEEL_VENV)/bin/python -c 'import kplanediag, sys; assert kplanediag.__file__.startswith(sys.prefix), kplanediag.__file__; print(kplanediag.__file__)'
	$(WHEEL_VENV)/bin/kplanediag --version
	touch $(WHEEL_VENV)/.installed

$(WHEEL_VENV)/.installed:
	$(MAKE) install-check

deps-range: venv ## the tests of each runtime dependency with the oldest and the newest versions pyproject allows (build/venv-deps-*)
	$(PY) -m lab.deps_range

krew: dist ## the kubectl krew plugin archives (dist/krew/*.tar.gz) and their manifest with the sha256s (KREW_URL: where published)
	$(PY) deploy/krew/make_archives.py --wheel "$$(ls $(DIST)/kplanediag-*.whl)" --manifest deploy/krew/planediag.yaml \
	    --out $(DIST)/krew $(if $(KREW_URL),--base-url $(KREW_URL)) $(if $(KREW_PLATFORMS),--platforms $(KREW_PLATFORMS))

screenshots: venv ## regenerate docs/img/status-{healthy,failing}.png: -o html of two lab snapshots in headless Chromium
	$(PY) docs/screenshots.py

clean: ## remove the venv and caches in the repo (not ~/.cache/kplanediag)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build $(DIST) kplanediag/_build_info.py
