#!/usr/bin/env bash
# Moves a deployment's Terraform state from local files into the S3 state bucket that
# scripts/bootstrap.sh would create. See docs/deploy.md, Remote state.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/migrate-state.sh [--dry-run] [--help]
       npm run migrate-state [-- --dry-run]

Moves the Terraform state of the deployment cdktf.json describes from its local files
(terraform.<name>-<region>-<stack>.tfstate at the project root) into the state bucket, then
persists stateBucket and stateRegion in cdktf.json, so every command uses the bucket from then on.

  1. Preflight: working AWS credentials (no AWS CLI needed), Terraform >= 1.10, Node.js with
     dependencies installed, and no stateBucket set yet (else the state is already remote).
  2. npx cdktf synth with the local state; terraform init in each stack's folder
     (cdktf.out/stacks/<stack>) records the local backend as the one to migrate from.
  3. Creates or reuses the state bucket (<name>-tfstate-<account>-<region>: versioned,
     encrypted, private, TLS-only) and refuses, changing nothing, if it already holds a state
     at one of the keys (<name>/<region>/<stack>.tfstate): the copy would overwrite it.
  4. npx cdktf synth with the bucket, then per stack terraform init -migrate-state -force-copy,
     and checks the state object is in the bucket.
  5. Persists stateBucket and stateRegion in cdktf.json (commit it), and renames each local
     file to <file>.migrated: kept, never deleted.

Stopped before step 5, the deployment still uses its local files, untouched.

Options:
  --dry-run   print every command it would run, and run none
  --help      show this help
EOF
}

parse_flags -- "$@"
cd "$ROOT"

step "Preflight checks"
if [ "$DRY_RUN" = 1 ]; then
  check_aws
  run terraform version
  run node --version
else
  check_aws
  check_terraform
  check_node
  state_bucket="${THUMBNAILER_STATE_BUCKET:-$(settings get stateBucket)}"
  if [ -n "$state_bucket" ]; then
    problem "stateBucket is already set to $state_bucket (cdktf.json context or THUMBNAILER_STATE_BUCKET): the state is remote, nothing to migrate"
  fi
  end_preflight
fi

# Each stack directory keeps the backend it was last initialized with (.terraform/): init with
# the local one first, so -migrate-state copies from these files, even in a fresh cdktf.out.
step "Record the local state of each stack (cdktf synth, terraform init)"
run npx cdktf synth >&2 || die "cdktf synth failed: see the errors above"

step "Create or reuse the state bucket, and check nothing there would be overwritten"
if [ "$DRY_RUN" = 1 ]; then
  info "would create or reuse the state bucket <name>-tfstate-<account>-<region> and refuse if it holds a state at a key below"
  bucket="<bucket>"
  region="<region>"
  moves="<stack> <local-file> <key>"
else
  ensured="$(node_tool state-bucket ensure --migrating)" ||
    die "no state bucket: see the error above (nothing was changed)"
  read -r bucket region <<<"$ensured"
  moves="$(node_tool state-bucket migration "$bucket" "$region")" ||
    die "see the error above"
fi
if [ -z "$moves" ]; then info "no stack has local state: nothing to copy"; fi

while read -r stack _ _; do
  [ -n "$stack" ] || continue
  run terraform "-chdir=cdktf.out/stacks/$stack" init -input=false >&2 ||
    die "terraform init of $stack with its local state failed: see the errors above (nothing was changed)"
done <<<"$moves"

step "Copy each stack's state into s3://$bucket/ (terraform init -migrate-state)"
# This synth only: nothing is persisted until every copy is checked.
run env "THUMBNAILER_STATE_BUCKET=$bucket" "THUMBNAILER_STATE_REGION=$region" npx cdktf synth >&2 ||
  die "cdktf synth with the state bucket failed: see the errors above (the local state is untouched)"
keys=()
while read -r stack _ key; do
  [ -n "$stack" ] || continue
  run terraform "-chdir=cdktf.out/stacks/$stack" init -migrate-state -force-copy -input=false >&2 ||
    die "terraform could not copy the state of $stack: see the errors above (the local state is untouched and still in use)"
  keys+=("$key")
done <<<"$moves"
if [ "$DRY_RUN" = 0 ] && [ "${#keys[@]}" -gt 0 ]; then
  node_tool state-bucket check "$bucket" "$region" "${keys[@]}" ||
    die "terraform init succeeded but the state above is not in s3://$bucket/ (the local state is untouched and still in use)"
  info "s3://$bucket/ holds the state of every stack: ${keys[*]}"
fi

step "Use the state bucket from now on"
if [ "$DRY_RUN" = 1 ]; then
  info "would persist stateBucket=$bucket and stateRegion=$region in cdktf.json, and rename each local state file to <file>.migrated"
else
  settings persist "stateBucket=$bucket" "stateRegion=$region"
  while read -r stack path _; do
    [ -n "$stack" ] || continue
    kept="$path.migrated"
    n=1
    while [ -e "$kept" ]; do
      kept="$path.migrated.$n"
      n=$((n + 1))
    done
    run mv "$path" "$kept"
  done <<<"$moves"
  info "commit cdktf.json: every command now keeps state in s3://$bucket/ ($region), locked"
  info "the old local files are kept as *.migrated; delete them once a plan (npx cdktf diff) shows no changes"
fi
step "Done"
