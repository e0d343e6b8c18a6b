// i2 seg2nifti: a DICOM-SEG to a label map (or one file per segment) plus dcmqi-style JSON metadata.
import I2Core

enum Seg2Nifti {
    static let output = Flag("output", short: "o", value: "PATH", summary: "Label map to write (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd)",
                             details: "With --per-segment, the base of the per-segment names: LABELS.nii.gz gives LABELS_<number>_<SegmentLabel>.nii.gz.",
                             completion: .file(extensions: ["nii", "nii.gz", "nrrd", "mha"]))
    static let meta = Flag("meta", short: "m", value: "PATH", summary: "Where to write the segment metadata (default: the output's name with .json)",
                           details: "dcmqi segmentation metainfo JSON (seg-schema.json): one entry per segment with labelID = its value in the label map, codes, algorithm, recommendedDisplayRGBValue (from RecommendedDisplayCIELabValue) and the series attributes.",
                           completion: .file(extensions: ["json"]))
    static let ref = Flag("ref", short: "r", value: "SERIES_DIR", summary: "Decode onto this series' grid, as `i2 convert SERIES_DIR` builds it",
                          details: "Frames are placed by their plane position (PlanePositionSequence), which is the truth; only a frame without a position (or in another frame of reference) is placed by the source image it references (DerivationImageSequence), and then an instance missing from SERIES_DIR is an error. A reference that disagrees with the position (syngo.via writes one reference for all frames in the shared functional groups) is a warning, an error with --strict. Without --ref, the grid is the SEG's own: shared orientation and pixel spacing, slices from the frame positions on a regular grid (SpacingBetweenSlices, or the smallest gap); slices no frame covers are 0.",
                          completion: .directory)
    static let perSegment = Flag("per-segment", summary: "Write one file per segment (1 inside) instead of one label map",
                                 details: "Needed when segments overlap: one label map cannot hold two segments in one voxel, so without this option an overlap is an error naming both segments.")
    static let threshold = Flag("threshold", value: "T", summary: "FRACTIONAL: a voxel belongs to a segment when value >= T x MaximumFractionalValue",
                                details: "T in (0, 1]. The default 0.5 treats probability (or occupancy) of one half or more as inside.",
                                defaultValue: "0.5")
    static let fractional = Flag("fractional", value: "MODE", summary: "FRACTIONAL: threshold into a label map, or write each segment's probability",
                                 details: "`threshold` (default): see --threshold. `probability`: one float32 file per segment holding value / MaximumFractionalValue (0...1); implies --per-segment.",
                                 choices: ["threshold", "probability"], defaultValue: "threshold")
    static let strict = Flag("strict", summary: "With --ref: a source image reference that disagrees with the frame's position is an error",
                             details: "Without it, such a frame is placed by its position and a warning names the first disagreeing frame.")
    static let force = Flag("force", summary: "Overwrite existing output files",
                            details: "Without it, an existing output (label map, per-segment file or JSON) is an error and nothing is written.")

    static let command = Command(
        name: "seg2nifti",
        summary: "Convert a DICOM-SEG or RT Structure Set to a label map with dcmqi-style JSON metadata",
        description: """
        Reads a DICOM Segmentation (BINARY, FRACTIONAL, or the Label Map Segmentation of DICOM 2024) and writes its segments as one label map, in any format `i2 convert` writes, plus the segment metadata as dcmqi JSON. Frames may come in any order and cover only some slices. Each segment's voxels get the label value i2 recorded when it wrote the SEG (private creator "i2", (0077,xx01)), otherwise its Segment Number.
        Overlapping segments are never merged: they are an error unless --per-segment writes one file per segment. FRACTIONAL segments are thresholded (--threshold), or written as probabilities (--fractional probability).
        An RT Structure Set (recognised by its SOP class) is read too, with --ref naming its image series (a structure set has no grid of its own): every ROI is rasterized onto the full grid of that series, with the ROI Number as its label value (1...N in ROI Number order when a number exceeds 65535), and the ROIs' names, colours, interpreted types and identification codes go into the dcmqi JSON, so it feeds straight back into `i2 nifti2seg`. Contours are placed by position: a CLOSED_PLANAR contour lies on the slice whose plane all its points are within a quarter of the slice spacing of; one that lies on no slice, ContourData that is not x, y, z triples, or a frame of reference other than the series' is an error. Inside a slice the ROI's contours combine by the even-odd rule (holes, islands), and a pixel whose centre lies on a contour (within 0.001 pixel) counts as inside, so contours through the boundary pixels' centres (rt-utils', most planning systems') and contours between them (i2's) both come back exactly. POINT and OPEN_* contours and ROIs without contours are reported on stderr, not drawn; overlapping ROIs (a BODY around the organs) need --per-segment.
        Bad input (not a SEG or RTSTRUCT, malformed, frames that reference instances missing from --ref) is one error line naming the file and the reason; nothing is written. Each written path is printed on stdout.
        """,
        flags: [output, meta, ref, perSegment, threshold, fractional, strict, force, CommonFlags.null],
        positionals: [
            Positional("SEG", summary: "The DICOM-SEG file", completion: .file(extensions: ["dcm"])),
            Positional("OUTPUT", summary: "Label map to write (instead of -o)", optional: true),
        ],
        examples: [
            ("i2 seg2nifti seg.dcm -o labels.nii.gz", "label map plus labels.json"),
            ("i2 seg2nifti seg.dcm -o labels.nii.gz --ref ct/", "on the grid of `i2 convert ct/`"),
            ("i2 seg2nifti seg.dcm -o masks.nii.gz --per-segment", "masks_1_Liver.nii.gz, ... (overlaps allowed)"),
            ("i2 seg2nifti prob.dcm -o p.nii.gz --fractional probability", "float32 probability map per segment"),
        ],
        exitStatuses: ExitStatus.general + [.interrupted],
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        var positionals = args.positionals
        var outputPath = args.given(output)
        if outputPath == nil, positionals.count == 2 { outputPath = positionals.removeLast() }
        guard positionals.count == 1 else { throw I2Error(.usage, "needs exactly one SEG file (see 'i2 seg2nifti --help')") }
        guard let out = outputPath else { throw I2Error(.usage, "needs an output label map: -o LABELS.nii.gz") }
        run.terminal.nulSeparated = args.has(CommonFlags.null)

        var options = Seg2NiftiOptions(input: positionals[0], output: out)
        options.meta = args.given(meta)
        options.reference = args.given(ref)
        options.perSegment = args.has(perSegment)
        options.probability = args.value(fractional) == "probability"
        options.overwrite = args.has(force)
        options.strict = args.has(strict)
        if let t = args.given(threshold) {
            guard let v = Double(t), v > 0, v <= 1 else { throw I2Error(.usage, "--threshold: '\(t)' is not a number in (0, 1]") }
            options.threshold = v
        }
        return SegToNifti.run(options, run.context)
    }
}
