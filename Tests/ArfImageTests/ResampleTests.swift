// Resizing against Pillow's Image.resize outputs stored by scripts/make-image-cases.py:
// downscaling, upscaling, one-axis and identity resizes, the tall-image pass order, and
// every convolution filter. The comparison is exact.
import ArfTensor
import Foundation
import Testing

@testable import ArfImage

struct ResampleTests {
    @Test("resizing equals Pillow's Image.resize byte for byte, for every stored case")
    func resizeMatchesPillow() throws {
        try compareStoredCases("resize", convention: .pillow, atLeast: 20)
    }

    @Test("the torch convention equals torch's antialiased uint8 interpolate byte for byte")
    func resizeMatchesTorch() throws {
        try compareStoredCases("torch_resize", convention: .torch, atLeast: 8)
    }

    /// Runs the manifest's `key` cases and compares them exactly with the stored outputs.
    private func compareStoredCases(_ key: String, convention: ResizeConvention, atLeast: Int)
        throws
    {
        let expected = try Fixtures.expected(in: Fixtures.imageCases)
        let cases = try Fixtures.manifest()[key] as? [[String: Any]] ?? []
        #expect(cases.count >= atLeast)
        for item in cases {
            let source = try Fixtures.image(expected, item["source"] as? String ?? "")
            let width = item["width"] as? Int ?? 0
            let height = item["height"] as? Int ?? 0
            let name = item["filter"] as? String ?? ""
            let filter = try #require(ResampleFilter.allCases.first { "\($0)" == name })
            let result = resize(
                source, width: width, height: height, filter: filter, convention: convention)
            let reference = try Fixtures.image(expected, item["expected"] as? String ?? "")
            let (largest, count) = difference(result, reference)
            let label = "\(source.width)x\(source.height) -> \(width)x\(height) \(name)"
            // Tolerance: exact.
            #expect(count == 0, "\(label): \(count) bytes differ, by up to \(largest)")
        }
    }

    @Test("resizeBicubic is the bicubic filter")
    func resizeBicubicUsesBicubic() {
        let image = pattern(width: 31, height: 17)
        #expect(
            resizeBicubic(image, width: 12, height: 40)
                == resize(image, width: 12, height: 40, filter: .bicubic))
        #expect(
            resizeBicubic(image, width: 12, height: 40)
                != resize(image, width: 12, height: 40, filter: .bilinear))
    }

    @Test("a window of a resize equals the same window cut from the full resize")
    func windowMatchesFullResize() {
        let image = pattern(width: 53, height: 41)
        let tall = pattern(width: 2, height: 260)
        for (source, width, height) in [
            (image, 23, 19), (image, 90, 70), (image, 53, 20), (tall, 3, 30),
        ] {
            let full = resize(source, width: width, height: height, filter: .bicubic)
            let columns = (width / 4)..<(width - width / 3)
            let rows = (height / 3)..<(height - 1)
            let window = resizeWindow(
                source, width: width, height: height, filter: .bicubic, columns: columns, rows: rows
            )
            var cut = [UInt8]()
            for y in rows {
                cut +=
                    full.pixels[
                        ((y * width + columns.lowerBound) * 3)..<((y * width + columns.upperBound)
                            * 3)]
            }
            #expect(
                window == RGBImage(width: columns.count, height: rows.count, pixels: cut),
                "\(width)x\(height)")
        }
    }

    @Test("fixed-point weights of every output sum to one within rounding")
    func weightsAreNormalised() {
        let torch: [ResampleFilter] = [.bilinear, .bicubic]
        let setups =
            ResampleFilter.allCases.map { ($0, ResizeConvention.pillow) }
            + torch.map { ($0, ResizeConvention.torch) }
        for (filter, convention) in setups {
            for (input, output) in [(100, 7), (7, 100), (224, 224), (500, 224), (3, 1)] {
                let axis = ResampleAxis(
                    inputSize: input, outputSize: output, filter: filter, convention: convention)
                for out in 0..<output {
                    let base = out * axis.stride
                    let sum = axis.weights[base..<(base + axis.count[out])].reduce(0) {
                        $0 + Int($1)
                    }
                    // Tolerance: each weight rounds by at most half a unit.
                    #expect(
                        abs(sum - (1 << Int(axis.precision))) <= axis.stride,
                        "\(filter) \(convention) \(input)->\(output) output \(out): \(sum)")
                }
            }
        }
    }
}
