# PACS <-> FSE imaging bridge daemon.
#   docker build -t pacs-fse-bridge .
#   docker run -d -p 11112:11112 -p 8080:8080 -v bridge-data:/var/lib/bridge \
#     -e BRIDGE_HTTP_API_TOKEN=... -e BRIDGE_ONDEMAND_AUTH=basic \
#     -e BRIDGE_ONDEMAND_USERNAME=... -e BRIDGE_ONDEMAND_PASSWORD=... pacs-fse-bridge
# HTTP listens on 0.0.0.0 here: without the API token and the on-demand credentials the daemon
# refuses to start (exit code 2); BRIDGE_HTTP_HOST=127.0.0.1 keeps it inside the container.
# Needs package-lock.json in the build context (npm ci).

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: compile TypeScript, build better-sqlite3's native addon, keep prod deps only
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: production node_modules + dist + config, run as non-root
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    BRIDGE_DATA_DIR=/var/lib/bridge \
    BRIDGE_HTTP_HOST=0.0.0.0
RUN groupadd --system --gid 10001 bridge \
 && useradd --system --uid 10001 --gid bridge --home-dir /var/lib/bridge \
      --no-create-home --shell /usr/sbin/nologin bridge \
 && mkdir -p /var/lib/bridge \
 && chown bridge:bridge /var/lib/bridge \
 && chmod 0750 /var/lib/bridge
WORKDIR /app
# package.json is needed at run time: it declares "type": "module" for dist/.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
USER bridge
# Spool, stored instances (filesystem storage) and the SQLite index live here.
VOLUME /var/lib/bridge
# 11112: DICOM (DIMSE). 8080: HTTP: the reports API (BRIDGE_HTTP_API_TOKEN), the on-demand
# SOAP endpoint (BRIDGE_ONDEMAND_AUTH=basic with BRIDGE_ONDEMAND_USERNAME and
# BRIDGE_ONDEMAND_PASSWORD), the admin page (BRIDGE_ADMIN_PASSWORD),
# /metrics, /healthz, /readyz. 2575: HL7 MLLP (when BRIDGE_HL7_ENABLED=true).
EXPOSE 11112 8080 2575
# C-ECHO against the local daemon; exit code 0 when it answers Success.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "dist/src/cli.js", "echo"]
# node runs as PID 1: the daemon handles SIGTERM itself (graceful A-RELEASE, flush commits).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
