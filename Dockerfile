# syntax=docker/dockerfile:1
# modelgate: the gateway plus a llama-server built from the pinned llama.cpp
# source (src/backends/llamacpp/source.ts), by the project's own install code.
#
#   docker build -t modelgate .                 # CPU
#   docker build -t modelgate:cuda --build-arg CUDA=1 .
#
# CUDA=1 builds on NVIDIA's devel image (nvcc) for every architecture ggml
# supports (no GPU is visible during a build) and runs on the matching
# runtime image (libcudart, libcublas); the host needs the NVIDIA container
# toolkit.

ARG CUDA=0
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04

FROM ${NODE_IMAGE} AS node

# The CUDA images have no Node.js: bring the official build's binary and npm.
FROM ${CUDA_DEVEL_IMAGE} AS build-base-1
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
FROM node AS build-base-0

FROM ${CUDA_RUNTIME_IMAGE} AS runtime-base-1
COPY --from=node /usr/local/bin/node /usr/local/bin/node
FROM node AS runtime-base-0

# ---- build: dependencies, llama-server, the demo models -------------------
FROM build-base-${CUDA} AS build
ARG CUDA
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates cmake g++ make git tar \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# With devDependencies: TypeScript compiles dist/ (what `modelgate` runs), then they go.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev && npm cache clean --force
# The same code path as a first `modelgate serve`: the CPU image compiles
# llama-server on npm's prebuilt llama.cpp libraries (the full source build if
# that fails); the CUDA image builds CUDA from source with nvcc, its check run
# against the driver stub (no driver at build time). The engine's directory is
# kept whole: a prebuilt engine's ggml libraries sit beside the binary.
ENV MODELGATE_CACHE_DIR=/opt/modelgate-cache
RUN set -eu; \
    if [ "$CUDA" = 1 ]; then \
      export MODELGATE_LLAMA_CUDA=on LD_LIBRARY_PATH=/usr/local/cuda/lib64/stubs; \
      ln -sf libcuda.so /usr/local/cuda/lib64/stubs/libcuda.so.1; \
    else \
      export MODELGATE_LLAMA_CUDA=off; \
    fi; \
    engine="$(node --import tsx scripts/install-engine.ts)"; \
    mkdir -p /opt/llama/bin && cp -a "$(dirname "$engine")/." /opt/llama/bin/

# ---- runtime ---------------------------------------------------------------
FROM runtime-base-${CUDA} AS runtime
# libgomp: llama-server's OpenMP threads; util-linux: setpriv, which ties
# runners to the gateway's life.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libgomp1 util-linux \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/modelgate modelgate \
 && install -d -o modelgate -g modelgate -m 0700 /data
COPY --from=build /opt/llama/bin/ /opt/llama/bin/
RUN ln -s /opt/llama/bin/llama-server /usr/local/bin/llama-server
COPY --from=build /app /app
WORKDIR /app
# 0.0.0.0 because the container's own network is the boundary; compose
# publishes the port on the host's loopback only unless told otherwise.
ENV NODE_ENV=production \
    MODELGATE_HOME=/data \
    MODELGATE_HOST=0.0.0.0:11434
VOLUME ["/data"]
EXPOSE 11434
USER modelgate
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:11434/api/version').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/modelgate.mjs"]
CMD ["serve"]
