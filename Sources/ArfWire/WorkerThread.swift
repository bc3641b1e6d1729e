// A thread of the wire layer's own, for work that blocks: socket reads, accept, and handlers.
// Swift's cooperative pool and Dispatch's global queues have one thread per core (two here),
// so a few blocked reads there would stall every task in the process.
import Foundation

/// A started thread that can be waited for.
final class WorkerThread: @unchecked Sendable {
    private let finished = NSCondition()
    private var done = false

    /// Starts `body` on a new thread called `name`.
    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            body()
            finished.lock()
            done = true
            finished.broadcast()
            finished.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Waits until the body has returned, or `seconds` pass; returns whether it returned.
    @discardableResult
    func join(timeout seconds: Double = .infinity) -> Bool {
        let deadline = Date(timeIntervalSinceNow: min(seconds, 1e9))
        finished.lock()
        defer { finished.unlock() }
        while !done {
            if !finished.wait(until: deadline) { return done }
        }
        return true
    }
}
