#!/usr/bin/env bash
# tests/lib.sh: helpers sourced by the shell tests (tests/validate/*.test): where the program and
# the data are, temporary directories removed on exit, skipping (exit 77), installing the
# ccda-r2.1 profile, and pass/fail counters. Sourced, not run; needs bash.
# shellcheck disable=SC2034 # FIXTURES, out, err, ... are for the tests that source this file

# Where things are. `make check` sets these (Makefile.am, AM_TESTS_ENVIRONMENT); the defaults let a
# test run by hand from the source tree: CDAGATE=build/cdagate tests/validate/cli.test
CDAGATE_SRCDIR=${CDAGATE_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CDAGATE_MANIFEST_DIR=${CDAGATE_MANIFEST_DIR:-$CDAGATE_SRCDIR/schemas/profiles}
CDAGATE_SHARED=${CDAGATE_SHARED:-$CDAGATE_SRCDIR/../shared}
if [ -z "${CDAGATE:-}" ]; then
    for c in "$CDAGATE_SRCDIR/build/cdagate" "$CDAGATE_SRCDIR/cdagate"; do
        if [ -x "$c" ]; then
            CDAGATE=$c
            break
        fi
    done
fi
if [ -z "${CDAGATE:-}" ] || [ ! -x "$CDAGATE" ]; then
    echo "ERROR: no cdagate program: set CDAGATE to the built program (e.g. build/cdagate)" >&2
    exit 99 # automake: hard error, not a test failure
fi
# absolute paths: a test may cd
_abspath() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
CDAGATE=$(_abspath "$CDAGATE")
CDAGATE_SRCDIR=$(_abspath "$CDAGATE_SRCDIR")
CDAGATE_MANIFEST_DIR=$(_abspath "$CDAGATE_MANIFEST_DIR")
CDAGATE_SHARED=$(_abspath "$CDAGATE_SHARED")
export CDAGATE CDAGATE_SRCDIR CDAGATE_MANIFEST_DIR CDAGATE_SHARED
# The caller's own profile directory must not leak into a test: every test names its own.
unset CDAGATE_PROFILE_DIR
FIXTURES=$CDAGATE_SRCDIR/tests/fixtures/ccda
TEST_NAME=$(basename "$0" .test)

# ---- temporary directories ----------------------------------------------------------------------
# One root per test run, under the build tree (tests/tmp next to the program, removed by
# `make distclean`), else $TMPDIR. Removed on exit unless CDAGATE_KEEP_TMP=1.
_tmp_base=${TMPDIR:-/tmp}
if [ -n "${CDAGATE_BUILDDIR:-}" ]; then
    _tmp_base=$CDAGATE_BUILDDIR/tests/tmp
elif [ -f "$(dirname "$CDAGATE")/Makefile" ]; then
    _tmp_base=$(dirname "$CDAGATE")/tests/tmp
fi
mkdir -p "$_tmp_base" 2>/dev/null || _tmp_base=${TMPDIR:-/tmp}
TEST_TMP=$(mktemp -d "$_tmp_base/$TEST_NAME.XXXXXX")
_cleanup() {
    if [ "${CDAGATE_KEEP_TMP:-0}" = 1 ]; then
        echo "kept $TEST_TMP"
    else
        rm -rf "$TEST_TMP"
    fi
}
trap _cleanup EXIT

# tmpdir: prints the path of a new empty directory (removed with the test's root on exit).
# Safe in a command substitution: d=$(tmpdir)
tmpdir() {
    mktemp -d "$TEST_TMP/d.XXXXXX"
}

# ---- skipping -----------------------------------------------------------------------------------
skip() {
    echo "SKIP: $*"
    exit 77
}

need_shared() {
    [ -d "$CDAGATE_SHARED/cda" ] ||
        skip "no shared C-CDA data at $CDAGATE_SHARED/cda (set CDAGATE_SHARED)"
}

# have_jq: true when jq is on PATH; otherwise says once which checks are left out.
have_jq() {
    if command -v jq >/dev/null 2>&1; then
        return 0
    fi
    if [ -z "${_jq_noted:-}" ]; then
        echo "note: jq is not installed; the JSON checks are skipped"
        _jq_noted=1
    fi
    return 1
}

# jq_true ARGS...: jq -e ARGS, quietly: true when the filter's last output is neither false nor null.
jq_true() {
    jq -e "$@" >/dev/null
}

# ---- running the program ------------------------------------------------------------------------
# run CMD...: runs CMD, never stopping the test; sets rc, out, err (stdout/stderr as text) and
# RUN_OUT, RUN_ERR (the same as files, byte for byte).
RUN_OUT=$TEST_TMP/run.stdout
RUN_ERR=$TEST_TMP/run.stderr
_last_run=
run() {
    rc=0
    "$@" >"$RUN_OUT" 2>"$RUN_ERR" || rc=$?
    out=$(cat "$RUN_OUT")
    err=$(cat "$RUN_ERR")
    _last_run="$*"
}

# ---- counters -----------------------------------------------------------------------------------
npass=0
nfail=0
pass() {
    npass=$((npass + 1))
    echo "ok   - $*"
}
# fail MSG: counts a failure and shows the last `run` (command, status, start of its output).
fail() {
    nfail=$((nfail + 1))
    echo "FAIL - $*"
    if [ -n "$_last_run" ]; then
        echo "       last command: $(cut -c1-300 <<<"$_last_run") (exit $rc)"
        head -n 15 "$RUN_OUT" | cut -c1-300 | sed 's/^/       stdout: /'
        head -n 15 "$RUN_ERR" | cut -c1-300 | sed 's/^/       stderr: /'
    fi
}
# check MSG CMD...: pass when CMD succeeds, else fail.
check() {
    local msg=$1
    shift
    if "$@"; then
        pass "$msg"
    else
        fail "$msg"
    fi
}
# contains TEXT PATTERN: an extended regular expression matches somewhere in TEXT.
contains() {
    grep -Eq -- "$2" <<<"$1"
}
# finish: prints the totals and exits 0 when nothing failed, 1 otherwise.
finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ] || exit 1
    exit 0
}

# ---- profiles -----------------------------------------------------------------------------------
# install_profile DIR: installs ccda-r2.1 from $CDAGATE_SHARED/cda into the profile directory
# DIR, once per test run (a second call for the same DIR does nothing). The install is always
# made by the program under test: a copy cached from another build could hide a broken
# install or compiler. Sets INSTALL_OUTPUT; stops the test (exit 1) when the install fails.
_installed_dirs=" "
install_profile() {
    local dir=$1
    case $_installed_dirs in *" $dir "*) return 0 ;; esac
    need_shared
    local st=0
    INSTALL_OUTPUT=$("$CDAGATE" profile install ccda-r2.1 --from "$CDAGATE_SHARED/cda" \
        --profile-dir "$dir" 2>&1) || st=$?
    if [ "$st" -ne 0 ]; then
        echo "FAIL - cdagate profile install ccda-r2.1 into $dir exited $st:"
        # shellcheck disable=SC2001
        sed 's/^/       /' <<<"$INSTALL_OUTPUT"
        echo "$npass passed, $((nfail + 1)) failed"
        exit 1
    fi
    _installed_dirs="$_installed_dirs$dir "
}

# ---- a running server ---------------------------------------------------------------------------
# start_server DATADIR [ARGS...]: starts `cdagate serve` on a free loopback port with that data
# directory; waits for "ready". Sets SERVER_PID, SERVER_PORT, SERVER_URL, SERVER_LOG. The server
# is stopped on exit (stop_server stops it earlier). Stops the test when it does not start.
SERVER_PID=
start_server() {
    local data=$1
    shift
    SERVER_LOG=$TEST_TMP/server.$RANDOM.log
    "$CDAGATE" serve --listen 127.0.0.1:0 --data-dir "$data" "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 300); do
        if grep -q '^cdagate: ready' "$SERVER_LOG" 2>/dev/null; then
            SERVER_PORT=$(sed -n 's/^cdagate: listening on https\{0,1\}:\/\/[^ ]*:\([0-9][0-9]*\)$/\1/p' "$SERVER_LOG" | head -n 1)
            SERVER_URL=http://127.0.0.1:$SERVER_PORT
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "FAIL - cdagate serve did not start:"
    sed 's/^/       /' "$SERVER_LOG"
    echo "$npass passed, $((nfail + 1)) failed"
    exit 1
}
# stop_server [SIGNAL]: stops the server (TERM by default) and waits for it; sets server_rc.
stop_server() {
    server_rc=0
    [ -n "$SERVER_PID" ] || return 0
    kill -"${1:-TERM}" "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || server_rc=$?
    SERVER_PID=
}
_cleanup_server() {
    stop_server KILL
    _cleanup
}
trap _cleanup_server EXIT

# soap_envelope ACTION BODYFILE: prints a SOAP 1.2 envelope with WS-Addressing around BODYFILE
# (a body element, with or without an XML declaration).
soap_envelope() {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n'
    printf '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">'
    printf '<soap:Header><wsa:Action soap:mustUnderstand="1">%s</wsa:Action>' "$1"
    printf '<wsa:MessageID>urn:uuid:%s</wsa:MessageID>' "$(cat /proc/sys/kernel/random/uuid)"
    printf '<wsa:To>%s</wsa:To></soap:Header><soap:Body>' "${SERVER_URL:-http://localhost/}"
    sed '1{/^<?xml/d}' "$2"
    printf '</soap:Body></soap:Envelope>'
}

# post PATH CONTENT_TYPE FILE: POSTs FILE to the server; sets rc (curl), http (status code),
# out (response body as text) and RUN_OUT (the same, byte for byte), rheaders (response headers).
post() {
    local hdr=$TEST_TMP/post.headers
    rc=0
    http=$(curl -sS -o "$RUN_OUT" -D "$hdr" -w '%{http_code}' -H "Content-Type: $2" \
        --data-binary @"$3" "$SERVER_URL$1" 2>"$RUN_ERR") || rc=$?
    out=$(tr -d '\0' <"$RUN_OUT")
    err=$(cat "$RUN_ERR")
    rheaders=$(cat "$hdr" 2>/dev/null || true)
    _last_run="POST $1 ($2) $3"
}
# soap_post PATH ACTION BODYFILE: wraps BODYFILE in an envelope and POSTs it as SOAP 1.2.
soap_post() {
    local env=$TEST_TMP/post.envelope.xml
    soap_envelope "$2" "$3" >"$env"
    post "$1" "application/soap+xml; charset=UTF-8; action=\"$2\"" "$env"
}
# mtom_post PATH ACTION BODYFILE [CID FILE]...: POSTs an MTOM request whose root part is the
# envelope around BODYFILE and whose attachments are FILEs with the given Content-IDs.
mtom_post() {
    local path=$1 action=$2 body=$3
    shift 3
    local req=$TEST_TMP/post.mtom boundary="MIMEBoundary_cdagate_test_$RANDOM"
    {
        printf -- '--%s\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n' "$boundary"
        printf 'Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cdagate.test>\r\n\r\n'
        soap_envelope "$action" "$body"
        while [ $# -ge 2 ]; do
            printf '\r\n--%s\r\nContent-Type: application/octet-stream\r\n' "$boundary"
            printf 'Content-Transfer-Encoding: binary\r\nContent-ID: <%s>\r\n\r\n' "$1"
            cat "$2"
            shift 2
        done
        printf '\r\n--%s--\r\n' "$boundary"
    } >"$req"
    post "$path" "multipart/related; type=\"application/xop+xml\"; boundary=\"$boundary\"; start=\"<root.message@cdagate.test>\"; start-info=\"application/soap+xml\"; action=\"$action\"" "$req"
}
# status_of: the RegistryResponse status in the last answer (Success, Failure, PartialSuccess).
status_of() {
    grep -o 'status="[^"]*"' <<<"$out" | head -n 1 | sed 's/.*[:"]\([A-Za-z]*\)"$/\1/'
}
# error_codes: the errorCode values in the last answer, one per line.
error_codes() {
    grep -o 'errorCode="[^"]*"' <<<"$out" | sed 's/errorCode="\(.*\)"/\1/'
}
