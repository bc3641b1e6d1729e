// The two ways work is spread over cores: OpenBLAS's own threads for matrix products, and
// `parallelChunks` for the element-wise kernels, both sized by `Compute.threads`. Every
// matrix product in the project goes through `gemm`, a thin row-major wrapper of
// cblas_sgemm, so that leading dimensions are spelled out at each call.
import CBLAS
import Dispatch
import Foundation

/// Process-wide settings for numeric work.
public enum Compute {
    nonisolated(unsafe) private static var threadCount = 1

    /// The number of threads OpenBLAS and the element-wise kernels use.
    public static var threads: Int {
        get { threadCount }
        set {
            threadCount = Swift.max(1, newValue)
            openblas_set_num_threads(Int32(threadCount))
        }
    }

    /// Sets OpenBLAS's thread count alone, leaving `threads` as it is; for callers that run
    /// their own threads around many small products.
    public static func setBLASThreads(_ count: Int) {
        openblas_set_num_threads(Int32(Swift.max(1, count)))
    }

    /// OpenBLAS reads how long its idle threads spin (yielding the core) before they sleep
    /// from the environment, once, as the library loads. Its default spin time costs the
    /// element-wise code between two products much of a core on a two-core machine (about a
    /// third of the small model's train step, measured). Programs call this first thing:
    /// when the variable is unset it sets a short timeout and re-executes the program, so
    /// the library loads again and reads it. A caller's own setting is left alone.
    public static func reexecWithShortBLASSpin() {
        let name = "OPENBLAS_THREAD_TIMEOUT"
        guard getenv(name) == nil else { return }
        setenv(name, "4", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Reached only if exec failed; carry on with the default spin.
    }

    private static let passLock = NSRecursiveLock()

    /// Runs `body` while no other thread runs a pass through `serialized`. Model passes, the
    /// classifier-head products, the caption bank's scores and retrieval's searches (every
    /// matrix product outside the benchmark) take this lock so that OpenBLAS is
    /// only ever entered by one pass (and the workers that pass starts itself), and so that a
    /// pass that changes OpenBLAS's thread count changes it for itself alone. Concurrent
    /// callers of one OpenBLAS from unrelated threads have given wrong products under load,
    /// and on a machine of few cores running passes side by side gains nothing, since each
    /// pass already uses every core.
    public static func serialized<T>(_ body: () throws -> T) rethrows -> T {
        passLock.lock()
        defer { passLock.unlock() }
        return try body()
    }

    /// OpenBLAS's description of its build (architecture, threading, core).
    public static var blasConfiguration: String { String(cString: openblas_get_config()) }
}

/// Runs `body` over `count` items split into at most `Compute.threads` contiguous ranges,
/// in parallel when the work is large enough to pay for the hand-off.
@inline(__always)
public func parallelChunks(
    _ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void
) {
    let chunks = Swift.min(Compute.threads, Swift.max(1, count / Swift.max(1, minimumPerChunk)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let start = count * chunk / chunks
        let end = count * (chunk + 1) / chunks
        body(start..<end)
    }
}

/// Splits `count` items into exactly `chunks` contiguous ranges run in parallel, passing the
/// chunk index so that each can own a slice of scratch memory.
public enum DispatchQueueChunks {
    public static func run(_ count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        if chunks <= 1 {
            body(0, 0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            body(chunk, (count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }
}

/// C = alpha * op(A) * op(B) + beta * C for row-major matrices, where op(A) is M x K and
/// op(B) is K x N; `transA`/`transB` say whether A or B is stored transposed.
@inline(__always)
public func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if GemmRecorder.isRecording {
        GemmRecorder.record(GemmShape(transA: transA, transB: transB, m: m, n: n, k: k,
                                      lda: lda, ldb: ldb, ldc: ldc))
    }
    if k == 0 {
        // BLAS leaves C untouched for an empty product only when beta is one.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The shape of one matrix product, as recorded for the benchmark's sgemm ceiling.
public struct GemmShape: Hashable, Sendable {
    public var transA: Bool, transB: Bool
    public var m: Int, n: Int, k: Int
    public var lda: Int, ldb: Int, ldc: Int

    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Collects the shapes of all products made while recording, so that a benchmark can time
/// the same products alone and tell how close a whole pass comes to pure sgemm.
public enum GemmRecorder {
    nonisolated(unsafe) public private(set) static var isRecording = false
    nonisolated(unsafe) private static var shapes: [GemmShape] = []
    private static let lock = NSLock()

    public static func start() {
        lock.withLock { shapes = [] }
        isRecording = true
    }

    /// Stops recording and returns the shapes in call order.
    public static func stop() -> [GemmShape] {
        isRecording = false
        return lock.withLock { shapes }
    }

    static func record(_ shape: GemmShape) { lock.withLock { shapes.append(shape) } }
}
