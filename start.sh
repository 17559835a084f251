#!/usr/bin/env sh
# Quick start: installs dependencies on the first run, then starts the server.
# Arguments are passed on, e.g. ./start.sh --port 8080
set -e
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20.19 or newer is needed: https://nodejs.org" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm install --no-audit --no-fund
fi
exec npm start -- "$@"
