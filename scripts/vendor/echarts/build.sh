#!/usr/bin/env bash
# Rebuild agent_desk/static/vendor/echarts/ from the npm registry, exactly as committed: the versions
# come from package-lock.json (npm ci), the bundle from entry.js (esbuild, one minified ES module).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(cd "$here/../../.." && pwd)/agent_desk/static/vendor/echarts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/entry.js" "$work/"
cd "$work"
npm ci --no-audit --no-fund --loglevel=error
./node_modules/.bin/esbuild entry.js --bundle --format=esm --minify --legal-comments=none \
  --target=es2020 --log-level=warning --outfile="$out/echarts.js"
cp node_modules/echarts/LICENSE "$out/LICENSE.txt"
cp node_modules/echarts/NOTICE "$out/NOTICE.txt"
cp node_modules/zrender/LICENSE "$out/LICENSE-zrender.txt"
cp node_modules/tslib/LICENSE.txt "$out/LICENSE-tslib.txt"
cp node_modules/echarts/licenses/LICENSE-d3 "$out/LICENSE-d3.txt"
node -e 'for (const p of ["echarts", "zrender", "tslib"]) console.log(p, require(`./node_modules/${p}/package.json`).version)' \
  > "$out/VERSION.txt"
echo "built $out/echarts.js ($(wc -c < "$out/echarts.js") bytes)"
