.PHONY: test unit up run bench chaos
test:            ## every gate: lint, types, contracts, unit and integration tests (what CI runs)
	scripts/test.sh
unit:            ## the fast loop: unit tests only
	scripts/bootstrap.sh && .venv/bin/pytest tests/unit
up:              ## a local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) until Ctrl-C; ARGS=--kueue adds Kueue
	scripts/bootstrap.sh && PYTHONPATH=devtools .venv/bin/python -m rayjob_devenv up $(ARGS)
run:             ## a RayJob end to end (K8sJobMode and HTTPMode) on a local control plane and a real Ray head; ARGS=--keep to stay up
	scripts/bootstrap.sh && PYTHONPATH=devtools .venv/bin/python -m rayjob_devenv run $(ARGS)
N ?= 100
MODES ?= http,k8sjob
OPERATORS ?= ours,kuberay,kuberay-c10
bench:           ## side-by-side benchmark against KubeRay: N=100|1000, MODES=http,k8sjob, OPERATORS=ours,kuberay,kuberay-c10, ARGS=...
	scripts/bench.sh --n $(N) --modes $(MODES) --operators $(OPERATORS) $(ARGS)
chaos: N = 200
chaos:           ## chaos run (not in make test): N=200 RayJobs while the operator is SIGKILLed every 15 s, kube-apiserver restarts twice and 20% of dashboard calls fail; ARGS=... (bench/CHAOS.md)
	scripts/chaos.sh --n $(N) $(ARGS)
