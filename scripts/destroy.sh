#!/usr/bin/env bash
# Tears down the thumbnail pipeline and removes the GitHub settings bootstrap.sh created.
# See docs/ship.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/destroy.sh [--repo OWNER/NAME] [--yes] [--dry-run] [--help]

Destroys both stacks of the thumbnail pipeline, then deletes the GitHub repository variables
and secret that scripts/bootstrap.sh set, so the deploy workflow stops deploying.

It destroys the deployment cdktf.json "context" describes (what bootstrap.sh persisted): a
THUMBNAILER_* variable that differs from it is refused, so nothing else is planned.

  1. Preflight: AWS CLI v2 with working credentials, Node.js with dependencies installed, no
     THUMBNAILER_* variable disagreeing with cdktf.json, and, when the deployment has a
     githubRepository, the GitHub CLI authenticated.
  2. Confirmation: asks before destroying anything, unless --yes.
  3. npx cdktf destroy '*'. Buckets that still hold objects are kept (and the destroy fails)
     unless THUMBNAILER_FORCE_DESTROY_BUCKETS=true was deployed: see docs/deploy.md.
  4. gh variable delete / gh secret delete for each setting bootstrap.sh made, in the
     deployment's githubRepository (none when it was deployed without one).

Options:
  --repo OWNER/NAME  must be the deployment's githubRepository (cdktf.json); the default
  --yes              do not ask for confirmation
  --dry-run          print every command it would run, and run none
  --help             show this help
EOF
}

GITHUB_REPO=""
CONFIRMED=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --repo)
      [ "$#" -ge 2 ] || die "--repo needs OWNER/NAME"
      GITHUB_REPO="$2"
      shift 2
      ;;
    --yes) CONFIRMED=1 && shift ;;
    --dry-run) DRY_RUN=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown option: $1" ;;
  esac
done
cd "$ROOT"

step "Preflight checks"
AWS_ACCOUNT="<account>"
if [ "$DRY_RUN" = 1 ]; then
  run aws --version
  run aws sts get-caller-identity --query Account --output text
  run node --version
  GITHUB_REPO="${GITHUB_REPO:-$(settings get githubRepository)}"
  if [ -n "$GITHUB_REPO" ]; then run gh auth status; fi
else
  check_aws
  check_node
  overridden="$(settings overrides)"
  if [ -n "$overridden" ]; then
    while IFS= read -r line; do
      problem "$line: unset it (destroy.sh removes the deployment cdktf.json describes), or persist it first with a deploy"
    done <<<"$overridden"
  fi
  persisted_repo="$(settings get githubRepository)"
  if [ -n "$GITHUB_REPO" ] && [ "$GITHUB_REPO" != "$persisted_repo" ]; then
    problem "--repo $GITHUB_REPO, but the deployment's githubRepository (cdktf.json) is '${persisted_repo}': drop --repo"
  fi
  GITHUB_REPO="$persisted_repo"
  if [ -n "$GITHUB_REPO" ]; then
    check_gh
  else
    info "deployed without a GitHub repository (no githubRepository in cdktf.json): no GitHub settings to remove"
  fi
  end_preflight
fi

step "Confirm"
if [ "$DRY_RUN" = 1 ]; then
  info "dry run: would ask for confirmation unless --yes"
elif [ "$CONFIRMED" = 1 ]; then
  info "confirmed by --yes"
else
  printf '    Destroy the thumbnail pipeline in AWS account %s%s? [y/N] ' "$AWS_ACCOUNT" \
    "${GITHUB_REPO:+, and its deploy settings in $GITHUB_REPO}" >&2
  answer=""
  read -r answer || true
  case "$answer" in
    y | Y | yes | YES | Yes) ;;
    *)
      info "not confirmed: aborted, nothing was destroyed"
      exit 1
      ;;
  esac
fi

step "Destroy both stacks (cdktf destroy)"
run npx cdktf destroy '*' --auto-approve

if [ -n "$GITHUB_REPO" ]; then
  step "Remove the deploy settings from $GITHUB_REPO"
  for row in "${GITHUB_SETTINGS[@]}"; do
    read -r kind name _ <<<"$row"
    if ! run gh "$kind" delete "$name" --repo "$GITHUB_REPO"; then
      info "$kind $name was not set"
    fi
  done
fi

if [ "$DRY_RUN" = 1 ]; then
  step "Done (dry run: nothing was run)"
else
  step "Done"
  info "The pipeline and its GitHub deploy settings are gone."
fi
