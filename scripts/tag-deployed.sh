#!/usr/bin/env bash
# Marks the image the function now runs `deployed` and the one it ran before `previous`: the two
# tags the ECR lifecycle policy never expires (stacks/dependencies-stack.ts). Called after every
# rollout: by `cdktf deploy` (scripts/build-and-roll-out.sh) and by .github/workflows/deploy.yml.
# What moves is decided on the AWS SDK by ops/image-tags.ts; this script is its command line.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/tag-deployed.sh --repository-url URL --deployed sha256:DIGEST
                               [--previous IMAGE_URI] [--region REGION] [--dry-run] [--help]

Tags the image URL@DIGEST `deployed`, and the image the function ran before it (IMAGE_URI,
e.g. Code.ResolvedImageUri of `aws lambda get-function` before the update) `previous`. Tags are
immutable in this repository, so a tag is moved by removing it from the image that has it
(BatchDeleteImage of a tag keeps an image that has other tags, and every pushed image has its
build tag) and putting it on the new one. `previous` moves first, so the image being replaced
always keeps one protected tag. A `previous` from another repository is left alone.

Options:
  --repository-url URL  ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  --deployed DIGEST     the digest the function now runs
  --previous IMAGE_URI  the image it ran before (REPOSITORY_URL@sha256:...); omit on a first deploy
  --region REGION       the repository's region (default: read from URL)
  --dry-run             say which tags it would move, and call nothing
  --help                show this help
EOF
}

REPOSITORY_URL=""
DEPLOYED=""
PREVIOUS=""
REGION=""
parse_flags "--repository-url REPOSITORY_URL" "--deployed DEPLOYED" "--previous PREVIOUS" \
  "--region REGION" -- "$@"

step "Protect the deployed and previous images of $REPOSITORY_URL from expiry"
node_tool image-tags mark-deployed "$REPOSITORY_URL" "$DEPLOYED" "$PREVIOUS" "$REGION" "$DRY_RUN"
