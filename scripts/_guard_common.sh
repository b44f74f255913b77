# Shared by scripts/db-*: find the migration-guard command and refuse argument overrides.
# Sourced, not executed. Teams call the db-* scripts from package.json in their own project root.

# MIGRATION_GUARD may name the command (e.g. "npx migration-guard" or ".venv/bin/migration-guard").
guard_cmd() {
  if [ -n "${MIGRATION_GUARD:-}" ]; then
    # shellcheck disable=SC2086
    echo $MIGRATION_GUARD
  elif command -v migration-guard >/dev/null 2>&1; then
    echo migration-guard
  elif [ -x "$(dirname "${BASH_SOURCE[0]}")/../.venv/bin/migration-guard" ]; then
    echo "$(dirname "${BASH_SOURCE[0]}")/../.venv/bin/migration-guard"
  else
    echo "db scripts: migration-guard not found; pip install migration-guard or set MIGRATION_GUARD" >&2
    exit 2
  fi
}

# The expected environment is the point of these scripts: an extra --env would silently win.
refuse_env_override() {
  for arg in "$@"; do
    case "$arg" in
      --env|--env=*|--expect|--expect=*)
        echo "$(basename "$0"): refusing $arg: this script fixes the expected environment itself" >&2
        exit 2 ;;
    esac
  done
}
