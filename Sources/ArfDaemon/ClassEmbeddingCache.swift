// The class embeddings of recent zero-shot requests. A program that sends many classify calls
// usually sends the same labels and templates each time, and their text passes (labels x
// templates prompts) can cost far more than the images: at the engine benchmark's ViT-B/32
// rates on 2 cores (31 texts, 20 images a second), ten labels take about 0.3 s of text tower
// against 0.05 s for one image. Entries are keyed by model name, labels and templates, hold
// the pipeline they were computed with weakly, and count only while the model is still served
// by that same pipeline, so a replaced or removed model never answers from the old weights.
// The least recently used entry goes when the cache is full.
import ArfCLIP
import Foundation

/// A bounded cache of class embeddings; safe to use from any thread.
final class ClassEmbeddingCache: @unchecked Sendable {
    private struct Entry {
        weak var pipeline: CLIPPipeline?
        var classes: [[Float]]
        var lastUse: UInt64
    }

    let capacity: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var clock: UInt64 = 0
    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The class embeddings for `labels` under `templates`, from the cache when `pipeline`
    /// made them, else from `compute` (run outside the lock; two callers missing at once both
    /// compute, and the answers are equal).
    func classes(
        model: String, pipeline: CLIPPipeline, labels: [String], templates: [String],
        compute: () throws -> [[Float]]
    ) throws -> [[Float]] {
        // Unit separators keep ["a,b"] and ["a", "b"] apart.
        let key = ([model] + labels + ["\u{1E}"] + templates).joined(separator: "\u{1F}")
        let cached: [[Float]]? = lock.withLock {
            clock += 1
            guard var entry = entries[key], entry.pipeline === pipeline else { return nil }
            entry.lastUse = clock
            entries[key] = entry
            hits += 1
            return entry.classes
        }
        if let cached { return cached }

        let classes = try compute()
        lock.withLock {
            misses += 1
            clock += 1
            entries[key] = Entry(pipeline: pipeline, classes: classes, lastUse: clock)
            if entries.count > capacity,
                let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                entries[oldest] = nil
            }
        }
        return classes
    }
}
