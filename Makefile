.PHONY: test unit up
test:            ## every gate: lint, types, contracts, unit and integration tests (what CI runs)
	scripts/test.sh
unit:            ## the fast loop: unit tests only
	scripts/bootstrap.sh && .venv/bin/pytest tests/unit
up:              ## a local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) until Ctrl-C
	scripts/bootstrap.sh && PYTHONPATH=devtools .venv/bin/python -m rayjob_devenv up
