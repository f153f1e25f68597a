#!/usr/bin/env bash
# Provision @tensorflow/tfjs-node 4.22.0 from package registries only (npm + PyPI).
#
# tfjs-node's own install script downloads libtensorflow 2.9.1 and a prebuilt addon from
# storage.googleapis.com. This script instead takes libtensorflow from the `tensorflow-cpu==2.9.1`
# wheel on PyPI (its _pywrap_tensorflow_internal.so exports the whole TF_*/TFE_* C API and the wheel
# ships the C headers), lays it out as tfjs-node's deps/ expects and builds the N-API addon from
# source with node-gyp against the local Node headers.
#
# tfjs-node is installed with `npm install --no-save`: it never enters package.json or
# package-lock.json, so a plain `npm ci` does not need it (and removes it: re-run this script
# afterwards; with a warm cache that takes seconds, no download and no compile).
#
# Usage: tools/provision-tfjs-node.sh [--force-build] [--clean-cache]
#   --force-build   ignore the cached addon and build from source again
#   --clean-cache   delete .cache/tfjs-node (wheel, extracted library, built addon) first
# Env:   TFJS_NODE_CACHE  cache dir (default <repo>/.cache/tfjs-node)
#        PIP              pip command (default: python3 -m pip)
#        pip/npm honour their usual proxy/index settings (HTTPS_PROXY, PIP_INDEX_URL, npm config ...)
# Exit:  0 when `require('@tensorflow/tfjs-node')` gives a working 'tensorflow' backend, non-zero
#        otherwise, with the failing step named (preflight / install package / download wheel /
#        extract / layout / build / verify).
set -Eeuo pipefail

TFJS_NODE_VERSION=4.22.0
TF_VERSION=2.9.1
WHEEL_NAME=tensorflow_cpu-2.9.1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=6666ddeae45e1f41da788cb4bdea3435aba16edb0bc17b7ac00631c7c9eb052e

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TFJS_NODE_CACHE:-$ROOT/.cache/tfjs-node}"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
NPM_LOCK=/tmp/npm.lock
PIP_CMD="${PIP:-python3 -m pip}"

FORCE_BUILD=0
for a in "$@"; do
  case "$a" in
    --force-build) FORCE_BUILD=1 ;;
    --clean-cache) rm -rf "$CACHE" ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "provision-tfjs-node: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

STEP=preflight
T0=$(date +%s)
log() { echo "[provision-tfjs-node] $*"; }
step() { STEP="$1"; log "== step: $1${2:+ - $2}"; }
die() { echo "[provision-tfjs-node] FAILED at step '$STEP': $*" >&2; exit 1; }
trap 'rc=$?; echo "[provision-tfjs-node] FAILED at step '"'"'$STEP'"'"' (command: $BASH_COMMAND, exit $rc)" >&2; exit $rc' ERR

# Run an npm command that touches node_modules under the shared lock (others work in this checkout).
locked() { if command -v flock >/dev/null; then flock "$NPM_LOCK" "$@"; else "$@"; fi; }

# ---------------------------------------------------------------------------------------------
step preflight "tools and platform"
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
  die "only linux x86_64 is supported (the tensorflow-cpu manylinux2014_x86_64 wheel); got $(uname -s) $(uname -m)"
for t in node npm python3 g++ make nm readelf ldd sha256sum; do
  command -v "$t" >/dev/null || die "'$t' not found in PATH (needed: node npm python3 g++ make binutils)"
done
NODE_BIN="$(command -v node)"
# Node headers for node-gyp, without nodejs.org: the ones installed with node itself, else node-gyp's cache.
NODEDIR=""
for d in "${npm_config_nodedir:-}" "$(dirname "$(dirname "$(readlink -f "$NODE_BIN")")")" /usr /usr/local \
         "$HOME/.cache/node-gyp/$(node -p process.versions.node)"; do
  if [ -n "$d" ] && [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ]; then NODEDIR="$d"; break; fi
done
[ -n "$NODEDIR" ] || die "no Node headers found (looked for include/node/node_api.h + common.gypi under the node prefix, /usr, /usr/local, ~/.cache/node-gyp); install the distro's nodejs-dev/headers package or set npm_config_nodedir"
NAPI="$(node -p process.versions.napi)"
KEY="tfjs-node-$TFJS_NODE_VERSION-tf-$TF_VERSION-napi$NAPI-linux-x64"
STAGE="$CACHE/$KEY"            # staged deps/ + built addon, restored after an `npm ci`
mkdir -p "$CACHE"

sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
PJ_SUM="$(sum "$ROOT/package.json")"; PL_SUM="$(sum "$ROOT/package-lock.json")"

# The check every run ends with (also the no-op test at the start).
VERIFY_JS=$(cat <<'EOF'
const path = require('path');
const tfn = require('@tensorflow/tfjs-node');
const tf = require('@tensorflow/tfjs');
const fail = (m) => { console.error('verify: ' + m); process.exit(3); };
// tfjs-node must share the root's tfjs-core instance, or its backend registers in another engine.
const coreRoot = require.resolve('@tensorflow/tfjs-core');
const coreNode = require.resolve('@tensorflow/tfjs-core', { paths: [path.dirname(require.resolve('@tensorflow/tfjs-node'))] });
if (coreRoot !== coreNode) fail(`two tfjs-core instances: ${coreRoot} vs ${coreNode}`);
console.log('backend:', tf.getBackend(), '| tfjs', tf.version.tfjs, '| tfjs-node', tfn.version['tfjs-node'], '| libtensorflow', tf.backend().binding.TF_Version);
if (tf.getBackend() !== 'tensorflow') fail(`backend is '${tf.getBackend()}', expected 'tensorflow'`);
const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]), b = tf.tensor2d([[7, 8], [9, 10], [11, 12]]);
const c = Array.from(tf.matMul(a, b).dataSync());
console.log('matmul [[1,2,3],[4,5,6]]x[[7,8],[9,10],[11,12]] =', JSON.stringify(c));
if (JSON.stringify(c) !== JSON.stringify([58, 64, 139, 154])) fail('matmul gave wrong numbers');
// gradient of sum(a@b) wrt a is ones@bT, wrt b is aT@ones
const [ga, gb] = tf.grads((x, y) => tf.matMul(x, y).sum())([a, b]);
const ga1 = Array.from(ga.dataSync()), gb1 = Array.from(gb.dataSync());
console.log('grad a =', JSON.stringify(ga1), 'grad b =', JSON.stringify(gb1));
if (JSON.stringify(ga1) !== JSON.stringify([15, 19, 23, 15, 19, 23]) || JSON.stringify(gb1) !== JSON.stringify([5, 5, 7, 7, 9, 9])) fail('matmul gradient gave wrong numbers');
console.log('verify: OK');
EOF
)
verify() { (cd "$ROOT" && node -e "$VERIFY_JS"); }
installed_version() { node -p "require('$PKG/package.json').version" 2>/dev/null || true; }
addon_path() { local f; for f in "$PKG"/lib/napi-v*/tfjs_binding.node; do [ -f "$f" ] && { echo "$f"; return 0; }; done; return 0; }

# ---------------------------------------------------------------------------------------------
# Fast path: already provisioned and working -> nothing to do.
if [ "$FORCE_BUILD" = 0 ] && [ "$(installed_version)" = "$TFJS_NODE_VERSION" ] && [ -n "$(addon_path)" ] &&
   [ -f "$PKG/deps/lib/libtfjs_pyshim.so" ]; then
  step verify "existing install"
  if out="$(verify 2>&1)"; then
    echo "$out"; log "already provisioned, nothing to do ($(( $(date +%s) - T0 ))s)"; exit 0
  fi
  log "existing install does not verify, re-provisioning:"; echo "$out" | tail -5
fi

# ---------------------------------------------------------------------------------------------
step "install package" "npm install --no-save --ignore-scripts @tensorflow/tfjs-node@$TFJS_NODE_VERSION"
if [ "$(installed_version)" != "$TFJS_NODE_VERSION" ]; then
  cp "$ROOT/package.json" "$CACHE/package.json.bak"; cp "$ROOT/package-lock.json" "$CACHE/package-lock.json.bak"
  # --ignore-scripts: its install script would try storage.googleapis.com; we build it below.
  # --prefer-offline: after an `npm ci` the tarballs are normally in the npm cache already.
  (cd "$ROOT" && locked npm install --no-save --ignore-scripts --prefer-offline --no-audit --no-fund \
      "@tensorflow/tfjs-node@$TFJS_NODE_VERSION") > "$CACHE/npm-install.log" 2>&1 ||
    { tail -20 "$CACHE/npm-install.log" >&2; die "npm install --no-save @tensorflow/tfjs-node@$TFJS_NODE_VERSION failed (log: $CACHE/npm-install.log)"; }
  [ "$(installed_version)" = "$TFJS_NODE_VERSION" ] || die "npm did not install @tensorflow/tfjs-node $TFJS_NODE_VERSION into $PKG"
  # --no-save must leave the manifests alone; put them back if npm touched them for tfjs-node.
  for f in package.json package-lock.json; do
    bak="$CACHE/$f.bak"; want="$PJ_SUM"; [ "$f" = package-lock.json ] && want="$PL_SUM"
    if [ "$(sum "$ROOT/$f")" != "$want" ]; then
      if grep -q '"node_modules/@tensorflow/tfjs-node"' "$ROOT/$f" && ! grep -q '"node_modules/@tensorflow/tfjs-node"' "$bak"; then
        cp "$bak" "$ROOT/$f"; log "WARNING: npm wrote tfjs-node into $f despite --no-save; restored it"
      else
        log "WARNING: $f changed while this script ran (someone else's edit?); left as is"
      fi
    fi
  done
else
  log "@tensorflow/tfjs-node $TFJS_NODE_VERSION already in node_modules"
fi
# tfjs-node must resolve the root's @tensorflow/tfjs(-core) (deduped), never a nested copy.
for nested in "$PKG/node_modules/@tensorflow/tfjs" "$PKG/node_modules/@tensorflow/tfjs-core"; do
  [ ! -e "$nested" ] || die "npm nested $nested; @tensorflow/tfjs at the root must be $TFJS_NODE_VERSION and deduped (npm ls @tensorflow/tfjs)"
done
[ "$(node -p "require('$ROOT/node_modules/@tensorflow/tfjs/package.json').version")" = "$TFJS_NODE_VERSION" ] ||
  die "root @tensorflow/tfjs is not $TFJS_NODE_VERSION"

# ---------------------------------------------------------------------------------------------
if [ "$FORCE_BUILD" = 0 ] && [ -f "$STAGE/addon/tfjs_binding.node" ] && [ -f "$STAGE/deps/lib/libtfjs_pyshim.so" ]; then
  step layout "restore deps/ and the built addon from $STAGE"
  rm -rf "$PKG/deps"
  cp -al "$STAGE/deps" "$PKG/deps" 2>/dev/null || cp -a "$STAGE/deps" "$PKG/deps"
  rel="$(cat "$STAGE/addon/path")"
  mkdir -p "$(dirname "$PKG/$rel")"; cp "$STAGE/addon/tfjs_binding.node" "$PKG/$rel"
else
  # -------------------------------------------------------------------------------------------
  step "download wheel" "tensorflow-cpu==$TF_VERSION from PyPI"
  WHEEL="$CACHE/wheel/$WHEEL_NAME"
  if [ ! -f "$WHEEL" ] || [ "$(sum "$WHEEL")" != "$WHEEL_SHA256" ]; then
    rm -f "$WHEEL"; mkdir -p "$CACHE/wheel"
    $PIP_CMD download --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64 \
        "tensorflow-cpu==$TF_VERSION" -d "$CACHE/wheel" > "$CACHE/pip-download.log" 2>&1 ||
      { tail -20 "$CACHE/pip-download.log" >&2; die "pip download tensorflow-cpu==$TF_VERSION failed (log: $CACHE/pip-download.log; behind a proxy set HTTPS_PROXY or PIP_INDEX_URL)"; }
    [ -f "$WHEEL" ] || die "pip did not produce $WHEEL_NAME (got: $(ls "$CACHE/wheel"))"
    [ "$(sum "$WHEEL")" = "$WHEEL_SHA256" ] || die "sha256 of $WHEEL_NAME is $(sum "$WHEEL"), expected $WHEEL_SHA256"
  else
    log "cached: $WHEEL"
  fi

  # -------------------------------------------------------------------------------------------
  step extract "C API library, framework library and headers from the wheel"
  EX="$CACHE/extract-$TF_VERSION"
  if [ ! -f "$EX/.done" ]; then
    rm -rf "$EX"; mkdir -p "$EX"
    python3 - "$WHEEL" "$EX" <<'EOF' || die "could not extract the wheel"
import sys, zipfile, re
whl, out = sys.argv[1], sys.argv[2]
want = re.compile(r'^tensorflow/(libtensorflow_framework\.so\.2|python/_pywrap_tensorflow_internal\.so'
                  r'|include/tensorflow/c/[^/]+\.h|include/tensorflow/c/eager/[^/]+\.h'
                  r'|include/tensorflow/core/platform/ctstring(_internal)?\.h)$')
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if want.match(n)]
    for n in names: z.extract(n, out)
need = ['tensorflow/libtensorflow_framework.so.2', 'tensorflow/python/_pywrap_tensorflow_internal.so',
        'tensorflow/include/tensorflow/c/c_api.h', 'tensorflow/include/tensorflow/c/eager/c_api.h',
        'tensorflow/include/tensorflow/core/platform/ctstring_internal.h']
missing = [n for n in need if n not in names]
if missing: sys.exit('missing in wheel: ' + ', '.join(missing))
print('extracted %d files' % len(names))
EOF
    # The C API must really be exported by the Python extension (true for the Linux 2.x wheels).
    CAPI="$EX/tensorflow/python/_pywrap_tensorflow_internal.so"
    n="$(nm -D --defined-only "$CAPI" | grep -cE ' T TFE?_(NewStatus|Version|NewContext|Execute|NewOp|TensorHandleResolve)(@.*)?$' || true)"
    [ "$n" = 6 ] || die "$CAPI does not export the TF_*/TFE_* C API (found $n of 6 probe symbols)"
    touch "$EX/.done"
  else
    log "cached: $EX"
  fi
  CAPI="$EX/tensorflow/python/_pywrap_tensorflow_internal.so"
  FW="$EX/tensorflow/libtensorflow_framework.so.2"

  # -------------------------------------------------------------------------------------------
  step layout "deps/lib + deps/include as tfjs-node's binding.gyp and install.js expect"
  SD="$STAGE/deps.tmp"; rm -rf "$SD" "$STAGE/deps"; mkdir -p "$SD/lib" "$SD/include"
  cp -r "$EX/tensorflow/include/tensorflow" "$SD/include/"
  # The extension's SONAME is `_pywrap_tensorflow_internal.so` and its RUNPATH contains $ORIGIN/, so it
  # keeps that file name (the addon records the SONAME); the libtensorflow.* names are what the linker
  # (-ltensorflow) and install.js (deps/lib/libtensorflow.so.2.9.1 exists => skip the download) look for.
  ln "$CAPI" "$SD/lib/_pywrap_tensorflow_internal.so" 2>/dev/null || cp "$CAPI" "$SD/lib/_pywrap_tensorflow_internal.so"
  ln "$FW" "$SD/lib/libtensorflow_framework.so.2" 2>/dev/null || cp "$FW" "$SD/lib/libtensorflow_framework.so.2"
  for n in libtensorflow.so libtensorflow.so.2 "libtensorflow.so.$TF_VERSION"; do ln -s _pywrap_tensorflow_internal.so "$SD/lib/$n"; done
  for n in libtensorflow_framework.so "libtensorflow_framework.so.$TF_VERSION"; do ln -s libtensorflow_framework.so.2 "$SD/lib/$n"; done
  # Python shim: the extension leaves ~190 CPython symbols undefined (the interpreter normally provides
  # them). Functions are bound lazily and never called by the C API, but data symbols (PyExc_*,
  # *_Type, _Py_NoneStruct...) are relocated at load time, so dlopen fails with "undefined symbol".
  # libtfjs_pyshim.so defines them all (data: zeroed storage; functions: abort with a message) and
  # is linked into the addon (DT_NEEDED), which puts it in the lookup scope of the extension.
  nm -D --undefined-only "$CAPI" | awk '$1 == "U" && $2 !~ /@/ {print $2}' | sort -u > "$SD/../undefined.txt"
  nm -D --defined-only "$FW" | awk '{sub(/@.*/, "", $3); print $3}' | sort -u > "$SD/../framework.txt"
  comm -23 "$SD/../undefined.txt" "$SD/../framework.txt" > "$SD/../unresolved.txt"
  if grep -vqE '^_?Py' "$SD/../unresolved.txt"; then
    die "the extension needs non-Python symbols that neither libtensorflow_framework nor the shim provide: $(grep -vE '^_?Py' "$SD/../unresolved.txt" | head -5 | tr '\n' ' ')"
  fi
  python3 - "$SD/../unresolved.txt" "$STAGE/pyshim.c" <<'EOF' || die "could not generate the Python shim"
import sys, re
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
data = re.compile(r'(_Type$|^PyExc_|^_Py_\w*Struct$)')
out = ['/* generated by tools/provision-tfjs-node.sh: CPython symbols left undefined by',
       '   _pywrap_tensorflow_internal.so. Never used through the TF C API. */',
       '#include <stdio.h>', '#include <stdlib.h>',
       'static void tfjs_pyshim_fail(const char *n) {',
       '  fprintf(stderr, "tfjs-node python shim: %s called; the Python API is not available\\n", n); abort(); }']
for n in names:
    if data.search(n):
        out.append('__attribute__((visibility("default"), aligned(64))) char %s[1024];' % n)
    elif n == 'Py_IsInitialized':
        out.append('__attribute__((visibility("default"))) int Py_IsInitialized(void) { return 0; }')
    else:
        out.append('__attribute__((visibility("default"))) void %s(void) { tfjs_pyshim_fail("%s"); }' % (n, n))
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
print('shim: %d symbols' % len(names))
EOF
  gcc -O1 -fPIC -shared -fno-builtin -w -Wl,-soname,libtfjs_pyshim.so -o "$SD/lib/libtfjs_pyshim.so" "$STAGE/pyshim.c" ||
    die "could not compile the Python shim"
  mv "$SD" "$STAGE/deps"
  rm -rf "$PKG/deps"
  cp -al "$STAGE/deps" "$PKG/deps" 2>/dev/null || cp -a "$STAGE/deps" "$PKG/deps"

  # -------------------------------------------------------------------------------------------
  step build "npm rebuild @tensorflow/tfjs-node: node-pre-gyp --build-from-source via its install script (node-gyp, nodedir=$NODEDIR)"
  rm -rf "$PKG/build" "$PKG"/lib/napi-v*
  # tfjs-node's scripts/install.js skips the download because deps/lib/libtensorflow.so.2.9.1 exists,
  # and a scripts/custom-binary.json with a 'tf-lib' entry (its documented hook for custom libtensorflow
  # builds) makes it run `node-pre-gyp install --build-from-source` instead of fetching a prebuilt addon.
  # (Same as `npm rebuild --build-from-source`, without npm's "unknown config" deprecation warning.)
  echo '{"tf-lib": "deps/ laid out by tools/provision-tfjs-node.sh from the tensorflow-cpu 2.9.1 wheel"}' \
    > "$PKG/scripts/custom-binary.json"
  # LDFLAGS reaches gyp's make generator: record the shim as DT_NEEDED of the addon.
  export LDFLAGS="-Wl,--no-as-needed -L$PKG/deps/lib -ltfjs_pyshim" npm_config_nodedir="$NODEDIR"
  : > "$CACHE/build.log"
  if [ "${TFJS_NODE_BUILD_DIRECT:-0}" != 1 ]; then
    (cd "$ROOT" && locked npm rebuild @tensorflow/tfjs-node --nodedir="$NODEDIR" --foreground-scripts) \
        >> "$CACHE/build.log" 2>&1 ||
      { tail -30 "$CACHE/build.log" >&2; die "node-gyp build of the addon failed (log: $CACHE/build.log)"; }
  fi
  if [ -z "$(addon_path)" ]; then
    # npm did not run the install script (e.g. a future npm that blocks dependency scripts not listed
    # in allowScripts): run it ourselves, with node-pre-gyp from node_modules/.bin and npm's node-gyp.
    gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
    [ -f "$gyp" ] && export npm_config_node_gyp="$gyp"
    log "running tfjs-node's scripts/install.js directly${npm_config_node_gyp:+ (node-gyp: $npm_config_node_gyp)}"
    (cd "$PKG" && PATH="$ROOT/node_modules/.bin:$PATH" locked node scripts/install.js) >> "$CACHE/build.log" 2>&1 ||
      { tail -30 "$CACHE/build.log" >&2; die "node-gyp build of the addon failed (log: $CACHE/build.log)"; }
  fi
  ADDON="$(addon_path)"
  [ -n "$ADDON" ] || { tail -30 "$CACHE/build.log" >&2; die "the build produced no lib/napi-v*/tfjs_binding.node (log: $CACHE/build.log)"; }
  mkdir -p "$STAGE/addon"; cp "$ADDON" "$STAGE/addon/tfjs_binding.node"; echo "${ADDON#"$PKG/"}" > "$STAGE/addon/path"
fi

# ---------------------------------------------------------------------------------------------
step verify "ldd, then load the backend and compute"
ADDON="$(addon_path)"
[ -n "$ADDON" ] || die "no addon in $PKG/lib"
dyn="$(readelf -d "$ADDON")" || die "readelf failed on $ADDON"
[[ "$dyn" == *"Shared library: [libtfjs_pyshim.so]"* ]] || die "$ADDON does not link libtfjs_pyshim.so (DT_NEEDED)"
libs="$(ldd "$ADDON")" || die "ldd failed on $ADDON"
[[ "$libs" != *"not found"* ]] || { echo "$libs" >&2; die "unresolved shared libraries for $ADDON"; }
echo "$libs" | grep -E 'tensorflow|pyshim' | sed 's/^/  /' || true
verify || die "require('@tensorflow/tfjs-node') does not give a working 'tensorflow' backend"
for f in package.json package-lock.json; do
  (cd "$ROOT" && git diff --quiet -- "$f") || log "NOTE: $f differs from git HEAD (not by this script unless warned above)"
done
log "done in $(( $(date +%s) - T0 ))s"
