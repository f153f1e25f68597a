#!/usr/bin/env bash
# The tfjs range job: runs the tests against the lowest and the highest tfjs 4.x that our peer range claims.
# The range is read from the packages' package.json (all @tensorflow/* peers of all packages must be equal), the
# lowest is its lower bound, the highest the newest release on the registry inside it. Each version is installed
# with its wasm backend into .cache/tfjs-range/<version> (npm registry only) and jest maps every @tensorflow/*
# import there (MEPROP_TFJS_DIR, see jest.preset.js); tfjs_internals.test.ts checks the version really loaded.
# Every suite runs except the two MNIST accuracy runs (layers' mnist_accuracy, flows' mnist_vae: minutes of
# training that test the method, not tfjs's API; `npm test` runs them on the installed tfjs). The highest usually
# is the version the repository installs (package-lock), which `npm test` already covers in full: then only the
# tfjs internals tests run on it again. Usage: tools/test-tfjs-range.sh [version...]
set -euo pipefail
cd "$(dirname "$0")/.."

range=$(node -e '
  const fs = require("fs");
  const ranges = new Set();
  for (const p of ["core", "layers", "flows"]) {
    const peers = JSON.parse(fs.readFileSync(`packages/${p}/package.json`, "utf8")).peerDependencies || {};
    for (const [name, r] of Object.entries(peers)) if (name.startsWith("@tensorflow/")) ranges.add(r);
  }
  if (ranges.size !== 1) { console.error(`the @tensorflow/* peer ranges differ: ${[...ranges].join(" | ")}`); process.exit(1); }
  console.log([...ranges][0]);
')
bounds=$(node -e '
  const m = /^>=(\d+\.\d+\.\d+) <(\d+\.\d+\.\d+)$/.exec(process.argv[1]);
  if (!m) { console.error(`peer range "${process.argv[1]}": expected ">=LOW <HIGH" (explicit bounds, tested here)`); process.exit(1); }
  console.log(m[1], m[2]);
' "$range")
read -r lowest below <<<"$bounds"
highest=$(npm view @tensorflow/tfjs versions --json | node -e '
  const cmp = (a, b) => { const x = a.split(".").map(Number), y = b.split(".").map(Number); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; };
  const [low, below] = process.argv.slice(1);
  const all = JSON.parse(require("fs").readFileSync(0, "utf8")).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const inside = all.filter((v) => cmp(v, low) >= 0 && cmp(v, below) < 0).sort(cmp);
  if (inside.length === 0) { console.error(`no @tensorflow/tfjs release in >=${low} <${below}`); process.exit(1); }
  console.log(inside[inside.length - 1]);
' "$lowest" "$below")
installed=$(node -p 'require("@tensorflow/tfjs/package.json").version')
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=("$lowest" "$highest")
echo "tfjs peer range: $range (lowest $lowest, highest $highest; installed $installed); testing: ${versions[*]}"

export NX_NO_CLOUD=true NX_DAEMON=false
for v in "${versions[@]}"; do
  dir=".cache/tfjs-range/$v"
  if ! node -e "process.exit(require('./$dir/node_modules/@tensorflow/tfjs/package.json').version === '$v' ? 0 : 1)" 2>/dev/null; then
    echo "== installing @tensorflow/tfjs@$v and @tensorflow/tfjs-backend-wasm@$v into $dir"
    mkdir -p "$dir"
    echo '{ "private": true }' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
      "@tensorflow/tfjs@$v" "@tensorflow/tfjs-backend-wasm@$v"
  fi
  export MEPROP_TFJS_DIR="$PWD/$dir/node_modules" MEPROP_EXPECT_TFJS="$v"
  if [ "$v" = "$installed" ]; then
    echo "== tfjs $v: the tfjs internals tests (npm test runs the full suite on this version)"
    (cd packages/core && npx jest src/tfjs_internals.test.ts)
    (cd packages/layers && npx jest src/tfjs_internals.test.ts)
  else
    echo "== tfjs $v: every test suite but the MNIST accuracy runs"
    for p in core layers flows bench; do
      (cd "packages/$p" && npx jest --testPathIgnorePatterns 'mnist_accuracy\.test\.ts$' 'mnist_vae\.test\.ts$')
    done
  fi
done
echo "tfjs range job: passed for ${versions[*]}"
