// The outline of each object class as a signed distance function in a unit frame: the
// object is centred on the origin, fits the unit circle, and y grows downwards as in the
// image. Negative distances are inside. Shapes are polygons and discs, combined by union,
// difference and hollowing. Unions and differences give a distance that is exact outside and
// never too large inside, which is all the renderer needs: it uses the distance to find
// pixels near an edge and to draw outlines of a given width.
import Foundation

/// A disc or a polygon. Polygons keep their edges in the owning shape's flat edge list,
/// so that evaluating a shape touches no reference counts.
struct Primitive: Sendable {
    var isDisc: Bool
    var x: Float = 0, y: Float = 0, radius: Float = 0
    var firstEdge = 0, edgeCount = 0
}

/// A primitive, less an optional second one, optionally hollowed to the band of the given
/// thickness around its outline.
struct Part: Sendable {
    var kept: Primitive
    var removed: Primitive?
    var thickness: Float = 0
}

/// The outline of a class: the union of its parts. Polygon edges are stored five floats
/// each (start x, start y, edge x, edge y, inverse squared length).
final class Shape: Sendable {
    private let parts: [Part]
    private let edges: [Float]

    init(_ build: (inout ShapeBuilder) -> Void) {
        var builder = ShapeBuilder()
        build(&builder)
        parts = builder.parts
        edges = builder.edges
    }

    func distance(_ x: Float, _ y: Float) -> Float {
        edges.withUnsafeBufferPointer { e in
            var d = Float.infinity
            for part in parts {
                var p = Shape.distance(part.kept, x, y, e.baseAddress!)
                if let removed = part.removed {
                    let q = -Shape.distance(removed, x, y, e.baseAddress!)
                    if q > p { p = q }
                }
                if part.thickness > 0 { p = abs(p) - part.thickness / 2 }
                if p < d { d = p }
            }
            return d
        }
    }

    // Written with while loops and explicit comparisons because this is the renderer's
    // innermost loop, and unoptimised (debug) builds pay heavily for ranges and generics.
    private static func distance(
        _ shape: Primitive, _ x: Float, _ y: Float, _ e: UnsafePointer<Float>
    ) -> Float {
        if shape.isDisc {
            let dx = x - shape.x, dy = y - shape.y
            return (dx * dx + dy * dy).squareRoot() - shape.radius
        }
        var nearest = Float.infinity
        var inside = false
        var edge = e + 5 * shape.firstEdge
        let end = edge + 5 * shape.edgeCount
        while edge < end {
            let ax = edge[0], ay = edge[1], ex = edge[2], ey = edge[3]
            let wx = x - ax, wy = y - ay
            var t = (wx * ex + wy * ey) * edge[4]
            if t < 0 { t = 0 } else if t > 1 { t = 1 }
            let dx = wx - ex * t, dy = wy - ey * t
            let squared = dx * dx + dy * dy
            if squared < nearest { nearest = squared }

            // Even-odd rule: count edges that cross the horizontal ray going right from p.
            if (ay > y) != (ay + ey > y), ax + ex * (y - ay) / ey > x { inside.toggle() }
            edge += 5
        }
        let d = nearest.squareRoot()
        return inside ? -d : d
    }
}

/// Collects a shape's parts and polygon edges.
struct ShapeBuilder {
    fileprivate(set) var parts: [Part] = []
    fileprivate(set) var edges: [Float] = []

    func disc(_ x: Float, _ y: Float, _ radius: Float) -> Primitive {
        Primitive(isDisc: true, x: x, y: y, radius: radius)
    }

    mutating func polygon(_ vertices: [(Float, Float)]) -> Primitive {
        precondition(vertices.count >= 3, "a polygon needs three vertices")
        let first = edges.count / 5
        for i in vertices.indices {
            let a = vertices[i], b = vertices[(i + 1) % vertices.count]
            let ex = b.0 - a.0, ey = b.1 - a.1
            edges += [a.0, a.1, ex, ey, 1 / (ex * ex + ey * ey)]
        }
        return Primitive(isDisc: false, firstEdge: first, edgeCount: vertices.count)
    }

    mutating func add(_ kept: Primitive, minus removed: Primitive? = nil, hollow: Float = 0) {
        parts.append(Part(kept: kept, removed: removed, thickness: hollow))
    }
}

extension ObjectClass {
    /// The class's outline in the unit frame.
    var shape: Shape { Shapes.table[rawValue] }
}

/// The shapes of all classes, built once.
enum Shapes {
    static let table: [Shape] = ObjectClass.allCases.map { kind in Shape { make(kind, &$0) } }

    private static func regular(_ n: Int, radius: Float, rotation: Float) -> [(Float, Float)] {
        (0..<n).map { i in
            let angle = rotation + 2 * Float.pi * Float(i) / Float(n)
            return (radius * cosf(angle), radius * sinf(angle))
        }
    }

    private static func make(_ kind: ObjectClass, _ b: inout ShapeBuilder) {
        let up = -Float.pi / 2
        switch kind {
        case .circle:
            b.add(b.disc(0, 0, 0.9))
        case .square:
            b.add(b.polygon([(-0.7, -0.7), (0.7, -0.7), (0.7, 0.7), (-0.7, 0.7)]))
        case .triangle:
            b.add(b.polygon(regular(3, radius: 0.97, rotation: up).map { ($0.0, $0.1 + 0.08) }))
        case .star:
            let points = (0..<10).map { i -> (Float, Float) in
                let radius: Float = i % 2 == 0 ? 0.97 : 0.41
                let angle = up + Float.pi * Float(i) / 5
                return (radius * cosf(angle), radius * sinf(angle) + 0.05)
            }
            b.add(b.polygon(points))
        case .heart:
            b.add(b.disc(-0.43, -0.3, 0.47))
            b.add(b.disc(0.43, -0.3, 0.47))
            b.add(b.polygon([(-0.86, -0.2), (0.86, -0.2), (0, 0.88)]))
        case .cross:
            let i: Float = 0.28, o: Float = 0.9
            b.add(b.polygon([
                (-i, -o), (i, -o), (i, -i), (o, -i), (o, i), (i, i),
                (i, o), (-i, o), (-i, i), (-o, i), (-o, -i), (-i, -i),
            ]))
        case .ring:
            b.add(b.disc(0, 0, 0.7), hollow: 0.4)
        case .arrow:
            b.add(b.polygon([
                (-0.95, -0.2), (0.1, -0.2), (0.1, -0.62), (0.95, 0),
                (0.1, 0.62), (0.1, 0.2), (-0.95, 0.2),
            ]))
        case .diamond:
            b.add(b.polygon([(0, -0.98), (0.6, 0), (0, 0.98), (-0.6, 0)]))
        case .moon:
            b.add(b.disc(0, 0, 0.9), minus: b.disc(0.42, -0.2, 0.72))
        case .crown:
            b.add(b.polygon([
                (-0.8, 0.58), (0.8, 0.58), (0.8, -0.62), (0.4, -0.1), (0, -0.85),
                (-0.4, -0.1), (-0.8, -0.62),
            ]))
        case .house:
            let body = b.polygon([
                (0, -0.95), (0.92, -0.12), (0.6, -0.12), (0.6, 0.8),
                (-0.6, 0.8), (-0.6, -0.12), (-0.92, -0.12),
            ])
            let door = b.polygon([(-0.18, 0.3), (0.18, 0.3), (0.18, 0.9), (-0.18, 0.9)])
            b.add(body, minus: door)
        case .lightningBolt:
            b.add(b.polygon([
                (-0.02, -0.88), (0.46, -0.88), (0.14, -0.16), (0.52, -0.16),
                (-0.28, 0.95), (-0.06, 0.1), (-0.46, 0.1),
            ]))
        case .flower:
            for (x, y) in regular(5, radius: 0.62, rotation: up) { b.add(b.disc(x, y, 0.33)) }
            b.add(b.disc(0, 0, 0.4))
        case .hourglass:
            b.add(b.polygon([
                (-0.58, -0.8), (0.58, -0.8), (0.08, 0), (0.58, 0.8),
                (-0.58, 0.8), (-0.08, 0),
            ]))
        case .mushroom:
            let below = b.polygon([(-1.2, 0.12), (1.2, 0.12), (1.2, 1.2), (-1.2, 1.2)])
            b.add(b.disc(0, 0.12, 0.95), minus: below)
            b.add(b.polygon([(-0.28, 0.05), (0.28, 0.05), (0.32, 0.9), (-0.32, 0.9)]))
        }
    }
}
