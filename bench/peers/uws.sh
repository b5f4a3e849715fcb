#!/usr/bin/env bash
# uWebSockets (socketify) as a fan-out peer, in the foreground, pinned: uws.sh PORT CPU
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec taskset -c "$2" "$HERE/.venv/bin/python" "$HERE/uws_server.py" "$1"
