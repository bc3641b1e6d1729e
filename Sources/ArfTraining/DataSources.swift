// What training and evaluation read: labelled images (with optional captions from a
// captioner) and image-caption pairs. Both protocols hand out images already preprocessed,
// channels first, at the model's size, so the training code never decodes or resizes; the
// daemon adapts its datasets to them. In-memory sources for tests and small jobs live here.
import Foundation

/// Images with class labels, and for each image the captions a captioner wrote (maybe none).
public protocol LabeledImageSource {
    /// The number of examples.
    var count: Int { get }
    /// The class names, in label order.
    var classNames: [String] { get }
    /// The class of example `i`, in 0..<classNames.count.
    func label(_ i: Int) -> Int
    /// Writes example `i`'s preprocessed pixels (channels x side x side floats) to `out`,
    /// which holds exactly that many floats at the model's size; throws when they differ.
    func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws
    /// The captions of example `i`; empty when it has none.
    func captions(_ i: Int) -> [String]
}

/// Image-caption pairs, such as those retrieved from a pretraining-like pool.
public protocol PairSource {
    /// The number of pairs.
    var count: Int { get }
    /// Writes pair `i`'s preprocessed pixels (channels x side x side floats) to `out`, as
    /// `LabeledImageSource.pixels` does.
    func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws
    /// The caption of pair `i`.
    func caption(_ i: Int) -> String
}

/// A labelled image source held in memory: one preprocessed pixel row per example.
public struct InMemoryLabeledImages: LabeledImageSource {
    public let classNames: [String]
    public let labels: [Int]
    public let pixelRows: [[Float]]
    public let captionLists: [[String]]

    /// Examples given as pixel rows of equal length with their labels and captions (an
    /// empty `captions` means no example has any).
    public init(
        classNames: [String], labels: [Int], pixelRows: [[Float]], captions: [[String]] = []
    ) throws {
        guard labels.count == pixelRows.count else {
            throw TrainingError.badConfig(
                field: "labels", reason: "\(labels.count) labels for \(pixelRows.count) images")
        }
        guard captions.isEmpty || captions.count == labels.count else {
            throw TrainingError.badConfig(
                field: "captions",
                reason: "\(captions.count) caption lists for "
                    + "\(labels.count) images")
        }
        if let width = pixelRows.first?.count,
            let bad = pixelRows.firstIndex(where: { $0.count != width })
        {
            throw TrainingError.badConfig(
                field: "pixels",
                reason: "image \(bad) has \(pixelRows[bad].count) values, "
                    + "image 0 has \(width)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classNames.count }) {
            throw TrainingError.badLabel(index: bad, label: labels[bad], classes: classNames.count)
        }
        self.classNames = classNames
        self.labels = labels
        self.pixelRows = pixelRows
        self.captionLists = captions.isEmpty ? labels.map { _ in [] } : captions
    }

    public var count: Int { labels.count }

    public func label(_ i: Int) -> Int { labels[i] }

    public func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try copyPixels(pixelRows[i], into: out)
    }

    public func captions(_ i: Int) -> [String] { captionLists[i] }
}

/// Image-caption pairs held in memory.
public struct InMemoryPairs: PairSource {
    public let pixelRows: [[Float]]
    public let captions: [String]

    public init(pixelRows: [[Float]], captions: [String]) throws {
        guard pixelRows.count == captions.count else {
            throw TrainingError.badConfig(
                field: "captions",
                reason: "\(captions.count) captions for "
                    + "\(pixelRows.count) images")
        }
        if let width = pixelRows.first?.count,
            let bad = pixelRows.firstIndex(where: { $0.count != width })
        {
            throw TrainingError.badConfig(
                field: "pixels",
                reason: "pair \(bad) has \(pixelRows[bad].count) values, "
                    + "pair 0 has \(width)")
        }
        self.pixelRows = pixelRows
        self.captions = captions
    }

    public var count: Int { captions.count }

    public func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try copyPixels(pixelRows[i], into: out)
    }

    public func caption(_ i: Int) -> String { captions[i] }
}

/// Copies a pixel row into a batch slot of the same size.
func copyPixels(_ row: [Float], into out: UnsafeMutableBufferPointer<Float>) throws {
    guard row.count == out.count else {
        throw TrainingError.imageSizeMismatch(expected: out.count, found: row.count)
    }
    _ = out.update(fromContentsOf: row)
}
