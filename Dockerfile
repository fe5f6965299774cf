# octodns-rancher for a Rancher 1.x environment: `octodns-rancher watch` by default.
#
#   docker build -t registry.example.com/octodns-rancher:0.1.0 .
#
# No credentials are baked in: the git deploy key arrives as a Rancher secret under
# /run/secrets, provider keys (for --apply) as environment variables. See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git and ssh for cloning, committing and pushing the zone repository.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Other octoDNS providers for --apply, e.g. --build-arg EXTRA_PACKAGES=octodns-cloudflare
# (Route53, PowerDNS and RFC 2136 come with the package)
ARG EXTRA_PACKAGES=""
COPY pyproject.toml README.md /src/
COPY generator /src/generator
RUN pip install /src ${EXTRA_PACKAGES} && rm -rf /src

# An unprivileged user owns the working copy; nothing runs as root.
RUN groupadd --gid 10001 octodns \
    && useradd --uid 10001 --gid 10001 --home-dir /home/octodns --create-home \
        --shell /usr/sbin/nologin octodns \
    && mkdir -p /data/repo \
    && chown -R 10001:10001 /data
USER 10001:10001
WORKDIR /data/repo

# /healthz and /metrics (LISTEN_ADDRESS).
EXPOSE 7979

ENTRYPOINT ["octodns-rancher"]
CMD ["watch"]
