#!/usr/bin/env bash
# saxon-marginal.sh STYLESHEET DOCLIST_FILE K: run Saxon-HE (one JVM, directory mode) over 1 copy and over K copies
# of the listed documents and print wall times and the marginal cost (tk - t1) / ((K-1) * n) per document.
# DOCLIST_FILE: one path a line (relative = under $CDAGATE_SHARED/cda/samples), or "@reference" for the 51 scored docs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${CDAGATE_SHARED:-$root/../shared}
samples=$shared/cda/samples

if [ ! -d "$shared" ]; then
  echo "skip: shared data not found at $shared (set CDAGATE_SHARED)"
  exit 0
fi
if [ $# -ne 3 ]; then
  echo "usage: $0 STYLESHEET DOCLIST_FILE K" >&2
  exit 2
fi
xsl=$1 list=$2 k=$3
case $k in '' | *[!0-9]*) echo "error: K must be an integer >= 2" >&2; exit 2 ;; esac
[ "$k" -ge 2 ] || { echo "error: K must be an integer >= 2" >&2; exit 2; }
[ -f "$xsl" ] || { echo "error: stylesheet $xsl not found" >&2; exit 1; }
jar=${SAXON_JAR:-/usr/share/java/Saxon-HE.jar}
[ -f "$jar" ] || { echo "error: $jar not found (Debian package libsaxonhe-java)" >&2; exit 1; }
command -v java >/dev/null || { echo "error: java not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$list" = "@reference" ]; then
  (cd "$shared/cda/reference" && find . -name '*.findings.tsv' | sed 's|^\./||; s|\.findings\.tsv$|.xml|' | LC_ALL=C sort) > "$tmp/list"
else
  [ -f "$list" ] || { echo "error: doclist $list not found" >&2; exit 1; }
  grep -v -e '^[[:space:]]*$' -e '^#' "$list" > "$tmp/list" || true
fi

# Input directories: in1 holds one copy, ink holds K copies under distinct names (symlinks to the documents).
mkdir -p "$tmp/in1" "$tmp/ink" "$tmp/out1" "$tmp/outk"
n=0
while IFS= read -r doc; do
  case $doc in /*) path=$doc ;; *) path=$samples/$doc ;; esac
  [ -f "$path" ] || { echo "error: document $path not found" >&2; exit 1; }
  n=$((n + 1))
  name=$(printf '%s' "$doc" | sed 's|^/||; s|/|__|g')
  ln -s "$path" "$tmp/in1/c1__$name"
  for i in $(seq 1 "$k"); do ln -s "$path" "$tmp/ink/c${i}__$name"; done
done < "$tmp/list"
[ "$n" -gt 0 ] || { echo "error: empty document list" >&2; exit 1; }

# One JVM per run; Saxon compiles the stylesheet once and transforms every file of the input directory.
# Wall time is taken around the whole java process; -t adds per-file "Execution time" lines as a cross-check.
run() { # run IN OUT LOG -> prints wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  java ${JAVA_OPTS:-} -cp "$jar" net.sf.saxon.Transform -t -s:"$1" -o:"$2" -xsl:"$xsl" 2> "$3" ||
    { echo "error: saxon failed, see log:" >&2; tail -20 "$3" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
t1=$(run "$tmp/in1" "$tmp/out1" "$tmp/log1")
tk=$(run "$tmp/ink" "$tmp/outk" "$tmp/logk")
count=$(find "$tmp/outk" -type f | wc -l)
[ "$count" -eq $((n * k)) ] || { echo "error: expected $((n * k)) outputs, got $count" >&2; exit 1; }

# Cross-check from Saxon's own -t timings: summed per-file "Execution time" (source parse + transform + output),
# same differencing: (sum_k - sum_1) / ((K-1) * n). Free of JVM start-up and stylesheet compile-time jitter.
sum_exec() {
  awk '/^Execution time:/ {
    s = $0
    if (s ~ /\(/) { sub(/.*\(/, "", s); sub(/ms\).*/, "", s) } else { sub(/^Execution time: */, "", s); sub(/ms.*/, "", s) }
    sum += s; m++ }
  END { printf "%.3f %d", sum / 1000, m }' "$1"
}
read -r e1 m1 <<< "$(sum_exec "$tmp/log1")"
read -r ek mk <<< "$(sum_exec "$tmp/logk")"
if [ "$m1" -ne "$n" ] || [ "$mk" -ne $((n * k)) ]; then
  e1=0 ek=0
  echo "warning: unexpected -t output ($m1/$mk timings for $n/$((n * k)) documents)" >&2
fi

awk -v n="$n" -v k="$k" -v a="$t1" -v b="$tk" -v c="$e1" -v d="$ek" 'BEGIN {
  printf "saxon-he docs=%d k=%d t1=%.3f tk=%.3f marginal_ms_per_doc=%.1f exec1=%.3f execk=%.3f exec_marginal_ms_per_doc=%.1f\n",
    n, k, a, b, (b - a) * 1000 / ((k - 1) * n), c, d, (d - c) * 1000 / ((k - 1) * n) }'
