// The i2 executable: hand argv to I2CLI and exit with the status it returns.
import I2CLI
import Foundation

let status = I2CLI.main(CommandLine.arguments)
// Everything i2 writes is written (and synced where it matters) by now; stdio is flushed here. _exit
// skips the C++ global destructors: DCMTK frees its ~8,000 dictionary entries one by one (~1.5 ms).
fflush(nil)
_exit(status)
