# syntax=docker/dockerfile:1
#
# kaudit container image: `kaudit deploy` runs it as a CronJob (docs/in-cluster.md).
#
# Two stages on the same Debian release, so the runtime's Python (Debian 12's
# /usr/bin/python3.11) is the interpreter the virtualenv was built with:
#   build    Debian 12 slim: builds the kaudit wheel and installs it, with its
#            dependencies pinned by constraints.txt, into /opt/kaudit.
#   runtime  distroless Python (Debian 12): no shell, no package manager; runs as
#            the non-root user 65532 and writes nothing at run time except the
#            report volume, so it works with readOnlyRootFilesystem.
#
# Pinning: the build base is pinned by its full point-release tag. The distroless
# image publishes no version tags, only digests; pin it for releases with
#   docker build --build-arg RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot@sha256:<digest> .
# (`docker buildx imagetools inspect gcr.io/distroless/python3-debian12:nonroot` prints
# the current digest.)

ARG BUILD_IMAGE=debian:12.13-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# The Debian point release pins python3; exact package versions vanish from the
# mirror at the next point release, so they are not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY kaudit ./kaudit
# The wheel first (what a release publishes), then a virtualenv holding only kaudit
# and its runtime dependencies at the versions of constraints.txt. The venv's
# python is a link to /usr/bin/python3, which the distroless image has too.
RUN python3 -m venv /opt/kaudit \
    && /opt/kaudit/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps \
        --wheel-dir /wheels . \
    && /opt/kaudit/bin/pip install --no-cache-dir --disable-pip-version-check \
        -c constraints.txt /wheels/kaudit-*.whl \
    && /opt/kaudit/bin/pip uninstall --yes --disable-pip-version-check pip setuptools \
    && /opt/kaudit/bin/python -m compileall -q /opt/kaudit/lib

FROM ${RUNTIME_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kaudit" \
      org.opencontainers.image.description="Audit the network exposure of a Kubernetes cluster" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/kaudit /opt/kaudit
# Bytecode was compiled at build time; at run time the root filesystem is read-only.
ENV PATH=/opt/kaudit/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so that the kubelet can verify runAsNonRoot.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["kaudit"]
CMD ["--help"]
