// Every system call the project makes goes through `systemCall`, so that a failure keeps its
// errno and the name of the call, and becomes a thrown error instead of a silent -1.
import Foundation

/// A failed system call: which call, on what, and the errno it left.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32
    public let context: String

    public init(call: String, errno: Int32, context: String = "") {
        self.call = call
        self.errno = errno
        self.context = context
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return context.isEmpty ? "\(call): \(reason)" : "\(call) \(context): \(reason)"
    }
}

/// Runs `body`, retrying on EINTR, and throws a `SystemError` when it returns -1.
@discardableResult
public func systemCall<T: FixedWidthInteger>(
    _ call: String, _ context: @autoclosure () -> String = "", _ body: () -> T
) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(call: call, errno: code, context: context())
    }
}
