#!/usr/bin/env bash
# The walkthrough of docs/OPERATIONS.md, "A relay host and two client hosts", executed for
# real on one machine. Three network namespaces stand for the three hosts, joined by veth
# pairs: the relay host (two interfaces, one per jurisdiction's network), an MX analyst's
# workstation and a US analyst's workstation. The CAs, the relay's certificates and the
# principals are made with the documented tipcerts commands; the relay runs as the static
# user of deploy/sysusers.d/tiprelay.conf, with its keys owned by that user (0600), behind
# the very firewall file deploy/tiprelay.nft. Then an MX analyst sends a tip to the US, the
# US analyst receives, verifies and acknowledges it, and MX sees the acknowledgement.
#
#   deploy/test-netns.sh [BIN_DIR]     BIN_DIR holds tiprelay, tipctl and tipcerts
#                                      (default target/debug: cargo build --workspace --locked)
#
# Needs root and `ip netns`; installs Debian's nftables when `nft` is missing. Prints each
# step; exits 0 when the tip crossed and its acknowledgement came back, 1 otherwise. At exit
# it stops the relay by its pid and removes its namespaces and files (the system user stays,
# as a package would leave it). .ci/run runs it.
set -euo pipefail

main() {
    local root bin work tag
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    bin=$(cd "${1:-$root/target/debug}" && pwd)
    for b in tiprelay tipctl tipcerts; do
        [[ -x $bin/$b ]] || die "$bin/$b is missing: build it first (cargo build --workspace --locked)"
    done
    [[ $(id -u) == 0 ]] || die "needs root: network namespaces, a system user, file ownership"
    command -v ip >/dev/null || die "needs ip (Debian's iproute2)"
    command -v setpriv >/dev/null || die "needs setpriv (Debian's util-linux)"
    if ! command -v nft >/dev/null; then
        command -v apt-get >/dev/null || die "needs nft (nftables)"
        echo "installing nftables (Debian)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nftables >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nftables >/dev/null; }
    fi
    export LANG=C.UTF-8 LC_ALL=C.UTF-8

    tag=$$
    NS_RELAY=tr-relay-$tag NS_MX=tr-mx-$tag NS_US=tr-us-$tag
    work=$(mktemp -d /tmp/tiprelay-netns.XXXXXX)
    WORK=$work
    RELAY_PID=""
    trap cleanup EXIT
    chmod 0755 "$work" # the relay's user reads its part below

    local ca="$work/ca-hosts" relayhost="$work/relay-host" mxhost="$work/mx-host" ushost="$work/us-host"
    local mxnet=10.213.1 usnet=10.213.2

    step "1/7" "Three hosts: namespaces $NS_RELAY, $NS_MX, $NS_US; the relay at $mxnet.1 (MX side) and $usnet.1 (US side)"
    ip netns add "$NS_RELAY"
    ip netns add "$NS_MX"
    ip netns add "$NS_US"
    ip link add "trm$tag" netns "$NS_RELAY" type veth peer name eth0 netns "$NS_MX"
    ip link add "tru$tag" netns "$NS_RELAY" type veth peer name eth0 netns "$NS_US"
    ip -n "$NS_RELAY" addr add "$mxnet.1/24" dev "trm$tag"
    ip -n "$NS_RELAY" addr add "$usnet.1/24" dev "tru$tag"
    ip -n "$NS_MX" addr add "$mxnet.2/24" dev eth0
    ip -n "$NS_US" addr add "$usnet.2/24" dev eth0
    for ns in "$NS_RELAY" "$NS_MX" "$NS_US"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_RELAY" link set "trm$tag" up
    ip -n "$NS_RELAY" link set "tru$tag" up
    ip -n "$NS_MX" link set eth0 up
    ip -n "$NS_US" link set eth0 up

    step "2/7" "Each jurisdiction's root CA, the relay operator's CA and the relay's certificates (tipcerts)"
    mkdir -p "$ca"
    "$bin/tipcerts" init-ca --jurisdiction MX --out "$ca/mx-ca" >/dev/null
    "$bin/tipcerts" init-ca --jurisdiction US --out "$ca/us-ca" >/dev/null
    "$bin/tipcerts" init-ca --relay-operator --out "$ca/operator-ca" >/dev/null
    "$bin/tipcerts" issue-relay --ca "$ca/operator-ca" --name main --dns relay.tiprelay.test \
        --ip "$mxnet.1" --ip "$usnet.1" --out "$ca/relay" >/dev/null

    step "3/7" "The relay host: static user tiprelay, /etc/tiprelay with keys owned by it (0600), /var/lib/tiprelay (0700)"
    if ! getent passwd tiprelay >/dev/null; then
        systemd-sysusers "$root/deploy/sysusers.d/tiprelay.conf" 2>/dev/null \
            || useradd --system --uid 10001 --user-group --home-dir /var/lib/tiprelay --shell /usr/sbin/nologin tiprelay
    fi
    getent passwd tiprelay >/dev/null || die "could not create the tiprelay user"
    local etc="$relayhost/etc/tiprelay" state="$relayhost/var/lib/tiprelay"
    install -d -m 0755 "$etc" "$etc/relay" "$etc/roots"
    install -d -m 0700 -o tiprelay -g tiprelay "$state"
    install -m 0644 "$ca/relay/tls.crt" "$ca/relay/sign.crt" "$etc/relay/"
    install -m 0600 -o tiprelay -g tiprelay "$ca/relay/tls.key" "$ca/relay/sign.key" "$etc/relay/"
    install -m 0644 "$ca/operator-ca/ca.crt" "$etc/roots/operator-ca.crt"
    install -m 0644 "$ca/operator-ca/crl.pem" "$etc/roots/operator-crl.pem"
    install -m 0644 "$ca/mx-ca/ca.crt" "$etc/roots/mx-ca.crt"
    install -m 0644 "$ca/mx-ca/crl.pem" "$etc/roots/mx-crl.pem"
    install -m 0644 "$ca/us-ca/ca.crt" "$etc/roots/us-ca.crt"
    install -m 0644 "$ca/us-ca/crl.pem" "$etc/roots/us-crl.pem"
    cat >"$etc/relay.toml" <<EOF
[relay]
listen = "0.0.0.0:4433"
tls_cert = "relay/tls.crt"
tls_key = "relay/tls.key"
signing_cert = "relay/sign.crt"
signing_key = "relay/sign.key"
store = "$state/relay.redb"

[operator]
ca = "roots/operator-ca.crt"
crl = "roots/operator-crl.pem"

[[jurisdiction]]
code = "MX"
ca = "roots/mx-ca.crt"
crl = "roots/mx-crl.pem"

[[jurisdiction]]
code = "US"
ca = "roots/us-ca.crt"
crl = "roots/us-crl.pem"

[[pair]]
jurisdictions = ["MX", "US"]
EOF
    chmod 0644 "$etc/relay.toml"

    step "4/7" "The firewall: deploy/tiprelay.nft with these networks, in the relay host's namespace"
    sed -e "s|^define mx_clients = .*|define mx_clients = { $mxnet.0/24 }|" \
        -e "s|^define us_clients = .*|define us_clients = { $usnet.0/24 }|" \
        "$root/deploy/tiprelay.nft" >"$work/tiprelay.nft"
    ip netns exec "$NS_RELAY" nft -f "$work/tiprelay.nft"

    step "5/7" "tiprelay check-config, then tiprelay serve, as the tiprelay user"
    as_relay() { ip netns exec "$NS_RELAY" setpriv --reuid=tiprelay --regid=tiprelay --init-groups "$@"; }
    as_relay "$bin/tiprelay" check-config --config "$etc/relay.toml" | sed 's/^/    /'
    # Not through the function: $! must be the relay itself (ip and setpriv exec it).
    ip netns exec "$NS_RELAY" setpriv --reuid=tiprelay --regid=tiprelay --init-groups \
        "$bin/tiprelay" serve --config "$etc/relay.toml" >"$work/relay.log" 2>&1 &
    RELAY_PID=$!
    local up=""
    for _ in $(seq 1 100); do
        if ip netns exec "$NS_RELAY" ss -Huln 'sport = :4433' | grep -q 4433; then
            up=1
            break
        fi
        kill -0 "$RELAY_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $up ]] || { cat "$work/relay.log" >&2; die "the relay did not start"; }
    local owner
    owner=$(ps -o user= -p "$RELAY_PID")
    [[ $owner == tiprelay ]] || die "the relay runs as $owner, not tiprelay"
    echo "    relay pid $RELAY_PID, user $owner, listening on UDP 4433"

    step "6/7" "Each side issues its analyst with its own CA, with the workstation's tipctl configuration (--config-out)"
    for side in mx us; do
        local host="$work/$side-host" relay_ip own other principal dir
        if [[ $side == mx ]]; then
            relay_ip=$mxnet.1 own=MX other=US principal=tiprelay://MX/analyst/ana dir=ana
        else
            relay_ip=$usnet.1 own=US other=MX principal=tiprelay://US/analyst/bob dir=bob
        fi
        local own_lc=${own,,} other_lc=${other,,}
        # The public material each workstation receives: the operator's and the other
        # jurisdiction's roots and CRLs (its own come with its directory).
        mkdir -p "$host/roots"
        cp "$ca/operator-ca/ca.crt" "$host/roots/operator-ca.crt"
        cp "$ca/operator-ca/crl.pem" "$host/roots/operator-crl.pem"
        cp "$ca/$other_lc-ca/ca.crt" "$host/roots/$other_lc-ca.crt"
        cp "$ca/$other_lc-ca/crl.pem" "$host/roots/$other_lc-crl.pem"
        "$bin/tipcerts" issue --ca "$ca/$own_lc-ca" --principal "$principal" --out "$host/$dir" \
            --config-out "$host/tipctl.toml" --relay "$relay_ip:4433" --server-name relay.tiprelay.test \
            --operator "$host/roots/operator-ca.crt,$host/roots/operator-crl.pem" \
            --trust "$other=$host/roots/$other_lc-ca.crt,$host/roots/$other_lc-crl.pem" >/dev/null
    done

    step "7/7" "MX sends a tip to the US across the link; the US receives, verifies and acknowledges it; MX sees the acknowledgement"
    local sent id
    sent=$(ip netns exec "$NS_MX" "$bin/tipctl" --config "$mxhost/tipctl.toml" send --json --to US \
        --category tunnel_located --urgency priority --tlp amber \
        --summary "Tunnel located near the San Ysidro crossing" --lat 32.54 --lon -117.03 --radius-m 200)
    id=$(printf '%s' "$sent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    echo "    MX: tip $id accepted by the relay"
    local inbox
    inbox=$(ip netns exec "$NS_US" "$bin/tipctl" --config "$ushost/tipctl.toml" inbox --json)
    printf '%s' "$inbox" | python3 -c '
import json, sys
tips = json.load(sys.stdin)
want = sys.argv[1]
got = [t for t in tips if t.get("id") == want]
assert got, "the US inbox does not hold tip %s: %s" % (want, tips)
t = got[0]
assert t.get("signer") == "tiprelay://MX/analyst/ana", "signer: %s" % t.get("signer")
assert t.get("acked") is True, "not acknowledged: %s" % t
print("    US: received tip %s from %s, signed by %s, verified and acknowledged" % (want, t["from"], t["signer"]))
' "$id"
    local acked=""
    for _ in $(seq 1 50); do
        if ip netns exec "$NS_MX" "$bin/tipctl" --config "$mxhost/tipctl.toml" outbox --json 2>/dev/null \
            | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r.get("id") == sys.argv[1]]
sys.exit(0 if rows and rows[0].get("acked_by") == "tiprelay://US/analyst/bob" else 1)
' "$id"; then
            acked=1
            break
        fi
        sleep 0.1
    done
    [[ -n $acked ]] || die "MX never saw the US acknowledgement of $id"
    echo "    MX: tip $id acknowledged by tiprelay://US/analyst/bob"

    # The firewall let the QUIC traffic in through its two rules and drops anything else.
    ip netns exec "$NS_MX" bash -c "echo probe > /dev/udp/$mxnet.1/9" || true
    local rules
    rules=$(ip netns exec "$NS_RELAY" nft list chain inet tiprelay input)
    counter() { printf '%s\n' "$rules" | grep -- "$1" | grep -o 'packets [0-9]*' | awk '{print $2}'; }
    local from_mx from_us dropped
    from_mx=$(counter 'tiprelay QUIC from MX') from_us=$(counter 'tiprelay QUIC from US') dropped=$(counter 'everything else')
    [[ ${from_mx:-0} -gt 0 && ${from_us:-0} -gt 0 ]] || die "the firewall's QUIC rules counted MX $from_mx, US $from_us packets"
    [[ ${dropped:-0} -gt 0 ]] || die "the firewall dropped nothing of a probe to UDP port 9"
    echo "    firewall: $from_mx packets accepted from MX, $from_us from US; $dropped dropped (a probe to port 9)"
    grep -q '"ERROR"\|level=ERROR\| ERROR ' "$work/relay.log" && { cat "$work/relay.log" >&2; die "the relay logged an error"; }
    echo
    echo "test-netns: passed (relay, MX and US on three hosts; tip and acknowledgement across)"
}

step() { printf '\n[%s] %s\n' "$1" "$2"; }
die() {
    echo "test-netns: FAILED: $*" >&2
    exit 1
}

cleanup() {
    local rc=$?
    if [[ -n ${RELAY_PID:-} ]] && kill -0 "$RELAY_PID" 2>/dev/null; then
        kill -TERM "$RELAY_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$RELAY_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
    fi
    for ns in "${NS_RELAY:-}" "${NS_MX:-}" "${NS_US:-}"; do
        [[ -n $ns ]] && ip netns del "$ns" 2>/dev/null || true
    done
    if [[ $rc != 0 && -n ${WORK:-} && -f $WORK/relay.log ]]; then
        echo "--- relay log (last 30 lines)" >&2
        tail -n 30 "$WORK/relay.log" >&2
    fi
    [[ -n ${WORK:-} ]] && rm -rf "$WORK"
    exit "$rc"
}

main "$@"
