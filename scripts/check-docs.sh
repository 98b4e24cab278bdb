#!/usr/bin/env bash
# Checks the documentation, from the project root: README.md is at most 300 lines; every relative link in
# README.md and docs/*.md points to a file that exists (and, with #anchor, to a heading of that file); and no
# documented command needs the test class path (test-classes, OPT_LIST_TEST_CLASSES).
# Exits 0 when all hold, 1 after listing every failure.
set -euo pipefail
cd "$(dirname "$0")/.."

max_lines=300
failures=0
fail() {
  echo "check-docs: $*" >&2
  failures=$((failures + 1))
}

# GitHub's anchor of each heading of a Markdown file, one a line: lower case, inline code marks and punctuation
# dropped except '-' and '_', spaces turned into '-'.
anchors() {
  grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' \
    | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

lines=$(wc -l < README.md)
if [ "$lines" -gt "$max_lines" ]; then
  fail "README.md has $lines lines, more than $max_lines"
fi

for page in README.md docs/*.md; do
  dir=$(dirname "$page")
  # Markdown links and images: ](target) where target is not a URL.
  while IFS= read -r target; do
    case "$target" in
      http://* | https://* | mailto:*) continue ;;
    esac
    file=${target%%#*}
    anchor=""
    if [ "$file" != "$target" ]; then
      anchor=${target#*#}
    fi
    if [ -z "$file" ]; then
      path=$page
    else
      path="$dir/$file"
    fi
    if [ ! -e "$path" ]; then
      fail "$page links to $target, but $path does not exist"
      continue
    fi
    if [ -n "$anchor" ] && [[ "$path" == *.md ]] && ! anchors "$path" | grep -qxF -- "$anchor"; then
      fail "$page links to $target, but $path has no heading with anchor #$anchor"
    fi
  done < <(grep -oE '\]\([^)[:space:]]+\)' "$page" | sed -E 's/^\]\(//; s/\)$//')
done

# Every README link into docs/ must name an existing file (covered above); say so explicitly when none exist.
if ! grep -qE '\]\(docs/[^)]+\)' README.md; then
  fail "README.md links to no docs/ page"
fi

if grep -nE 'test-classes|OPT_LIST_TEST_CLASSES' README.md docs/*.md >&2; then
  fail "a documented command needs the test class path (lines above)"
fi

if [ "$failures" -gt 0 ]; then
  echo "check-docs: $failures failure(s)" >&2
  exit 1
fi
echo "check-docs: README.md $lines lines, links and commands ok"
