#!/usr/bin/env bash
# Fault scenarios on a real network (docs/reliability.md): five MNIST neurons, each in its own
# Linux network namespace with its own address (bt-n1..bt-n5, 10.77.0.1-5, veth pairs on a bridge
# in namespace bt-hub), trained while the network misbehaves:
#   loss       5 % packet loss on every link, and 100 ms latency with sch_netem or LINKS=emulated
#   partition  the network cut into {1,2} | {3,4,5} for longer than the expiry horizon, then healed
#   blackhole  one neuron frozen (SIGSTOP): its sockets still accept connections, nothing answers
#   kill       kill -9 of neurons 4 and 5 mid-training, then node 4 restarted on the same files
# A probe in bt-hub (MetagraphViewProbe) records every node's metagraph view every 5 s; each
# neuron's metrics.csv records its steps and loss. The summary at the end is computed from both.
#
# Usage: sudo [LINKS=emulated] scripts/fault-scenarios.sh [loss] [partition] [blackhole] [kill]   (default: all)
# LINKS=bridge (default): veth pairs on a kernel bridge; loss by nftables, latency by tc netem when
# the kernel has it. LINKS=emulated: TAP devices on scripts/link-emulator.py, a user-space hub
# (python3) that adds the loss scenario's 100 ms and 5 % itself, for kernels without sch_netem.
# Needs root, iproute2, the examples jar (./mvnw -B -q package -DskipTests) and MNIST in data/mnist
# or bittensor-examples/target/test-data/mnist. Installs nftables with apt-get for the loss
# scenario if it is missing. Everything it creates is named bt-* and removed on exit, also on
# failure or Ctrl-C. Traffic stays inside these namespaces.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."

JAR=${JAR:-bittensor-examples/target/bittensor-examples.jar}
WORK=${WORK:-/tmp/bt-faults}
N=5
NET=10.77.0
AXON_PORT=9401
GOSSIP_PORT=9402
MEM_OPTS=${MEM_OPTS:--Xmx512m -Dorg.bytedeco.javacpp.maxbytes=512m -Dbittensor.maxrss=1280m}
TRAIN_LIMIT=${TRAIN_LIMIT:-2000}
LINKS=${LINKS:-bridge}
[[ $LINKS == bridge || $LINKS == emulated ]] || { echo "fault-scenarios.sh: LINKS must be bridge or emulated, not '$LINKS'" >&2; exit 2; }
# Seconds per phase; the partition lasts longer than the 120 s expiry horizon.
SETTLE=${SETTLE:-240} LOSS_SECS=${LOSS_SECS:-120} CUT_SECS=${CUT_SECS:-150} HEAL_SECS=${HEAL_SECS:-150}
STOP_SECS=${STOP_SECS:-60} DEAD_SECS=${DEAD_SECS:-150} RESTART_SECS=${RESTART_SECS:-120}

scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(loss partition blackhole kill)
want() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

[[ $(id -u) -eq 0 ]] || { echo "fault-scenarios.sh: needs root (network namespaces)" >&2; exit 2; }
command -v ip >/dev/null || { echo "fault-scenarios.sh: needs iproute2 (ip)" >&2; exit 2; }
[[ -f "$JAR" ]] || { echo "fault-scenarios.sh: build first: ./mvnw -B -q package -DskipTests" >&2; exit 2; }
MNIST=""
for d in data/mnist bittensor-examples/target/test-data/mnist; do
  [[ -f "$d/train-images-idx3-ubyte" ]] && MNIST="$d" && break
done
[[ -n "$MNIST" ]] || { echo "fault-scenarios.sh: no MNIST files; run the README's run command once (it fetches them)" >&2; exit 2; }
if [[ $LINKS == emulated ]] && ! command -v python3 >/dev/null; then
  echo "fault-scenarios.sh: LINKS=emulated needs python3 (scripts/link-emulator.py)" >&2; exit 2
fi
if { { want loss && [[ $LINKS == bridge ]]; } || want partition; } && ! command -v nft >/dev/null; then
  echo "installing nftables (packet loss, partition)"
  apt-get install -y -qq nftables >/dev/null || { apt-get update -qq && apt-get install -y -qq nftables >/dev/null; }
fi

declare -A PID=()
PROBE=""
EMULATOR=""
cleanup() {
  set +o errexit
  for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null; done
  [[ -n "$PROBE" ]] && kill -9 "$PROBE" 2>/dev/null
  [[ -n "$EMULATOR" ]] && kill "$EMULATOR" 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^bt-(hub|n[0-9]+)$'); do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs the EXIT trap; without this the script would carry on
cleanup # leftovers of an earlier run that was killed hard

rm -rf "$WORK" && mkdir -p "$WORK"
now_ms() { date +%s%3N; }
pause() { sleep "$1" & wait $!; } # a signal interrupts it (a foreground sleep would delay the trap)
phase() { echo "$1 $(now_ms)" >> "$WORK/phases.log"; echo "[$(date -u +%H:%M:%S)] $1"; }

# ---- the network: a bridge in bt-hub with a veth to each node, or the link emulator's TAPs ----
ip netns add bt-hub
ip -n bt-hub link set lo up
if [[ $LINKS == bridge ]]; then
  ip -n bt-hub link add bt-br0 type bridge
  ip -n bt-hub link set bt-br0 up
  ip -n bt-hub addr add "$NET.254/24" dev bt-br0
  for i in $(seq 1 $N); do
    ip netns add "bt-n$i"
    ip link add "bt-n$i-a" type veth peer name "bt-n$i-b"
    ip link set "bt-n$i-a" netns "bt-n$i"
    ip link set "bt-n$i-b" netns bt-hub
    ip -n "bt-n$i" link set "bt-n$i-a" name eth0
    ip -n "bt-n$i" addr add "$NET.$i/24" dev eth0
    ip -n "bt-n$i" link set lo up
    ip -n "bt-n$i" link set eth0 up
    ip -n bt-hub link set "bt-n$i-b" master bt-br0 up
  done
else
  # The emulator creates bt-tap0..N in bt-hub and keeps their file descriptors; each bt-tapI
  # then moves into bt-nI (bt-tap0 stays, for the probe). MTU 9000: fewer frames to copy.
  echo "0 0" > "$WORK/links.ctl"
  ip netns exec bt-hub python3 scripts/link-emulator.py --ports $((N + 1)) --prefix bt-tap \
    --control "$WORK/links.ctl" > "$WORK/emulator.out" 2> "$WORK/emulator.log" &
  EMULATOR=$!
  for _ in $(seq 1 50); do grep -q ready "$WORK/emulator.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$WORK/emulator.out" || { echo "fault-scenarios.sh: the link emulator did not start:" >&2; cat "$WORK/emulator.log" >&2; exit 1; }
  ip -n bt-hub link set bt-tap0 mtu 9000 up
  ip -n bt-hub addr add "$NET.254/24" dev bt-tap0
  for i in $(seq 1 $N); do
    ip netns add "bt-n$i"
    ip -n bt-hub link set "bt-tap$i" netns "bt-n$i"
    ip -n "bt-n$i" link set "bt-tap$i" name eth0
    ip -n "bt-n$i" link set eth0 mtu 9000
    ip -n "bt-n$i" addr add "$NET.$i/24" dev eth0
    ip -n "bt-n$i" link set lo up
    ip -n "bt-n$i" link set eth0 up
  done
fi

start_neuron() { # start_neuron I: MNIST neuron I in bt-nI, files in $WORK/nI (kept across restarts)
  local i=$1 dir="$WORK/n$1" boot=()
  mkdir -p "$dir/mnist" "$dir/logs"
  [[ -f "$dir/mnist/train-images-idx3-ubyte" ]] || cp "$MNIST"/*-ubyte "$dir/mnist/"
  [[ $i -eq 1 ]] || boot=(--bootstrap "$NET.1:$GOSSIP_PORT")
  # shellcheck disable=SC2086 # MEM_OPTS is a list of JVM options
  ip netns exec "bt-n$i" java $MEM_OPTS -cp "$JAR" io.bittensor.examples.mnist.MnistNeuronMain \
    --axon_port $AXON_PORT --metagraph_port $GOSSIP_PORT --remote_ip "$NET.$i" "${boot[@]}" \
    --datapath "$dir" --logdir "$dir/logs" --train_limit "$TRAIN_LIMIT" --test_limit 500 \
    --epochs 1000 --log_interval 5 --seed "$i" >> "$dir/out.log" 2>&1 &
  PID[$i]=$!
  echo "$i ${PID[$i]} $(now_ms)" >> "$WORK/starts.log"
}

for i in $(seq 1 $N); do start_neuron "$i"; sleep 2; done
nodes=()
for i in $(seq 1 $N); do nodes+=("$NET.$i:$GOSSIP_PORT"); done
ip netns exec bt-hub java -Xmx128m -cp "$JAR" io.bittensor.examples.bench.MetagraphViewProbe 5 "${nodes[@]}" \
  > "$WORK/views.log" 2> "$WORK/probe.err" &
PROBE=$!

phase settle
pause "$SETTLE"

if want loss; then
  phase loss
  if [[ $LINKS == emulated ]]; then
    echo "100 0.05" > "$WORK/links.ctl"
    echo "latency 100ms (link emulator)" >> "$WORK/phases.log"
    pause "$LOSS_SECS"
    echo "0 0" > "$WORK/links.ctl"
  else
    for i in $(seq 1 $N); do
      # On input: a drop on output would be reported to the sender (EPERM), not lost silently.
      ip netns exec "bt-n$i" nft add table inet bt
      ip netns exec "bt-n$i" nft add chain inet bt in '{ type filter hook input priority 0; }'
      ip netns exec "bt-n$i" nft add rule inet bt in iifname eth0 numgen random mod 100 lt 5 drop
    done
    if ip netns exec bt-n1 tc qdisc add dev eth0 root netem delay 100ms 2>/dev/null; then
      for i in $(seq 2 $N); do ip netns exec "bt-n$i" tc qdisc add dev eth0 root netem delay 100ms; done
      echo "latency 100ms" >> "$WORK/phases.log"
    else
      echo "  no sch_netem in this kernel: 5 % loss only, no added latency (LINKS=emulated adds it)"
      echo "latency unavailable" >> "$WORK/phases.log"
    fi
    pause "$LOSS_SECS"
    for i in $(seq 1 $N); do
      ip netns exec "bt-n$i" nft delete table inet bt
      ip netns exec "bt-n$i" tc qdisc del dev eth0 root 2>/dev/null || true
    done
  fi
  phase loss-end
fi

if want partition; then
  phase cut
  # Silent drops both ways, as a real cut: each side drops what arrives from the other half
  # (on input, so no sender is told; packets just vanish).
  for i in $(seq 1 $N); do
    if [[ $i -le 2 ]]; then other="{ $NET.3, $NET.4, $NET.5 }"; else other="{ $NET.1, $NET.2 }"; fi
    ip netns exec "bt-n$i" nft add table inet btcut
    ip netns exec "bt-n$i" nft add chain inet btcut in '{ type filter hook input priority 0; }'
    ip netns exec "bt-n$i" nft add rule inet btcut in ip saddr "$other" drop
  done
  pause "$CUT_SECS"
  phase heal
  for i in $(seq 1 $N); do ip netns exec "bt-n$i" nft delete table inet btcut; done
  pause "$HEAL_SECS"
  phase heal-end
fi

if want blackhole; then
  phase blackhole
  kill -STOP "${PID[5]}"
  pause "$STOP_SECS"
  kill -CONT "${PID[5]}"
  phase blackhole-end
  pause 30
fi

if want kill; then
  phase kill
  kill -9 "${PID[4]}" "${PID[5]}"
  wait "${PID[4]}" "${PID[5]}" 2>/dev/null || true
  unset 'PID[4]' 'PID[5]'
  pause "$DEAD_SECS"
  phase restart
  start_neuron 4
  pause "$RESTART_SECS"
  phase restart-end
fi

phase end
/usr/bin/env python3 "$(dirname "$0")/fault-report.py" "$WORK" "$N"
