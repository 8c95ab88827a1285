#!/usr/bin/env bash
# Proves that `make lint` can see the problems it reports none of: it plants
# a Go file with no license header, a function longer than 80 lines and a comment
# pointing at design.md (then comments naming docs/ or a benchmark key) in
# bin/_lintcontrol (outside ./..., so the real runs
# never see it) and fails unless goheader, funlen and hack/lint-comments.sh
# each report it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/bin/_lintcontrol
rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
{
  echo '// Package lintcontrol is a planted positive control for make lint.'
  echo 'package lintcontrol'
  echo
  echo '// Long is longer than 80 lines; see design.md.'
  echo 'func Long() int {'
  echo '	n := 0'
  for _ in $(seq 80); do echo '	n++'; done
  echo '	return n'
  echo '}'
} > "$dir/control.go"

out=$(cd "$root" && bin/golangci-lint run --allow-serial-runners --config .golangci.yml --enable-only goheader,funlen ./bin/_lintcontrol/ 2>&1 || true)
missing=
for linter in goheader funlen; do
  grep -q "($linter)" <<<"$out" || missing="$missing $linter"
done
if (cd "$root" && hack/lint-comments.sh bin/_lintcontrol/control.go) 2>/dev/null; then
  missing="$missing lint-comments"
fi
# A comment that names a document or a benchmark's goal key, each alone.
for planted in 'see docs/performance.md' 'a tenth of P7'; do
  printf '// Package lintcontrol is a planted positive control.\npackage lintcontrol\n\n// Short costs little: %s.\nfunc Short() {}\n' "$planted" > "$dir/comment.go"
  if (cd "$root" && hack/lint-comments.sh bin/_lintcontrol/comment.go) 2>/dev/null; then
    missing="$missing lint-comments($planted)"
  fi
done
if [ -n "$missing" ]; then
  printf 'lint control: these checks missed the planted problem:%s\n%s\n' "$missing" "$out" >&2
  exit 1
fi
echo "lint control: goheader, funlen and lint-comments each caught the planted problem"
