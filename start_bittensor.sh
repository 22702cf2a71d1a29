#!/usr/bin/env bash
# Starts a bittensor-java neuron natively, with the original start_bittensor.sh's flags.
# Builds the examples jar first if it is missing. See docs/session.md for the flag table.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")"

JAR="bittensor-examples/target/bittensor-examples.jar"

print_help() {
  cat <<'HELP'
Starts a bittensor-java neuron on this machine (no Docker needed).
Usage: ./start_bittensor.sh [OPTIONS] [-- EXTRA NEURON FLAGS]

Options (the original's; values 'none' mean "not given"):
 -h, --help            Print this help and exit
 -n, --neuron          Neuron to run: mnist (default), cifar or bert
 -l, --logdir          Where metrics (CSV) and plots (PNG) go          --logdir
 -p, --port            Port accepting requests (the Axon), if -a is not given
 -c, --chain_endpoint  Reserved for a chain-backed metagraph (ignored)  --chain_endpoint
 -a, -ax, --axon_port  Axon (Forward/Backward) port                     --axon_port
 -m, --metagraph_port  Metagraph (gossip) port                          --metagraph_port
 -s, --metagraph_size  Most synapses the metagraph keeps                --metagraph_size
 -b, --bootstrap       Metagraph peer to join, host:port                --bootstrap
 -k, --neuron_key      Key file of this neuron                          --neuron_key
 -r, --remote_ip       Address advertised to peers                      --remote_ip
 -mp, --model_path     Checkpoint to resume from and save to            --model_path
     --dry-run         Print the java command instead of running it
Anything after -- goes to the neuron as is (e.g. -- --epochs 1 --datapath data/n2;
for cifar: -- --dataset PATH --preset mini|dpn26).
Unset flags take the neuron's defaults (axon 8091, metagraph 8092, data/, logs/).
JAVA_OPTS is passed to the JVM after the memory budget (-Xmx512m, ND4J native 512m,
process 1280m; cifar and bert: -Xmx1g, native 3g, process 6g; docs/reliability.md), so it can override it.
OMP_NUM_THREADS (ND4J's threads per op) defaults to 1 for mnist, whose ops are small.
HELP
}

neuron=mnist
port=none
dry_run=false
flags=()

add() { # add FLAG VALUE: skip the original's 'none'
  if [[ "$2" != "none" && -n "$2" ]]; then flags+=("$1" "$2"); fi
}

need() { # need OPTION VALUE...: the option takes a value
  if [[ $# -lt 2 ]]; then
    echo "start_bittensor.sh: option $1 needs a value (see --help)" >&2
    exit 2
  fi
}

axon_given=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) print_help; exit 0 ;;
    --dry-run) dry_run=true; shift ;;
    --) shift; flags+=("$@"); break ;;
    -n|--neuron) need "$@"; neuron="$2"; shift 2 ;;
    -l|--logdir) need "$@"; add --logdir "$2"; shift 2 ;;
    -p|--port) need "$@"; port="$2"; shift 2 ;;
    -c|--chain_endpoint) need "$@"; add --chain_endpoint "$2"; shift 2 ;;
    -a|-ax|--axon_port) need "$@"; add --axon_port "$2"; [[ "$2" == "none" ]] || axon_given=true; shift 2 ;;
    -m|--metagraph_port) need "$@"; add --metagraph_port "$2"; shift 2 ;;
    -s|--metagraph_size) need "$@"; if [[ "$2" != "0" ]]; then add --metagraph_size "$2"; fi; shift 2 ;;
    -b|--bootstrap) need "$@"; add --bootstrap "$2"; shift 2 ;;
    -k|--neuron_key) need "$@"; add --neuron_key "$2"; shift 2 ;;
    -r|--remote_ip) need "$@"; add --remote_ip "$2"; shift 2 ;;
    -mp|--model_path) need "$@"; add --model_path "$2"; shift 2 ;;
    -t|--token)
      echo "start_bittensor.sh: -t/--token (DigitalOcean droplets) is not supported; run this script on the host instead" >&2
      exit 2 ;;
    *)
      echo "start_bittensor.sh: unknown option '$1' (see --help)" >&2
      exit 2 ;;
  esac
done

if [[ "$axon_given" == false && "$port" != "none" ]]; then
  flags+=(--axon_port "$port")
fi

case "$neuron" in
  mnist) main=io.bittensor.examples.mnist.MnistNeuronMain ;;
  cifar) main=io.bittensor.examples.cifar.CifarNeuronMain ;;
  bert) main=io.bittensor.examples.bert.BertNeuronMain ;;
  *) echo "start_bittensor.sh: unknown neuron '$neuron' (available: mnist, cifar, bert)" >&2; exit 2 ;;
esac

# The memory budget (docs/reliability.md): heap, ND4J's off-heap arrays (the hard native bound), and
# the resident size past which the neuron's once-a-second watch runs a GC. JAVA_OPTS comes after
# it, so it can override any of them (-Dorg.bytedeco.javacpp.maxphysicalbytes=... turns on JavaCPP's
# strict RSS check at every native allocation, at a third of MNIST's speed: docs/benchmarks.md).
budget=(-Xmx512m -Dorg.bytedeco.javacpp.maxbytes=512m -Dbittensor.maxrss=1280m)
if [[ "$neuron" == cifar || "$neuron" == bert ]]; then
  # Neither training step at batch 64 fits the above: the DPN's process passed 1.5 GiB within its
  # first step and 4 GiB within minutes (docs/cifar.md); BERT's default preset ran out in its first
  # step at a 1.5 GiB cap (docs/bert.md). Both measured.
  budget=(-Xmx1g -Dorg.bytedeco.javacpp.maxbytes=3g -Dbittensor.maxrss=6g)
fi
# MNIST's ops are small: one OpenMP thread per ND4J op, so the training thread and the Axon's
# workers do not oversubscribe the cores (MnistNetworkBench: networked 10.6 steps/s with 1 thread,
# 7.3 with 2; docs/benchmarks.md). An OMP_NUM_THREADS already set is kept.
if [[ "$neuron" == mnist ]]; then
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
fi
# shellcheck disable=SC2206 # JAVA_OPTS is a list of JVM options, split on spaces on purpose
cmd=(java "${budget[@]}" ${JAVA_OPTS:-} -cp "$JAR" "$main" ${flags[@]+"${flags[@]}"})

if [[ "$dry_run" == true ]]; then
  [[ -z ${OMP_NUM_THREADS:-} ]] || printf 'OMP_NUM_THREADS=%q ' "$OMP_NUM_THREADS"
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi

if [[ ! -f "$JAR" ]]; then
  echo "Building $JAR (first run) ..."
  ./mvnw -B -q package -DskipTests
fi

# exec: Ctrl-C and SIGTERM reach the JVM, which stops the neuron cleanly.
exec "${cmd[@]}"
