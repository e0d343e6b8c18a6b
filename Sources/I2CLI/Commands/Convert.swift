// i2 convert: DICOM series, NIfTI, NRRD, MetaImage and NumPy, in any sensible direction.
import Foundation
import I2Core

enum Convert {
    static let output = Flag("output", short: "o", value: "PATH", summary: "Output file or directory (instead of the last argument)",
                             completion: .file(extensions: []))
    static let format = Flag("format", short: "f", value: "EXT", summary: "Output format when writing into a directory",
                             details: "The extension of the files written into an output directory, one per series.",
                             choices: FileFormat.allCases.map(\.rawValue), defaultValue: FileFormat.niftiGz.rawValue)
    static let series = Flag("series", short: "s", value: "UID", summary: "Convert only this series (repeatable)",
                             details: "A SeriesInstanceUID, or a group name as --list prints it (UID plus a split key such as _e2, _ph or _o2 for another orientation).",
                             repeatable: true)
    static let list = Flag("list", short: "l", summary: "List the series and volumes found, convert nothing",
                           details: "One line per volume, 7 tab-separated columns: NAME (the group name --series takes: SeriesInstanceUID plus a split key such as _e2, _ph or _o2), MODALITY, ORIENTATION (axial, coronal, sagittal or oblique), SIZE (columns x rows x slices, x volumes when 4-D), SLICES (e.g. '12 slices'), NUMBER (SeriesNumber), DESCRIPTION (SeriesDescription). An empty field is '-'; no field holds a tab. When stdout is a terminal, a header line naming the columns comes first; piped output has none.")
    /// The --list header, printed only when stdout is a terminal.
    static let listHeader = ["NAME", "MODALITY", "ORIENTATION", "SIZE", "SLICES", "NUMBER", "DESCRIPTION"]
    static let pattern = Flag("name", short: "n", value: "PATTERN", summary: "File name pattern for one output per series",
                              details: "Placeholders: {protocol} ProtocolName (dcm2niix's %p), {number} SeriesNumber (%s), {description} SeriesDescription, {modality}, {patient} PatientID, {series} SeriesInstanceUID, {study} StudyInstanceUID; '{protocol}_{number}' names files as 'dcm2niix -f %p_%s' does. Volumes split out of a series get dcm2niix's suffixes: _e1, _e2 ... for echoes (when the series has several, or the echo is not the first), then _imaginary, _real (_fieldmaphz for a Philips B0 map) or _ph for the complex component; GE epi_pepolar halves acquired reversed take SeriesNumber + 1000. Sanitized as dcm2niix does: \\ / space < > : ; \" * | ? $ ` and control characters become '_', accented Latin-1 letters lose the accent, other non-ASCII characters become '_', a leading '.' becomes '_', runs of '_' collapse. Clashing names (e.g. another orientation or image size in one series) get a, b, c ... appended, as dcm2niix does.",
                              defaultValue: "{number}_{description}")
    static let noSidecar = Flag("no-sidecar", summary: "Do not write the JSON sidecar next to images converted from DICOM",
                                details: "By default, converting from DICOM also writes NAME.json, the BIDS sidecar dcm2niix writes for the same input: the same keys with the same values (times in seconds), e.g. SliceTiming, PhaseEncodingDirection (PhaseEncodingAxis when the polarity is not recorded), TotalReadoutTime, EffectiveEchoSpacing, RepetitionTime, EchoTime, FlipAngle, and Siemens' protocol values (ShimSetting, TxRefAmp, ReceiveCoilName, …). Deliberate differences: ConversionSoftware is i2, ConversionNotes says what the conversion did to the data (tilt, resampling). Identifying values are left out unless --sidecar-identifiers is given.")
    static let sidecarIdentifiers = Flag("sidecar-identifiers", summary: "Also write identifying values into the JSON sidecar",
                                         details: "Adds PatientName, PatientID, PatientBirthDate, PatientSex, PatientWeight, AccessionNumber, ReferringPhysicianName, StudyID, StudyInstanceUID, SeriesInstanceUID and AcquisitionDateTime to NAME.json, as dcm2niix does with `-ba n`. Without it (the default, like dcm2niix's `-ba y`) the sidecar carries none of them, so it can be shared with the image.")
    static let tilt = Flag("tilt", value: "MODE", summary: "Gantry tilt: keep the sheared affine, or resample to an orthogonal grid",
                           details: "Tilt is detected from the slice positions against the orientation's normal. `shear` (default) keeps every voxel and writes the exact sheared affine (NIfTI sform; NRRD and MetaImage directions are not orthogonal). `resample` shifts each slice in-plane by linear interpolation so the grid is orthogonal, as dcm2niix does.",
                           choices: TiltPolicy.allCases.map(\.rawValue), defaultValue: TiltPolicy.shear.rawValue)
    static let equalize = Flag("equalize", summary: "Resample irregularly spaced slices to their smallest spacing",
                               details: "Without it, a series whose slice spacing varies by more than 1% (or that misses slices) is refused, naming the two files where the spacing breaks. A resampled grid of more than 16 slices per input slice (and more than 1024) is refused before it is built: one stray position far away, or two slices a thousandth of a millimetre apart, would otherwise ask for millions of slices.")
    static let ref = Flag("ref", short: "r", value: "SERIES_DIR", summary: "Write a derived DICOM series on the grid of IMAGE, copying patient and study from this series",
                          details: "With an image input and an output directory: writes one DICOM instance per slice with a new SeriesInstanceUID, patient and study copied from the reference.",
                          completion: .directory)
    static let force = Flag("force", summary: "Overwrite existing output files",
                            details: "Without it, an existing output file is an error for that input and nothing is written for it. This covers every file an output comes with: the NAME.json sidecar, the NAME.bval and NAME.bvec of a diffusion series, the NAME.raw of .mhd and .nhdr, the NAME.json of .npy, and the IM_NNNN.dcm files of --ref; all are checked before any is written.")
    static let level = Flag("compression-level", value: "N", summary: "gzip level for .nii.gz and compressed outputs (1-9)",
                            choices: (1...9).map(String.init), defaultValue: "6")

    static let command = Command(
        name: "convert",
        summary: "Convert between DICOM series, NIfTI, NRRD, MetaImage and NumPy",
        description: """
        Converts a DICOM series (a directory searched recursively, or files) or an image file to another format, chosen by the output's extension: .nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd, .npy. Geometry is kept exactly: slices are sorted along the normal, the spacing comes from the positions, and NIfTI gets the RAS affine (qform and sform).
        Voxel order is dcm2niix's, in every format: axis 0 along a DICOM row, axis 1 from the last DICOM row up to the first (the rows reversed, the affine adjusted), axis 2 along the slice normal (row x column) from the lowest slice; so the .nii array equals dcm2niix's, and .nrrd, .mha and .npy hold the same array. seg2nifti writes label maps in the same order. A single volume of a 3-D acquisition (MRAcquisitionType 3D) is instead reordered as dcm2niix's nii_setOrtho does: axes permuted and reversed so the affine is closest to a positive diagonal (RAS), every voxel staying where it is.
        Siemens XA classic exports that give each volume of a 4-D series its own SeriesInstanceUID (SoftwareVersions "syngo MR XA..."; single-frame files) are joined into one series, as dcm2niix does, but only within one study, SeriesNumber and ProtocolName (dcm2niix joins them more widely).
        A directory holding several series gives one output per volume into the output directory (see --name); --series picks some, --list shows them. Within a series, dcm2niix's splits apply: another orientation or image size, echoes, and magnitude/phase/real/imaginary images become separate files. Repeated positions (fMRI, DWI, ASL, multi-phase: the same positions several times, ordered by TemporalPositionIdentifier or the enhanced TemporalPositionIndex, then InstanceNumber) become one 4-D volume, with pixdim[4] = RepetitionTime in seconds as dcm2niix writes it.
        Images with neither ImageOrientationPatient nor ImagePositionPatient (secondary captures, photographs) are written as dcm2niix writes them: without a spatial transform (NIfTI qform/sform code 0), frames or files (by InstanceNumber) stacked 1 mm apart, with a note; one of the two without the other is an error.
        Files sharing a SOP Instance UID count once only when they are byte-identical copies; otherwise each is kept (another position is another slice), and two different images at one position are refused naming both files, where dcm2niix silently keeps one.
        Deliberate differences from dcm2niix (each where dcm2niix would guess or lose data): gantry tilt keeps an exact sheared sform by default (see --tilt; the qform is derived from that sform); irregular spacing or a missing slice is refused without --equalize; a series with an unreadable file is not converted (the error names the file); two different images at one position are refused; XA per-volume series are joined more narrowly (above); UIH grids without per-slice positions and mosaics whose count does not fit are refused (below); 12-bit signed data keeps its sign; Philips trace volumes are dropped, not written as NAME_ADC; whole-slide microscopy images (tiles of one plane, not slices) are refused; a Toshiba diffusion series whose ImageComments carry the directions stays one 4-D image (dcm2niix renames the manufacturer of its b>0 images to Canon and so writes the b=0 images apart). Transfer syntaxes: JPEG 2000 is decoded through OpenJPEG (on every core), JPEG-LS through CharLS 2 (a codestream without its end marker is refused as truncated; Debian's dcm2niix cannot read JPEG-LS, so i2 converts files it refuses); High-Throughput JPEG 2000 is refused by name (Debian's DCMTK 3.6.7 cannot parse it).
        Siemens MOSAIC and United Imaging grid (VFRAME) images are split into their slices as dcm2niix does (a Siemens mosaic keeps its stored slice order, the slice axis following it). Unlike dcm2niix, which guesses, i2 refuses a UIH grid without its per-slice position sequence (its slice direction is unknown), and any mosaic whose slice count does not fit its image.
        Diffusion series (b-values and gradient directions in the standard MR Diffusion attributes, or Siemens', GE's or Philips' private ones) also get NAME.bval and NAME.bvec beside a NIfTI output, as dcm2niix writes them: FSL's convention (directions in the image's voxel axes, x mirrored for a positive determinant), "%g" values separated by spaces; none when every volume has the same b-value and direction. Philips' isotropic (trace) volumes among the directions are dropped from the 4-D image with a note (dcm2niix moves them to NAME_ADC.nii, or drops them with -i y); volumes whose ImageType is DERIVED (trace, ADC) among original ones are written apart (NAMEa, as dcm2niix names it, with their own .bval), and ADC or trace maps stored as series of their own are converted on their own, as dcm2niix does. GE's b>0 volumes without a direction are trace images (dropped) when the series records no diffusion directions (UserData24 = 0), b=0 images otherwise. UIH's private b-value and direction (0065,1009/1037) and classic Canon/Toshiba directions in ImageComments are read as dcm2niix reads them.
        OUTPUT is a directory when it ends with '/' or already is one; otherwise its extension must be one of the formats above (anything else is a usage error, exit status 2).
        With --ref, an image is written back as a derived DICOM series into the output directory.
        Each written path is printed on stdout; logs go to stderr. An input of '-' reads paths from stdin, one per line.
        Archive-scale batches: --manifest FILE OUT_DIR/ converts the series directories FILE lists, each into its own OUT_DIR/NAME-HASH/, skipping those already converted completely (a done-record in each output directory), and --shard K/N (or a Slurm array's task id) splits the list between tasks; see --manifest and --shard, and the README for an sbatch array script.
        Voxel values follow dcm2niix. NIfTI from DICOM keeps the stored integers and puts RescaleSlope/RescaleIntercept into scl_slope/scl_inter, so the scaled values (what nibabel's get_fdata returns) equal dcm2niix's: 8-bit data is uint8, 16-bit signed int16, 16-bit unsigned int16 when BitsStored is below 16 (else uint16), 32-bit int32. Bits above BitsStored are cleared in unsigned data (12-bit data ranges 0-4095) and sign-extended in signed data; dcm2niix instead masks 12-bit signed data to 0-4095, losing its sign, a deliberate difference (it also keeps such bits for other widths). When the rescale differs between the slices of one volume, the values are scaled into float32 with scl_slope 1. Philips images with the private MR scale slope (tag 2005,100E) get Philips' precise floating-point values (value = (stored x RescaleSlope + RescaleIntercept) / (RescaleSlope x ScaleSlope)), per frame in enhanced files, and the sidecar records PhilipsRescaleSlope, PhilipsRescaleIntercept, PhilipsScaleSlope and UsePhilipsFloatNotDisplayScaling (1), as dcm2niix does by default.
        NRRD, MetaImage and NumPy have no scaling field: they get the values themselves (integers in the stored type, int16 or int32 when they fit, else float32), so converting them back to NIfTI gives the same values.
        Reading: headers of plain Part 10 files in little-endian transfer syntaxes (implicit or explicit VR, native or encapsulated pixel data) are indexed straight from their bytes in one read up to the pixel data, whose value is read later by offset into its place in the volume; DCMTK reads whatever that index does not take (big endian, deflate, files without the Part 10 preamble, damaged files, values whose text it builds otherwise) and decodes compressed pixel data. Both readings give the same values (checked element by element over the test fixtures); FL and FD values are read as text from their binary values with 9 and 17 significant digits, which read back exactly (DCMTK's own text can lose the last digits). i2 loads its DCMTK library (libi2dcmtk.so, installed with it) only when a file needs DCMTK, so converting plain files starts in a few milliseconds. Environment: I2_DCMTK_ONLY=1 has DCMTK read every file; I2_FAST_DEBUG=1 names on stderr each file the index leaves to DCMTK, and why; I2_DCMTK_LIBRARY names the library's path. Series convert side by side, one per core, except that a volume over 64 MiB converts alone (so memory stays that of one volume) and the volumes of one multi-frame file convert one after the other (they share its parsed header); outputs are reported in series order.
        Colour images (SamplesPerPixel 3, RGB; YBR in compressed files is decoded to RGB) become NIfTI RGB24 (R, G, B interleaved per voxel, either PlanarConfiguration), as dcm2niix writes them; NRRD gets a first axis of 3 ('kinds: RGB-color domain domain domain'), MetaImage 'ElementNumberOfChannels = 3', NumPy a last axis of 3 (arr[k, j, i, c], sidecar axes k, j, i, c); all three are read back as RGB.
        """,
        flags: [output, format, series, list, pattern, noSidecar, sidecarIdentifiers, tilt, equalize, ref, force, level, ManifestFlags.manifest, ManifestFlags.shard, CommonFlags.allowOutsideData, CommonFlags.null, CommonFlags.json],
        positionals: [
            Positional("INPUT", summary: "DICOM directory or files, or an image file; '-' reads paths from stdin", variadic: true),
            Positional("OUTPUT", summary: "Output file (format from its extension) or directory (ending in '/', or existing)", optional: true),
        ],
        examples: [
            ("i2 convert ct/ ct.nii.gz", "a DICOM series to compressed NIfTI, plus ct.json"),
            ("i2 convert --list study/", "list the series and volumes in a folder"),
            ("i2 convert study/ out/ --format nrrd", "one NRRD per series into out/"),
            ("i2 convert mask.nii.gz derived/ --ref ct/", "a result image back to a DICOM series"),
            ("i2 convert --manifest series.txt --shard 3/16 out/", "shard 3 of 16 of a list of series directories (in a Slurm array: the shard comes from SLURM_ARRAY_TASK_*)"),
        ],
        exitStatuses: ExitStatus.general + [.interrupted], gracefulWith: ManifestFlags.manifest,
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        Allocator.tuneForBatch()   // many files read, then exit
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        run.terminal.json = args.has(CommonFlags.json)
        if let file = args.given(ManifestFlags.manifest) { return try manifest(file, args, run) }
        if args.has(ManifestFlags.shard) { throw I2Error(.usage, "--shard applies with --manifest") }
        var positionals = args.positionals
        var outputPath = args.given(output)
        if outputPath == nil && !args.has(list) {
            guard positionals.count >= 2 else { throw I2Error(.usage, "needs an INPUT and an OUTPUT (see 'i2 convert --help')") }
            outputPath = positionals.removeLast()
        }
        guard !positionals.isEmpty else { throw I2Error(.usage, "needs at least one INPUT") }
        let inputs = args.expandingStdin(positionals)
        if inputs.isEmpty { throw I2Error(.badInput, "no input: '-' read no paths from stdin") }
        if args.has(list) {
            // A header for people: only on a terminal, before the first line.
            var headed = isatty(STDOUT_FILENO) != 1
            let sink = EventSink { event in
                if case .output = event, !headed { headed = true; StandardOutput.write(listHeader.joined(separator: "\t") + "\n") }
                run.terminal.handle(event)
            }
            return Conversion.list(inputs: inputs, EngineContext(events: sink, stop: run.context.stop))
        }
        return Conversion.run(try options(args, inputs: inputs, output: outputPath ?? ""), run.context)
    }

    static func options(_ args: ParsedArguments, inputs: [String], output: String) throws -> ConvertOptions {
        var options = ConvertOptions(inputs: inputs, output: output)
        options.formatInDirectory = args.choice(format)
        options.seriesFilter = args.all(series)
        options.namePattern = args.value(pattern)!
        options.sidecar = !args.has(noSidecar)
        options.sidecarIdentifiers = args.has(sidecarIdentifiers)
        options.tilt = args.choice(tilt)
        options.equalize = args.has(equalize)
        options.reference = args.given(ref)
        options.overwrite = args.has(force)
        options.read.allowOutsideData = args.has(CommonFlags.allowOutsideData)
        options.write.compressionLevel = try args.int(level, range: 1...9)
        return options
    }

    /// --manifest FILE OUTDIR/: each listed series converted into OUTDIR/NAME-HASH/ (ManifestRun).
    static func manifest(_ file: String, _ args: ParsedArguments, _ run: Invocation) throws -> Report {
        if args.has(list) || args.has(ref) { throw I2Error(.usage, "--manifest converts series directories: not with --\(args.has(list) ? "list" : "ref")") }
        let outputs = args.given(output).map { [$0] + args.positionals } ?? args.positionals
        guard outputs.count == 1, let out = outputs.first else {
            throw I2Error(.usage, "with --manifest, give only the output directory (the series come from the manifest)")
        }
        if file == "-" && out == "-" { throw I2Error(.usage, "the output directory cannot be '-'") }
        let base = try options(args, inputs: [], output: "")
        var recipe = base
        recipe.overwrite = false   // each series is converted into an empty directory
        var o = try ManifestFlags.options(args, file: file, output: out, recipe: "convert " + String(reflecting: recipe)) { input, dir, context in
            var one = base
            one.inputs = [input]
            one.output = dir + "/"
            return Conversion.run(one, context)
        }
        o.force = args.has(force)
        return ManifestRun.run(o, run.context)
    }
}
