// ImagePreprocessor against transformers' CLIPImageProcessor: pixel_values of every fixture
// folder (clip-tiny, the padding and bilinear folders, any in ARF_EXTRA_FIXTURES) with the
// PIL backend, and with the torchvision backend where a folder stores its values too; resize
// sizes as transformers computes them; configuration files read or refused.
import ArfTensor
import Foundation
import Testing

@testable import ArfImage

struct ImagePreprocessorTests {
    @Test("pixel values match CLIPImageProcessor's for every fixture folder")
    func pixelValuesMatchTransformers() throws {
        let folders = Fixtures.preprocessingFolders()
        #expect(folders.contains { $0.lastPathComponent == "clip-tiny" })
        for folder in folders {
            let expected = try Fixtures.expected(in: folder)
            let pil = try largestPixelDifference(in: folder, backend: .pil, to: "pixel_values")
            let torchvision = try largestPixelDifference(
                in: folder, backend: .torchvision, to: "pixel_values")
            print(
                "pixel_values \(folder.lastPathComponent): largest difference \(pil) (PIL "
                    + "backend), \(torchvision) (torchvision backend)")
            // Tolerance: 0.03, about two levels of one byte after normalisation.
            #expect(pil <= 0.03, "\(folder.lastPathComponent): \(pil)")

            guard expected.entries["pixel_values_torchvision"] != nil else { continue }
            let stored = try largestPixelDifference(
                in: folder, backend: .torchvision, to: "pixel_values_torchvision")
            print("pixel_values_torchvision \(folder.lastPathComponent): \(stored)")
            // Tolerance: float rounding only.
            #expect(stored <= 1e-6, "\(folder.lastPathComponent): \(stored)")
        }
    }

    /// The largest difference between a folder's stored tensor `name` and what a
    /// preprocessor with `backend` computes from its images.
    private func largestPixelDifference(
        in folder: URL, backend: ImagePreprocessor.Backend, to name: String
    ) throws -> Float {
        let preprocessor = try ImagePreprocessor(directory: folder, backend: backend)
        let expected = try Fixtures.expected(in: folder).tensor(name)
        let names = try Fixtures.imageNames(in: folder)
        let size = 3 * preprocessor.cropSize * preprocessor.cropSize
        #expect(expected.shape == [names.count, 3, preprocessor.cropSize, preprocessor.cropSize])
        guard expected.count == names.count * size else { return .infinity }
        let reference = expected.values
        var largest: Float = 0
        for (i, image) in names.enumerated() {
            let file = folder.appendingPathComponent("images").appendingPathComponent(image)
            let values = try preprocessor.pixelValues(file: file)
            largest = max(
                largest,
                largestDifference(values, reference[(i * size)..<((i + 1) * size)]))
        }
        return largest
    }

    @Test("resized sizes follow transformers' rounding, with and without a longest edge")
    func resizedSizesMatchTransformers() throws {
        let cases = try Fixtures.manifest()["sizes"] as? [[Any]] ?? []
        #expect(cases.count >= 40)
        for item in cases {
            let numbers = item.map { $0 as? Int }
            let (width, height, shortest) = (numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0)
            let longest = numbers[3]
            let preprocessor = ImagePreprocessor(
                resize: .shortestEdge(shortest, longest: longest), crop: 8, resample: .bicubic,
                rescaleFactor: nil, mean: nil, std: nil, cropSize: 8)
            let size = preprocessor.resizedSize(width: width, height: height)
            #expect(
                size.width == numbers[4] && size.height == numbers[5],
                "\(width)x\(height), edges \(shortest) and \(String(describing: longest)): \(size)"
            )
        }
    }

    @Test("the memberwise initialiser equals reading clip-tiny's configuration")
    func memberwiseInitialiserMatchesConfig() throws {
        let folder = Fixtures.root.appendingPathComponent("clip-tiny")
        let fromFile = try ImagePreprocessor(directory: folder)
        let direct = ImagePreprocessor(
            shortestEdge: 32, cropSize: 32, mean: ImagePreprocessor.clipMean,
            std: ImagePreprocessor.clipStd)
        let image = try ImageCodec.decode(file: folder.appendingPathComponent("images/noise.png"))
        #expect(fromFile.cropSize == 32)
        #expect(fromFile.pixelValues(image) == direct.pixelValues(image))
    }

    @Test("images extremely wide or smaller than the crop still give a full crop")
    func extremeShapesGiveFullCrops() {
        let preprocessor = ImagePreprocessor(
            shortestEdge: 16, cropSize: 16, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        for (width, height) in [(4000, 3), (1, 1), (3, 2000), (16, 16)] {
            let values = preprocessor.pixelValues(pattern(width: width, height: height))
            #expect(values.count == 3 * 16 * 16)
            #expect(values.allSatisfy { $0 >= -1 && $0 <= 1 }, "\(width)x\(height)")
        }
    }

    @Test("configuration variants are read as transformers reads them")
    func readsConfigurationVariants() throws {
        let plain = try ImagePreprocessor(
            config: ["size": 20, "crop_size": 16, "resample": 2], path: "p")
        #expect(plain.resize == .shortestEdge(20, longest: nil))
        #expect(plain.crop == 16 && plain.cropSize == 16 && plain.resample == .bilinear)
        #expect(plain.mean == ImagePreprocessor.clipMean && plain.rescaleFactor == 1.0 / 255.0)

        let fixed = try ImagePreprocessor(
            config: [
                "size": ["height": 24, "width": 24], "do_center_crop": false, "image_mean": 0.5,
                "image_std": [0.2, 0.3, 0.4], "do_rescale": false,
            ], path: "p")
        #expect(
            fixed.resize == .fixed(width: 24, height: 24) && fixed.crop == nil
                && fixed.cropSize == 24)
        #expect(fixed.mean == [0.5, 0.5, 0.5] && fixed.rescaleFactor == nil)

        let capped = try ImagePreprocessor(
            config: ["size": ["shortest_edge": 30, "longest_edge": 40], "crop_size": [12, 12]],
            path: "p")
        #expect(capped.resize == .shortestEdge(30, longest: 40) && capped.cropSize == 12)

        let defaults = try ImagePreprocessor(config: [:], path: "p")
        #expect(defaults.resize == .shortestEdge(224, longest: nil) && defaults.cropSize == 224)
        #expect(defaults.resample == .bicubic)
    }

    @Test("unsupported or inconsistent configurations are refused with the file's name")
    func refusesBadConfigurations() throws {
        let bad: [[String: Any]] = [
            ["resample": 0],
            ["resample": 7],
            ["crop_size": ["height": 20, "width": 24]],
            ["do_center_crop": false],
            ["size": ["max_height": 20, "max_width": 20]],
            ["image_std": [0.5, 0, 0.5]],
            ["image_mean": [0.5, 0.5]],
            ["size": -3],
            ["resample": 1, "backend": "torchvision"],
        ]
        for config in bad {
            let backend: ImagePreprocessor.Backend = config["backend"] == nil ? .pil : .torchvision
            let error = #expect(throws: ImageError.self, "\(config)") {
                try ImagePreprocessor(
                    config: config, path: "/models/x/preprocessor_config.json", backend: backend)
            }
            #expect(error?.description.contains("/models/x/preprocessor_config.json") == true)
        }
        let missing = URL(fileURLWithPath: "/nonexistent/arf-model")
        let error = #expect(throws: ImageError.self) { try ImagePreprocessor(directory: missing) }
        #expect(error?.path == missing.appendingPathComponent("preprocessor_config.json").path)
    }
}
