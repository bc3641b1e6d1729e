// VectorMatrix and the synthetic pools: construction checks, copies of chosen rows, unit
// rows after normalising, and clustered samples that repeat from their seed.
import ArfRetrieval
import ArfTensor
import Foundation
import Testing

@Suite("Vector matrix")
struct VectorMatrixTests {
    @Test("values that do not fill whole rows, and ids of the wrong count, are errors")
    func constructionChecks() throws {
        #expect(throws: RetrievalError.self) { try VectorMatrix([1, 2, 3], dimension: 2) }
        #expect(throws: RetrievalError.self) {
            try VectorMatrix([1, 2, 3, 4], dimension: 2, ids: [7])
        }
        let matrix = try VectorMatrix([1, 2, 3, 4, 5, 6], dimension: 3, ids: [9, 4])
        #expect(matrix.rows == 2 && matrix.idArray == [9, 4] && matrix.vector(1) == [4, 5, 6])
        #expect(Int(bitPattern: matrix.data) % 64 == 0)
    }

    @Test("gathering copies rows and ids in the order asked, repeats included")
    func gathering() throws {
        let matrix = try VectorMatrix([1, 2, 3, 4, 5, 6], dimension: 2, ids: [10, 11, 12])
        let picked = matrix.gathering([2, 0, 2])
        #expect(picked.idArray == [12, 10, 12])
        #expect(picked.vector(0) == [5, 6] && picked.vector(1) == [1, 2])
    }

    @Test("normalised rows have unit length and a zero row stays zero")
    func normalising() throws {
        let matrix = randomUnitVectors(rows: 100, dimension: 33, seed: 81)
        let zero = try VectorMatrix([0, 0, 0, 3, 4, 0], dimension: 3)
        zero.normalizeRows()
        #expect(zero.vector(0) == [0, 0, 0] && zero.vector(1) == [0.6, 0.8, 0])
        var largest = 0.0
        for row in 0..<matrix.rows {
            let norm = innerProduct(matrix.row(row), matrix.row(row), matrix.dimension)
            largest = max(largest, abs(norm - 1))
        }
        #expect(largest <= 1e-6, "largest |norm² - 1| \(largest)")
    }

    @Test("clustered samples repeat from their seed on any thread count and differ across seeds")
    func clusteredSamplesRepeat() throws {
        let source = ClusteredVectors(centres: 10, dimension: 16, spread: 0.5, seed: 82)
        Compute.threads = 2
        let a = source.sample(rows: 3000, seed: 83, firstID: 5)
        let b = source.sample(rows: 3000, seed: 83, firstID: 5)
        let c = source.sample(rows: 3000, seed: 84)
        #expect(memcmp(a.data, b.data, 3000 * 16 * 4) == 0)
        #expect(memcmp(a.data, c.data, 3000 * 16 * 4) != 0)
        #expect(a.ids[0] == 5 && a.ids[2999] == 3004)

        // A row's cosine with its centre is about 1 / sqrt(1 + spread²) = 0.894.
        let nearest = try ExactIndex(source.centres).search(a, k: 1)
        let mean = nearest.hits.map { Double($0.score) }.reduce(0, +) / 3000
        #expect(abs(mean - 0.894) < 0.02, "mean cosine with the nearest centre \(mean)")
    }
}
