# AgentOS: build on Debian 12, run on Debian 12 slim.
#   docker build -t agentos .
#   docker run --rm -p 7777:7777 -e BETTER_AUTH_SECRET=... agentos

# ---- build stage ----------------------------------------------------------
FROM debian:bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libh2o-dev libuv1-dev libcurl4-openssl-dev libjansson-dev \
      librhonabwy-dev libhiredis-dev libyaml-dev libpq-dev \
      libsqlite3-dev libssl-dev zlib1g-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAGENTOS_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && strip build/agentos

# ---- Swagger UI for /docs: swagger-ui-dist, pinned by version and sha256 ----
FROM node:22-bookworm-slim AS docs
WORKDIR /src
COPY scripts/fetch_swagger_ui scripts/
RUN scripts/fetch_swagger_ui /out/swagger-ui

# ---- runtime stage --------------------------------------------------------
FROM debian:bookworm-slim

# Only the shared libraries build/agentos links (ldd + dpkg -S) or loads at
# first use (libcurl4, libpq5, librhonabwy1.1: src/core/lazy_lib.h), CA
# certificates for HTTPS to model providers, and curl for HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libh2o0.13 libuv1 libcurl4 libjansson4 librhonabwy1.1 liborcania2.3 \
      libhiredis0.14 libyaml-0-2 libpq5 libsqlite3-0 libssl3 zlib1g \
      ca-certificates curl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric id, so volume ownership and runAsNonRoot checks are stable.
RUN groupadd --gid 10001 agentos \
 && useradd --uid 10001 --gid agentos --no-create-home \
      --home-dir /var/lib/agentos --shell /usr/sbin/nologin agentos \
 && install -d -o agentos -g agentos -m 0750 /var/lib/agentos

COPY --from=build /src/build/agentos /usr/local/bin/agentos
COPY agents /app/agents
# /openapi.json and /docs: read once at start from AGENTOS_STATIC_DIR.
COPY docs/openapi.json /usr/share/agentos/openapi.json
COPY --from=docs /out/swagger-ui /usr/share/agentos/swagger-ui

WORKDIR /app
# HOST (0.0.0.0) and PORT (7777) keep their defaults; only the data dir moves.
ENV AGENTOS_DATA_DIR=/var/lib/agentos \
    AGENTOS_STATIC_DIR=/usr/share/agentos
VOLUME ["/var/lib/agentos"]
EXPOSE 7777

USER 10001:10001

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT:-7777}/health" || exit 1

STOPSIGNAL SIGTERM
CMD ["agentos"]
