// The grounds pictures are drawn on: coloured and patterned for photos (in a light, mid or
// dark tone chosen so that the objects stand out), off-white paper with faint pencil patterns for
// sketches, one bright flat colour for cartoons and muted, softly patterned grounds for
// paintings. Stripes and dots get analytic anti-aliasing: coverage falls off linearly over
// one pixel across their edges, which matches a box filter on straight edges.
import ArfTensor
import Foundation

extension Renderer {
    func background(_ item: WorldItem, _ random: inout SeededGenerator) -> Canvas {
        var canvas = Canvas(width: size, height: size, fill: .white)
        switch item.domain {
        case .photo: photoGround(item, &canvas, &random)
        case .sketch: paper(item, &canvas, &random)
        case .cartoon:
            let tone = Colour(item.backgroundColour ?? .yellow)
                .mixed(with: .white, 0.2 + 0.25 * random.uniform())
            canvas.fill { _, _ in tone }
        case .painting: paintedGround(item, &canvas, &random)
        }
        return canvas
    }

    private func photoGround(
        _ item: WorldItem, _ canvas: inout Canvas, _ random: inout SeededGenerator
    ) {
        let named = Colour(item.backgroundColour ?? .blue)
        let tones = [
            named.mixed(with: .white, 0.35 + 0.2 * random.uniform()),
            named.mixed(with: Colour(0.5, 0.5, 0.5), 0.15 + 0.15 * random.uniform()),
            named.scaled(0.45 + 0.15 * random.uniform()),
        ]
        let choice = contrasting(tones, with: Colour(item.colour ?? .red), &random)
        let base = tones[choice]
        let other = choice == 0 ? base.scaled(0.72) : base.mixed(with: .white, 0.35)
        pattern(item.background, base: base, other: other, soft: false, &canvas, &random)
    }

    private func paintedGround(
        _ item: WorldItem, _ canvas: inout Canvas, _ random: inout SeededGenerator
    ) {
        let named = muted(Colour(item.backgroundColour ?? .blue))
        let tones = [
            named.mixed(with: Colour(0.92, 0.9, 0.84), 0.3 + 0.2 * random.uniform()),
            named.scaled(0.6 + 0.15 * random.uniform()),
        ]
        let base = tones[contrasting(tones, with: muted(Colour(item.colour ?? .red)), &random)]
        let other = base.mixed(with: Colour(0.3, 0.28, 0.25), 0.3)
        pattern(item.background, base: base, other: other, soft: true, &canvas, &random)
    }

    /// A random one of the tones whose luminance differs enough from the object's for the
    /// object to stand out, or the most different one when none does.
    private func contrasting(
        _ tones: [Colour], with object: Colour, _ random: inout SeededGenerator
    ) -> Int {
        let gaps = tones.map { abs($0.luminance - object.luminance) }
        let good = gaps.indices.filter { gaps[$0] >= 0.18 }
        if good.isEmpty { return gaps.indices.max { gaps[$0] < gaps[$1] }! }
        return good[Int(random.next() % UInt64(good.count))]
    }

    private func paper(
        _ item: WorldItem, _ canvas: inout Canvas, _ random: inout SeededGenerator
    ) {
        let white = 0.95 + 0.05 * random.uniform()
        let paper = Colour(white, white * 0.99, white * 0.965)
        let pencil = paper.scaled(0.8 + 0.06 * random.uniform())
        canvas.fill { _, _ in paper }
        switch item.background {
        case .striped:
            let period = (4 + 2 * random.uniform()) * k
            let angle = pickAngle(&random)
            let (ca, sa) = (cosf(angle), sinf(angle))
            let half = 0.3 * k
            canvas.adjust { x, y, c in
                let t = x * ca + y * sa
                let u = t - period * (t / period).rounded(.down)
                let cover = min(max(half + 0.5 - abs(u - period / 2), 0), 1)
                return c.mixed(with: pencil, cover)
            }
        case .dotted:
            let dots = DotGrid(period: (4 + 2 * random.uniform()) * k, radius: 0.55 * k,
                               random: &random)
            canvas.adjust { x, y, c in c.mixed(with: pencil, dots.coverage(x, y)) }
        default:
            break
        }
    }

    /// Fills the canvas with `base` in the given pattern, using `other` as the second tone;
    /// soft patterns (for paintings) are broader, lower in contrast and have no fine grain.
    private func pattern(
        _ kind: BackgroundPattern, base: Colour, other: Colour, soft: Bool,
        _ canvas: inout Canvas, _ random: inout SeededGenerator
    ) {
        let side = Float(size)
        switch kind {
        case .plain:
            canvas.fill { _, _ in base }
        case .noisy:
            let blotches = ValueNoise(columns: 5, rows: 5, random: &random)
            let seed = random.next()
            let fine: Float = soft ? 0 : 0.07
            let cell = side / 5
            canvas.fill { x, y in
                let b = blotches.sample(x / cell, y / cell) * 0.12
                let n = pixelNoise(seed, x, y, 0) * fine
                return Colour(
                    base.r + b + n + pixelNoise(seed, x, y, 1) * fine * 0.5,
                    base.g + b + n + pixelNoise(seed, x, y, 2) * fine * 0.5,
                    base.b + b + n + pixelNoise(seed, x, y, 3) * fine * 0.5)
            }
        case .striped:
            let period = (soft ? 7 + 4 * random.uniform() : 3.5 + 3.5 * random.uniform()) * k
            let angle = pickAngle(&random)
            let (ca, sa) = (cosf(angle), sinf(angle))
            let edge: Float = soft ? 2.5 * k : 1
            canvas.fill { x, y in
                let t = x * ca + y * sa
                let u = t - period * (t / period).rounded(.down)
                let half = period / 2
                let inside = u < half ? min(u, half - u) : -min(u - half, period - u)
                return base.mixed(with: other, min(max(0.5 + inside / edge, 0), 1))
            }
        case .dotted:
            let dots = DotGrid(period: (4.5 + 2.5 * random.uniform()) * k,
                               radius: (0.9 + 0.6 * random.uniform()) * k, random: &random)
            canvas.fill { x, y in base.mixed(with: other, dots.coverage(x, y)) }
        case .gradient:
            let angle = 2 * Float.pi * random.uniform()
            let (ca, sa) = (cosf(angle), sinf(angle))
            let lift: Float = random.uniform() < 0.5 ? 0.3 : 0
            let far = other.mixed(with: .white, lift)
            canvas.fill { x, y in
                let t = ((x - side / 2) * ca + (y - side / 2) * sa) / side + 0.5
                return base.mixed(with: far, min(max(t, 0), 1))
            }
        }
    }

    /// Horizontal, vertical or one of the diagonals, slightly off.
    private func pickAngle(_ random: inout SeededGenerator) -> Float {
        let choices: [Float] = [0, Float.pi / 2, Float.pi / 4, 3 * Float.pi / 4]
        return choices[Int(random.next() % 4)] + (random.uniform() - 0.5) * 0.12
    }
}

/// A square grid of round dots with a random offset.
struct DotGrid {
    let period: Float, radius: Float, offsetX: Float, offsetY: Float

    init(period: Float, radius: Float, random: inout SeededGenerator) {
        self.period = period
        self.radius = radius
        offsetX = random.uniform() * period
        offsetY = random.uniform() * period
    }

    /// How much of the pixel centred on (x, y) the nearest dot covers.
    func coverage(_ x: Float, _ y: Float) -> Float {
        let u = x - offsetX, v = y - offsetY
        let dx = u - period * (u / period).rounded(), dy = v - period * (v / period).rounded()
        let d = (dx * dx + dy * dy).squareRoot()
        return min(max(radius + 0.5 - d, 0), 1)
    }
}
