#!/usr/bin/env bash
# Builds the preview page's script and style sheet into core/src/server/preview/assets/, where
# the Rust side embeds them (`include_str!`). The built files are committed: building or testing
# actionkit needs no node; run this (node 20+, npm) after changing anything under preview/.
#
#   preview/build.sh            # npm ci (the pinned package-lock.json), then the bundle
set -euo pipefail
cd "$(dirname "$0")"
out=../core/src/server/preview/assets
npm ci --no-audit --no-fund --ignore-scripts
mkdir -p "$out"
./node_modules/.bin/esbuild src/main.jsx \
  --bundle --minify --format=iife --target=es2020 \
  --jsx=automatic --define:process.env.NODE_ENV='"production"' \
  --legal-comments=eof --charset=utf8 \
  --outfile="$out/preview.js"
cp src/preview.css "$out/preview.css"
echo "built $(wc -c < "$out/preview.js") bytes of script, $(wc -c < "$out/preview.css") of style into $out"
