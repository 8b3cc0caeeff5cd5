# syntax=docker/dockerfile:1
# Parapet's GitHub App as a container. Multi-stage: Go (for the pinned opa CLI) joins Node in the
# build stage, so the repository's own `node scripts/build-go-tool.mjs opa` builds opa exactly as
# `npm ci` does on a workstation; the final stage is a slim Node 20 image, without Go or the dev
# dependencies, running as the unprivileged `node` user.
#
#   docker build -t parapet .
#   docker run -p 3000:3000 --env-file .env parapet
#
# Not built in CI here: these machines have no Docker engine (test/github/dockerfile.test.ts
# checks that what it copies exists).

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
RUN npm ci --ignore-scripts
# The pinned opa (tools/go.mod) into tools/bin/opa and Gatekeeper's CEL driver (tools/cel) into
# tools/bin/parapet-cel: what npm's postinstall runs.
COPY scripts/build-go-tool.mjs scripts/
COPY tools/go.mod tools/go.sum tools/
COPY tools/cel/go.mod tools/cel/go.sum tools/cel/main.go tools/cel/
# The renderer (tools/render: kustomize's API and Flux's build steps) into tools/bin/render.
COPY tools/render tools/render
RUN node scripts/build-go-tool.mjs opa cel render
COPY tsconfig.json tsconfig.build.json ./
COPY src src
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PARAPET_CACHE_DIR=/home/node/.cache/parapet/wasm
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/tools/bin/opa tools/bin/opa
COPY --from=build /app/tools/bin/render tools/bin/render
COPY --from=build /app/tools/bin/parapet-cel tools/bin/parapet-cel
COPY app.yml ./
# The policy library: the overview's compliance page groups policies by its standards and controls.
COPY policies policies
# The setup page (no credentials yet) writes .env into the working directory: the App's user owns it.
RUN chown node:node /app
USER node
EXPOSE 3000
CMD ["npm", "start"]
