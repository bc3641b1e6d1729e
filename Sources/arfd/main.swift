// arfd, the arf daemon: everything lives in the ArfDaemon library; this only sets up the
// BLAS environment, hands over the command line and exits with the code it returns.
import ArfDaemon
import ArfTensor
import Foundation

Compute.reexecWithShortBLASSpin()
exit(Daemon.main(Array(CommandLine.arguments.dropFirst())))
