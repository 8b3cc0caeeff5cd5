# syntax=docker/dockerfile:1
# Parapet as a container: the GitHub App (`docker run`), and the CLI on the PATH
# (`docker run --rm -v "$PWD:/repo" parapet parapet check /repo`). Multi-stage: Go joins Node in the
# build stage, so the repository's own `node scripts/build-go-tool.mjs` builds opa, the CEL helper
# and the renderer exactly as `npm ci` does on a workstation; the final stage is a slim Node 20
# image without Go, the TypeScript sources or the dev dependencies, running as the `node` user.
#
#   docker build -t parapet .
#   docker run -p 3000:3000 -v parapet-data:/data parapet     # setup page on http://localhost:3000/
#
# Everything the App keeps is under /data (a volume): the embedded database (/data/db), compiled
# policies (/data/cache) and the .env the setup page writes (the working directory). A real
# `docker build` pulls the official node and golang images; `npm run test:image` builds this file
# with buildah from stand-in images of the same names (test/image/).

ARG NODE_VERSION=20
# tools/go.mod asks for Go 1.26.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS go

FROM node:${NODE_VERSION}-bookworm AS build
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH \
    GOPATH=/go \
    CGO_ENABLED=0
WORKDIR /app
# Dependencies first (cached while package-lock.json is unchanged); scripts run below, explicitly.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The Prisma client (npm's postinstall would generate it): the TypeScript build needs its types.
COPY prisma prisma
COPY prisma.config.ts ./
RUN npx prisma generate
# The pinned opa (tools/go.mod), Gatekeeper's CEL driver (tools/cel) and the renderer (tools/render:
# kustomize's API and Flux's build steps) into tools/bin: what npm's postinstall runs.
COPY scripts/build-go-tool.mjs scripts/
COPY tools/go.mod tools/go.sum tools/
COPY tools/cel tools/cel
COPY tools/render tools/render
RUN node scripts/build-go-tool.mjs opa cel render
COPY tsconfig.json tsconfig.build.json ./
COPY src src
# typescript is an optional peer of prisma and @prisma/client, so npm keeps it through the prune
# (--omit=peer too); nothing at run time loads it.
RUN npm run build \
    && npm prune --omit=dev --omit=peer --no-audit --no-fund \
    && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver

FROM node:${NODE_VERSION}-bookworm-slim
# NODE_ENV=production: JSON logs, and the overview page insists on a SESSION_SECRET (the setup page
# writes one). PARAPET_DATA_DIR holds the embedded database.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PARAPET_DATA_DIR=/data \
    PARAPET_CACHE_DIR=/data/cache/wasm
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/tools/bin/opa /app/tools/bin/render /app/tools/bin/parapet-cel tools/bin/
COPY bin bin
COPY app.yml ./
# The migrations the App applies at start, and the policy library (`parapet policies`, the overview's
# compliance page).
COPY prisma prisma
COPY policies policies
RUN ln -s /app/bin/parapet.js /usr/local/bin/parapet \
    && mkdir -p /data \
    && chown node:node /data
USER node
# The setup page writes .env into the working directory: in the volume, it outlives the container.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, not npm: SIGTERM reaches the App, which finishes its work, closes the database and
# releases its lock before exiting.
CMD ["node", "/app/dist/main.js"]
