#!/usr/bin/env bash
# Before a local deploy builds anything: refuses to roll out a checkout that does not contain the
# code the function runs, image inputs no commit holds, or over an image of another repository.
# Prints the commit the image is built from. Called by `cdktf deploy`
# (scripts/build-and-roll-out.sh) before scripts/push-image.sh; ops/rollout-guard.ts decides.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/check-rollout.sh --repository-url URL --image-inputs PATHS
                                [--running IMAGE_URI] [--region REGION] [--dry-run] [--help]

Run by `cdktf deploy` before it builds and rolls out the image of this checkout. Prints HEAD's
commit when the image inputs are committed (push-image.sh records it on the image as the tag
commit-<amd64|arm64>-SHA), and refuses, before anything is built:

  - uncommitted image inputs: one of PATHS is modified, staged, untracked or ignored, so the
    image could not be traced to any commit. Changes to other files (cdktf.json, docs) are fine.
  - a stale checkout: the function runs IMAGE_URI, whose tags name the commit it was built from
    (a 40-hex tag, as the deploy workflow pushes, or commit-<arch>-SHA, as deploys record), and
    HEAD does not contain that commit (git merge-base --is-ancestor): the deploy would replace
    newer code with older or diverged code. A commit this clone lacks: run git fetch. An image
    ECR no longer holds (its tags gone with it): which code it runs cannot be told.
  - a foreign function: IMAGE_URI is not an image of URL, so the function is not this
    deployment's (or was pointed elsewhere by hand). No override: a deploy never updates it.

An image with no commit tag (pushed before deploys recorded one, or with the override) is not
checked, and that is said. Without IMAGE_URI (no function yet) there is nothing to compare.
It warns when HEAD is on neither origin/main nor its upstream branch (as of the last git fetch):
a local deploy can roll out commits CI never tested.

THUMBNAILER_ALLOW_ROLLBACK=1, in the environment of one deploy, turns each refusal but the
foreign function into a warning: to roll back on purpose, or to deploy uncommitted work (its
image records no commit). It is no setting: nothing persists it.

The decisions are ops/rollout-guard.ts's; the deploy workflow makes the same comparison.

Options:
  --repository-url URL    ECR repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnailer
  --image-inputs PATHS    the image inputs, one path a line, relative to the project root
  --running IMAGE_URI     what the function runs now (Code.ResolvedImageUri); empty: no function yet
  --region REGION         the repository's region (default: read from URL)
  --dry-run               check the checkout, say what it would look up in ECR, print no commit
  --help                  show this help
EOF
}

REPOSITORY_URL=""
IMAGE_INPUTS=""
RUNNING=""
REGION=""
parse_flags "--repository-url REPOSITORY_URL" "--image-inputs IMAGE_INPUTS" "--running RUNNING" \
  "--region REGION" -- "$@"

args=(--repository-url "$REPOSITORY_URL" --image-inputs "$IMAGE_INPUTS" --running "$RUNNING")
if [ -n "$REGION" ]; then args+=(--region "$REGION"); fi
if [ "$DRY_RUN" = 1 ]; then args+=(--dry-run); fi
node_tool rollout-guard local "${args[@]}"
