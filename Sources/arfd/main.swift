// arfd, the arf daemon: everything lives in the ArfDaemon library; this only hands over the
// command line and exits with the code it returns.
import ArfDaemon
import Foundation

exit(Daemon.main(Array(CommandLine.arguments.dropFirst())))
