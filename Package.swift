// swift-tools-version:5.9
// i2: DICOM ⇄ AI tools. One executable over one library; native libraries reached only through
// their wrapper targets (CDCMTK → I2DICOM, CNIfTI → I2NIfTI). No Swift package dependencies.
// DCMTK is linked into libi2dcmtk.so (CDCMTKImpl), which the executable loads when a file or command
// first needs it (CDCMTKLoader): Debian's DCMTK costs ~8 ms to load, more than converting a small
// series of plain files, which the fast index (CDCMTK) reads alone. Install the library with i2.
import PackageDescription

let dcmtkLibs = ["dcmjpeg", "ijg8", "ijg12", "ijg16", "dcmimgle",
                 "dcmtls", "dcmnet", "dcmdata", "oflog", "ofstd"]

// Release builds call metadata accessors for concrete generic types (e.g. [String: [String]]) instead
// of the runtime's mangled-name lookup, which demangles the name and scans every protocol-conformance
// record in the binary (~5,000, most of them Foundation's) for each requirement it has not yet seen:
// a fixed cost of every run (issue 10).
let startUp: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"],
                                            .when(configuration: .release))]

let package = Package(
    name: "i2",
    products: [
        .executable(name: "i2", targets: ["i2"]),
        .library(name: "i2dcmtk", type: .dynamic, targets: ["CDCMTKImpl"]),
    ],
    targets: [
        // The C API Swift sees, the fast header index and the tables it shares with DCMTK: no DCMTK code.
        .target(name: "CDCMTK", linkerSettings: [.linkedLibrary("stdc++")]),
        // The executable's side: the API answered from the fast index, or through libi2dcmtk.so.
        .target(name: "CDCMTKLoader", dependencies: ["CDCMTK"], linkerSettings: [.linkedLibrary("dl")]),
        // libi2dcmtk.so: i2's code on DCMTK (reading, decoding, writing, network).
        .target(
            name: "CDCMTKImpl",
            dependencies: ["CDCMTK"],
            // -static-stdlib: no libswiftCore.so (NoSwiftRuntime.cpp says why).
            linkerSettings: [.unsafeFlags(["-static-stdlib"])] + dcmtkLibs.map { .linkedLibrary($0) }
                + [.linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("openjp2"), .linkedLibrary("CharLS"), .linkedLibrary("z"), .linkedLibrary("stdc++")]
        ),
        .target(
            name: "CNIfTI",
            linkerSettings: [.linkedLibrary("niftiio"), .linkedLibrary("znz"), .linkedLibrary("z"),
                             .linkedLibrary("deflate"), .linkedLibrary("m")]
        ),
        // libcurl for DICOMweb, loaded on first use (CCurl.h says why): its header at build time only.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        .target(name: "I2Model", swiftSettings: startUp),
        .target(name: "I2DICOM", dependencies: ["CDCMTK", "CDCMTKLoader", "I2Model"], swiftSettings: startUp),
        .target(name: "I2NIfTI", dependencies: ["CNIfTI", "I2Model"], swiftSettings: startUp),
        .target(name: "I2Core", dependencies: ["I2Model", "I2DICOM", "I2NIfTI", "CCurl"], swiftSettings: startUp),
        .target(name: "I2CLI", dependencies: ["I2Core"], swiftSettings: startUp),
        // Start-up cost of each run (issue 10), in the release build (made with --static-swift-stdlib):
        // linked non-PIE, so the loader applies none of the ~75,000 relative relocations a PIE of this
        // size carries (Swift metadata, Foundation's tables) on pages it must copy to write; and with
        // libstdc++, the unwinder, nifticlib, zlib and libdeflate linked in (link/libstdc++.so says how). Not in debug builds: a
        // non-PIE executable on the shared Swift runtime makes the loader warn on stderr about its
        // protected functions.
        .executableTarget(
            name: "i2", dependencies: ["I2CLI"], exclude: ["link"], swiftSettings: startUp,
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie", "-L", Context.packageDirectory + "/Sources/i2/link"],
                                          .when(configuration: .release))]
        ),
        .target(name: "I2TestSupport", path: "Tests/I2TestSupport"),
        .testTarget(name: "I2ModelTests", dependencies: ["I2Model", "I2TestSupport"]),
        .testTarget(name: "I2DICOMTests", dependencies: ["I2DICOM", "I2TestSupport"]),
        .testTarget(name: "I2NIfTITests", dependencies: ["I2NIfTI", "I2TestSupport"]),
        .testTarget(name: "I2CoreTests", dependencies: ["I2Core", "I2TestSupport"]),
        .testTarget(name: "I2CLITests", dependencies: ["I2CLI", "I2TestSupport"]),
        .testTarget(name: "I2EndToEndTests", dependencies: ["I2TestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
