#!/usr/bin/env bash
# Starts a three-node rlhf-node cluster on this machine (127.0.0.1), one JVM per node:
#   supervisor,trainer         --port BASE      (the seed: it starts the cluster)
#   rollout                    --port BASE+1    --seed 127.0.0.1:BASE
#   reward,reference,critic    --port BASE+2    --seed 127.0.0.1:BASE
# Each node's output goes to its own log file. The script waits for the supervisor node, stops the
# other two when it ends and exits with the supervisor's exit code. Ctrl-C or TERM stops all three.
#
# Usage: launch-scripts/local-cluster.sh CONFIG [extra flags for every node]
# Environment:
#   RLHF_NODE_JAR    the jar (default: roles/target/rlhf-node.jar next to this script's folder)
#   JAVA             the java command (default: java)
#   JAVA_OPTS        JVM options for every node, split on spaces (e.g. "-Xmx8g")
#   RLHF_BASE_PORT   the supervisor's port (default 2552); the others use the next two
#   RLHF_LOG_DIR     where the logs go (default: logs/local-cluster-<date>-<time>)
#   RLHF_LOG_LEVEL   log level of every node (default here: INFO, so cluster events are logged)
#   RLHF_STOP_GRACE  seconds a node gets to leave the cluster after TERM before it is killed (default 20)
set -euo pipefail

usage() {
  echo "usage: $0 CONFIG [extra flags for every node]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
config=$1
shift
[[ -f $config ]] || { echo "$0: config file '$config' not found" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jar=${RLHF_NODE_JAR:-$here/../roles/target/rlhf-node.jar}
[[ -f $jar ]] || { echo "$0: $jar not found: build it with 'mvn -B -q install -DskipTests' or set RLHF_NODE_JAR" >&2; exit 2; }
java=${JAVA:-java}
read -r -a java_opts <<< "${JAVA_OPTS:-}"
base_port=${RLHF_BASE_PORT:-2552}
log_dir=${RLHF_LOG_DIR:-logs/local-cluster-$(date +%Y%m%d-%H%M%S)}
grace=${RLHF_STOP_GRACE:-20}
export RLHF_LOG_LEVEL=${RLHF_LOG_LEVEL:-INFO}
mkdir -p "$log_dir"

pids=()

# start_node NAME FLAGS...: one JVM in the background, output to $log_dir/NAME.log
start_node() {
  local name=$1
  shift
  "$java" ${java_opts[@]+"${java_opts[@]}"} -jar "$jar" "$@" --config "$config" ${extra[@]+"${extra[@]}"} \
    > "$log_dir/$name.log" 2>&1 &
  pids+=("$!")
  echo "started $name (pid $!): $log_dir/$name.log"
}

# stop_nodes PID...: TERM (the JVM leaves the cluster), then KILL whatever is left after $grace seconds
stop_nodes() {
  local pid waited=0
  for pid in "$@"; do
    kill -TERM "$pid" 2> /dev/null || true
  done
  while (( waited < grace )); do
    local alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2> /dev/null; then alive=1; fi
    done
    (( alive )) || break
    sleep 1
    waited=$((waited + 1))
  done
  for pid in "$@"; do
    kill -KILL "$pid" 2> /dev/null || true
  done
  wait "$@" 2> /dev/null || true
}

# shellcheck disable=SC2317  # only the traps below call it
interrupted() {
  echo "stopping all nodes" >&2
  stop_nodes ${pids[@]+"${pids[@]}"}
  exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

extra=("$@")
seed=127.0.0.1:$base_port
start_node supervisor --role supervisor,trainer --host 127.0.0.1 --port "$base_port"
start_node rollout --role rollout --host 127.0.0.1 --port "$((base_port + 1))" --seed "$seed"
start_node scorers --role reward,reference,critic --host 127.0.0.1 --port "$((base_port + 2))" --seed "$seed"

rc=0
wait "${pids[0]}" || rc=$?
echo "supervisor node exited with code $rc; stopping the other nodes"
stop_nodes "${pids[@]:1}"
exit "$rc"
