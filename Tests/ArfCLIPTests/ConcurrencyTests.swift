// Several threads running one model at once, each with its own tower state, must get
// exactly what one thread alone gets: the weights are shared and read-only, everything a
// pass writes belongs to its caller, and BLAS is called from several threads at a time.
import ArfCLIP
import ArfTensor
import Foundation
import Testing

@Suite("Concurrent inference", .serialized) struct ConcurrencyTests {
    @Test(
        "32 threads embedding at once match one thread exactly",
        arguments: Fixtures.checkpoints, [1, 2])
    func concurrentPassesMatchASerialPass(folder: URL, threads: Int) throws {
        let saved = Compute.threads
        Compute.threads = threads
        defer { Compute.threads = saved }
        let model = try CLIPModel.load(directory: folder)
        let expected = try SafeTensorsFile(
            url: folder.appendingPathComponent("expected.safetensors"))
        let pixels = try expected.tensor("pixel_values")
        let ids = try Fixtures.inputIDs(folder)
        let imageReference = try model.imageFeatures(pixels: pixels, state: TowerState()).values
        let textReference = try model.textFeatures(ids: ids, state: TowerState()).values

        final class Mismatches: @unchecked Sendable {
            let lock = NSLock()
            var largest: Float = 0
            func note(_ a: [Float], _ b: [Float]) {
                let d = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                lock.withLock { largest = max(largest, d) }
            }
        }
        let mismatches = Mismatches()
        let group = DispatchGroup()
        for _ in 0..<32 {
            group.enter()
            Thread {
                defer { group.leave() }
                let imageState = TowerState()
                let textState = TowerState()
                for _ in 0..<10 {
                    if let image = try? model.imageFeatures(pixels: pixels, state: imageState) {
                        mismatches.note(image.values, imageReference)
                    }
                    if let text = try? model.textFeatures(ids: ids, state: textState) {
                        mismatches.note(text.values, textReference)
                    }
                }
            }.start()
        }
        group.wait()
        #expect(
            mismatches.largest <= 1e-5,
            "largest difference from a serial pass \(mismatches.largest)")
    }
}
