#!/usr/bin/env bash
# Proves that the release profile makes a bundle the Central Portal accepts, without a real key and without
# uploading anything:
#   1. takes Maven 3.9.2 or later (the one on the PATH, or apache-maven from Maven Central, kept in the local
#      repository after the first run);
#   2. copies the working tree (committed and untracked files, not ignored ones) into a temporary folder and drops
#      -SNAPSHOT from its version there, since Central bundles releases only; the working tree is not touched;
#   3. resolves the release build's plugins and dependencies (from Maven Central, the first time only);
#   4. generates a throwaway GPG key (no passphrase) in a temporary GNUPGHOME;
#   5. runs mvn -Prelease deploy with that key, tests skipped, nothing installed or uploaded, and offline in
#      effect: every remote repository is mirrored to an empty folder, so it uses only what step 3 resolved (not
#      with mvn -o, since the Central plugin then skips the bundle);
#   6. lists target/central-publishing/central-bundle.zip and checks it holds the jar, the pom, the sources jar
#      and the Javadoc jar, each with a signature that gpg verifies and MD5 and SHA-1 checksums that match, and
#      that the pom carries what Central requires (name, description, url, licenses, developers, scm).
# The temporary folders and the key's gpg-agent are removed at exit.
#
# Usage: scripts/check-release.sh            (from anywhere; KEEP=1 keeps the temporary folder)
# Exit code 0 when every check passed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# LibTorch's OpenMP threads busy-wait by default and starve the JVM on machines with few cores (see README).
export OMP_WAIT_POLICY=PASSIVE

maven_needed=3.9.2
maven_fetched=3.9.16

fail() {
  echo "check-release: FAIL: $*" >&2
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/opt-list-release.XXXXXX")"
export GNUPGHOME="$work/gnupg"
cleanup() {
  # The key's gpg-agent was started for this GNUPGHOME only; stop it before its folder goes.
  if [ -d "$GNUPGHOME" ]; then gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "keeping $work"; fi
}
trap cleanup EXIT

command -v gpg >/dev/null || fail "gpg is not installed (Debian: apt-get install gnupg)"

# -- 1. Maven
mvn_cmd=mvn
# mvn -v colours its first line even in batch mode: drop the escapes before reading the version.
maven_line() { "$1" -B -v 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed -n '/^Apache Maven /{p;q}' || true; }
system_maven="$(maven_line mvn | sed -n 's/^Apache Maven \([0-9.]*\).*/\1/p')"
if [ -z "$system_maven" ] \
    || [ "$(printf '%s\n%s\n' "$maven_needed" "$system_maven" | sort -V | head -n 1)" != "$maven_needed" ]; then
  echo "== Maven ${system_maven:-?} is older than $maven_needed:" \
    "using apache-maven $maven_fetched from Maven Central (kept in the local repository)"
  (cd "$work" && mvn -B -q -Dstyle.color=never \
    org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy \
    -Dartifact="org.apache.maven:apache-maven:$maven_fetched:tar.gz:bin" -DoutputDirectory="$work" \
    >"$work/fetch-maven.log" 2>&1) || { cat "$work/fetch-maven.log" >&2; fail "could not fetch apache-maven"; }
  tar -xzf "$work/apache-maven-$maven_fetched-bin.tar.gz" -C "$work"
  mvn_cmd="$work/apache-maven-$maven_fetched/bin/mvn"
fi
echo "== $(maven_line "$mvn_cmd")"

# -- 2. a release copy of the working tree
project="$work/project"
mkdir -p "$project"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$project"
snapshot="$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$project/pom.xml" | head -n 1)"
[ -n "$snapshot" ] || fail "cannot read the project version from pom.xml"
version="${snapshot%-SNAPSHOT}"
sed -i "0,/^  <version>.*<\/version>$/s//  <version>$version<\/version>/" "$project/pom.xml"
echo "== building opt-list $version (from $snapshot) in $project"

mvn_release() {
  (cd "$project" && "$mvn_cmd" -B -Dstyle.color=never -Prelease "$@")
}

# -- 3. resolve once, online (Maven Central only); later runs find everything in the local repository
echo "== resolving the release build's plugins and dependencies"
mvn_release -q org.apache.maven.plugins:maven-dependency-plugin:3.11.0:go-offline >"$work/resolve.log" 2>&1 \
  || { tail -n 40 "$work/resolve.log" >&2; fail "resolving the release build failed (log above)"; }

# -- 4. a throwaway key
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-gen-key 'opt-list release check (throwaway) <release-check@invalid>' ed25519 sign 1d 2>/dev/null
key="$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')"
[ -n "$key" ] || fail "no throwaway key was generated"
echo "== throwaway key $key"

# -- 5. the release build, offline in effect
# The Central plugin skips its goal, bundle and all, under mvn -o; instead every repository is mirrored to an
# empty folder under the id the local repository recorded them with, so anything not yet resolved fails the build
# rather than being fetched. A user settings.xml still applies (its own mirrors come first).
mkdir -p "$work/no-repository"
cat > "$work/offline-settings.xml" <<EOF
<settings>
  <mirrors>
    <mirror>
      <id>central</id>
      <mirrorOf>*</mirrorOf>
      <url>file://$work/no-repository</url>
    </mirror>
  </mirrors>
</settings>
EOF
echo "== mvn -Prelease deploy -DskipTests, no remote repository (nothing installed or uploaded)"
if ! mvn_release -gs "$work/offline-settings.xml" -DskipTests -Dmaven.install.skip=true -Dcentral.skipUpload=true \
    -Dgpg.keyname="$key" -Dgpg.homedir="$GNUPGHOME" deploy >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  fail "the release build failed (log above)"
fi

# -- 6. the bundle
bundle="$project/target/central-publishing/central-bundle.zip"
[ -f "$bundle" ] || fail "no bundle at target/central-publishing/central-bundle.zip"
echo "== central-bundle.zip"
unzip -l "$bundle" | awk 'NR > 3 && $4 ~ /[^\/]$/ && $4 ~ /\// { printf "%10s  %s\n", $1, $4 }' | sort -k 2
unpacked="$work/bundle"
mkdir -p "$unpacked"
unzip -q "$bundle" -d "$unpacked"
dir="$unpacked/io/github/optlist/opt-list/$version"
[ -d "$dir" ] || fail "the bundle has no io/github/optlist/opt-list/$version folder"

checked=0
for file in "opt-list-$version.jar" "opt-list-$version.pom" "opt-list-$version-sources.jar" \
    "opt-list-$version-javadoc.jar"; do
  path="$dir/$file"
  [ -s "$path" ] || fail "the bundle lacks $file"
  [ -f "$path.asc" ] || fail "the bundle lacks $file.asc"
  gpg --batch --quiet --verify "$path.asc" "$path" 2>/dev/null || fail "$file.asc is not a good signature of $file"
  for sum in md5 sha1; do
    [ -f "$path.$sum" ] || fail "the bundle lacks $file.$sum"
    expected="$(cut -d ' ' -f 1 < "$path.$sum" | tr -d '\r\n')"
    actual="$("${sum}sum" < "$path" | cut -d ' ' -f 1)"
    [ "$expected" = "$actual" ] || fail "$file.$sum says $expected, the file's ${sum} is $actual"
  done
  checked=$((checked + 1))
done

# The listing goes through a variable: grep -q stopping early would fail the pipe under pipefail.
jar_has() {
  local names
  names="$(unzip -Z1 "$dir/$1")"
  grep -qE "$2" <<<"$names"
}
jar_has "opt-list-$version.jar" 'io/github/optlist/torch/NAdamWCosineDecay\.class$' || fail "the jar lacks the classes"
! jar_has "opt-list-$version.jar" 'io/github/optlist/(examples|bench)/' || fail "the jar holds examples or benchmarks"
jar_has "opt-list-$version-sources.jar" 'io/github/optlist/torch/NAdamWCosineDecay\.java$' \
  || fail "the sources jar lacks the sources"
jar_has "opt-list-$version-javadoc.jar" 'index\.html$' || fail "the Javadoc jar lacks index.html"

pom="$dir/opt-list-$version.pom"
for element in name description url licenses developers scm; do
  grep -q "<$element>" "$pom" || fail "the pom lacks <$element>, which Central requires"
done
grep -q "<version>$version</version>" "$pom" || fail "the pom in the bundle is not version $version"

echo "check-release: ok: $checked artifacts, each signed (.asc verified) with matching .md5 and .sha1;" \
  "the pom has name, description, url, licenses, developers and scm"
