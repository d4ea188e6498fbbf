#!/usr/bin/env bash
# cluster-demo: PostgreSQL, a three-server NATS cluster and three Nudge nodes
# on loopback (two Notification nodes, one Switchboard and Dispatch node),
# all under ./cluster-demo. Ctrl-C stops everything.
set -euo pipefail
export CGO_ENABLED=1 GOFLAGS="$(go env GOFLAGS) -tags=goolm"
cd "$(dirname "$0")/.."
DIR=${DIR:-$PWD/cluster-demo}
mkdir -p "$DIR"
pids=()
RUNAS=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
            [ -n "${PGBIN:-}" ] && "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg" stop -m fast >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

go build -o bin/nudge ./cmd/nudge
go build -o bin/nats-server github.com/nats-io/nats-server/v2

# PostgreSQL from Debian's package, as the tests use it.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
RUNAS=()
[ "$(id -u)" = 0 ] && { id nudge >/dev/null 2>&1 || useradd -r nudge; chown -R nudge "$DIR"; RUNAS=(runuser -u nudge --); }
if [ ! -d "$DIR/pg" ]; then "${RUNAS[@]}" "$PGBIN/initdb" -D "$DIR/pg" -U postgres -A trust >/dev/null; fi
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg.log" -o "-k $DIR -c listen_addresses=''" start >/dev/null
"$PGBIN/psql" -h "$DIR" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='nudge'" | grep -q 1 ||
	"$PGBIN/psql" -h "$DIR" -U postgres -qc "CREATE DATABASE nudge ENCODING 'UTF8' TEMPLATE template0"
DB="postgres:///nudge?host=$DIR&user=postgres&sslmode=disable"

# Three NATS servers routed to each other.
for i in 1 2 3; do
	bin/nats-server -a 127.0.0.1 -p 422$i --cluster_name nudge --cluster nats://127.0.0.1:622$i \
		--routes nats://127.0.0.1:6221,nats://127.0.0.1:6222,nats://127.0.0.1:6223 >"$DIR/nats-$i.log" 2>&1 &
	pids+=($!)
done
NATS='[nats://127.0.0.1:4221, nats://127.0.0.1:4222, nats://127.0.0.1:4223]'

node() { # name ns ds sb http operator
	mkdir -p "$DIR/$1"
	cat >"$DIR/$1/nudge.yaml" <<YAML
data: $DIR/$1
database: {url: "$DB"}
listen: {ns: "$2", ds: "$3", sb: "$4", http: "$5", https: "", operator: "$6"}
admin: {token: demo-token}
cluster:
  node: $1
  nats: {urls: $NATS}
YAML
	bin/nudge serve --config "$DIR/$1/nudge.yaml" >"$DIR/$1.log" 2>&1 &
	pids+=($!)
}
node ns-1 127.0.0.1:1863 "" "" 127.0.0.1:8080 127.0.0.1:8081
node ns-2 127.0.0.1:1873 "" "" 127.0.0.1:8090 127.0.0.1:8091
node sb-1 "" 127.0.0.1:1883 127.0.0.1:1864 127.0.0.1:8070 127.0.0.1:8071

for port in 8080 8090 8070; do
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.5; done
done
bin/nudge user add alice@example.com --password secret1 --name Alice --config "$DIR/ns-1/nudge.yaml" 2>/dev/null || true
bin/nudge user add bob@example.com --password secret2 --name Bob --config "$DIR/ns-1/nudge.yaml" 2>/dev/null || true
cat <<TEXT

A Nudge cluster runs on loopback (logs in $DIR):
  Dispatch server  127.0.0.1:1883   refers each client to ns-1 (:1863) or ns-2 (:1873)
  Switchboard      127.0.0.1:1864   (sb-1); Passport on any node: :8080, :8090, :8070
  curl http://127.0.0.1:8081/healthz   shows the node and its peers (operator port; :8091, :8071)

  bin/nudge chat --server 127.0.0.1:1863 --user alice@example.com   (password secret1)
  bin/nudge chat --server 127.0.0.1:1873 --user bob@example.com     (password secret2)

Ctrl-C stops it all.
TEXT
wait
