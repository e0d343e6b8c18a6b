// i2 process: runs an image-processing tool on series and turns its output into DICOM.
import Foundation
import I2Core

enum Process {
    static let tool = Flag("tool", short: "t", value: "NAME|TOOL.json", summary: "The tool: a built-in name or a tool description file",
                           details: "Built in: \(BuiltinTools.names.joined(separator: ", ")). A path (anything ending in .json or containing '/') is read as a tool description; see TOOL DESCRIPTION.",
                           completion: .choicesOrFiles(BuiltinTools.names, extensions: ["json"]))
    static let output = Flag("output", short: "o", value: "OUT_DIR", summary: "Where the results go: OUT_DIR/<SeriesInstanceUID>-<tool>/",
                             completion: .directory)
    static let param = Flag("param", value: "NAME=VALUE", summary: "Set a tool parameter ({param:NAME} in its command; repeatable)",
                            details: "Only parameters the tool declares (its \"parameters\" object, which holds the defaults) are accepted.",
                            repeatable: true)
    static let timeout = Flag("timeout", value: "SECONDS", summary: "Stop the tool after this long (default: the tool's \"timeout\", else none)",
                              details: "The tool's process group gets SIGTERM, then SIGKILL 5 s later; the series fails.")
    static let work = Flag("work", value: "DIR", summary: "Parent of the per-series work directories (default OUT_DIR/.i2-work)",
                           details: "Each series gets DIR/<SeriesInstanceUID>-<tool>/ holding the converted input, the tool's output directory and tool.log. It is removed after success (unless --keep-work) and kept after a failure, for the log.",
                           completion: .directory)
    static let keepWork = Flag("keep-work", summary: "Keep the work directory after success too")
    static let force = Flag("force", summary: "Replace an existing result for a series",
                            details: "Without it, an existing OUT_DIR/<SeriesInstanceUID>-<tool>/ is an error for that series. The new result replaces the old one in a single rename.")
    static let describe = Flag("describe", value: "NAME", summary: "Print a built-in tool's description (JSON) and exit: a template for your own",
                               choices: BuiltinTools.names)

    static let schema = """
        A JSON object. Fields:
        name (required): letters, digits, '.', '_', '-'; names the result directories.
        version, description: free text, logged.
        accepts: conditions a series must meet, else it is skipped with the reason (exit status unaffected): modalities (array, e.g. ["CT"]; case-insensitive), sopClasses (array of SOP Class UIDs), minSlices, maxSlices.
        input: the format the tool reads: nifti (.nii.gz, the default), nii, nrrd, mha, npy (+ .json sidecar with the affine), or dicom (the series directory itself). Images are converted exactly as by i2 convert (RAS affine for NIfTI, rescaled values: CT in HU).
        command (required): an array of arguments, exec'd directly (argv[0] searched in PATH), or a string run by /bin/bash -o pipefail -c (/bin/sh -c where there is no bash). Placeholders: {input} (the converted input file, or the series directory for dicom), {output} (an empty directory where the tool writes its results), {series} (the series directory), {work} (the work directory, also the tool's current directory), {param:NAME}. In a string command they are shell-quoted: do not quote them yourself. The tool also gets I2_INPUT, I2_OUTPUT, I2_SERIES_DIR and I2_WORK in its environment; stdin is /dev/null; stdout and stderr go to WORK/tool.log. "builtin:NAME" runs a built-in tool.
        timeout: seconds (overridden by --timeout).
        parameters: object of NAME: default value, for {param:NAME}; --param NAME=VALUE overrides.
        outputs (required): what the tool writes, each an object with type and path (relative to {output}). Every declared output must exist after the run. Types:
          segmentation: a label map (any format i2 convert reads, integer labels) on the series' grid → DICOM-SEG as by i2 nifti2seg. Needs meta (a dcmqi metainfo file, relative to the tool description's directory, or the metainfo object itself inline) or preset (totalsegmentator). Attributes given as null are filled from the series. Optional: segmentationType (binary, labelmap), unknownLabels (error, generic), emptyResult (seg: write a SEG that records the empty result, the default; skip: no SEG), as (the objects the site's PACS shows, any of seg, rtstruct, overlay, sr as i2 nifti2seg --as writes them: ["seg"] by default; several go into seg/seg.dcm, seg/rtstruct.dcm, seg/overlay/ and seg/sr.dcm; sr needs seg), measure (with sr: what the measurement report gives per segment, as i2 nifti2seg --measure: any of volume, mean, min, max, sd).
          pdf: a PDF report → Encapsulated PDF instance in the same study (modality DOC), listing the series' instances as its source. Optional: title, seriesDescription.
          image: an image volume on the series' grid → a derived DICOM series, as by i2 convert --ref. Optional: seriesDescription.
          dicom: a DICOM file or a directory of them that the tool wrote itself: each must have SOP Class and Instance UIDs and the series' PatientID and StudyInstanceUID; copied unchanged.
        Fields starting with '_' are ignored (for comments); any other unknown field is an error naming it.
        """

    static let example = """
        A TotalSegmentator wrapper (not run by i2's tests: its model weights are downloaded on first use), saved as totalseg.json:
        {
          "name": "totalseg",
          "version": "2",
          "description": "TotalSegmentator, task total, 117 structures",
          "accepts": {"modalities": ["CT"], "minSlices": 20},
          "input": "nifti",
          "command": ["TotalSegmentator", "-i", "{input}", "-o", "{output}/total.nii.gz", "--ml"],
          "timeout": 3600,
          "outputs": [{"type": "segmentation", "path": "total.nii.gz", "preset": "totalsegmentator"}]
        }
        Run it as: i2 process --tool totalseg.json ct/ -o results/
        """

    static let layout = """
        For each series, the results go into OUT_DIR/<SeriesInstanceUID>-<tool>/: seg.dcm (segmentation), report.dcm (pdf), image/IM_0001.dcm ... (image), dicom/<SOPInstanceUID>.dcm (dicom); with several outputs of one type, seg-1.dcm, seg-2.dcm, and so on. The directory is built hidden next to its place and renamed into place once complete, so a reader (or i2 send) never sees part of a result; each file's path is then printed on stdout.
        UIDs are derived from the inputs' contents and the source series, so running again on the same series gives the same Series and SOP Instance UIDs: a re-send replaces the earlier result in the PACS instead of adding a second one.
        """

    static let command = Command(
        name: "process",
        summary: "Run an image-processing tool on a series and turn its output into DICOM",
        description: """
        For each series directory: checks that the tool accepts the series (else skips it with the reason), converts the series into the input the tool wants, runs the tool in a work directory with its output in a log, and turns what it wrote into DICOM objects in the series' study: DICOM-SEG, Encapsulated PDF, a derived series, or DICOM files of its own. The paths of the DICOM files produced are printed on stdout, one per line, ready for `| i2 send --to PACS -`.
        A tool is built in (threshold) or described by a JSON file (see TOOL DESCRIPTION). A tool that fails, times out, writes nothing or writes a label map on another grid makes that series fail: one error naming the series, the reason and the log; nothing is produced for it; the other series go on.
        Series directories may also come on stdin ('-'), one per line, as i2 watch prints them.
        With --manifest FILE (and --shard K/N, or a Slurm array's task id), the series directories FILE lists are processed each into its own OUT_DIR/NAME-HASH/ (holding the <SeriesInstanceUID>-<tool>/ result), skipping those already done with the same tool, tool description and parameters (see --manifest). A series the tool does not accept is recorded as done with no result. In this mode SIGTERM lets the tool in hand finish (a second signal stops it at once).
        """,
        flags: [tool, output, param, timeout, work, keepWork, force, describe, ManifestFlags.manifest, ManifestFlags.shard, CommonFlags.null, CommonFlags.json],
        positionals: [Positional("SERIES_DIR", summary: "A directory holding one series; '-' reads directories from stdin", variadic: true,
                                 completion: .directory)],
        examples: [
            ("i2 process --tool threshold ct/ -o results/", "bone (above 300 HU) as a DICOM-SEG"),
            ("i2 process --tool threshold --param lower=-1000 --param upper=-400 ct/ -o results/", "another range (copy the description to give it its own codes)"),
            ("i2 process --tool threshold ct/ -o results/ | i2 send --to pacs -", "segment and send the SEG"),
            ("i2 watch /data/in --exec 'i2 process --force --tool threshold {series} -o /data/out | i2 send --to pacs -'", "from i2 watch: --force, so a follow-up run replaces the earlier result"),
            ("i2 process --tool totalseg.json --timeout 1800 ct/ -o results/", "a tool described in JSON"),
            ("i2 process --describe threshold > mytool.json", "start your own tool description"),
            ("i2 process --tool threshold --manifest series.txt --shard 2/8 -o results/", "shard 2 of 8 of a list of series directories"),
        ],
        extraManSections: [("TOOL DESCRIPTION", schema), ("EXAMPLE TOOL", example), ("RESULTS", layout),
                           ("BUILT-IN TOOLS", "threshold: for CT series, voxels with lower <= HU <= upper (parameters lower, default 300, and upper, default none) become one segment described as bone (SCT 272673000, category Tissue SCT 85756007), written as a BINARY DICOM-SEG. It works on the converted volume in memory and needs nothing else installed. `i2 process --describe threshold` prints its description.")],
        exitStatuses: ExitStatus.general + [.interrupted], stop: .graceful,
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        if let name = args.given(describe) {
            guard let spec = BuiltinTools.spec(name) else { throw I2Error(.usage, "--describe: no built-in tool \(name)") }
            StandardOutput.write(String(decoding: spec.json, as: UTF8.self) + "\n")
            return Report()
        }
        guard let toolName = args.given(tool) else { throw I2Error(.usage, "needs a tool: --tool threshold or --tool TOOL.json") }
        guard let out = args.given(output) else { throw I2Error(.usage, "needs an output directory: -o OUT_DIR") }
        let manifest = args.given(ManifestFlags.manifest)
        if manifest == nil && args.has(ManifestFlags.shard) { throw I2Error(.usage, "--shard applies with --manifest") }
        if manifest != nil && !args.positionals.isEmpty { throw I2Error(.usage, "with --manifest, the series come from the manifest: give no SERIES_DIR") }
        guard manifest != nil || !args.positionals.isEmpty else { throw I2Error(.usage, "needs at least one SERIES_DIR (or '-' to read them from stdin)") }
        let series = args.expandingStdin(args.positionals)
        if series.isEmpty && manifest == nil { run.context.events.warning("nothing to process: '-' read no series directories from stdin") }
        let spec: ToolSpec
        if toolName.hasSuffix(".json") || toolName.contains("/") {
            do { spec = try ToolSpec.load(path: toolName) } catch let e as I2Error { throw I2Error(.usage, e.description) }
        } else {
            guard let s = BuiltinTools.spec(toolName) else {
                throw I2Error(.usage, "--tool: no built-in tool \(toolName) (built in: \(BuiltinTools.names.joined(separator: ", ")); a description file ends in .json)")
            }
            spec = s
        }
        var o = ProcessOptions(tool: spec, series: series, output: out)
        for p in args.all(param) {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { throw I2Error(.usage, "--param: '\(p)' should look like NAME=VALUE") }
            o.parameters[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        if args.given(timeout) != nil { o.timeout = try args.seconds(timeout, max: 7 * 86400) }
        o.work = args.given(work)
        o.keepWork = args.has(keepWork)
        o.overwrite = args.has(force)
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        run.terminal.json = args.has(CommonFlags.json)
        guard let file = manifest else { return ProcessRun.run(o, run.context) }
        let base = o
        var m = try ManifestFlags.options(args, file: file, output: out, recipe: o.recipe) { input, dir, context in
            var one = base
            one.series = [input]
            one.output = dir
            return ProcessRun.run(one, context)
        }
        m.force = o.overwrite
        return ManifestRun.run(m, run.context)
    }
}
