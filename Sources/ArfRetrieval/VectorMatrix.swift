// VectorMatrix: N rows of D floats in one contiguous, row-major, 64-byte aligned buffer, each
// row tagged with an item id. It is the unit every index searches and stores. It is a
// reference type, like `Tensor`, because a million 512-float rows are 2 GB: the IVF index
// takes a matrix over and reorders its rows in place rather than copying it.
//
// Leaves out: sparse or quantised storage, and growing in place (an index adds rows by
// building a merged matrix).
import ArfTensor
import Foundation

/// N x D float rows with an item id per row.
public final class VectorMatrix: @unchecked Sendable {
    /// The number of rows (N).
    public let rows: Int
    /// The number of floats per row (D).
    public let dimension: Int
    /// The first float of row 0; row i starts at `data + i * dimension`.
    public let data: UnsafeMutablePointer<Float>
    /// The item id of each row.
    public let ids: UnsafeMutablePointer<Int>

    /// A zero-filled matrix whose ids are the row numbers.
    public init(rows: Int, dimension: Int) {
        precondition(rows >= 0 && dimension > 0, "a matrix needs rows >= 0 and dimension > 0")
        self.rows = rows
        self.dimension = dimension
        let count = Swift.max(rows * dimension, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: count)
        data.initialize(repeating: 0, count: count)
        ids = .allocate(capacity: Swift.max(rows, 1))
        for row in 0..<rows { ids[row] = row }
    }

    /// A matrix holding a copy of `values` (rows one after another), with the given ids or
    /// the row numbers.
    public convenience init(_ values: [Float], dimension: Int, ids: [Int]? = nil) throws {
        guard dimension > 0, values.count % dimension == 0 else {
            throw RetrievalError.shape(
                what: "vector values", expected: "a multiple of \(dimension)",
                found: "\(values.count)")
        }
        let rows = values.count / dimension
        if let ids, ids.count != rows {
            throw RetrievalError.shape(
                what: "item ids", expected: "\(rows)", found: "\(ids.count)")
        }
        self.init(rows: rows, dimension: dimension)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
        if let ids { for row in 0..<rows { self.ids[row] = ids[row] } }
    }

    deinit {
        data.deallocate()
        ids.deallocate()
    }

    /// The first float of row `index`.
    @inline(__always)
    public func row(_ index: Int) -> UnsafeMutablePointer<Float> {
        data + index * dimension
    }

    /// A copy of row `index`.
    public func vector(_ index: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: row(index), count: dimension))
    }

    /// All item ids, in row order.
    public var idArray: [Int] { Array(UnsafeBufferPointer(start: ids, count: rows)) }

    /// A new matrix holding copies of the given rows (and their ids), in the given order.
    public func gathering(_ indices: [Int]) -> VectorMatrix {
        let result = VectorMatrix(rows: indices.count, dimension: dimension)
        parallelChunks(indices.count, minimumPerChunk: 4096) { range in
            for target in range {
                let source = indices[target]
                precondition(source >= 0 && source < rows, "row \(source) of \(rows)")
                result.row(target).update(from: row(source), count: dimension)
                result.ids[target] = ids[source]
            }
        }
        return result
    }

    /// Scales every row to unit length; rows of length zero stay zero.
    public func normalizeRows() {
        parallelChunks(rows, minimumPerChunk: 4096) { range in
            for index in range {
                let p = row(index)
                var sum: Float = 0
                for j in 0..<dimension { sum += p[j] * p[j] }
                guard sum > 0 else { continue }
                let scale = 1 / sum.squareRoot()
                for j in 0..<dimension { p[j] *= scale }
            }
        }
    }

    /// Moves row i to position `destination[i]`, in place; `destination` must be a
    /// permutation of 0..<rows.
    ///
    /// Follows each cycle of the permutation with one spare row, so the extra memory is one
    /// row and one bit per row however large the matrix is.
    func permuteRows(to destination: [Int]) {
        precondition(destination.count == rows, "a permutation of \(rows) rows")
        var placed = [Bool](repeating: false, count: rows)
        let spare = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
        defer { spare.deallocate() }
        for start in 0..<rows where !placed[start] {
            // Carry the row that was at `start` along its cycle until the cycle closes.
            spare.update(from: row(start), count: dimension)
            var carriedID = ids[start]
            var position = destination[start]
            placed[start] = true
            while true {
                let nextSpareID = ids[position]
                swapRow(position, with: spare)
                ids[position] = carriedID
                carriedID = nextSpareID
                if placed[position] { break }
                placed[position] = true
                position = destination[position]
            }
        }
    }

    private func swapRow(_ index: Int, with spare: UnsafeMutablePointer<Float>) {
        let p = row(index)
        for j in 0..<dimension {
            let value = p[j]
            p[j] = spare[j]
            spare[j] = value
        }
    }
}
