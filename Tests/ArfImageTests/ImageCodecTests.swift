// ImageCodec against Pillow: decodes of the fixture JPEGs and PNG variants compared byte for
// byte with what Pillow produced, damaged files that must fail with an error naming them
// (never a crash), and encode/decode round trips.
import ArfTensor
import Foundation
import Testing

@testable import ArfImage

struct ImageCodecTests {
    @Test("every fixture's decoded_rgb tensors equal our decode of the same files")
    func decodesFixtureImagesAsPillowDoes() throws {
        let folders = Fixtures.preprocessingFolders()
        #expect(!folders.isEmpty, "no fixture folders under \(Fixtures.root.path)")
        var checked = 0
        for folder in folders {
            let expected = try Fixtures.expected(in: folder)
            for (i, name) in try Fixtures.imageNames(in: folder).enumerated() {
                guard expected.entries["decoded_rgb_\(i)"] != nil else { continue }
                let file = folder.appendingPathComponent("images").appendingPathComponent(name)
                let decoded = try ImageCodec.decode(file: file)
                let (largest, count) = difference(
                    decoded, try Fixtures.image(expected, "decoded_rgb_\(i)"))
                let label = "\(folder.lastPathComponent)/\(name)"
                print("decode \(label): max diff \(largest) (\(count) bytes)")
                // Tolerance: 1 level, for libjpeg builds that round differently.
                #expect(largest <= 1, "\(file.path): \(count) bytes differ, by up to \(largest)")
                checked += 1
            }
        }
        #expect(checked > 0, "no decoded_rgb tensors found")
    }

    @Test("PNG variants decode as Pillow's convert(RGB) and transformers' convert_to_rgb do")
    func decodesPNGVariantsExactly() throws {
        let expected = try Fixtures.expected(in: Fixtures.imageCases)
        let names = try Fixtures.manifest()["png"] as? [String] ?? []
        #expect(names.count >= 15)
        for name in names {
            let file = Fixtures.imageCases.appendingPathComponent("png/\(name).png")
            for (alpha, suffix) in [(AlphaHandling.drop, "rgb"), (.compositeOnWhite, "over_white")]
            {
                let decoded = try ImageCodec.decode(file: file, alpha: alpha)
                let (largest, count) = difference(
                    decoded, try Fixtures.image(expected, "png.\(name).\(suffix)"))
                // Tolerance: exact.
                #expect(
                    count == 0, "\(name) (\(suffix)): \(count) bytes differ, by up to \(largest)")
            }
        }
    }

    @Test("JPEG variants (subsampling, progressive, restarts, grey, CMYK) decode as Pillow's do")
    func decodesJPEGVariantsAsPillowDoes() throws {
        let expected = try Fixtures.expected(in: Fixtures.imageCases)
        let names = try Fixtures.manifest()["jpeg"] as? [String] ?? []
        #expect(names.count >= 5)
        for name in names {
            let file = Fixtures.imageCases.appendingPathComponent("jpeg/\(name).jpg")
            let decoded = try ImageCodec.decode(file: file)
            let (largest, count) = difference(
                decoded, try Fixtures.image(expected, "jpeg.\(name).rgb"))
            print("decode jpeg/\(name): max diff \(largest) (\(count) bytes)")
            // Tolerance: 1 level (Pillow bundles another libjpeg-turbo release).
            #expect(largest <= 1, "\(name): \(count) bytes differ, by up to \(largest)")
        }
    }

    @Test("a PNG encoding decodes back to the same bytes")
    func pngRoundTripIsLossless() throws {
        let image = pattern(width: 37, height: 23)
        let data = try ImageCodec.encodePNG(image)
        #expect(ImageCodec.format(of: data) == .png)
        #expect(try ImageCodec.decode(data, name: "round-trip.png") == image)
    }

    @Test("a JPEG encoding at quality 95 decodes back close to the original")
    func jpegRoundTripIsClose() throws {
        let image = smoothPattern(width: 64, height: 40)
        let data = try ImageCodec.encodeJPEG(image, quality: 95)
        #expect(ImageCodec.format(of: data) == .jpeg)
        let decoded = try ImageCodec.decode(data, name: "round-trip.jpg")
        #expect(decoded.width == image.width && decoded.height == image.height)
        let total = zip(decoded.pixels, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        let mean = Double(total) / Double(image.pixels.count)
        let largest = difference(decoded, image).max
        print("jpeg round trip at quality 95: mean difference \(mean), largest \(largest)")
        // Tolerance: on a smooth image at quality 95, a mean of 1.5 levels and at most 12.
        #expect(mean < 1.5 && largest <= 12, "mean \(mean), largest \(largest)")
    }

    @Test("encoding rejects an impossible quality or an empty image")
    func encodingRejectsBadArguments() {
        let image = pattern(width: 8, height: 8)
        #expect(throws: ImageError.self) { try ImageCodec.encodeJPEG(image, quality: 0) }
        #expect(throws: ImageError.self) { try ImageCodec.encodeJPEG(image, quality: 101) }
        let empty = RGBImage(width: 0, height: 5)
        #expect(throws: ImageError.self) { try ImageCodec.encodePNG(empty) }
        #expect(throws: ImageError.self) { try ImageCodec.encodeJPEG(empty, quality: 90) }
    }

    @Test("truncated JPEG and PNG files fail with an error naming the file")
    func truncatedFilesAreErrors() throws {
        let image = pattern(width: 40, height: 30)
        let encodings = [
            ("cut.png", try ImageCodec.encodePNG(image)),
            ("cut.jpg", try ImageCodec.encodeJPEG(image, quality: 90)),
        ]
        for (name, data) in encodings {
            // The last 20 bytes of either format hold the end of the image data.
            var lengths = [0, 1, 2, 3, 5, 8, 12, 30, data.count / 3, data.count / 2]
            lengths += [data.count - 21, data.count - 20]
            if name.hasSuffix(".jpg") { lengths.append(data.count - 2) }
            for length in lengths {
                expectError(naming: name) {
                    try ImageCodec.decode(data.prefix(length), name: name)
                }
            }
        }
    }

    @Test("a JPEG cut just before its end marker is truncated, as Pillow reports it")
    func jpegWithoutEndMarkerIsTruncated() throws {
        let data = try ImageCodec.encodeJPEG(pattern(width: 24, height: 16), quality: 90)
        #expect(throws: ImageError.self) {
            try ImageCodec.decode(data.dropLast(2), name: "no-eoi.jpg")
        }
        #expect(try ImageCodec.decode(data, name: "full.jpg").width == 24)
    }

    @Test("damaged headers and chunk data fail with an error naming the file")
    func corruptHeadersAreErrors() throws {
        let image = pattern(width: 40, height: 30)
        var png = try ImageCodec.encodePNG(image)
        png[18] ^= 0x40  // inside IHDR's width: the CRC no longer matches
        expectError(naming: "ihdr.png") { try ImageCodec.decode(png, name: "ihdr.png") }

        png = try ImageCodec.encodePNG(image)
        png[png.count - 30] ^= 0x01  // inside IDAT: CRC error
        expectError(naming: "idat.png") { try ImageCodec.decode(png, name: "idat.png") }

        var jpeg = try ImageCodec.encodeJPEG(image, quality: 90)
        let sof = try #require(markerOffset(0xC0, in: jpeg))
        jpeg[sof + 4] = 12  // 12-bit precision, which an 8-bit libjpeg refuses
        expectError(naming: "precision.jpg") { try ImageCodec.decode(jpeg, name: "precision.jpg") }

        jpeg = try ImageCodec.encodeJPEG(image, quality: 90)
        jpeg[sof + 9] = 7  // seven colour components
        expectError(naming: "components.jpg") {
            try ImageCodec.decode(jpeg, name: "components.jpg")
        }
    }

    @Test("random byte flips never crash the decoders, and every failure names the file")
    func flippedBytesNeverCrash() throws {
        let image = pattern(width: 33, height: 21)
        var generator = SplitMix(seed: 42)
        for (name, data) in [
            ("flip.png", try ImageCodec.encodePNG(image)),
            ("flip.jpg", try ImageCodec.encodeJPEG(image, quality: 85)),
        ] {
            var failures = 0
            for _ in 0..<300 {
                var damaged = data
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    let at = Int(generator.next() % UInt64(data.count))
                    damaged[at] ^= UInt8(1 << (generator.next() % 8))
                }
                do {
                    let decoded = try ImageCodec.decode(damaged, name: name)
                    #expect(decoded.pixels.count == decoded.width * decoded.height * 3)
                } catch let error as ImageError {
                    failures += 1
                    #expect(error.path == name && error.description.contains(name))
                }
            }
            print("\(name): \(failures) of 300 damaged copies were rejected")
            #expect(failures > 0)
        }
    }

    @Test("headers announcing more pixels than the limit are refused before decoding")
    func oversizedImagesAreRefused() throws {
        let image = pattern(width: 29, height: 19)
        let png = try ImageCodec.encodePNG(image)
        let jpeg = try ImageCodec.encodeJPEG(image, quality: 90)
        for (name, data) in [("small.png", png), ("small.jpg", jpeg)] {
            #expect(throws: ImageError.tooLarge(path: name, width: 29, height: 19, limit: 500)) {
                try ImageCodec.decode(data, name: name, maxPixels: 500)
            }
        }

        // 30000 x 30000 and 60000 x 60000 are beyond the default limit of 2^28 pixels.
        var huge = png
        let side: [UInt8] = [0, 0, 0x75, 0x30]
        huge.replaceSubrange(16..<20, with: side)
        huge.replaceSubrange(20..<24, with: side)
        let crc = crc32(huge[12..<29])
        huge.replaceSubrange(
            29..<33, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * $0)) })
        #expect(
            throws: ImageError.tooLarge(
                path: "huge.png", width: 30000, height: 30000, limit: 1 << 28)
        ) {
            try ImageCodec.decode(huge, name: "huge.png")
        }
        var hugeJPEG = jpeg
        let sof = try #require(markerOffset(0xC0, in: jpeg))
        hugeJPEG.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        #expect(
            throws: ImageError.tooLarge(
                path: "huge.jpg", width: 60000, height: 60000, limit: 1 << 28)
        ) {
            try ImageCodec.decode(hugeJPEG, name: "huge.jpg")
        }
    }

    @Test("files that are neither JPEG nor PNG, empty or missing are reported by name")
    func unknownAndMissingFilesAreReported() {
        #expect(throws: ImageError.unknownFormat(path: "a.gif", leadingBytes: "47 49 46 38 39 61"))
        {
            try ImageCodec.decode(Data("GIF89a".utf8), name: "a.gif")
        }
        #expect(throws: ImageError.unknownFormat(path: "empty.png", leadingBytes: "")) {
            try ImageCodec.decode(Data(), name: "empty.png")
        }
        let missing = URL(fileURLWithPath: "/nonexistent/arf/missing.jpg")
        expectError(naming: missing.path) { try ImageCodec.decode(file: missing) }
    }
}

/// Expects `body` to throw an ImageError whose path and message name `name`.
func expectError(
    naming name: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> RGBImage
) {
    do {
        let image = try body()
        Issue.record(
            "\(name) decoded to \(image.width) x \(image.height) instead of failing",
            sourceLocation: sourceLocation)
    } catch let error as ImageError {
        #expect(error.path == name, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(name), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}

/// A smooth colour pattern with a few sharp edges, deterministic.
func pattern(width: Int, height: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            pixels[i] = UInt8(x * 255 / max(width - 1, 1))
            pixels[i + 1] = UInt8(y * 255 / max(height - 1, 1))
            pixels[i + 2] = (x / 8 + y / 8) % 2 == 0 ? 40 : 200
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Gentle gradients and waves, which JPEG at high quality keeps closely.
func smoothPattern(width: Int, height: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            let wave = sin(Double(x) / 7) * cos(Double(y) / 5)
            pixels[i] = UInt8(40 + 170 * x / max(width - 1, 1))
            pixels[i + 1] = UInt8(128 + 60 * wave)
            pixels[i + 2] = UInt8(200 - 150 * y / max(height - 1, 1))
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// The offset of the first 0xFF `marker` in a JPEG stream.
func markerOffset(_ marker: UInt8, in data: Data) -> Int? {
    let bytes = [UInt8](data)
    return (0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == marker }
}

/// The CRC-32 that PNG chunks carry (over chunk type and data).
func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A small deterministic random number generator.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
