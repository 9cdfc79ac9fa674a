# syntax=docker/dockerfile:1
# toolgate container image. Build from the repository root:
#   docker build -t toolgate:0.1.0 .
# The Helm chart (deploy/helm/toolgate) runs it with its config mounted from a ConfigMap.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies (TypeScript), `npm ci` runs `prepare` = `npm run build` -> dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
RUN npm ci --no-audit --no-fund

# --- runtime: production dependencies only, the compiled dist and the protos it loads at run
# time (proto/grpc for server reflection; the Workload API protos under proto/spiffe).
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="toolgate" \
      org.opencontainers.image.description="gRPC gateway: SPIFFE authentication and Cedar authorization of AI agents' tool calls" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build, and the TypeScript compiler is not installed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY proto ./proto
# No policies in the image: they are the deployment's (a ConfigMap under Kubernetes).
RUN mkdir -p /etc/toolgate && groupadd --system --gid 10001 toolgate \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin toolgate
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# 8443: gRPC (mTLS); 9090: admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 8443 9090
# The node flags are src/cli/node-flags.ts's GATEWAY_NODE_FLAGS (a test holds the two
# together; the reasons are there): the V8 guard for cedar-wasm (README, "V8 guard"), and
# two that take ~40 MB off the gateway's memory at no measured CPU cost, and one that keeps
# the heap grown for a burst ready for the next.
ENTRYPOINT ["node", "--no-turbo-inline-js-wasm-calls", "--max-semi-space-size=4", "--no-liftoff", "--no-memory-reducer", "dist/cli/main.js"]
CMD ["run", "--config", "/etc/toolgate/toolgate.yaml"]
