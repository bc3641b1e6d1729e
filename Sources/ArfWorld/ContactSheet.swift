// A contact sheet of the world: one column per class (seen classes first, each group in
// alphabetical order) and one row per domain (photo, sketch, cartoon, painting), repeated
// `samples` times with different attributes, each picture enlarged by pixel repetition so
// that its pixels stay visible. Used to look at the world while working on the renderer and
// in the README. No labels are drawn: the order above is the legend.
import ArfImage
import Foundation

extension WorldGenerator {
    /// The sheet for `seed`: 16 columns by 4 x `samples` rows of `imageSize` pictures, each
    /// enlarged `upscale` times, separated by `gap` grey pixels.
    public static func contactSheet(
        seed: UInt64, imageSize: Int = 32, samples: Int = 1, upscale: Int = 4, gap: Int = 2
    ) -> RGBImage {
        precondition(imageSize > 0 && samples > 0 && upscale > 0 && gap >= 0, "bad sheet size")
        let world = World(
            seed: seed,
            scale: WorldScale(pool: 0, finetune: 0, evaluation: 0, imageSize: imageSize))
        let cell = imageSize * upscale
        let columns = ObjectClass.allCases.count
        let rows = Domain.allCases.count * samples
        let width = columns * cell + (columns + 1) * gap
        let height = rows * cell + (rows + 1) * gap
        var sheet = [UInt8](repeating: 72, count: width * height * 3)

        for (row, (sample, domain)) in (0..<samples).flatMap({ s in
            Domain.allCases.map { (s, $0) }
        }).enumerated() {
            for (column, objectClass) in (ObjectClass.seen + ObjectClass.unseen).enumerated() {
                let index = (sample * Domain.allCases.count + row % Domain.allCases.count)
                    * columns + column
                let item = world.sample(
                    split: .pool, index: index, objectClass: objectClass, domain: domain)
                let picture = world.render(item)
                let left = gap + column * (cell + gap), top = gap + row * (cell + gap)
                for y in 0..<cell {
                    for x in 0..<cell {
                        let from = ((y / upscale) * imageSize + x / upscale) * 3
                        let to = ((top + y) * width + left + x) * 3
                        sheet[to] = picture.pixels[from]
                        sheet[to + 1] = picture.pixels[from + 1]
                        sheet[to + 2] = picture.pixels[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: sheet)
    }

    /// Writes `contactSheet(seed:...)` to `url` as a PNG.
    public static func writeContactSheet(
        to url: URL, seed: UInt64, imageSize: Int = 32, samples: Int = 1, upscale: Int = 4
    ) throws {
        let sheet = contactSheet(seed: seed, imageSize: imageSize, samples: samples,
                                 upscale: upscale)
        let data: Data
        do {
            data = try ImageCodec.encodePNG(sheet)
        } catch {
            throw WorldError.cannotEncode(path: url.path, reason: "\(error)")
        }
        try writeFile(data, to: url)
    }
}
