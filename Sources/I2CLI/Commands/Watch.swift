// i2 watch: notices series (or studies) under a receive root that have gone quiet and hands each one
// on, once: to a command (--exec) or, without one, as a directory path on stdout for a pipeline.
import Foundation
import I2Core

enum Watch {
    static let exec = Flag("exec", short: "e", value: "COMMAND", summary: "Run COMMAND (a shell command line) for each completed series",
                           details: "It runs under /bin/bash -o pipefail -c (/bin/sh -c where there is no bash), so a pipeline such as `i2 process … | i2 send … -` fails when any part of it fails. {series} is replaced by the shell-quoted absolute path of the directory handed over (absolute, so the command may change directory; without --exec the printed paths keep ROOT as given) (the study directory with --group study), {study} and {patient} by its study and patient directories, {root} by ROOT and {log} by the log file. Do not quote the placeholders yourself. The command also gets I2_SERIES_DIR, I2_STUDY_DIR, I2_PATIENT_DIR, I2_ROOT, I2_WATCH_GROUP, I2_WATCH_RUN, I2_WATCH_ATTEMPT, I2_WATCH_FOLLOW_UP (1 for a follow-up run), I2_WATCH_FILES, I2_WATCH_LOG and I2_WATCH_STATE in its environment. Its stdin is /dev/null; its stdout and stderr are appended to the log. Exit status 0 means done.")
    static let quiet = Flag("quiet", value: "SECONDS", summary: "A series is complete after this long without a new file (fractions allowed)", defaultValue: "10")
    static let poll = Flag("poll", value: "SECONDS", summary: "Scan ROOT this often (default 1, or a quarter of --quiet when that is shorter)",
                           details: "A scan stats each series directory and re-reads only the ones whose modification time changed (or changed in the last 2 s, since directory times are coarse).")
    static let group = Flag("group", value: "UNIT", summary: "Hand over each series, or each whole study (ROOT/<patient>/<study>)",
                            details: "With `study`, a study is complete when none of its series has had a new file for --quiet seconds, and {series} is the study directory.",
                            choices: WatchGroup.allCases.map(\.rawValue), defaultValue: WatchGroup.series.rawValue)
    static let retries = Flag("retries", value: "N", summary: "Run a failing command again up to N more times, with backoff", defaultValue: "2")
    static let retryDelay = Flag("retry-delay", value: "SECONDS", summary: "Wait before the first retry; doubled for each further one (at most 1 h)", defaultValue: "10")
    static let jobs = Flag("jobs", short: "j", value: "N", summary: "Run up to N commands at once", defaultValue: "1")
    static let once = Flag("once", summary: "Handle the series that are complete now, then exit (for cron)",
                           details: "Quiet is measured from the files' change times. Series still receiving are left for the next run. Waits for the retries of what it started. Every series it does not hand over is named on stderr with the reason: empty, not quiet yet (with the seconds left), already done (or failed) with this command, waiting for a retry, or claimed by another watcher.")
    static let stopGrace = Flag("stop-grace", value: "SECONDS", summary: "On SIGINT/SIGTERM, wait this long for running commands before killing them", defaultValue: "30")
    static let dispatch = Flag("dispatch", value: "WHERE", summary: "Run --exec here (local) or submit it as a Slurm batch job per series (slurm)",
                               details: "With `slurm`, each attempt is submitted with sbatch (found in PATH, configured as for any Slurm client: SLURM_CONF) instead of being run here; see Slurm below.",
                               choices: WatchDispatch.allCases.map(\.rawValue), defaultValue: WatchDispatch.local.rawValue)
    static let partition = Flag("partition", value: "NAME", summary: "With --dispatch slurm: sbatch --partition")
    static let account = Flag("account", value: "NAME", summary: "With --dispatch slurm: sbatch --account")
    static let gpus = Flag("gpus", value: "N", summary: "With --dispatch slurm: sbatch --gpus (e.g. 1, or a100:2)")
    static let timeLimit = Flag("time-limit", value: "TIME", summary: "With --dispatch slurm: sbatch --time (e.g. 30, 2:00:00, 1-0)",
                                details: "A job that Slurm stops at its time limit (TIMEOUT) is a failed attempt.")
    static let sbatchArg = Flag("sbatch-arg", value: "ARG", summary: "With --dispatch slurm: one more sbatch argument (repeatable; write --sbatch-arg=--mem=4G)",
                                repeatable: true)
    static let sbatchScript = Flag("sbatch-script", value: "FILE", summary: "With --dispatch slurm: the batch script template (with {command})",
                                   details: "The file's text, with {command} replaced by the --exec command line (its placeholders already replaced) and {series}, {study}, {patient}, {root} and {log} by shell-quoted paths, is the job's script: #SBATCH lines, module loads and the like go there. Without it the script is `#!/bin/bash`, `set -o pipefail` and the command.",
                                   completion: .file(extensions: []))
    static let cancelOnStop = Flag("cancel-on-stop", summary: "With --dispatch slurm: on SIGINT/SIGTERM, scancel the jobs in flight (by default they run on and the next watcher adopts them)")

    static let behaviour = """
        Each series has its own quiet timer: ROOT/<patient>/<study>/<series> is complete once --quiet seconds have passed without a new visible file in it (files are the non-hidden regular files; i2 receive writes instances under ROOT/.i2-incoming and renames them into place, so any visible file is whole). One busy sender never holds up another series.
        State: the outcome is recorded next to the data, in SERIES/.i2-watch-KEY.json, where KEY is a hash of the --exec text (without --exec, of the empty text), so a different command processes the same series again. The file is written atomically and holds the status (received, complete, processing, done, failed), the run and attempt counts, the last exit status, the log path, what was handed over (file count and newest change time), timestamps and the last attempts. A restarted watcher skips what is done or failed, runs again what it finds 'complete', and settles what it finds 'processing' (see Orphans). To run a failed series again, delete its state file.
        Follow-ups: files that arrive in a series after it was handed over are never dropped. Once the series is quiet again it is handed over again (the same {series}) as a follow-up run: the run count goes up, I2_WATCH_FOLLOW_UP is 1, and the state's history records follow_up. The command must therefore not write visible files into the series directory (that would look like new instances).
        Logs: the command's stdout and stderr are appended to SERIES/.i2-watch-KEY.log, one header per attempt.
        Retries: a non-zero exit status is retried after --retry-delay seconds, doubled each time, --retries times; then the series is marked failed and its log's path is printed on stderr. Meanwhile other series are served.
        Claims: before work a series is claimed with flock on SERIES/.i2-watch-KEY.lock (holder pid, host and command pid written in it), so watchers on one shared filesystem (local, or NFS with working locks) never run the same series; a watcher that dies releases its claims with it. The command inherits the claim: if the watcher is killed outright, the series stays claimed until that command ends, and no watcher starts it a second time meanwhile.
        Orphans: each command runs under a small supervising shell (/bin/sh) that, when the command ends, writes its exit status to SERIES/.i2-watch-KEY.exit (atomically and fsync'ed), whether or not the watcher that started it is still alive. A watcher that finds a series 'processing' waits while the orphaned command runs (it holds the claim), then records the outcome that command left: exit status 0 is done, and the series is never run again; a non-zero status is a failed attempt under the retry policy (see Retries). A command that ended without a record (killed together with its watcher, or never started) counts as an interrupted attempt and is retried under the same policy, the backoff counted from when it started; a warning says so.
        Stopping: on SIGINT or SIGTERM no new work starts; commands in flight get --stop-grace seconds to end (their outcome is recorded), then their process group is killed and the series is left 'complete' (that attempt not counted) so the next start runs it again.
        Without --exec, each completed series directory is printed on stdout and recorded as done.
        Slurm: with --dispatch slurm each attempt is a batch job. Before sbatch runs, the state records the job's name (i2-KEYPREFIX-NONCE, new for each attempt: the intent); once sbatch answers, the job id (`job` in the state, and in each attempt of its history) and the status 'submitted', with Slurm's view of the job in `job_state` (PENDING, RUNNING; at the end COMPLETED, FAILED…); the job's comment is `i2 watch SERIES`, its stdout and stderr are appended to the series' log (sbatch --open-mode=append), and it runs in the watcher's working directory with the watcher's environment plus the I2_* variables (sbatch's default --export=ALL). Whether a job still runs comes from squeue, how it ended from sacct (Slurm's accounting, which must be enabled): COMPLETED is done; FAILED (its exit code), CANCELLED (scancel), TIMEOUT, OUT_OF_MEMORY, NODE_FAIL and the like are failed attempts under --retries, and a job that ends failed for good is reported with its job id and log. --jobs limits the jobs submitted and not yet ended (default 100 with --dispatch slurm). A watcher killed outright loses nothing and submits nothing twice: the next watcher finds the job by its recorded id, or by its recorded name in squeue and sacct when the watcher died between sbatch and recording the id, and adopts it (still running) or records how it ended; only an attempt Slurm never received is submitted (again). On SIGINT or SIGTERM the jobs in flight keep running and stay 'submitted' in their state, to be adopted by the next watcher; with --cancel-on-stop they are cancelled with scancel, waited for up to --stop-grace, and left 'complete' to run again. The series' files must be readable at the same paths on the nodes (a shared filesystem). Before anything is submitted, sbatch, squeue and sacct are each asked once; when one fails (not installed, no controller, accounting off) the watcher exits with that error.
        Status and metrics: i2 status ROOT lists every series by the state recorded here; --metrics-file writes Prometheus metrics (runs, outcomes, hand-over lag, command durations, series by state), listed in i2-status(1), METRICS.
        """

    static let command = Command(
        name: "watch",
        summary: "Notice completed series under a receive root and hand them on",
        description: """
        Watches ROOT (as written by i2 receive) and hands each series over once it is complete, that is quiet for --quiet seconds: runs --exec for it, or prints its directory on stdout. Every series has a durable state next to its files, so a restart neither reprocesses nor forgets, late instances trigger a recorded follow-up run, failures are retried with backoff, and several watchers can share one ROOT. A watcher killed outright (kill -9) loses nothing and repeats nothing: a command it left running keeps the series claimed, and its exit status, recorded by a supervising shell, is adopted by the next watcher, so a series whose command succeeded is never run again.
        Runs until SIGINT or SIGTERM (exit 0), or with --once until what is complete now has been handled.
        """,
        flags: [exec, quiet, poll, group, retries, retryDelay, jobs, once, stopGrace, dispatch, partition, account, gpus, timeLimit,
                sbatchArg, sbatchScript, cancelOnStop, CommonFlags.metricsFile, CommonFlags.metricsInterval, CommonFlags.null],
        positionals: [Positional("ROOT", summary: "The directory i2 receive stores into", completion: .directory)],
        examples: [
            ("i2 watch /data/incoming --exec 'i2 process --force --tool threshold {series} -o /data/out/ | i2 send --to pacs -'", "segment each series as it completes and send the result to the PACS (--force: a follow-up run replaces the result)"),
            ("i2 watch --quiet 30 /data/incoming | xargs -n1 echo", "print each completed series directory"),
            ("i2 watch --dispatch slurm --partition gpu --gpus 1 --time-limit 1:00:00 --exec 'i2 process --force --tool totalseg {series} -o /shared/out/' /shared/incoming", "submit each completed series as a Slurm GPU job; the job id is kept in the series' state"),
            ("i2 watch --once --group study --exec 'sbatch run.sh {series}' /data/incoming", "from cron: submit each complete study to Slurm"),
        ],
        extraManSections: [("Behaviour", behaviour)],
        exitStatuses: ExitStatus.general, stop: .graceful,
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard args.positionals.count == 1 else { throw I2Error(.usage, "needs exactly one ROOT directory") }
        // Absolute, so {series} and state files stay valid wherever the command cd's to; printed paths
        // keep ROOT as given (shownRoot).
        let given = args.positionals[0]
        let full = given.hasPrefix("/") ? given : FileManager.default.currentDirectoryPath + "/" + given
        var o = WatchOptions(root: URL(fileURLWithPath: full).standardizedFileURL.path)
        o.shownRoot = given
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.root, isDirectory: &isDir), isDir.boolValue else {
            throw I2Error(.usage, "\(o.root): not a directory")
        }
        o.command = args.given(exec)
        if let c = o.command, c.trimmingCharacters(in: .whitespaces).isEmpty { throw I2Error(.usage, "--exec: empty command") }
        o.quiet = try args.seconds(quiet, max: 86400)
        o.poll = args.given(poll) == nil ? min(1, max(o.quiet / 4, 0.05)) : try args.seconds(poll, max: 3600)
        if o.poll < 0.01 { throw I2Error(.usage, "--poll: at least 0.01 s") }
        o.group = args.choice(group)
        o.retries = try args.int(retries, range: 0...100)
        o.retryDelay = try args.seconds(retryDelay, max: 3600)
        o.once = args.has(once)
        o.stopGrace = try args.seconds(stopGrace, max: 86400)
        (o.metricsFile, o.metricsInterval) = try args.metrics()
        o.dispatch = args.choice(dispatch)
        // Jobs on a cluster wait in its queue, not here: many may be in flight.
        o.jobs = args.given(jobs) == nil && o.dispatch == .slurm ? 100 : try args.int(jobs, range: 1...256)
        let slurmOnly = [partition, account, gpus, timeLimit, sbatchArg, sbatchScript, cancelOnStop].filter { args.has($0) }
        if o.dispatch == .local, let f = slurmOnly.first { throw I2Error(.usage, "--\(f.long) needs --dispatch slurm") }
        if o.dispatch == .slurm {
            guard o.command != nil else { throw I2Error(.usage, "--dispatch slurm needs --exec (the command each job runs)") }
            o.slurm.partition = args.given(partition)
            o.slurm.account = args.given(account)
            o.slurm.gpus = args.given(gpus)
            o.slurm.timeLimit = args.given(timeLimit)
            o.slurm.extraArguments = args.all(sbatchArg)
            o.slurm.cancelOnStop = args.has(cancelOnStop)
            if let path = args.given(sbatchScript) {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw I2Error(.notFound, path: path, "cannot read the --sbatch-script template")
                }
                guard text.contains("{command}") else { throw I2Error(.usage, path: path, "--sbatch-script: the template has no {command}") }
                o.slurm.template = text
            }
            try SlurmDispatcher.preflight(o.slurm)
        }
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        return WatchService.run(o, run.context)
    }
}
