# ringstack: one image, any role (`ringstack objectstore|storage-node|proxy|controller|agent|up`).
# Build stage compiles TypeScript; the runtime stage has Node 20 on Debian and runtime deps only.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts
COPY bin bin
COPY objectstore objectstore
COPY controller controller
COPY agents agents
COPY bench bench
COPY test test
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
# Runtime libraries only: qemu-img for image and volume work on agent hosts, git for the controller.
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ringstack
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist dist
COPY bin/ringstack bin/ringstack
ENV RINGSTACK_DATA_DIR=/var/lib/ringstack
VOLUME /var/lib/ringstack
ENTRYPOINT ["/opt/ringstack/bin/ringstack"]
CMD ["--help"]
