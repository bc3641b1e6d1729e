// Draws a WorldItem: lays its objects out, paints the background, then draws the objects in
// the item's domain style and applies the domain's finishing touches (camera light and
// sensor noise for photos, paper grain for sketches, blur and brush texture for paintings).
// Every random choice comes from the item's seed, so an item redraws identically alone, in
// any order and on any thread. Lengths are in pixels of the final picture, scaled from a
// 32-pixel design size so that larger pictures look the same, only sharper.
import ArfImage
import ArfTensor
import Foundation

/// One object placed in the picture: a class outline, moved, turned and scaled.
struct Stamp {
    let shape: Shape
    let x: Float, y: Float, radius: Float
    private let cosine: Float, sine: Float

    init(shape: Shape, x: Float, y: Float, radius: Float, angle: Float) {
        self.shape = shape
        self.x = x
        self.y = y
        self.radius = radius
        cosine = cosf(angle)
        sine = sinf(angle)
    }

    /// Signed distance in pixels from the point (px, py) to the object's outline.
    func distance(_ px: Float, _ py: Float) -> Float {
        let dx = (px - x) / radius, dy = (py - y) / radius
        let u = cosine * dx + sine * dy
        let v = -sine * dx + cosine * dy
        return shape.distance(u, v) * radius
    }

    /// The pixels within `margin` pixels of the object's bounding circle.
    func box(margin: Float) -> PixelBox {
        let reach = radius * 1.05 + margin
        return PixelBox(
            x0: Int((x - reach).rounded(.down)), y0: Int((y - reach).rounded(.down)),
            x1: Int((x + reach).rounded(.up)) + 1, y1: Int((y + reach).rounded(.up)) + 1)
    }

    /// The stamp's local point (u, v), in unit-frame coordinates, as a picture position.
    func place(_ u: Float, _ v: Float) -> (Float, Float) {
        (x + radius * (cosine * u - sine * v), y + radius * (sine * u + cosine * v))
    }
}

/// Draws items at one picture size.
struct Renderer {
    let size: Int
    let supersample: Int

    /// Design lengths are for 32-pixel pictures; `k` converts them to this size.
    var k: Float { Float(size) / 32 }

    func render(_ item: WorldItem) -> RGBImage {
        var random = SeededGenerator(seed: item.seed ^ 0x5245_4E44_4552_0001)
        let stamps = layout(item, &random)
        var canvas = background(item, &random)
        let noiseSeed = random.next()
        switch item.domain {
        case .photo: drawPhoto(stamps, item, &canvas, &random, noiseSeed)
        case .sketch: drawSketch(stamps, &canvas, &random, noiseSeed)
        case .cartoon: drawCartoon(stamps, item, &canvas, &random)
        case .painting: drawPainting(stamps, item, &canvas, &random)
        }
        return canvas.image()
    }

    /// Places the item's objects: a single one in its named grid cell, two or three apart
    /// from each other anywhere.
    func layout(_ item: WorldItem, _ random: inout SeededGenerator) -> [Stamp] {
        let side = Float(size)
        let fraction: Float
        switch (item.count, item.size) {
        case (.one, .small): fraction = 0.17
        case (.one, .medium): fraction = 0.25
        case (.one, .large): fraction = 0.36
        case (.two, .small), (.two, .large): fraction = 0.14
        case (.two, .medium): fraction = 0.19
        case (.three, .small), (.three, .large): fraction = 0.13
        case (.three, .medium): fraction = 0.165
        }
        let radius = fraction * side * (0.95 + 0.1 * random.uniform())
        let shape = item.objectClass.shape
        func angle() -> Float { (random.uniform() - 0.5) * 0.4 }

        if let position = item.position {
            let (column, row) = position.cell
            let low = max(radius + 0.05 * side, 0.27 * side)
            let spots = [low, side / 2, side - low]
            let x = spots[column] + (random.uniform() - 0.5) * 0.04 * side
            let y = spots[row] + (random.uniform() - 0.5) * 0.04 * side
            return [Stamp(shape: shape, x: x, y: y, radius: radius, angle: angle())]
        }

        // Rejection sampling keeps the objects apart; a fixed arrangement is the fallback.
        let margin = radius + 0.03 * side
        var centres: [(Float, Float)] = []
        for _ in 0..<200 where centres.count < item.count.rawValue {
            let x = margin + random.uniform() * (side - 2 * margin)
            let y = margin + random.uniform() * (side - 2 * margin)
            let apart = centres.allSatisfy { c in
                (c.0 - x) * (c.0 - x) + (c.1 - y) * (c.1 - y) >= 4 * radius * radius * 0.95
            }
            if apart { centres.append((x, y)) }
        }
        if centres.count < item.count.rawValue {
            centres = item.count == .two
                ? [(0.3 * side, 0.5 * side), (0.7 * side, 0.5 * side)]
                : [(0.5 * side, 0.28 * side), (0.28 * side, 0.72 * side),
                   (0.72 * side, 0.72 * side)]
        }
        return centres.map { Stamp(shape: shape, x: $0.0, y: $0.1, radius: radius,
                                   angle: angle()) }
    }

    // MARK: domains

    /// Shaded bodies lit from one side with a highlight and a soft shadow, then camera light
    /// falloff and sensor noise over everything.
    private func drawPhoto(
        _ stamps: [Stamp], _ item: WorldItem, _ canvas: inout Canvas,
        _ random: inout SeededGenerator, _ noiseSeed: UInt64
    ) {
        let lightAngle = -2.6 + random.uniform() * 2.1
        let lx = cosf(lightAngle), ly = sinf(lightAngle)
        let base = Colour(item.colour ?? .red).scaled(0.88 + 0.14 * random.uniform())
        let shine = 0.35 + 0.3 * random.uniform()
        for stamp in stamps {
            let r = stamp.radius
            let offset = 0.14 * r + 0.5 * k
            canvas.paintSoft(
                in: stamp.box(margin: offset + 2), softness: 0.25 * r + k, opacity: 0.4,
                field: { x, y in stamp.distance(x + lx * offset, y + ly * offset) },
                colour: .black)
            canvas.paint(in: stamp.box(margin: 2), supersample: supersample,
                         field: stamp.distance) { x, y, d in
                let u = (x - stamp.x) / r, v = (y - stamp.y) / r
                let facing = u * lx + v * ly
                let rim = 0.78 + 0.22 * min(-d / (0.35 * r), 1)
                let lit = base.scaled((0.8 + 0.3 * facing) * max(rim, 0.78))
                let hx = u - 0.4 * lx, hy = v - 0.4 * ly
                let highlight = expf(-(hx * hx + hy * hy) / 0.09) * shine
                return lit.mixed(with: .white, highlight)
            }
        }

        // Light falls off away from the light source; the sensor adds grain everywhere.
        let half = Float(size) / 2
        let grain = 0.02 + 0.025 * random.uniform()
        canvas.adjust { x, y, c in
            let along = ((x - half) * lx + (y - half) * ly) / half
            let light = 0.94 + 0.1 * along
            let shared = pixelNoise(noiseSeed, x, y, 0) * grain
            return Colour(
                c.r * light + shared + pixelNoise(noiseSeed, x, y, 1) * grain * 0.6,
                c.g * light + shared + pixelNoise(noiseSeed, x, y, 2) * grain * 0.6,
                c.b * light + shared + pixelNoise(noiseSeed, x, y, 3) * grain * 0.6)
        }
    }

    /// Thin, slightly wavering graphite outlines, sometimes traced twice, sometimes with
    /// light hatching inside; no fill. Paper grain goes over everything.
    private func drawSketch(
        _ stamps: [Stamp], _ canvas: inout Canvas, _ random: inout SeededGenerator,
        _ noiseSeed: UInt64
    ) {
        let graphite = 0.16 + 0.2 * random.uniform()
        let ink = Colour(graphite, graphite, graphite + 0.02)
        let width = (0.75 + 0.4 * random.uniform()) * k
        let wobble = 0.45 * k
        let strokes = random.uniform() < 0.55 ? 2 : 1
        let hatch = random.uniform() < 0.35
        let hatchAngle = Float.pi * (0.2 + 0.15 * random.uniform())
        let hatchPeriod = (2.6 + random.uniform()) * k
        let cell = Float(size) / 5
        for stamp in stamps {
            if hatch {
                let hc = cosf(hatchAngle), hs = sinf(hatchAngle)
                canvas.paint(in: stamp.box(margin: 1), supersample: supersample, opacity: 0.55,
                             field: { x, y in
                    let t = x * hc + y * hs
                    let u = t - hatchPeriod * (t / hatchPeriod).rounded(.down)
                    let line = abs(u - hatchPeriod / 2) - 0.3 * k
                    return max(stamp.distance(x, y) + k, line)
                }, colour: { _, _, _ in ink })
            }
            for stroke in 0..<strokes {
                let jitter = ValueNoise(columns: 7, rows: 7, random: &random)
                let shade = stroke == 0 ? ink : ink.mixed(with: .white, 0.4)
                let strokeWidth = stroke == 0 ? width : width * 0.8
                canvas.paint(in: stamp.box(margin: wobble + width + 1), supersample: supersample,
                             slack: 0.5, field: { x, y in
                    let d = stamp.distance(x, y) + wobble * jitter.sample(x / cell, y / cell)
                    return abs(d) - strokeWidth / 2
                }, colour: { _, _, _ in shade })
            }
        }
        canvas.adjust { x, y, c in
            let grain = pixelNoise(noiseSeed, x, y, 0) * 0.012
            return Colour(c.r + grain, c.g + grain, c.b + grain)
        }
    }

    /// Flat saturated bodies with a thick black outline and often a white shine.
    private func drawCartoon(
        _ stamps: [Stamp], _ item: WorldItem, _ canvas: inout Canvas,
        _ random: inout SeededGenerator
    ) {
        let fill = Colour(item.colour ?? .red)
        let outline = Colour(0.04, 0.04, 0.05)
        let shine = random.uniform() < 0.5
        for stamp in stamps {
            let width = (0.7 + 0.3 * random.uniform()) * k + 0.09 * stamp.radius
            canvas.paint(in: stamp.box(margin: 2), supersample: supersample,
                         field: stamp.distance, colour: { _, _, _ in fill })
            if shine {
                let (sx, sy) = stamp.place(-0.3, -0.32)
                let spot = 0.16 * stamp.radius
                canvas.paint(in: stamp.box(margin: 1), supersample: supersample, opacity: 0.85,
                             field: { x, y in
                    let disc = ((x - sx) * (x - sx) + (y - sy) * (y - sy)).squareRoot() - spot
                    return max(disc, stamp.distance(x, y) + width)
                }, colour: { _, _, _ in .white })
            }
            canvas.paint(in: stamp.box(margin: width + 2), supersample: supersample,
                         field: { x, y in abs(stamp.distance(x, y)) - width / 2 },
                         colour: { _, _, _ in outline })
        }
    }

    /// Muted bodies with wavering edges, streaked with brush texture, then blurred.
    private func drawPainting(
        _ stamps: [Stamp], _ item: WorldItem, _ canvas: inout Canvas,
        _ random: inout SeededGenerator
    ) {
        let body = muted(Colour(item.colour ?? .red)).scaled(0.9 + 0.12 * random.uniform())
        let cell = Float(size) / 4
        for stamp in stamps {
            let edge = ValueNoise(columns: 5, rows: 5, random: &random)
            let r = stamp.radius
            let wobble = min(0.9 * k, 0.12 * r)
            canvas.paint(in: stamp.box(margin: wobble + 2), supersample: supersample,
                         slack: 0.6, field: { x, y in
                stamp.distance(x, y) + wobble * edge.sample(x / cell, y / cell)
            }) { _, _, d in
                body.scaled(0.9 + 0.1 * min(max(-d / (0.4 * r), 0), 1))
            }
        }

        // Streaks run along one brush direction: smooth along it, finer across it. The blur
        // afterwards softens them together with the shapes.
        let angle = Float.pi * random.uniform()
        let ca = cosf(angle), sa = sinf(angle)
        let streaks = ValueNoise(columns: 4, rows: 24, random: &random)
        let tint = ValueNoise(columns: 3, rows: 3, random: &random)
        let along = Float(size) / 3, across = 2.2 * k
        canvas.adjust { x, y, c in
            let s = streaks.sample((x * ca + y * sa) / along, (-x * sa + y * ca) / across)
            let t = tint.sample(x / cell, y / cell)
            let light = 1 + 0.08 * s
            return Colour(c.r * light + 0.035 * t, c.g * light, c.b * light - 0.035 * t)
        }
        canvas.boxBlur()
        if k > 1.5 { canvas.boxBlur() }
    }

    /// A pigment-like version of a colour: pulled towards a warm grey.
    func muted(_ c: Colour) -> Colour { c.mixed(with: Colour(0.55, 0.5, 0.44), 0.38) }
}

/// Hash noise in -1...1 for the pixel whose centre is (x, y), one stream per `channel`.
func pixelNoise(_ seed: UInt64, _ x: Float, _ y: Float, _ channel: UInt64) -> Float {
    var z = seed ^ (UInt64(x) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(y) &* 0xC2B2_AE3D_27D4_EB4F)
    z ^= channel &* 0x1656_67B1_9E37_79F9
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Float(z >> 40) * 0x1p-23 - 1
}
