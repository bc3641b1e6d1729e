// Helpers shared by the retrieval tests: seeded matrices (unit vectors, and small integers
// whose inner products are exact in float, so ties are real ties), a naive top-k by full
// sort to compare with, recall, and a temporary store.
import ArfRetrieval
import ArfStore
import ArfTensor
import Foundation

/// Every test runs its kernels on two threads, so that the split and merge paths are the ones
/// exercised; no test sets another count, so tests running side by side agree on it.
func useTwoThreads() {
    Compute.threads = 2
}

/// Unit vectors with normal coordinates before normalising, ids firstID ..< firstID + rows.
func randomUnitVectors(rows: Int, dimension: Int, seed: UInt64, firstID: Int = 0)
    -> VectorMatrix
{
    var generator = SeededGenerator(seed: seed)
    let matrix = VectorMatrix(rows: rows, dimension: dimension)
    for i in 0..<rows * dimension { matrix.data[i] = generator.normal() }
    for row in 0..<rows { matrix.ids[row] = firstID + row }
    matrix.normalizeRows()
    return matrix
}

/// Vectors of integers from -2 to 2: inner products are small integers, exact in any order
/// of summation, and many of them are equal.
func smallIntegerVectors(rows: Int, dimension: Int, seed: UInt64) -> VectorMatrix {
    var generator = SeededGenerator(seed: seed)
    let matrix = VectorMatrix(rows: rows, dimension: dimension)
    for i in 0..<rows * dimension { matrix.data[i] = Float(Int(generator.next() % 5) - 2) }
    // Shuffled ids, so that the tie-break by id is not the row order.
    var ids = Array(0..<rows).map { $0 * 7 + 3 }
    ids.shuffle(using: &generator)
    for row in 0..<rows { matrix.ids[row] = ids[row] }
    return matrix
}

/// The inner product of two rows, summed in order in Double.
func innerProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Double {
    var sum = 0.0
    for j in 0..<d { sum += Double(a[j]) * Double(b[j]) }
    return sum
}

/// The top k of every query by scoring all rows in Double and sorting them all: score
/// descending, then id ascending.
func naiveTopK(
    _ queries: VectorMatrix, _ base: VectorMatrix, k: Int, excluding: Set<Int> = []
) -> [[(id: Int, score: Double)]] {
    (0..<queries.rows).map { q in
        var all: [(id: Int, score: Double)] = []
        for row in 0..<base.rows where !excluding.contains(base.ids[row]) {
            all.append((base.ids[row], innerProduct(queries.row(q), base.row(row), base.dimension)))
        }
        all.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Array(all.prefix(k))
    }
}

/// The mean over queries of |found ∩ truth| / |truth|.
func recall(_ found: SearchResult, against truth: SearchResult) -> Double {
    var total = 0.0
    for q in 0..<truth.queryCount {
        let expected = Set(truth.hits(q).map(\.id))
        let got = Set(found.hits(q).map(\.id))
        total += Double(expected.intersection(got).count) / Double(max(1, expected.count))
    }
    return total / Double(max(1, truth.queryCount))
}

/// Runs `body` with a fresh folder that is removed afterwards.
@discardableResult
func withTemporaryDirectory<R>(_ label: String, _ body: (String) throws -> R) rethrows -> R {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("arf-retrieval-\(label)-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
}
