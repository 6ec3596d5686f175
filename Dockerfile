# syntax=docker/dockerfile:1
#
# The thumbnail function's container image (AWS Lambda, Node.js 24).
#
# Build it for the function's architecture, without provenance attestations (Lambda rejects
# image indexes that carry them):
#   docker buildx build --platform linux/arm64 --provenance=false -t thumbnailer:dev .
# scripts/push-image.sh does exactly this and pushes; docs/ship.md explains the rest.
#
# __tests__/container.test.ts replays this file without Docker (it parses it with dockerfile-ast
# and carries out FROM, ARG, WORKDIR, COPY, RUN, ENV and CMD; it refuses what it cannot replay).
# The image-input hash (stacks/image-inputs.ts) covers this file, .dockerignore, every file COPYed
# from the build context and, of a COPYed folder, only the files the bundle is built from.
#
# The deps and build stages run on the build machine's own architecture ($BUILDPLATFORM): npm
# picks sharp's binaries for the target by flag and the bundle is plain JavaScript. The runtime
# stage has one RUN, the compile cache: it must be made by the Node that runs the function, so
# on the target architecture; a cross-architecture build (arm64 on GitHub's amd64 runners) runs
# that one step under QEMU emulation (docker/setup-qemu-action in .github/workflows/deploy.yml).

# Production dependencies for the target: sharp's prebuilt binaries for linux/glibc on the
# target CPU (amd64 -> x64, arm64 -> arm64), from the lockfile, without install scripts.
FROM --platform=$BUILDPLATFORM public.ecr.aws/docker/library/node:24-bookworm-slim AS deps
ARG TARGETARCH
WORKDIR /app
COPY package.json package-lock.json ./
RUN case "$TARGETARCH" in \
      amd64) cpu=x64 ;; \
      arm64) cpu=arm64 ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH': build for linux/amd64 or linux/arm64" >&2; exit 1 ;; \
    esac \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --os=linux --cpu="$cpu" --libc=glibc

# The handler as one minified CommonJS file (scripts/bundle.js holds the esbuild options and
# says why each is there). esbuild runs at the version the lockfile pins, installed beside the
# bundle script only: the production node_modules the runtime stage copies stay as they are.
FROM deps AS build
COPY tsconfig.json ./
COPY scripts/bundle.js scripts/
COPY handler/ handler/
RUN npm install --prefix=scripts --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      "esbuild@$(node -p 'require("./package-lock.json").packages["node_modules/esbuild"].version')" \
 && node scripts/bundle.js

# The runtime: AWS's Lambda base image for Node.js 24 (Amazon Linux 2023, supported until
# April 2028). Its LAMBDA_TASK_ROOT is /var/task; CMD names <file>.<export> in it.
FROM public.ecr.aws/lambda/nodejs:24
# One glibc malloc arena: otherwise each libvips/libuv thread gets its own, freed pixel buffers
# stay mapped in them and RSS creeps up image after image. Measured with npm run bench
# (docs/decisions.md steps 2, 5 and 25): engine peak RSS over the corpus 524 -> 379 MB with 2
# arenas, then 207-238 -> 181-190 MB with 1, for 2-5 % more CPU. It is in the image so every
# deployment (and npm run bench, which reads it from here) gets it.
ENV MALLOC_ARENA_MAX=1
COPY --from=deps /app/node_modules ${LAMBDA_TASK_ROOT}/node_modules
COPY --from=build /app/dist/ ${LAMBDA_TASK_ROOT}/
# Node's compile cache (V8 code cache) for the handler: loading the handler once here writes the
# code of the bundle (sharp's JavaScript included), compiled, to compile-cache/, and cold starts
# read it instead of compiling (docs/performance.md: to ready 24-29% sooner than without it).
# The cache only serves the same Node (version, architecture) with the same V8 flags, hence a RUN
# in this stage, and --expose-gc: Lambda's bootstrap starts node with it, and it changes the
# cache's key (heap-size flags do not). DEST_BUCKET only lets the handler's configuration load;
# nothing is sent. Files world-readable: Lambda runs the function as an unprivileged user.
# The entry point, entry.js, serves the cache to that user on the read-only /var/task (it says
# how) and exports the bundle's handler.
WORKDIR ${LAMBDA_TASK_ROOT}
RUN DEST_BUCKET=compile-cache NODE_COMPILE_CACHE=compile-cache node --expose-gc index.js \
 && chmod -R a+rX compile-cache
COPY handler/entry.cjs ${LAMBDA_TASK_ROOT}/entry.js
CMD ["entry.handler"]
