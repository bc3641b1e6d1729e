// A dense float32 tensor: a shape and one contiguous, row-major buffer that the tensor owns.
// It is a reference type on purpose: kernels write into buffers allocated once per shape, and
// copies must be explicit. No broadcasting, strides or autograd live here; the model code
// calls each kernel's forward and backward itself.
import Foundation

/// A row-major float32 array with a shape, owning its memory.
public final class Tensor: @unchecked Sendable {
    /// The extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The first element; valid for `capacity` floats.
    public private(set) var data: UnsafeMutablePointer<Float>
    /// How many floats the buffer holds; at least `count`.
    public private(set) var capacity: Int
    /// Set for a view into another tensor's memory, which this tensor must not free or grow.
    private let owner: Tensor?

    /// A zero-filled tensor of the given shape.
    public init(zeros shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(count >= 0 && shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
        self.shape = shape
        self.capacity = Swift.max(count, 1)
        self.data = .allocate(capacity: capacity)
        self.owner = nil
        data.initialize(repeating: 0, count: capacity)
    }

    /// A view of `shape` elements of `base`'s memory starting at element `offset`; it keeps
    /// `base` alive and cannot be resized.
    public init(viewOf base: Tensor, offset: Int, shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= base.count, "view outside \(base.shape)")
        self.shape = shape
        self.capacity = count
        self.data = base.data + offset
        self.owner = base
    }

    /// A tensor holding a copy of `values`, which must have `shape`'s element count.
    public convenience init(_ values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for \(shape)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A tensor with the same shape and values.
    public convenience init(copying other: Tensor) {
        self.init(zeros: other.shape)
        data.update(from: other.data, count: other.count)
    }

    deinit { if owner == nil { data.deallocate() } }

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The values as an array (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// A view of the elements as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// Changes the shape, growing the buffer only when it is too small. Old values are kept
    /// only up to the smaller count; new space is zeroed.
    public func resize(_ newShape: [Int]) {
        let newCount = newShape.reduce(1, *)
        if newCount > capacity {
            precondition(owner == nil, "a view cannot grow")
            let grown = UnsafeMutablePointer<Float>.allocate(capacity: newCount)
            grown.initialize(repeating: 0, count: newCount)
            grown.update(from: data, count: count)
            data.deallocate()
            data = grown
            capacity = newCount
        }
        shape = newShape
    }

    /// Reinterprets the same elements with another shape of equal count.
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// Sets every element to zero.
    public func zero() {
        let base = data
        parallelChunks(count, minimumPerChunk: 1 << 20) { range in
            (base + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    /// Copies the values of a tensor of the same count.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = values.prefix(6).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(count > 6 ? ", ..." : "")])"
    }
}
