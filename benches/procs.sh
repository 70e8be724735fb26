#!/usr/bin/env bash
# Watches the processes of a scale run: every 0.5 s, each one's anonymous and file-backed
# resident memory (RssAnon, RssFile) and CPU time (utime + stime); on Ctrl-C or SIGTERM prints,
# per process name, the highest of each and the CPU seconds used. Splits the operator's peak RSS
# into heap and code pages, and tells which process a run's time went to.
#   benches/procs.sh & P=$!; cargo bench --bench scale -- ...; kill $P
set -u
pattern=${PROCS_PATTERN:-modelarts-operator|kube-emulator|modelarts-emulator}
declare -A anon file cpu
report() {
  local hz
  hz=$(getconf CLK_TCK)
  for name in "${!anon[@]}"; do
    awk -v n="$name" -v a="${anon[$name]}" -v f="${file[$name]}" -v t="${cpu[$name]}" -v hz="$hz" \
      'BEGIN { printf "%-20s RssAnon max %6.1f MiB  RssFile max %5.1f MiB  CPU %6.1f s\n", n, a / 1024, f / 1024, t / hz }'
  done
  exit 0
}
trap report INT TERM
while true; do
  for pid in $(pgrep -f "$pattern"); do
    status=$(cat "/proc/$pid/status" 2>/dev/null) || continue
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    name=$(awk '/^Name:/{print $2}' <<<"$status")
    a=$(awk '/^RssAnon:/{print $2}' <<<"$status")
    f=$(awk '/^RssFile:/{print $2}' <<<"$status")
    # Fields 14 and 15 after the command name, which may hold spaces: count from its ')'.
    t=$(sed 's/.*) //' <<<"$stat" | awk '{print $12 + $13}')
    (( ${a:-0} > ${anon[$name]:-0} )) && anon[$name]=$a
    (( ${f:-0} > ${file[$name]:-0} )) && file[$name]=$f
    (( ${t:-0} > ${cpu[$name]:-0} )) && cpu[$name]=$t
  done
  sleep 0.5 &
  wait $!
done
