// Captioners write captions for a dataset's images: the caption anchors of finetuning. The
// daemon calls a captioner one batch of items at a time and stores each batch's captions in
// one transaction, so a long captioning job reports progress and resumes after a crash. One
// captioner instance serves the whole job, so it may prepare once (a caption bank, a running
// program) and reuse that for every batch.
import Foundation

/// One caption, with the captioner's confidence in it when it has one.
public struct Caption: Sendable, Equatable, Codable {
    public var text: String
    /// A similarity or likelihood; nil when the captioner has no score.
    public var score: Double?

    public init(_ text: String, score: Double? = nil) {
        self.text = text
        self.score = score
    }
}

/// What a captioner made of one image.
public enum CaptionOutcome: Sendable, Equatable {
    /// One or more captions, best first.
    case captions([Caption])
    /// This image could not be captioned; the rest go on. The reason is shown to the user.
    case failed(String)
}

/// A batch of images to caption.
public struct CaptionRequest: Sendable {
    /// The dataset the images belong to.
    public var dataset: DatasetView
    /// The images of this batch.
    public var items: [DatasetItem]

    public init(dataset: DatasetView, items: [DatasetItem]) {
        self.dataset = dataset
        self.items = items
    }
}

/// A plugin that writes captions for images.
public protocol Captioner: ArfPlugin {
    /// One outcome per item of the request, in order. Throwing fails the whole job: do it
    /// only when no image can be captioned (the program died, the caption file is missing).
    func caption(_ request: CaptionRequest, context: PluginContext) throws -> [CaptionOutcome]
}

extension Captioner {
    public static var kind: PluginKind { .captioner }
}
