#!/usr/bin/env bash
# Starts an rlhf-node cluster on this machine (127.0.0.1), one JVM per node, and keeps it running: a node
# that crashes is started again with the same command line and rejoins the cluster through the seeds (the
# run's supervisor restores its state from checkpoints).
#
# Usage: launch-scripts/local-cluster.sh CONFIG [extra flags for every node]
#
# Nodes: RLHF_NODES, space-separated, each ROLES or NAME=ROLES (ROLES a comma list or "all"; a node without
# a name is called node<i>, i counting from 0). Default, three nodes:
#   supervisor=supervisor,trainer rollout=rollout scorers=reward,reference,critic
# Node i runs `--role ROLES --host 127.0.0.1 --port RLHF_BASE_PORT+i`, its output in RLHF_LOG_DIR/NAME.log.
# With two or more nodes every node, node 0 included, gets every node's address as --seed (node 0 first):
# only the first seed may start a new cluster, and only when no other seed answers, so a restarted node 0
# rejoins the running cluster through any node still in it, even one that is itself restarting. A single
# node gets no seed.
# Exactly one node must have the supervisor role (supervisor or all).
#
# Restarts: a node that exits with a code other than 0 (normal end), 2 (bad input), 130 or 143 (stopped by
# INT or TERM on request), or 1 on the supervisor's node (the run failed), i.e. 137 (killed), 134 or 139
# (crashed), 255 (downed by the split-brain resolver, or gave up joining) or 1 elsewhere (left the cluster
# unasked), is started again after RLHF_RESTART_BACKOFF seconds, doubled for each further restart of that node
# (at most 30), at most RLHF_MAX_RESTARTS times per node. Each restart prints
# `restarting NAME (exit CODE), restart K of MAX`; the node's log continues after a separator line.
# RLHF_LOG_DIR/NAME.pid holds the pid of the node's current JVM (`kill -9 $(cat NAME.pid)` simulates a crash).
#
# End: when the supervisor's node ends for good (exit 0, a code that is not restarted, or no restarts left),
# the other nodes get TERM (KILL after RLHF_STOP_GRACE seconds) and the script exits with the supervisor
# node's code. When another node fails for good (a code other than 0, 130 or 143 that is not restarted, or
# no restarts left), all nodes are stopped the same way and the script exits with that node's code; another
# node that ends with 0, 130 or 143 is not restarted and the others keep running. Ctrl-C or TERM stops every
# node the same way, restarts nothing and exits with 130 or 143.
#
# Environment:
#   RLHF_NODES            the nodes (above)
#   RLHF_NODE_JAR         the jar (default: roles/target/rlhf-node.jar next to this script's folder)
#   JAVA                  the java command (default: java)
#   JAVA_OPTS             JVM options for every node, split on spaces (e.g. "-Xmx8g")
#   RLHF_NODE_CMD         the node command instead of "$JAVA $JAVA_OPTS -jar $RLHF_NODE_JAR", split on spaces
#                         (e.g. "java -cp CLASSPATH org.rlhfnode.node.Main"); the flags above follow it
#   RLHF_BASE_PORT        node 0's port (default 2552); node i uses the port i above it
#   RLHF_LOG_DIR          where the logs and pid files go (default: logs/local-cluster-<date>-<time>)
#   RLHF_LOG_LEVEL        log level of every node (default here: INFO, so cluster events are logged)
#   RLHF_MAX_RESTARTS     restarts per node (default 3; 0: none)
#   RLHF_RESTART_BACKOFF  seconds before a node's first restart (default 2), doubled for each further one, at most 30
#   RLHF_STOP_GRACE       seconds a node gets after TERM (to checkpoint and leave the cluster) before KILL (default 20)
#   RLHF_SECURE           1: the nodes talk over mutual TLS (--secure) with keys made once in RLHF_LOG_DIR/keys by
#                         `rlhf-node keys` (default 0: one host, plain TCP on 127.0.0.1)
set -euo pipefail
umask 077 # logs, keys, checkpoints and models of the run: owner-only

usage() {
  echo "usage: $0 CONFIG [extra flags for every node]" >&2
  exit 2
}

fail() {
  echo "$0: $*" >&2
  exit 2
}

# count_setting VAR DEFAULT: the value of environment variable VAR (DEFAULT when unset), a whole number
count_setting() {
  local value=${!1:-$2}
  [[ $value =~ ^[0-9]+$ ]] || fail "$1 must be a whole number, not '$value'"
  echo "$value"
}

[[ $# -ge 1 ]] || usage
config=$1
shift
extra=("$@")
[[ -f $config ]] || fail "config file '$config' not found"

if [[ -n ${RLHF_NODE_CMD:-} ]]; then
  read -r -a node_cmd <<< "$RLHF_NODE_CMD"
else
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  jar=${RLHF_NODE_JAR:-$here/../roles/target/rlhf-node.jar}
  [[ -f $jar ]] || fail "$jar not found: build it with 'mvn -B -q install -DskipTests' or set RLHF_NODE_JAR"
  read -r -a java_opts <<< "${JAVA_OPTS:-}"
  node_cmd=("${JAVA:-java}" ${java_opts[@]+"${java_opts[@]}"} -jar "$jar")
fi
base_port=$(count_setting RLHF_BASE_PORT 2552)
max_restarts=$(count_setting RLHF_MAX_RESTARTS 3)
backoff=$(count_setting RLHF_RESTART_BACKOFF 2)
grace=$(count_setting RLHF_STOP_GRACE 20)
log_dir=${RLHF_LOG_DIR:-logs/local-cluster-$(date +%Y%m%d-%H%M%S)}
export RLHF_LOG_LEVEL=${RLHF_LOG_LEVEL:-INFO}

# The nodes: names[i], roles[i], and the index of the supervisor's node.
read -r -a specs <<< "${RLHF_NODES:-supervisor=supervisor,trainer rollout=rollout scorers=reward,reference,critic}"
(( ${#specs[@]} > 0 )) || fail "RLHF_NODES names no node"
names=()
roles=()
supervisor=-1
for i in "${!specs[@]}"; do
  spec=${specs[$i]}
  if [[ $spec == *=* ]]; then name=${spec%%=*} node_roles=${spec#*=}; else name=node$i node_roles=$spec; fi
  [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || fail "RLHF_NODES: '$spec': a node name is letters, digits, '.', '_' or '-'"
  [[ $node_roles =~ ^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$ ]] || fail "RLHF_NODES: '$spec': roles must be a comma list"
  [[ " ${names[*]} " != *" $name "* ]] || fail "RLHF_NODES: two nodes are called '$name'"
  if [[ ,$node_roles, == *,supervisor,* || ,$node_roles, == *,all,* ]]; then
    (( supervisor < 0 )) || fail "RLHF_NODES: '${names[$supervisor]}' and '$name' both have the supervisor role; exactly one node must"
    supervisor=$i
  fi
  names+=("$name")
  roles+=("$node_roles")
done
(( supervisor >= 0 )) || fail "RLHF_NODES: no node has the supervisor role (supervisor or all) in '${specs[*]}'"
seed_flags=()
if (( ${#names[@]} > 1 )); then
  seed_list=
  for (( i = 0; i < ${#names[@]}; i++ )); do
    seed_list+=${seed_list:+,}127.0.0.1:$((base_port + i))
  done
  seed_flags=(--seed "$seed_list")
fi
mkdir -p "$log_dir"
secure_flags=()
if [[ ${RLHF_SECURE:-0} == 1 ]]; then
  keys_dir=$log_dir/keys
  if [[ ! -f $keys_dir/tls.key ]]; then
    "${node_cmd[@]}" keys --output "$keys_dir" --run "local-$(basename "$log_dir")" > /dev/null \
      || fail "could not make the run's keys in $keys_dir"
  fi
  secure_flags=(--secure --keys "$keys_dir")
  echo "mutual TLS between the nodes, keys in $keys_dir"
fi

# A node's restart loop reports "INDEX CODE" here when the node has ended for good. The FIFO is opened for
# reading and writing, so neither side ever blocks on opening it, and unlinked at once: fd 3 keeps it.
events_dir=$(mktemp -d "${TMPDIR:-/tmp}/local-cluster.XXXXXX")
mkfifo "$events_dir/events"
exec 3<> "$events_dir/events"
rm -rf "$events_dir"

# wait_for PID: waits until child PID has exited, also when a trap interrupts `wait`; returns its exit code
wait_for() {
  local rc=0 last=0
  while kill -0 "$1" 2> /dev/null; do
    last=0
    wait "$1" 2> /dev/null || last=$?
  done
  wait "$1" 2> /dev/null || rc=$?
  # a bash that forgets a child's status once `wait` has returned it answers 127 the second time
  if (( rc == 127 && last != 0 )); then rc=$last; fi
  return "$rc"
}

# restartable CODE IS_SUPERVISOR: whether a node that exited with CODE is started again
restartable() {
  case $1 in
    0 | 2 | 130 | 143) return 1 ;;
    1) (( ! $2 )) ;;
    *) return 0 ;;
  esac
}

# kill_later PID: KILL PID after $grace seconds unless stdin (a pipe from run_node) closes first; no
# child process, so nothing is left behind when it is cancelled
# shellcheck disable=SC2317  # called in run_node's trap
kill_later() {
  local rc=0
  if (( grace > 0 )); then read -r -t "$grace" _ || rc=$?; else rc=142; fi
  if (( rc > 128 )); then kill -KILL "$1" 2> /dev/null || true; fi
}

# run_node I: node I's restart loop, run in a background subshell. TERM stops it: the JVM gets TERM (KILL
# after $grace seconds) and nothing is restarted. Exits with the node's last exit code, reported on fd 3.
run_node() {
  local i=$1 is_supervisor=0
  local name=${names[$i]}
  local log=$log_dir/$name.log pid_file=$log_dir/$name.pid
  local cmd=("${node_cmd[@]}" --role "${roles[$i]}" --host 127.0.0.1 --port "$((base_port + i))"
    ${seed_flags[@]+"${seed_flags[@]}"} ${secure_flags[@]+"${secure_flags[@]}"} --config "$config"
    ${extra[@]+"${extra[@]}"})
  local jvm="" sleeper="" killer="" stopping=0 restarts=0 rc=0 delay
  # shellcheck disable=SC2064  # i and the file are fixed now; $? is the subshell's exit code at its end
  trap "code=\$?; rm -f $(printf %q "$pid_file"); echo \"$i \$code\" >&3" EXIT
  trap 'stopping=1; stop_current' TERM
  (( i != supervisor )) || is_supervisor=1
  : > "$log"
  while (( ! stopping )); do
    # the pid file is written before the JVM starts; exec keeps the pid
    (echo "$BASHPID" > "$pid_file.new" && mv -f "$pid_file.new" "$pid_file" && exec "${cmd[@]}") >> "$log" 2>&1 3>&- &
    jvm=$!
    echo "started $name (pid $jvm): $log"
    if (( stopping )); then stop_current; fi
    rc=0
    wait_for "$jvm" || rc=$?
    jvm=""
    if [[ -n $killer ]]; then
      exec {killer}>&-
      killer=""
    fi
    if (( stopping )) || ! restartable "$rc" "$is_supervisor"; then break; fi
    if (( restarts >= max_restarts )); then
      echo "$name exited with code $rc; no restarts left (RLHF_MAX_RESTARTS=$max_restarts)"
      break
    fi
    restarts=$((restarts + 1))
    delay=$(( backoff << (restarts > 6 ? 5 : restarts - 1) ))
    (( delay <= 30 )) || delay=30
    echo "restarting $name (exit $rc), restart $restarts of $max_restarts"
    printf '\n==== %s: restart %d of %d of %s after exit %d (in %d s) ====\n' \
      "$(date '+%F %T')" "$restarts" "$max_restarts" "$name" "$rc" "$delay" >> "$log"
    sleep "$delay" 3>&- &
    sleeper=$!
    if (( stopping )); then stop_current; fi
    wait_for "$sleeper" || true
    sleeper=""
  done
  exit "$rc"
}

# stop_current: in run_node, passes a stop request on to the running JVM (or cuts the backoff short)
# shellcheck disable=SC2317  # called in run_node's trap
stop_current() {
  if [[ -n $sleeper ]]; then kill -TERM "$sleeper" 2> /dev/null || true; fi
  if [[ -n $jvm ]]; then
    kill -TERM "$jvm" 2> /dev/null || true
    if [[ -z $killer ]]; then
      exec {killer}> >(kill_later "$jvm" > /dev/null 2>&1 3>&-)
    fi
  fi
}

# stop_loops PID...: TERM to these restart loops (each passes it on to its JVM) and waits for them
stop_loops() {
  local pid
  trap '' INT TERM
  for pid in "$@"; do
    kill -TERM "$pid" 2> /dev/null || true
  done
  for pid in "$@"; do
    wait "$pid" 2> /dev/null || true
  done
}

loops=()
# shellcheck disable=SC2317  # only the traps below call it
interrupted() {
  echo "stopping all nodes" >&2
  stop_loops ${loops[@]+"${loops[@]}"}
  exit "$1"
}
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

for i in "${!names[@]}"; do
  run_node "$i" &
  loops+=("$!")
done

rc=0
while read -r i code <&3; do
  rc=$code
  if (( i == supervisor )); then
    echo "supervisor node ${names[$i]} exited with code $code; stopping the other nodes"
    break
  fi
  case $code in
    0 | 130 | 143) echo "node ${names[$i]} exited with code $code; the other nodes keep running" ;;
    *)
      echo "node ${names[$i]} failed for good (exit $code); stopping all nodes"
      break
      ;;
  esac
done
stop_loops "${loops[@]}"
exit "$rc"
