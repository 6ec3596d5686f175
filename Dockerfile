# syntax=docker/dockerfile:1
#
# The thumbnail function's container image (AWS Lambda, Node.js 24).
#
# Build it for the function's architecture, without provenance attestations (Lambda rejects
# image indexes that carry them):
#   docker buildx build --platform linux/arm64 --provenance=false -t thumbnailer:dev .
# scripts/push-image.sh does exactly this and pushes; docs/ship.md explains the rest.
#
# __tests__/container.test.ts replays this file without Docker (it reads the stages, WORKDIR,
# COPY, RUN and ENV lines and CMD), so keep to plain instructions it understands.
#
# The deps and build stages run on the build machine's own architecture ($BUILDPLATFORM): npm
# picks sharp's binaries for the target by flag and the bundle is plain JavaScript, so a
# cross-architecture build emulates nothing, and the runtime stage has no RUN step at all.

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

# The handler as one minified CommonJS file, for a short cold start: one file to read instead of
# hundreds, and the AWS SDK taken from its ES modules (--main-fields=module,main) so the S3
# commands the handler never sends are left out. sharp (native addon) and libheif-js (2 MB of
# WebAssembly, loaded on the first HEIC) stay external and load from node_modules. --keep-names
# keeps class and function names in logs and stack traces. esbuild runs at the version the
# lockfile pins.
FROM deps AS build
COPY tsconfig.json ./
COPY handler/ handler/
RUN npx --yes "esbuild@$(node -p 'require("./package-lock.json").packages["node_modules/esbuild"].version')" \
      handler/index.ts --bundle --platform=node --target=node24 --format=cjs \
      --main-fields=module,main --minify --keep-names \
      --external:sharp --external:libheif-js --log-level=warning --outfile=dist/index.js

# The runtime: AWS's Lambda base image for Node.js 24 (Amazon Linux 2023, supported until
# April 2028). Its LAMBDA_TASK_ROOT is /var/task; CMD names <file>.<export> in it.
FROM public.ecr.aws/lambda/nodejs:24
# At most 2 glibc malloc arenas: otherwise each libvips/libuv thread gets its own, freed pixel
# buffers stay mapped in them and RSS creeps up image after image. Measured with npm run bench
# (docs/performance.md): engine peak RSS over the corpus 524 -> 379 MB, speed unchanged. It is
# in the image so every deployment (and npm run bench, which reads it from here) gets it.
ENV MALLOC_ARENA_MAX=2
COPY --from=deps /app/node_modules ${LAMBDA_TASK_ROOT}/node_modules
COPY --from=build /app/dist/ ${LAMBDA_TASK_ROOT}/
CMD ["index.handler"]
