#!/usr/bin/env bash
# `--launcher slurm` against a real single-node Slurm (issue 15): installs Slurm and MUNGE from the Debian packages
# when they are missing, starts munged, slurmctld and slurmd with a private minimal slurm.conf for this host (one
# node with this machine's CPUs, everything under WORK_DIR, nothing in /etc/slurm), then
#   1. submits a 4-job sweep (the quickstart config, 4 seeds, made small) as a Slurm array with max_parallel 2,
#   2. cancels one job with `scancel` half way (after its first checkpoint, before its result),
#   3. resumes the sweep with `reprobe sweep resume` (it remembers the Slurm launcher), through Slurm,
#   4. runs the same sweep locally (`--jobs 2`) and checks that both summaries and every job's result are equal
#      (same seeds and threads per job, same metrics; wall-clock fields left out).
# It prints job states (squeue while they run, `reprobe sweep status`, the finished states from Slurm's job
# completion log: sacct needs slurmdbd and a database, which this single node does not run), the kill, the resume
# and the comparison.
# Needs root (apt-get, daemons) and the MiniLM checkpoint (scripts/fetch-minilm.sh); takes 2-5 minutes on
# 2 cores, by their load, plus the release build unless REPROBE_BIN names a reprobe binary. The daemons it started are stopped at
# the end.
#
#   bash scripts/slurm_check.sh [WORK_DIR]        (default /tmp/reprobe-slurm-check, emptied first)
#   REPROBE_BIN=target/debug/reprobe bash scripts/slurm_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(realpath -m "${1:-/tmp/reprobe-slurm-check}")
t0=$(date +%s)
say() { echo "[$(($(date +%s) - t0)) s] $*"; }
die() { say "FAILED: $*" >&2; exit 1; }
deadline=$((t0 + 1800)) # nothing here should take half an hour: a stuck queue fails instead of hanging
in_time() {
    [ "$(date +%s)" -lt "$deadline" ] && return 0
    tail -n 20 "$work"/slurm/*.log >&2 || true
    die "timed out"
}

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts the Slurm daemons)"
[ -f models/all-MiniLM-L6-v2/config.json ] || die "no MiniLM checkpoint: run scripts/fetch-minilm.sh first"
# One check at a time on a machine: the daemons use fixed ports and share munged.
exec 9>/tmp/reprobe-slurm-check.lock
flock -w 1800 9 || die "another slurm_check.sh still holds /tmp/reprobe-slurm-check.lock"

# ---------------------------------------------------------------- Slurm and MUNGE
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi

rm -rf "$work"
mkdir -p "$work/slurm/state" "$work/slurm/spool"
started_munged=""
stop_daemons() {
    local status=$?
    for d in slurmd slurmctld; do
        [ -s "$work/slurm/$d.pid" ] && kill "$(cat "$work/slurm/$d.pid")" 2>/dev/null || true
    done
    [ -n "$started_munged" ] && kill "$started_munged" 2>/dev/null || true
    say "daemons stopped; exit status $status"
}
trap stop_daemons EXIT

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
    [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
    runuser -u munge -- munged
    started_munged=$(cat /run/munge/munged.pid)
    munge -n </dev/null | unmunge >/dev/null || die "munged does not answer"
    say "started munged (pid $started_munged)"
fi

host=$(hostname -s)
cpus=$(nproc)
export SLURM_CONF=$work/slurm/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=reprobe-check
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/slurm/jobcomp.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 60); do
    [ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ] && break
    sleep 1
done
[ "$(sinfo -h -N -o %t)" = idle ] || die "the node is not idle: $(sinfo -N); see $work/slurm/*.log"
say "Slurm $(dpkg-query -W -f '${Version}' slurm-wlm), munge $(dpkg-query -W -f '${Version}' munge):" \
    "slurmctld and slurmd up, node $(sinfo -h -N -o '%N %t cpus=%c partition=%P')"

# ---------------------------------------------------------------- reprobe
# REPROBE_BIN=path uses that binary (CI: the one `cargo test` built); otherwise the release binary is built.
if [ -z "${REPROBE_BIN:-}" ]; then
    say "building the release binary"
    nice -n 10 cargo build --release -p reprobe 2>&1 | tail -1
    REPROBE_BIN=target/release/reprobe
fi
# Jobs run a copy, so that a rebuild while they run cannot change them.
reprobe=$work/reprobe
cp "$REPROBE_BIN" "$reprobe"
say "reprobe: $REPROBE_BIN ($("$reprobe" --version))"

# The quickstart sweep made small: 4 seeds, 3 epochs; 2 array tasks at once, each with half the CPUs (as
# many threads as a local job of `--jobs 2` gets). It runs from the repository root, as the quickstart's relative
# paths want (the jobs run there too, under Slurm as well).
sweep=(train configs/coref/quickstart.toml seed=1,2,3,4 train.max_epochs=3 train.min_epochs=3
    "cache.dir=$work/cache" slurm.max_parallel=2 "slurm.cpus_per_task=$((cpus / 2 > 0 ? cpus / 2 : 1))" --multirun)
# A space in the sweep folder: the #SBATCH lines of submit.sh must quote it.
slurm_dir="$work/slurm sweep"
local_dir=$work/local_sweep

finished() { ls "$1"/job-*/result.json 2>/dev/null | wc -l; }
# Prints squeue's lines for the arrays $@ (one line per task) whenever a state changes, until none is left.
watch_queue() {
    local ids last="" now
    ids=$(IFS=,; echo "$*")
    while now=$(squeue -h -r -j "$ids" -o '%i %T' 2>/dev/null | sort) && [ -n "$now" ]; do
        [ "$now" != "$last" ] && { say "squeue:"; sed 's/^/    /' <<<"$now"; }
        last=$now
        in_time
        sleep 1
    done
}
# The finished tasks of array $1 from the job completion log (what sacct would show with a database).
final_states() {
    awk -v a="$1" '{
        delete f
        for (i = 1; i <= NF; i++) { k = index($i, "="); f[substr($i, 1, k - 1)] = substr($i, k + 1) }
        if (f["ArrayJobId"] == a)
            printf "    %s_%s %-9s exit %-5s %s -> %s\n", a, f["ArrayTaskId"], f["JobState"], f["ExitCode"],
                f["StartTime"], f["EndTime"]
    }' "$work/slurm/jobcomp.log" | sort
}
submitted() { grep -o 'Submitted batch job [0-9]*' <<<"$1" | grep -o '[0-9]*$'; }

say "== 1. the sweep as a Slurm array (max_parallel 2) -> $slurm_dir"
out=$("$reprobe" "${sweep[@]}" --launcher slurm --sweep-dir "$slurm_dir")
echo "$out" | sed 's/^/    /'
array=$(submitted "$out") || die "no job id in the output"
sed 's/^/    submit.sh: /' "$slurm_dir/slurm/submit.sh"

# Cancel the first job that has a checkpoint (epoch 1 of 3 done) and no result yet.
victim=""
while [ -z "$victim" ]; do
    for job in "$slurm_dir"/job-*; do
        if [ -d "$job/checkpoints/last" ] && [ ! -f "$job/result.json" ]; then
            victim=$((10#${job##*job-}))
            break
        fi
    done
    [ -n "$(squeue -h -j "$array")" ] || die "the array ended before a job could be cancelled"
    in_time
    [ -z "$victim" ] && sleep 1
done
say "squeue before the kill:"
squeue -r -j "$array" -o '%i %T %M' | sed 's/^/    /'
say "== 2. scancel ${array}_$victim (job-00$victim, after epoch 1 of 3)"
scancel "${array}_$victim"
while squeue -h -r -j "$array" -o %K | grep -qx "$victim"; do in_time; sleep 1; done
say "${array}_$victim has left the queue; reprobe sweep status:"
"$reprobe" sweep status "$slurm_dir" | sed 's/^/    /'
[ ! -f "$slurm_dir/job-00$victim/result.json" ] || die "the cancelled job finished anyway"

say "== 3. reprobe sweep resume (remembers --launcher slurm; the array still runs the other jobs)"
out=$("$reprobe" sweep resume "$slurm_dir")
echo "$out" | sed 's/^/    /'
resumed=$(submitted "$out") || die "the resume submitted nothing"
grep -- '--array' "$slurm_dir/slurm/submit.sh" | sed 's/^/    submit.sh: /'
watch_queue "$array" "$resumed"
say "both arrays ended; final states:"
final_states "$array"
final_states "$resumed"
grep -h 'resuming after epoch' "$slurm_dir/job-00$victim/log.txt" | sed 's/^/    job-00'"$victim"' log: /' ||
    die "job-00$victim did not resume from its checkpoint"
say "reprobe sweep resume (every job finished: writes the summary)"
"$reprobe" sweep resume "$slurm_dir" | sed 's/^/    /'
[ "$(finished "$slurm_dir")" = 4 ] || die "$(finished "$slurm_dir") of 4 jobs finished after the resume"

say "== 4. the same sweep locally (--jobs 2) -> $local_dir"
"$reprobe" "${sweep[@]}" --jobs 2 --sweep-dir "$local_dir" | tail -n 12 | sed 's/^/    /'

say "== comparison"
# Wall-clock fields differ from run to run; everything else must be equal.
untimed='walk(if type == "object" then with_entries(select(.key | test("time|_per_s") | not)) else . end)'
results() { for f in "$1"/job-*/result.json; do jq -cS "$untimed" "$f"; done; }
if ! diff <(results "$slurm_dir") <(results "$local_dir"); then
    die "the per-job results differ (diff above)"
fi
if ! diff <(jq -S "$untimed" "$slurm_dir/summary.json") <(jq -S "$untimed" "$local_dir/summary.json"); then
    die "the summaries differ (diff above)"
fi
say "per-job val/f1 (Slurm | local):"
paste <(results "$slurm_dir" | jq -r '"seed \(.seed) val/f1 \(.["val/f1"])"') \
    <(results "$local_dir" | jq -r '"seed \(.seed) val/f1 \(.["val/f1"])"') | sed 's/^/    /'
stat='.rows[0].metrics["val/f1"] | "val/f1 mean \(.mean) std \(.std) n \(.n)"'
say "summary.json: Slurm $(jq -r "$stat" "$slurm_dir/summary.json") | local $(jq -r "$stat" "$local_dir/summary.json")"
say "OK: the 4 per-job results and summary.json of the Slurm sweep (one job cancelled and resumed) equal the local sweep's"
