#!/usr/bin/env bash
# Records this connector's cassettes with `tether record` against a tether
# sandbox of its vendor contracts, so they hold what the contracts promise.
# Run from the repository's root: connectors/dealnotify/cassettes/record.sh
set -euo pipefail
dir=connectors/dealnotify
bin=$(mktemp -d)
go build -o "$bin/tether" ./cmd/tether

"$bin/tether" sandbox serve --quiet --port 18090 \
  --contract crm=$dir/contracts/crm.openapi.yaml \
  --contract chat=$dir/contracts/chat.openapi.yaml &
sandbox=$!
trap 'kill $sandbox 2>/dev/null; rm -rf "$bin"' EXIT
until curl -sf http://127.0.0.1:18090/__tether/health >/dev/null; do sleep 0.1; done

# record VENDOR BASE CASSETTE CONTRACT, then the requests on stdin as curl
# argument lines. The sandbox serves the vendor under /VENDOR; the cassette
# keeps the vendor's own base URL.
record() {
  local base=$2 path=${2#https://*/}
  "$bin/tether" record --upstream "http://127.0.0.1:18090/$1/$path" --as "$base" \
    --cassette "$dir/cassettes/$3" --contract "$dir/contracts/$4" --listen 127.0.0.1:18091 &
  local proxy=$!
  until (exec 3<>/dev/tcp/127.0.0.1/18091) 2>/dev/null; do sleep 0.1; done
  while read -r line; do
    eval "curl -sS -o /dev/null -w '%{http_code} $1\n' $line"
  done
  kill -INT $proxy
  wait $proxy
}

record crm https://api.crm.example/v2 crm-deal-4207.yaml crm.openapi.yaml <<'REQ'
-H 'Authorization: Bearer crm-recording-token' http://127.0.0.1:18091/deals/4207
REQ

record chat https://chat.example/api chat-post-message.yaml chat.openapi.yaml <<'REQ'
-X POST -H 'Authorization: Bearer chat-recording-token' -H 'Content-Type: application/json' -H 'Idempotency-Key: 0f1e2d3c4b5a69788796a5b4c3d2e1f0' --data '{"channel":"C0DEALS001","text":"Globex platform renewal moved to won: 48000 EUR (owner Dana Whitfield) https://crm.example/deals/4207","unfurl_links":false}' http://127.0.0.1:18091/chat.postMessage
REQ
