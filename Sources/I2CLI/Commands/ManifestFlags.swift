// --manifest and --shard, shared by convert and process: both hand their own engine, as a per-series
// job, to the one batch engine (ManifestRun), which shards the manifest and keeps outputs idempotent.
import Foundation
import I2Core

enum ManifestFlags {
    static let manifest = Flag("manifest", value: "FILE", summary: "Run over the series directories listed in FILE, one per line ('-': stdin)",
                               details: "Blank lines and lines starting with '#' are skipped; surrounding whitespace is removed; relative paths are relative to the current directory. Each series gets its own output directory OUT/NAME-HASH/ (NAME: the directory's own name, HASH: 16 hex digits of a hash of its absolute path), so two series directories of the same name never collide. A directory is converted once even when listed twice. When a series is done, a record .i2-done.json is written last into its output directory (which is then renamed into place in one step), holding the input's path, a hash of every input file, the options, and the size and hash of every output file. A re-run skips a series whose record matches (complete and valid) and redoes one whose record is missing or does not match: an input file changed, added or removed; an output missing, truncated or changed; other options. A missing series directory, or one that fails, is reported with its manifest line, and the others are still converted (exit status 1). SIGTERM or SIGINT ends the run after the series in hand (a second one at once); what was recorded stays done. A task killed outright leaves a hidden OUT/.NAME-HASH.part-PID directory, which a later run does not read and which can be removed. Paths printed on stdout are those written by this run (skipped series print nothing); a summary per shard goes to stderr (and, with --json, a last stdout record with shard, series, converted, skipped, failed and stopped counts).",
                               completion: .file(extensions: []))
    static let shard = Flag("shard", value: "K/N", summary: "Convert only shard K of N of the manifest (K from 1)",
                            details: "A series belongs to shard (h mod N) + 1, h being a hash of its absolute path: stable across runs and machines, independent of line order, and the same directory listed twice falls into one shard. Every series is in exactly one of the N shards; they hold about as many series each, not exactly. Without --shard, inside a Slurm array job, the shard is taken from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_STEP and SLURM_ARRAY_TASK_COUNT (K = (ID - MIN) / STEP + 1, N = COUNT), so --array=0-15 and --array=1-16 both give shards 1/16 to 16/16; an array whose ids are not an evenly spaced range needs --shard. Otherwise the whole manifest is run.")

    /// The batch options for a command whose per-series engine is `job`, or a usage error.
    static func options(_ args: ParsedArguments, file: String, output: String, recipe: String,
                        job: @escaping ManifestOptions.Job) throws -> ManifestOptions {
        var o = ManifestOptions(lines: try Manifest.read(file), source: file, output: output, recipe: recipe, job: job)
        if let s = args.given(shard) {
            o.shard = try Shard.parse(s)
        } else if let s = try Shard.fromSlurm(ProcessInfo.processInfo.environment) {
            o.shard = s
        }
        o.summaryRecord = args.has(CommonFlags.json)
        return o
    }
}
