// libi2dcmtk.so holds no Swift code, but swiftc, which links every SwiftPM product, adds swiftrt.o: a
// constructor that registers the library's (empty) Swift metadata sections with the Swift runtime. Left
// to itself that pulls the shared libswiftCore.so into i2's process, a second Swift runtime beside the
// executable's static one: ~8 MB more to load and relocate on each first use of DCMTK, and a library
// that does not load at all where no Swift toolchain is installed. These two definitions satisfy
// swiftrt.o inside the library (Package.swift links it with -static-stdlib, so nothing else of the
// runtime's archive is taken); there is nothing for the runtime to register.
extern "C" {
__attribute__((visibility("hidden"))) void swift_addNewDSOImage(const void *) {}
__attribute__((visibility("hidden"))) bool _swift_backtrace_isThunkFunction(const char *) { return false; }
}
