# The Adashta Queue image: an edge (`adashta`), the example servers adashta-chat and
# adashta-echo, Node.js 20 and the plugin host for JavaScript plugins, nothing else at run
# time. docs/operations.md "Container" has the details.
#
#   podman build --network=host --format docker -t adashta-queue .   (scripts/container.sh build)
#   docker run -p 8080:8080 adashta-queue                  the example chat on :8080
#   docker run -p 8080:8080 -v ./app:/srv/app:ro adashta-queue edge /srv/app   your app
#
# BASE is any Debian 12 image; scripts/container.sh passes one made with mmdebstrap.
ARG BASE=debian:bookworm-slim

# --- node20: Node.js 20 or later for the JavaScript plugin host (Debian 12's nodejs is 18) --
# Any image with the binary at /usr/local/bin/node: by default the Node.js project's own;
# scripts/container.sh passes one it imports from the host's node (scripts/setup.sh makes
# sure of Node.js 20 there), since no image registry is reachable here and npm inside the
# build does not trust the TLS certificate of this network's way to the npm registry.
ARG NODE=docker.io/library/node:20-bookworm-slim
FROM ${NODE} AS node20

# --- build: Release, only what the image needs; ccache kept across builds ----------------
FROM ${BASE} AS build
# The one package list (scripts/setup.sh), build tools only.
COPY scripts/setup.sh scripts/apt_packages.sh /src/scripts/
RUN /src/scripts/setup.sh --build-only && rm -rf /var/lib/apt/lists/*
# The sources the binaries are made of, so a change to the docs or the tests builds nothing.
COPY CMakeLists.txt /src/
COPY cmake /src/cmake
COPY proto /src/proto
COPY common /src/common
COPY mesh /src/mesh
COPY store /src/store
COPY sdk/cpp /src/sdk/cpp
COPY edge /src/edge
COPY web /src/web
COPY cli /src/cli
COPY plugins /src/plugins
COPY examples/CMakeLists.txt /src/examples/
COPY examples/chat /src/examples/chat
COPY examples/echo /src/examples/echo
# (not packaging/container: the entry point changes nothing that is compiled)
COPY packaging/CMakeLists.txt packaging/adashta-edge.service.in packaging/adashta.sysusers.conf \
     packaging/adashta.json /src/packaging/
ENV CCACHE_DIR=/root/.cache/ccache
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DADASHTA_TESTS=OFF -DADASHTA_BENCH=OFF >/dev/null \
 && ninja -C /build \
 && for part in edge examples; do \
      DESTDIR=/stage cmake --install /build --prefix /usr/local --component "$part"; \
    done \
 && ccache --show-stats
# The JavaScript plugin host's Node.js: the one binary, not npm, corepack or headers
# (node20 above); its symbol table goes (12 MB; the host runs with --no-addons, so no addon
# needs it), the dynamic symbols stay.
COPY --from=node20 /usr/local/bin/node /stage/usr/local/bin/node
RUN strip --strip-unneeded /stage/usr/local/bin/node \
 && /stage/usr/local/bin/node -e 'const v = process.versions.node; console.log("Node.js", v); \
      if (+v.split(".")[0] < 20) { console.error("the plugin host needs Node.js 20 or later"); process.exit(1); }'

# --- node-echo: the Node.js echo server (examples/node/echo), for compose.yaml -----------
FROM ${BASE} AS node-echo
COPY scripts/setup.sh scripts/apt_packages.sh /src/scripts/
RUN /src/scripts/setup.sh --node && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY sdk/js /src/sdk/js
COPY proto /src/proto
COPY examples/node /src/examples/node
# examples/node links sdk/js (file:): Debian's npm 9 reads that lock file as out of step, so
# it installs (without saving) where the SDK itself installs exactly from its lock (npm ci).
RUN cd /src/sdk/js && npm ci --no-audit --no-fund && npm run --silent build \
 && cd /src/examples/node && npm install --no-audit --no-fund --omit=dev --no-save \
 && useradd --user-group --uid 10001 --no-create-home --shell /usr/sbin/nologin adashta
USER adashta
WORKDIR /src/examples/node
ENTRYPOINT ["node", "echo/server.mjs"]

# --- runtime: the libraries, the installed binaries, a user of its own --------------------
FROM ${BASE} AS runtime
COPY scripts/setup.sh scripts/apt_packages.sh /tmp/setup/scripts/
RUN /tmp/setup/scripts/setup.sh --runtime && apt-get clean && rm -rf /tmp/setup /var/lib/apt/lists/* \
 && useradd --user-group --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin adashta \
 && mkdir -p /data /etc/adashta && chown adashta:adashta /data
COPY --from=build /stage/ /
COPY packaging/container/entrypoint.sh /usr/local/bin/adashta-entrypoint
COPY packaging/container/healthcheck.sh /usr/local/bin/adashta-healthcheck
# Fails the build when a library is missing from the runtime list in scripts/setup.sh.
RUN adashta --version && node --version && for bin in adashta adashta-chat adashta-echo node; do \
      if ldd "/usr/local/bin/$bin" | grep 'not found'; then exit 1; fi; done
USER adashta
WORKDIR /data
VOLUME /data
# HTTP and WebSocket (browsers, /healthz, /metrics); the mesh (server nodes).
EXPOSE 8080 7700
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["adashta-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["adashta-entrypoint"]
