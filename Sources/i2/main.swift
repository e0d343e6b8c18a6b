// The i2 executable: hand argv to I2CLI and exit with the status it returns.
import I2CLI
import Foundation

exit(I2CLI.main(CommandLine.arguments))
