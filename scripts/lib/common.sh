# shellcheck shell=bash
# Shared by scripts/*.sh: progress output, --dry-run, preflight checks, and the calls into ops/
# that decide (node_tool).
# Sourced, not run. Progress goes to stderr, so a script's stdout carries only its result.

DRY_RUN=0
STEP=0
PROBLEMS=()

step() {
  STEP=$((STEP + 1))
  printf '\n==> [%d] %s\n' "$STEP" "$*" >&2
}

info() { printf '    %s\n' "$*" >&2; }

die() {
  printf '\nerror: %s\n' "$*" >&2
  exit 1
}

# Parses a script's options: parse_flags ROW... -- "$@". A row "--name VARIABLE [WHAT]" takes a
# value into VARIABLE (missing, the error says "--name needs WHAT", "a value" by default); a row
# "--name VARIABLE=VALUE" is a switch. Every script also takes --dry-run (DRY_RUN=1) and -h/--help
# (prints the script's usage, exits 0); any other option prints usage and fails naming it.
parse_flags() {
  local rows=("--dry-run DRY_RUN=1") row flag target what found
  while [ "$1" != "--" ]; do
    rows+=("$1")
    shift
  done
  shift
  while [ "$#" -gt 0 ]; do
    case "$1" in -h | --help) usage && exit 0 ;; esac
    found=0
    for row in "${rows[@]}"; do
      read -r flag target what <<<"$row"
      if [ "$flag" = "$1" ]; then found=1 && break; fi
    done
    [ "$found" = 1 ] || { usage >&2 && die "unknown option: $1"; }
    if [[ "$target" == *=* ]]; then
      printf -v "${target%%=*}" '%s' "${target#*=}"
      shift
    else
      [ "$#" -ge 2 ] || die "$1 needs ${what:-a value}"
      printf -v "$target" '%s' "$2"
      shift 2
    fi
  done
}

# The command line as one copy-pasteable string: plain words bare, others in single quotes.
quoted() {
  local out=() arg quote="'" escaped_quote="'\\''"
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+=("$arg")
    else
      out+=("'${arg//$quote/$escaped_quote}'")
    fi
  done
  printf '%s' "${out[*]}"
}

# Prints a command, then runs it, unless --dry-run, where it only prints it.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '    would run: %s\n' "$(quoted "$@")" >&2
    return 0
  fi
  printf '    $ %s\n' "$(quoted "$@")" >&2
  "$@"
}

# --- Preflight: every check runs, then all problems are reported together -----------------------

problem() { PROBLEMS+=("$*"); }

# Exits with every problem found; creates nothing.
end_preflight() {
  if [ "${#PROBLEMS[@]}" -gt 0 ]; then
    printf '\nPreflight failed; nothing was created or changed:\n' >&2
    printf '  - %s\n' "${PROBLEMS[@]}" >&2
    exit 1
  fi
  info "all checks passed"
}

need_command() {
  if ! command -v "$1" >/dev/null 2>&1; then
    problem "$1 not found on PATH: $2"
    return 1
  fi
}

# Working AWS credentials (STS GetCallerIdentity on the SDK, ops/aws-account.ts: no AWS CLI
# needed); sets AWS_ACCOUNT. Under --dry-run it only says so.
check_aws() {
  if [ "$DRY_RUN" = 1 ]; then
    info "would check the AWS credentials and read the account (sts:GetCallerIdentity)"
    return 0
  fi
  local out status=0
  out="$(node_tool aws-account account 2>&1)" || status=$?
  out="${out##*$'\n'}" # its last line: the account, or "error: WHY" (a build may come before)
  if [ "$status" = 0 ] && [ -n "$out" ]; then
    AWS_ACCOUNT="$out"
    info "AWS account $AWS_ACCOUNT"
  else
    problem "${out#error: }"
  fi
}

check_docker_buildx() {
  need_command docker "install Docker (https://docs.docker.com/get-docker/)" || return 0
  local buildx
  if buildx="$(docker buildx version 2>/dev/null)"; then
    info "docker buildx: $buildx"
  else
    problem "Docker buildx not available: install Docker Desktop or the docker-buildx-plugin package"
  fi
  if ! docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; then
    problem "the Docker engine is not running: start Docker and retry"
  fi
}

# The oldest Terraform this project supports: the S3 state backend's lock file (use_lockfile,
# stacks/stack-base.ts) needs 1.10. The one place this floor is written down.
TERRAFORM_MIN_VERSION=1.10

check_terraform() {
  local install="install Terraform >= $TERRAFORM_MIN_VERSION (https://developer.hashicorp.com/terraform/install)"
  need_command terraform "$install" || return 0
  local first version
  first="$(terraform version 2>/dev/null | sed -n 1p)" # reads it all: no SIGPIPE under pipefail
  version="${first#Terraform v}"
  version="${version%% *}"
  if [[ ! "$version" =~ ^[0-9]+\.[0-9]+ ]]; then
    problem "cannot read Terraform's version from '$first': $install"
  elif [ "$(printf '%s\n' "$TERRAFORM_MIN_VERSION" "$version" | sort -V | head -n 1)" != "$TERRAFORM_MIN_VERSION" ]; then
    problem "Terraform $version is older than $TERRAFORM_MIN_VERSION, the oldest this project supports (the S3 state backend's lock file needs it): $install"
  else
    info "$first"
  fi
}

# Node within package.json "engines" (the one place the range is written), and the project's
# dependencies installed. The range has the form ">=MAJOR.MINOR.PATCH <MAJOR".
check_node() {
  need_command node "install Node.js 22 or 24 (https://nodejs.org/)" || return 0
  local version range
  version="$(node --version)"
  range="$(node -p 'require(process.argv[1]).engines.node' "$ROOT/package.json")"
  # shellcheck disable=SC2016 # JavaScript, not shell
  if ! node -e '
    const m = /^>=(\d+)\.(\d+)\.(\d+) <(\d+)$/.exec(process.argv[1]);
    if (!m) throw new Error(`package.json engines.node: unexpected form "${process.argv[1]}"`);
    const [, a, b, c, below] = m.map(Number);
    const [x, y, z] = process.versions.node.split(".").map(Number);
    const atLeast = x !== a ? x > a : y !== b ? y > b : z >= c;
    process.exit(atLeast && x < below ? 0 : 1);
  ' "$range"; then
    problem "Node.js $version is outside package.json engines ($range): use Node.js 22 or 24"
  else
    info "Node.js $version"
  fi
  if [ ! -d "$ROOT/node_modules/cdktf-cli" ]; then
    problem "the project's dependencies are not installed: run 'npm ci' in $ROOT"
  fi
}

# --- Persisted settings (cdktf.json "context", see stacks/persisted-settings.ts) ------------------

# Runs ops/NAME.ts as compiled by `npm run build` (run here first when a TypeScript
# source is newer than the last build), from the project root.
node_tool() {
  local tool="$ROOT/dist/ops/$1.js" stale=""
  shift
  if [ -f "$tool" ]; then
    stale="$(find "$ROOT/main.ts" "$ROOT/stacks" "$ROOT/handler" "$ROOT/ops" -name '*.ts' \
      -newer "$ROOT/dist/.tsbuildinfo" -print -quit 2>/dev/null || true)"
  fi
  if [ ! -f "$tool" ] || [ -n "$stale" ]; then
    (cd "$ROOT" && npm run --silent build) >&2 || die "npm run build failed: fix the TypeScript errors above"
  fi
  (cd "$ROOT" && node "$tool" "$@")
}

# settings persist [KEY=VALUE...] | get KEY | overrides (ops/settings.ts)
settings() { node_tool settings "$@"; }

# Records one setting of this deployment in cdktf.json, e.g. persist_setting githubOidcProviderArn ARN.
persist_setting() { settings persist "$1=$2"; }

# The GitHub OIDC provider the deploy role trusts, decided before anything is created
# (ops/github-oidc.ts): one the account has that this deployment's Terraform state does not hold
# is reused, its ARN persisted as githubOidcProviderArn, so no deploy creates a second one and no
# destroy deletes it; a reused one must accept the client ID sts.amazonaws.com.
reuse_github_oidc_provider() {
  if [ "$DRY_RUN" = 1 ]; then
    info "would look for the account's GitHub OIDC provider (iam:ListOpenIDConnectProviders) and persist githubOidcProviderArn unless this deployment's Terraform state holds it"
    return 0
  fi
  local arn
  arn="$(node_tool github-oidc)" || die "no GitHub OIDC provider the deploy role can trust: see the error above. Nothing was deployed."
  if [ -n "$arn" ]; then persist_setting githubOidcProviderArn "$arn"; fi
}

# The repository the deployment is configured for (THUMBNAILER_GITHUB_REPOSITORY, then cdktf.json
# githubRepository) is the default for GITHUB_REPO, and --repo must agree with it: the deploy role
# trusts exactly one repository.
check_configured_repo() {
  local configured="${THUMBNAILER_GITHUB_REPOSITORY:-}"
  if [ -z "$configured" ]; then configured="$(settings get githubRepository)"; fi
  if [ -z "$GITHUB_REPO" ]; then
    GITHUB_REPO="$configured"
  elif [ -n "$configured" ] && [ "$configured" != "$GITHUB_REPO" ]; then
    problem "--repo $GITHUB_REPO, but the deployment is configured for $configured (THUMBNAILER_GITHUB_REPOSITORY or cdktf.json githubRepository): make them agree"
  fi
}

# gh authenticated; sets GITHUB_REPO (owner/name) from --repo or the current checkout.
check_gh() {
  need_command gh "install the GitHub CLI (https://cli.github.com/)" || return 0
  if ! gh auth status >/dev/null 2>&1; then
    problem "the GitHub CLI is not authenticated: run 'gh auth login'"
    return 0
  fi
  if [ -z "$GITHUB_REPO" ]; then
    GITHUB_REPO="$(gh repo view --json nameWithOwner --jq .nameWithOwner 2>/dev/null || true)"
  fi
  if [ -z "$GITHUB_REPO" ]; then
    problem "cannot tell which GitHub repository to configure: pass --repo OWNER/NAME"
  else
    info "GitHub repository $GITHUB_REPO"
  fi
}

# --- GitHub variables and secret (ops/github-settings.ts) ----------------------------------------

# Whether the deploy settings of $GITHUB_REPO are this deployment's (its LAMBDA_FUNCTION_NAME and
# AWS_REGION variables unset or naming this deployment's function and region): sets GITHUB_OWNED
# to 1, or to 0 with FOREIGN_SETTINGS saying whose they are. $1: bootstrap or destroy (what the
# message advises).
# shellcheck disable=SC2034 # GITHUB_OWNED and FOREIGN_SETTINGS are the calling script's
github_settings_owner() {
  local variables status=0
  variables="$(gh variable list --repo "$GITHUB_REPO" --json name,value)" ||
    die "cannot read the variables of $GITHUB_REPO (gh variable list): see the error above. Nothing was changed."
  FOREIGN_SETTINGS="$(node_tool github-settings owner "$1" "$GITHUB_REPO" <<<"$variables")" ||
    status=$?
  case "$status" in
    0) GITHUB_OWNED=1 ;;
    3) GITHUB_OWNED=0 ;;
    *) die "cannot tell whose the deploy settings of $GITHUB_REPO are: see the error above. Nothing was changed." ;;
  esac
}

# --- What the deployment plans (cdktf synth) ------------------------------------------------------

# Synthesizes the deployment into $ROOT/cdktf.out and sets PLANNED to its "KIND NAME" lines
# (ops/planned-names.ts): the names Terraform will create, or delete.
synth_planned_names() {
  run npx cdktf synth >&2 || die "cdktf synth failed: see the errors above"
  PLANNED="$(node_tool planned-names "$ROOT/cdktf.out" "$1")" ||
    die "cannot read the synthesized plan in $ROOT/cdktf.out: see the error above"
}

# The planned names of one kind, one a line.
planned() { awk -v kind="$1" '$1 == kind { print $2 }' <<<"$PLANNED"; }
