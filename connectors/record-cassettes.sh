#!/usr/bin/env bash
# Records an example connector's cassettes with `tether record`, against a
# tether sandbox of the connector's vendor contracts, so that the
# cassettes hold what the contracts promise. Run from the repository root:
#
#   connectors/record-cassettes.sh connectors/dealnotify
#
# DIR/cassettes/recordings lists what to record. A line
#   @ VENDOR BASE-URL CASSETTE
# starts a cassette of VENDOR (served from DIR/contracts/VENDOR.openapi.yaml)
# kept at BASE-URL, the vendor's own; each following line holds the curl
# arguments of one request, its URL a path under BASE-URL.
set -euo pipefail
dir=${1:?usage: connectors/record-cassettes.sh CONNECTOR-DIR}
port=18090 proxyport=18091

bin=$(mktemp -d)
go build -o "$bin/tether" ./cmd/tether
contracts=()
for f in "$dir"/contracts/*.openapi.yaml; do
  name=$(basename "$f" .openapi.yaml)
  contracts+=(--contract "$name=$f")
done
"$bin/tether" sandbox serve --quiet --port $port "${contracts[@]}" &
sandbox=$!
proxy=
trap 'kill $sandbox $proxy 2>/dev/null; rm -rf "$bin"' EXIT
until curl -sf http://127.0.0.1:$port/__tether/health >/dev/null; do sleep 0.1; done

stop_proxy() {
  if [ -n "$proxy" ]; then
    kill -INT "$proxy"
    wait "$proxy"
    proxy=
  fi
}

while read -r line; do
  case "$line" in
  '' | '#'*) continue ;;
  '@ '*)
    stop_proxy
    read -r _ vendor base cassette <<<"$line"
    path=${base#https://*/}
    "$bin/tether" record --upstream "http://127.0.0.1:$port/$vendor/$path" --as "$base" \
      --cassette "$dir/cassettes/$cassette" --contract "$dir/contracts/$vendor.openapi.yaml" \
      --listen 127.0.0.1:$proxyport &
    proxy=$!
    until (exec 3<>/dev/tcp/127.0.0.1/$proxyport) 2>/dev/null; do sleep 0.1; done
    ;;
  *)
    # The last word is the path; the rest are curl's options.
    eval "args=($line)"
    url="http://127.0.0.1:$proxyport${args[-1]}"
    unset 'args[-1]'
    curl -sS -o /dev/null -w "%{http_code} %{url_effective}\n" "${args[@]}" "$url"
    ;;
  esac
done <"$dir/cassettes/recordings"
stop_proxy
