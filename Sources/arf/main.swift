// arf, the client of the arf daemon: everything lives in the ArfClient library; this only hands
// over the command line and exits with the code it returns.
import ArfClient
import Foundation

exit(ArfCLI.run(Array(CommandLine.arguments.dropFirst())))
