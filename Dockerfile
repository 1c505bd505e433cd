# syntax=docker/dockerfile:1
# Images of the rayjob-operator project, from one build stage:
#
#   docker build --target operator  -t rayjob-operator/operator:0.1.0 .    # the default target
#   docker build --target submitter -t rayjob-operator/submitter:0.1.0 .
#
# The install step is what CI installs: the project with the pinned dependencies of pyproject.toml
# ([project] dependencies), never the dev extras. Both images run as the non-root UID/GID 65532.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the project's wheel plus a wheel of each pinned dependency -------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# .dockerignore admits only pyproject.toml, README.md and the two source roots.
COPY . .
RUN python -m pip wheel --wheel-dir /wheels .

# --- runtime: what both images share ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 65532 rayjob \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin rayjob

# --- submitter: `rayjob-submit` (the default K8sJobMode submitter; standard library only) -------------
FROM runtime AS submitter
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --no-deps /wheels/rayjob_operator-*.whl
USER 65532:65532
ENTRYPOINT ["rayjob-submit"]

# --- operator: `rayjob-operator` (kopf run --standalone -m rayjob_operator.main) ----------------------
FROM runtime AS operator
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels /wheels/rayjob_operator-*.whl
USER 65532:65532
# 8080: Prometheus /metrics (RAYJOB_OPERATOR_METRICS_PORT); 8081: kopf's /healthz (--liveness).
EXPOSE 8080 8081
ENTRYPOINT ["rayjob-operator"]
CMD ["--log-format=json", "--liveness=http://0.0.0.0:8081/healthz"]
