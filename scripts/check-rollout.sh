#!/usr/bin/env bash
# Before a local deploy builds anything: refuses to roll out a checkout that does not contain the
# code the function runs, or image inputs no commit holds. Prints the commit the image is built
# from. Called by `cdktf deploy` (scripts/build-and-roll-out.sh) before scripts/push-image.sh.
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
    newer code with older or diverged code. A commit this clone lacks: run git fetch.

An image with no commit tag (pushed before deploys recorded one, or with the override) is not
checked, and that is said. Without IMAGE_URI (no function yet) there is nothing to compare.

THUMBNAILER_ALLOW_ROLLBACK=1, in the environment of one deploy, turns each refusal into a
warning: to roll back on purpose, or to deploy uncommitted work (its image records no commit).
It is no setting: nothing persists it.

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

ecr_repository
mapfile -t inputs < <(printf '%s\n' "$IMAGE_INPUTS" | sed '/^$/d')
[ "${#inputs[@]}" -gt 0 ] || die "--image-inputs is required: the image inputs, one path a line"
ALLOW="${THUMBNAILER_ALLOW_ROLLBACK:-}"
case "$ALLOW" in
  "" | 0) ALLOW=0 ;;
  1) ;;
  *) die "THUMBNAILER_ALLOW_ROLLBACK='$ALLOW' is not accepted: set it to 1 for one deploy that may roll back or deploy uncommitted inputs, or leave it unset" ;;
esac

# Stops with `problem`, or, with THUMBNAILER_ALLOW_ROLLBACK=1, only says it.
refuse() {
  if [ "$ALLOW" = 1 ]; then
    printf '\nwarning: %s\n    Going ahead: THUMBNAILER_ALLOW_ROLLBACK=1.\n' "$1" >&2
  else
    die "$1
Nothing was built or changed. To deploy this checkout anyway (a deliberate rollback), once:
THUMBNAILER_ALLOW_ROLLBACK=1 npm run deploy"
  fi
}

step "Are the image inputs committed?"
head=""
commit=""
if ! head="$(git -C "$ROOT" rev-parse --verify --quiet HEAD 2>/dev/null)"; then
  head=""
  refuse "$ROOT is not a git checkout with a commit: the image could not be traced to any commit."
else
  changed="$(git -C "$ROOT" status --porcelain --ignored -- "${inputs[@]}")"
  if [ -n "$changed" ]; then
    refuse "uncommitted changes to the image inputs, so the image could not be traced to any commit:
$changed
Commit them (or set them aside) and deploy again."
  else
    commit="$head"
    info "yes: the image holds the code of HEAD $head"
  fi
fi

step "Does HEAD contain the code the function runs?"
if [ -z "$RUNNING" ]; then
  info "the function does not exist yet: nothing to compare"
elif [ -z "$head" ]; then
  info "no HEAD to compare with"
elif [ "${RUNNING%@*}" != "$REPOSITORY_URL" ]; then
  info "it runs $RUNNING, not an image of $REPOSITORY_URL: not checked"
elif [ "$DRY_RUN" = 1 ]; then
  info "would read the tags of $RUNNING (aws ecr describe-images) and compare its commit with HEAD"
  commit=""
else
  tags="$(image_tags "${RUNNING##*@}")" || die "cannot read the tags of $RUNNING: see the error above"
  deployed=()
  for tag in $tags; do
    if [[ "$tag" =~ ^[0-9a-f]{40}$ ]]; then deployed+=("$tag"); fi
    if [[ "$tag" =~ ^commit-[a-z0-9]+-([0-9a-f]{40})$ ]]; then deployed+=("${BASH_REMATCH[1]}"); fi
  done
  contained=""
  missing=""
  for sha in "${deployed[@]}"; do
    if ! git -C "$ROOT" cat-file -e "$sha^{commit}" 2>/dev/null; then
      missing="$sha"
    elif git -C "$ROOT" merge-base --is-ancestor "$sha" HEAD; then
      contained="$sha"
    fi
  done
  if [ "${#deployed[@]}" = 0 ]; then
    info "$RUNNING carries no commit tag (deployed before deploys recorded one, or with THUMBNAILER_ALLOW_ROLLBACK): cannot tell which code it runs, not checked"
  elif [ -n "$contained" ]; then
    info "yes: HEAD $head contains $contained, the commit of the image the function runs"
  elif [ -n "$missing" ]; then
    refuse "the function runs $RUNNING, built from commit $missing, which this clone does not have. Run git fetch, bring HEAD up to that commit (git merge or rebase), and deploy again."
  else
    refuse "the function runs $RUNNING, built from commit ${deployed[0]}, which HEAD ($head) does not contain: deploying this checkout would replace newer code with older or diverged code. Bring HEAD up to that commit (git pull, merge or rebase) and deploy again."
  fi
fi
printf '%s\n' "$commit"
