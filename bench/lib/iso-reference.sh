#!/usr/bin/env bash
# iso-reference.sh WORKDIR: compile ccda-r2.1.sch the standard way (ISO Schematron "skeleton", XSLT 1.0, run by
# xsltproc: iso_dsdl_include -> iso_abstract_expand -> iso_svrl_for_xslt1, phase #ALL) into WORKDIR, copy voc.xml
# beside it and print the compiled stylesheet's path. Skeleton: Debian python3-lxml (system copy, else bench/.deps).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${CDAGATE_SHARED:-$root/../shared}
sch_dir=$shared/cda/schematron

if [ ! -d "$shared" ]; then
  echo "skip: shared data not found at $shared (set CDAGATE_SHARED)"
  exit 0
fi
if [ ! -f "$sch_dir/ccda-r2.1.sch" ] || [ ! -f "$sch_dir/voc.xml" ]; then
  echo "skip: $sch_dir/ccda-r2.1.sch or voc.xml missing"
  exit 0
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 WORKDIR" >&2
  exit 2
fi
command -v xsltproc >/dev/null || { echo "error: xsltproc not found (Debian package xsltproc)" >&2; exit 1; }

# The skeleton is not packaged on npm; Debian's python3-lxml ships the 2010 "ISO SCHEMATRON 2010" XSLT 1.0
# distribution verbatim (zlib-licensed files) under lxml/isoschematron/resources/xsl/iso-schematron-xslt1.
rel=lxml/isoschematron/resources/xsl/iso-schematron-xslt1
deps=$root/bench/.deps
skel=${ISO_SKELETON_DIR:-}
if [ -z "$skel" ]; then
  for d in /usr/lib/python3/dist-packages/$rel "$deps/iso-schematron-xslt1"; do
    if [ -f "$d/iso_svrl_for_xslt1.xsl" ]; then skel=$d; break; fi
  done
fi
if [ -z "$skel" ]; then
  # Not installed: fetch the .deb without installing it and keep only the skeleton files.
  command -v apt-get >/dev/null || { echo "error: no skeleton and no apt-get; install python3-lxml" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && apt-get download python3-lxml >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; fi
    (cd "$tmp" && apt-get download python3-lxml >/dev/null 2>&1) ||
      { echo "error: apt-get download python3-lxml failed; install python3-lxml" >&2; exit 1; }
  fi
  dpkg-deb -x "$tmp"/python3-lxml_*.deb "$tmp/x"
  mkdir -p "$deps"
  rm -rf "$deps/iso-schematron-xslt1"
  cp -r "$tmp/x/usr/lib/python3/dist-packages/$rel" "$deps/iso-schematron-xslt1"
  dpkg-deb -f "$tmp"/python3-lxml_*.deb Package Version > "$deps/iso-schematron-xslt1/SOURCE"
  skel=$deps/iso-schematron-xslt1
fi
[ -f "$skel/iso_svrl_for_xslt1.xsl" ] || { echo "error: no iso_svrl_for_xslt1.xsl in $skel" >&2; exit 1; }

work=$1
mkdir -p "$work"
work=$(cd "$work" && pwd)
xsltproc -o "$work/ccda-r2.1.step1.sch" "$skel/iso_dsdl_include.xsl" "$sch_dir/ccda-r2.1.sch"
xsltproc -o "$work/ccda-r2.1.step2.sch" "$skel/iso_abstract_expand.xsl" "$work/ccda-r2.1.step1.sch"
# phase '#ALL' is the skeleton's default here (the schema has no defaultPhase); other parameters stay at their
# defaults (allow-foreign=false, diagnose=true, generate-paths=true, generate-fired-rule=true).
xsltproc --stringparam phase '#ALL' -o "$work/ccda-r2.1.xsl" "$skel/iso_svrl_for_xslt1.xsl" "$work/ccda-r2.1.step2.sch"
cp "$sch_dir/voc.xml" "$work/voc.xml"
echo "$work/ccda-r2.1.xsl"
