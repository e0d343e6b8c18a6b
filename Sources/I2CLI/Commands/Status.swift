// i2 status: what state every series under a receive root is in (as i2 watch recorded it), and the
// health rule for monitoring (--health). Also where the metrics of --metrics-file are documented.
import Foundation
import I2Core

enum Status {
    static let json = Flag("json", summary: "Print one JSON object per line instead of tab-separated columns")
    static let state = Flag("state", value: "STATE", summary: "Show only series in this state (repeatable)",
                            choices: StatusState.allCases.map(\.rawValue), repeatable: true)
    static let exec = Flag("exec", short: "e", value: "COMMAND", summary: "Only the states of this watch command (its --exec text, exactly)",
                           details: "Each watch command keeps its own state per series (keyed by a hash of its --exec text). Without --exec every command's state is listed, one line each, and a series no watch has recorded is listed as received.")
    static let health = Flag("health", summary: "Check the health rule instead of listing series (exit 1 when unhealthy)")
    static let minFree = Flag("min-free", value: "SIZE", summary: "Health: ROOT's filesystem needs at least SIZE free (e.g. 500M, 2G)",
                              details: "Default: the largest --min-free a receiver's heartbeat under ROOT reports (0 without one).")
    static let maxFailed = Flag("max-failed", value: "N", summary: "Health: more than N failed series is unhealthy", defaultValue: "0")

    static let output = """
        One line per series (per watch command's state with several), sorted by directory, tab-separated: STATE, AGE (how long it has been in that state: 45s, 3m12s, 2h05m, 3d04h), ATTEMPTS (of the current run), JOB (the Slurm job id while submitted, else -), DIRECTORY, LOG (the watch log, - when none), so `cut -f5` lists directories.
        States: received (files stored, no watch has recorded the series yet), waiting (a watcher saw it and waits for --quiet seconds without a new file), complete (quiet, waiting for its run or for a retry's backoff), processing (its command runs), submitted (handed to Slurm as job JOB), done, failed (retries spent; the log says why).
        With --json, one object per line: directory, state, age_seconds, since (ISO 8601), files, run, attempts, log, job (null unless submitted to Slurm), job_state, command, last_exit_status, retry_at.
        Every failed series is also named on stderr with its attempts and log, and makes the exit status 1, whatever --state shows (for cron: `i2 status ROOT >/dev/null || alert`).
        """

    static let healthRule = """
        i2 status --health ROOT runs three checks and prints one line per check (ok or FAIL, the check's name, the detail; --json: objects with check, ok, detail). The exit status is 0 when every check passes, 1 when any fails (each failure also on stderr):
        free_space: the free space of ROOT's filesystem (statvfs, as available to unprivileged users) is at least --min-free (default: the largest --min-free any receiver's heartbeat reports, else 0).
        receive:PORT, one per heartbeat file ROOT/.i2-receive-PORT.json: the receiver on PORT is accepting associations (false before it listens and after it stopped: a stopped receiver stays unhealthy until its heartbeat file is deleted) and its heartbeat was rewritten in the last max(3 x its --metrics-interval, 15) seconds (else it was killed, hangs, or cannot write to ROOT). Without a heartbeat file there is no receive check: delete the file of a receiver that was retired on purpose.
        failed: at most --max-failed series are failed (default 0).
        """

    static let metricsList = """
        Written by receive and watch with --metrics-file, one file each. Counters start at 0 with the process.
        i2_receive_instances_total{outcome}: C-STOREs received, by outcome: stored, identical (a re-sent copy, nothing to do), rejected (answered with a failure status).
        i2_receive_instances_rejected_total{reason}: the rejected ones by reason: low_space (below --min-free), write_error (spooling failed), storage_error (fsync, mkdir or rename failed), unparseable, invalid_uid, duplicate (--on-duplicate reject).
        i2_receive_bytes_total: bytes of the stored files.
        i2_receive_associations_total, i2_receive_associations_open: associations accepted, and open now.
        i2_receive_associations_rejected_total{reason}: association requests rejected: malformed, called_ae, calling_ae (--allow), limit (--max-associations, --max-per-peer), no_presentation_context.
        i2_receive_accepting (1 or 0), i2_receive_storage_free_bytes, i2_receive_min_free_bytes, i2_receive_start_time_seconds.
        i2_watch_series_completed_total: runs started (units found complete and handed over, follow-ups included, retries not).
        i2_watch_series_done_total, i2_watch_series_retried_total, i2_watch_series_failed_total: attempts that ended done, that failed and are retried, and runs that failed for good.
        i2_watch_series_processing: commands running now. i2_watch_series{state}: units under ROOT by this command's recorded state, as OUTPUT lists them.
        i2_watch_slurm_jobs{state}: series submitted to Slurm, pending or running.
        i2_watch_handover_lag_seconds (histogram): from a unit turning complete (newest file + --quiet, or the watcher's start if later) to its run's start.
        i2_watch_tool_duration_seconds{outcome} (histogram): each command attempt's run time, done or failed.
        i2_watch_storage_free_bytes; and in both files i2_metrics_writes_total and i2_metrics_write_duration_seconds (the previous rewrite's cost).
        """

    static let command = Command(
        name: "status",
        summary: "List series under a receive root by state; check health for monitoring",
        description: """
        Reads ROOT as i2 receive writes it and the states i2 watch records next to each series (SERIES/.i2-watch-KEY.json), and lists every series with its state, how long it has been in it, its attempts, Slurm job and log. Read-only: it can run while receive and watch work.
        With --health it checks the health rule (free space, receivers accepting, failures) instead; see HEALTH.
        """,
        flags: [json, state, exec, health, minFree, maxFailed],
        positionals: [Positional("ROOT", summary: "The directory i2 receive stores into and i2 watch watches", completion: .directory)],
        examples: [
            ("i2 status /data/incoming", "every series and its state"),
            ("i2 status --state failed --json /data/incoming | jq -r .log", "the logs of the failed series"),
            ("i2 status --health --min-free 5G /data/incoming || notify-ops", "from cron or a systemd timer: alert when unhealthy"),
        ],
        extraManSections: [("Output", output), ("Health", healthRule), ("Metrics", metricsList)],
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard args.positionals.count == 1 else { throw I2Error(.usage, "needs exactly one ROOT directory") }
        let given = args.positionals[0]
        var o = StatusOptions(root: given.count > 1 && given.hasSuffix("/") ? String(given.dropLast()) : given)
        o.states = Set(args.all(state).compactMap(StatusState.init(rawValue:)))
        o.command = args.given(exec)
        o.health = args.has(health)
        if !o.health, let f = [minFree, maxFailed].first(where: { args.has($0) }) { throw I2Error(.usage, "--\(f.long) needs --health") }
        if o.health, args.has(state) { throw I2Error(.usage, "--state lists series; --health checks health: give one of them") }
        o.minFree = args.has(minFree) ? try args.size(minFree) : nil
        o.maxFailed = try args.int(maxFailed, range: 0...1_000_000)
        run.terminal.json = args.has(json)
        return StatusService.run(o, run.context)
    }
}
