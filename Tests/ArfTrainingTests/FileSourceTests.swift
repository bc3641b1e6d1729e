// The file-backed sources: an ImageFolder tree read in sorted order with captions by
// relative path, and a tab-separated pair list; pixels are the preprocessor's.
import ArfImage
import ArfTraining
import Foundation
import Testing

/// A 40 x 36 image of one colour with a lighter square, so resizing and cropping matter.
private func picture(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> RGBImage {
    var image = RGBImage(width: 40, height: 36)
    for y in 0..<36 {
        for x in 0..<40 {
            let light: UInt8 = (10..<20).contains(x) && (8..<18).contains(y) ? 60 : 0
            let i = (y * 40 + x) * 3
            image.pixels[i] = r &+ light
            image.pixels[i + 1] = g &+ light
            image.pixels[i + 2] = b &+ light
        }
    }
    return image
}

@Suite("File sources") struct FileSourceTests {
    @Test("an ImageFolder tree gives sorted classes, labels, captions and preprocessed pixels")
    func imageFolder() throws {
        try withTemporaryFolder { root in
            let fm = FileManager.default
            for (name, colour) in [("dog", (120, 60, 20)), ("cat", (30, 30, 160))] {
                let folder = root.appendingPathComponent(name)
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
                for k in 0..<2 {
                    let image = picture(UInt8(colour.0 + 20 * k), UInt8(colour.1), UInt8(colour.2))
                    try ImageCodec.encodePNG(image).write(
                        to: folder.appendingPathComponent("\(k).png"))
                }
                try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
            }
            let preprocessor = try ImagePreprocessor(directory: Fixture.tiny)
            let source = try ImageFolderSource(
                root: root, preprocessor: preprocessor, captions: ["dog/1.png": ["a brown dog"]])
            #expect(source.classNames == ["cat", "dog"])
            #expect(source.count == 4)
            #expect((0..<4).map(source.label) == [0, 0, 1, 1])
            #expect(source.captions(3) == ["a brown dog"] && source.captions(0).isEmpty)

            var pixels = [Float](repeating: 0, count: 3 * 32 * 32)
            try pixels.withUnsafeMutableBufferPointer {
                try source.pixels(2, into: $0)
            }
            let expected = try preprocessor.pixelValues(
                file: root.appendingPathComponent("dog/0.png"))
            #expect(pixels == expected)
        }
    }

    @Test("a pair list reads relative paths and captions, and names a malformed line")
    func pairList() throws {
        try withTemporaryFolder { root in
            try ImageCodec.encodePNG(picture(200, 10, 10)).write(
                to: root.appendingPathComponent("a.png"))
            try ImageCodec.encodePNG(picture(10, 200, 10)).write(
                to: root.appendingPathComponent("b.png"))
            let list = root.appendingPathComponent("pairs.tsv")
            try Data("a.png\ta red picture\nb.png\ta green one, with a tab\there\n".utf8).write(
                to: list)
            let preprocessor = try ImagePreprocessor(directory: Fixture.tiny)
            let pairs = try PairListSource(list: list, preprocessor: preprocessor)
            #expect(pairs.count == 2)
            #expect(pairs.caption(0) == "a red picture")
            #expect(pairs.caption(1) == "a green one, with a tab\there")
            var pixels = [Float](repeating: 0, count: 3 * 32 * 32)
            try pixels.withUnsafeMutableBufferPointer { try pairs.pixels(1, into: $0) }
            #expect(
                pixels == (try preprocessor.pixelValues(file: root.appendingPathComponent("b.png")))
            )

            try Data("a.png\tfine\nno tab here\n".utf8).write(to: list)
            #expect { try PairListSource(list: list, preprocessor: preprocessor) } throws: {
                "\($0)".contains("line 2")
            }
        }
    }
}
