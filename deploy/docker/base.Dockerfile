# The part every clinic image shares: Python 3.11, an unprivileged user and clinic-shared with its
# pinned dependencies. Kept in one place so the three service Dockerfiles stay a few lines each and
# the heavy dependency layer is built once and shared by all service images.
#
# Build context: the repository root. The service Dockerfiles start `FROM clinic-base`:
#   - docker compose passes this image as a named build context (additional_contexts: service:issuer);
#   - elsewhere (CI, Kubernetes images) build it first:
#       docker build -f deploy/docker/base.Dockerfile --target base -t clinic-base .
# Needs BuildKit (the default builder since Docker 23) for the bind mount below.

FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Numeric uid/gid so Kubernetes can check runAsNonRoot. /var/lib/clinic/keys exists and belongs to
# that user so a fresh named volume mounted there (compose's dev issuer keys) inherits the ownership.
RUN groupadd --system --gid 10001 clinic \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin clinic \
 && install -d -o 10001 -g 10001 /var/lib/clinic /var/lib/clinic/keys

WORKDIR /app

# A regular (non-editable) install: shared needs no files beside its package, so its sources are
# only bind-mounted for the build and never land in a layer. constraints.txt pins every transitive
# package to what the test suite ran with.
RUN --mount=type=bind,source=shared,target=/tmp/shared,rw \
    --mount=type=bind,source=constraints.txt,target=/tmp/constraints.txt \
    pip install -c /tmp/constraints.txt /tmp/shared

USER 10001:10001


# Operator image for compose's one-shot `migrate`: every service installed (the pages too, whose
# database holds their sessions), so `clinic-ops` finds each one through its entry points.
# Kubernetes uses the service images instead.
FROM base AS ops
USER root
COPY services /app/services
RUN pip install -e /app/services/booking -e /app/services/inventory -e /app/services/notifications \
        -e /app/services/web
USER 10001:10001
CMD ["clinic-ops", "--help"]
