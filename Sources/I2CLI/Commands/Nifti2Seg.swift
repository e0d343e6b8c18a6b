// i2 nifti2seg: a label map (or several masks) + dcmqi metadata + the reference series → a DICOM-SEG,
// an RT Structure Set, an overlay series, a measurement report.
import I2Core

enum Nifti2Seg {
    static let output = Flag("output", short: "o", value: "PATH", summary: "The file to write (with several --as objects: the directory that receives them)",
                             details: "With one object (the default: `seg`), PATH is that object's file. With several, PATH is a directory (created when missing) that receives `seg.dcm`, `rtstruct.dcm`, `overlay/` and `sr.dcm`. The overlay is always a directory of instances. Every written path is printed.",
                             completion: .file(extensions: ["dcm"]))
    static let objects = Flag("as", value: "LIST", summary: "The objects to write: seg, rtstruct, overlay, sr (comma-separated; default seg)",
                              details: "`seg`: a DICOM Segmentation (see --type). `rtstruct`: an RT Structure Set, which radiotherapy systems and PACS viewers without SEG support show: one ROI per segment (ROI Number = segment number; name, colour and the segment's property type code from the same metadata; RTROIInterpretedType ORGAN for anatomical structures), and on every slice where a segment is present its boundary loops as CLOSED_PLANAR contours referencing that slice, holes and separate islands as contours of their own. Contours run a quarter pixel outside the boundary pixels' centres, so that every common reading rule gives the mask back exactly: the even-odd rule at pixel centres (i2 seg2nifti's), rt-utils' and dcmrtstruct2nii's. `overlay`: for PACS viewers that show neither: a Secondary Capture series, one 8-bit RGB instance per source slice (IM_0001.dcm, ... in the directory -o names), the source windowed to gray (the series' own window, else --window) with each segment blended half and half with its colour (--overlay-style outline: only its boundary painted), at the source's positions, orientation and frame of reference, BurnedInAnnotation YES, SeriesDescription \"i2 overlay: \" and the segmentation's description; the directory appears whole. `sr`: a measurement report that PACS and research tools (highdicom, dcmqi's tid1500reader) read: a Comprehensive 3D SR following TID 1500 (Imaging Measurement Report), one TID 1411 measurement group per segment with its tracking identifier (the segment label) and UID, the finding (the segment's property type), the finding site (its anatomic region, when the metadata gives one), a reference to the segment in the SEG written beside it and to the source series, and the measurements --measure asks for; every source instance and the SEG are listed as evidence. Needs `seg` in the same list. UIDs are derived like the SEG's (see --uid-seed), distinct from them.")
    static let measure = Flag("measure", value: "LIST", summary: "What the measurement report (--as sr) gives per segment: volume, mean, min, max, sd",
                              details: "Comma-separated. `volume`: the segment's voxel count times the voxel volume (pixel spacing times slice spacing), in mm3. `mean`, `min`, `max`, `sd` (standard deviation): of the source series' values (after RescaleSlope/Intercept) under the segment, in Hounsfield units for CT, else without unit. Default: volume, mean, min, max for CT; volume for other modalities. Statistics of a segment without voxels are left out.")
    static let window = Flag("window", value: "PRESET|C,W", summary: "The overlay's window: soft-tissue, lung, bone, brain, liver, or CENTER,WIDTH",
                             details: "Default: the source series' own WindowCenter/WindowWidth, else soft-tissue (40, 400) for CT, else the value range.")
    static let overlayStyle = Flag("overlay-style", value: "STYLE", summary: "How the overlay draws a segment",
                                   details: "`fill` (default): its voxels half and half with its colour. `outline`: only its boundary voxels, in its colour.",
                                   choices: ["fill", "outline"], defaultValue: "fill")
    static let ref = Flag("ref", short: "r", value: "SERIES_DIR", summary: "The series the label map was computed from (directory or one of its files)",
                          details: "The label map must lie on its grid as `i2 convert SERIES_DIR` builds it: same dimensions, spacing, origin and direction within 1e-3 mm and 1e-4; otherwise an error names what differs. Patient, study and frame of reference are copied from it; every frame references the instance it covers.",
                          completion: .directory)
    static let meta = Flag("meta", short: "m", value: "PATH", summary: "dcmqi segmentation metainfo JSON describing the segments",
                           details: "dcmqi's seg-schema.json format, so existing templates work unchanged. With one label map, any entry's labelID may match; with several masks, segmentAttributes[i] describes input i. Series attributes given as null (SeriesNumber, SeriesDescription, BodyPartExamined, ContentCreatorName, the clinical-trial fields) are copied from the reference series.",
                           completion: .file(extensions: ["json"]))
    static let preset = Flag("preset", value: "NAME", summary: "Built-in segment descriptions instead of --meta",
                             details: "`totalsegmentator`: the 117 labels of TotalSegmentator's `total` task, with SNOMED CT codes and laterality modifiers.",
                             choices: NiftiToSeg.presets)
    static let type = Flag("type", value: "TYPE", summary: "Segmentation type to write",
                           details: "`binary` (default): Segmentation Storage, one 1-bit frame per segment and non-empty slice, bits packed across frame boundaries. `labelmap`: Label Map Segmentation Storage (DICOM 2024), one 8- or 16-bit frame per slice holding segment numbers; much smaller with many labels.",
                           choices: ["binary", "labelmap"], defaultValue: "binary")
    static let compress = Flag("compress", value: "CODEC", summary: "Pixel data encoding", details: "`none` (the default, and the safe choice: explicit VR little endian, which every DICOM reader takes) or `rle` (RLE Lossless, one fragment per frame; much smaller for masks). BINARY frames in RLE hold one byte (0 or 1) per pixel, as PS3.5 Annex G pads every pixel to whole bytes, and only i2 seg2nifti and highdicom (with pylibjpeg-rle 2.2 or later) read them: dcmqi, DCMTK 3.6.7, pydicom's own decoders, pydicom-seg and GDCM fail on RLE with 1 bit allocated. Use `rle` with BINARY only when i2 or highdicom reads the result.",
                               choices: ["none", "rle"], defaultValue: "none")
    static let emptyFrames = Flag("empty-frames", value: "MODE", summary: "Frames of slices where a segment is absent",
                                  details: "`omit` (default) leaves them out; `keep` writes one frame per segment and slice (LABELMAP: per slice).",
                                  choices: ["omit", "keep"], defaultValue: "omit")
    static let emptySegments = Flag("empty-segments", value: "MODE", summary: "Described segments with no voxel in the label map",
                                    details: "`omit` (default; some viewers hang on segments without frames) or `keep`.",
                                    choices: ["omit", "keep"], defaultValue: "omit")
    static let emptyResult = Flag("empty-result", value: "MODE", summary: "What to do when every label is empty",
                                  details: "`status` (default): write nothing, say so on stderr and exit with status 5. `seg`: write a SEG that records the empty result (every described segment, one empty frame each) and exit 0.",
                                  choices: ["status", "seg"], defaultValue: "status")
    static let unknownLabels = Flag("unknown-labels", value: "MODE", summary: "Labels the metadata does not describe",
                                    details: "`error` (default): one error naming them, nothing written. `generic`: segment with the code (85756007, SCT, \"Tissue\") and label \"Label N\", with a warning.",
                                    choices: ["error", "generic"], defaultValue: "error")
    static let uidSeed = Flag("uid-seed", value: "TEXT", summary: "Derive the Series and SOP Instance UIDs from TEXT",
                              details: "The same seed always gives the same UIDs, so a re-sent SEG replaces the earlier one in the PACS. Default seed: a hash of everything that makes the SEG's content: the label maps' labels (each labelled voxel's label and its place on the reference grid, so the same labels stored in another axis order, voxel type or compression give the same UIDs; i2 versions before 2026-12 hashed the stored bytes, so their UIDs differ for the same input), the reference series (its Series Instance UID, instances and positions), the --meta file's bytes (or the preset), the type, --compress and every --empty-* and --unknown-labels choice; so rerunning on the same inputs gives the same UIDs, and a rerun with a corrected label or another option gives new ones (a PACS would otherwise keep the earlier object).")
    static let force = Flag("force", summary: "Overwrite an existing output file")

    static let command = Command(
        name: "nifti2seg",
        summary: "Convert a label map to a DICOM-SEG, RT Structure Set, overlay series or measurement report on its source series",
        description: """
        Reads a label map (any format `i2 convert` reads, integer labels) on the grid of the reference series, or several binary masks (one per segment, possibly overlapping, as dcmqi takes several input files), and writes one DICOM Segmentation in the study of the reference. Segment attributes come from dcmqi metainfo JSON (--meta) or a preset.
        Label values may have gaps and exceed 255: segments are numbered 1...N in increasing label order, and each segment records its original label value (private creator "i2", (0077,xx01)) so that `i2 seg2nifti` restores the same label map.
        Every frame's plane position is that of the source instance it covers, which it references (Derivation Image and Source Image Sequences). Output is written atomically; the written path is printed on stdout. Bad input (another grid, a label missing from the JSON, malformed JSON, a missing reference) is one error line naming the file and the reason, and no output file.
        """,
        flags: [output, objects, window, overlayStyle, measure, ref, meta, preset, type, compress, emptyFrames, emptySegments, emptyResult, unknownLabels, uidSeed, force, CommonFlags.allowOutsideData, CommonFlags.null],
        positionals: [Positional("LABELMAP", summary: "Label map, or several masks (one per segment)", variadic: true,
                                 completion: .file(extensions: ["nii", "nii.gz", "nrrd", "mha", "mhd"]))],
        examples: [
            ("i2 nifti2seg --ref ct/ --meta seg.json labels.nii.gz -o seg.dcm", "label map → BINARY SEG"),
            ("i2 nifti2seg --ref ct/ --preset totalsegmentator total.nii.gz -o seg.dcm", "TotalSegmentator output, no JSON needed"),
            ("i2 nifti2seg --ref ct/ --meta m.json a.nrrd b.nrrd -o seg.dcm", "two possibly overlapping masks"),
            ("i2 nifti2seg --ref ct/ --meta seg.json labels.nii.gz -o seg.dcm --type labelmap --compress rle", "Label Map SEG, RLE"),
            ("i2 nifti2seg --ref ct/ --preset totalsegmentator total.nii.gz --as rtstruct -o rtstruct.dcm", "RT Structure Set"),
            ("i2 nifti2seg --ref ct/ --preset totalsegmentator total.nii.gz --as seg,rtstruct -o out/", "both, as out/seg.dcm and out/rtstruct.dcm"),
            ("i2 nifti2seg --ref ct/ --preset totalsegmentator total.nii.gz --as seg,rtstruct,overlay,sr -o out/", "everything a PACS may show, with volumes and HU statistics in out/sr.dcm"),
        ],
        extraManSections: [("EMPTY RESULT", "When every label of the input is empty, nothing is written and the exit status is 5 with the message \"every label is empty\". With --empty-result seg, a SEG recording the empty result is written instead.")],
        exitStatuses: ExitStatus.general + [.emptyResult, .interrupted],
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard !args.positionals.isEmpty else { throw I2Error(.usage, "needs a label map (see 'i2 nifti2seg --help')") }
        guard let out = args.given(output) else { throw I2Error(.usage, "needs an output file: -o SEG.dcm") }
        let kinds = try list(args.given(objects) ?? "seg", flag: "--as", of: DerivedObject.self)
        guard let reference = args.given(ref) else { throw I2Error(.usage, "needs the reference series: --ref SERIES_DIR") }
        if args.given(meta) == nil, args.given(preset) == nil { throw I2Error(.usage, "needs --meta META.json or --preset totalsegmentator") }
        if args.given(meta) != nil, args.given(preset) != nil { throw I2Error(.usage, "--meta and --preset exclude each other") }
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        var o = Nifti2SegOptions(inputs: args.positionals, reference: reference, output: out)
        o.objects = kinds
        if let w = args.given(window) {
            guard OverlayPlan.window(w) != nil else {
                throw I2Error(.usage, "--window: '\(w)' is neither a preset (\(OverlayPlan.presets.keys.sorted().joined(separator: ", "))) nor CENTER,WIDTH with a positive width")
            }
            o.window = w
        }
        o.overlayStyle = args.value(overlayStyle) == "outline" ? .outline : .fill
        if let m = args.given(measure) {
            guard kinds.contains(.sr) else { throw I2Error(.usage, "--measure applies to the measurement report: add sr to --as") }
            o.measures = try list(m, flag: "--measure", of: Measure.self)
        }
        o.meta = args.given(meta)
        o.preset = args.given(preset)
        o.type = args.value(type) == "labelmap" ? .labelmap : .binary
        o.rle = args.value(compress) == "rle"
        o.keepEmptyFrames = args.value(emptyFrames) == "keep"
        o.keepEmptySegments = args.value(emptySegments) == "keep"
        o.writeEmptyResult = args.value(emptyResult) == "seg"
        o.genericUnknownLabels = args.value(unknownLabels) == "generic"
        o.uidSeed = args.given(uidSeed)
        o.overwrite = args.has(force)
        o.read.allowOutsideData = args.has(CommonFlags.allowOutsideData)
        return NiftiToSeg.run(o, run.context)
    }

    /// A comma-separated list of names of `T`'s cases, each once.
    static func list<T: RawRepresentable & CaseIterable & Equatable>(_ text: String, flag: String, of: T.Type) throws -> [T] where T.RawValue == String {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try CaseNames.parse(names, as: T.self) { I2Error(.usage, "\(flag): \($0)") }
    }
}
