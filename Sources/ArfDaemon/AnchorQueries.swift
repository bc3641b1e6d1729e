// Reading anchors back for `arf anchors show`: a dataset's caption sets with a sample of
// (image, captions, scores), or a retrieval task's settings with a sample of its pairs and
// their provenance. Samples are spread evenly over the items, so they are the same on every
// call. Also the records retrieval tasks are stored as.
import ArfPluginAPI
import ArfStore
import ArfWire
import Foundation

/// A retrieval task as the store keeps it.
struct AnchorTaskRecord: Codable, Equatable {
    var task: String
    var pool: String
    var finetune: String
    var model: String
    var retriever: String
    var retrieverVersion: String
    var source: String
    var options: String
    var perClass: Int
    var query: String
    var excludeEval: Bool
    var dedup: Double
    var count: Int
    var createdUnix: Double

    var info: AnchorTaskInfo {
        AnchorTaskInfo(
            task: task, pool: pool, finetune: finetune, model: model, retriever: retriever,
            optionsJSON: options, perClass: UInt32(clamping: perClass), query: query,
            excludeEval: excludeEval, dedup: dedup, count: UInt64(count),
            createdUnix: createdUnix)
    }
}

/// One retrieved pair as the store keeps it, with copies of the pool item's path and caption
/// so that the anchors outlive the pool's registration.
struct PairAnchorRecord: Codable, Equatable {
    var poolIndex: Int
    var path: String
    var absolutePath: String
    var caption: String
    var classIndex: Int
    var className: String
    var score: Double
    var query: String
}

/// Reads stored anchors.
struct AnchorQueries {
    let store: Store
    let datasets: DatasetRegistry

    /// Every caption set of a dataset, oldest first, with its caption count.
    func captionSets(of dataset: String) throws -> [CaptionSetInfo] {
        let sets = try store.table(StoreLayout.captionSets)
        let captions = try store.table(StoreLayout.captions)
        return try store.read { txn in
            try txn.scan(sets, prefix: Key(dataset)).map { entry in
                let set = try JSONDecoder().decode(CaptionSetRecord.self, from: entry.value)
                return CaptionSetInfo(
                    id: set.id, captioner: set.captioner, version: set.version,
                    source: set.source, model: set.model, optionsJSON: set.options,
                    count: UInt64(try txn.count(captions, prefix: Key(dataset, set.id))),
                    createdUnix: set.createdUnix)
            }
        }.sorted {
            $0.createdUnix < $1.createdUnix
                || ($0.createdUnix == $1.createdUnix
                    && $0.id < $1.id)
        }
    }

    func show(_ request: ShowAnchorsRequest) throws -> ShowAnchorsReply {
        if datasets.names().contains(request.name) { return try captions(request) }
        let tasks = try store.table(StoreLayout.anchorTasks)
        if let task = try store.read({ txn in
            try txn.json(AnchorTaskRecord.self, in: tasks, at: Key(request.name))
        }) {
            return try pairs(task, sample: Int(request.sample))
        }
        throw DaemonError.unknownAnchors(name: request.name)
    }

    private func captions(_ request: ShowAnchorsRequest) throws -> ShowAnchorsReply {
        let record = try datasets.record(named: request.name)
        let sets = try captionSets(of: record.name)
        var reply = ShowAnchorsReply(kind: "captions", name: record.name, captionSets: sets)
        let chosen: CaptionSetInfo?
        if request.captionSet.isEmpty {
            chosen = sets.last
        } else {
            chosen = sets.first { $0.id == request.captionSet }
            guard chosen != nil else {
                throw DaemonError.unknownCaptionSet(
                    dataset: record.name, id: request.captionSet, known: sets.map(\.id))
            }
        }
        guard let chosen else { return reply }
        reply.captionSet = chosen.id
        reply.total = chosen.count

        // The sample is spread over the captioned images, which are read in item order.
        let captions = try store.table(StoreLayout.captions)
        let items = try store.table(StoreLayout.datasetItems)
        let total = Int(chosen.count)
        let count = min(Int(request.sample), total)
        let picks = Set((0..<count).map { $0 * total / max(count, 1) })
        reply.captions = try store.read { txn in
            var anchors: [CaptionAnchor] = []
            for (position, entry) in try txn.scan(captions, prefix: Key(record.name, chosen.id))
                .enumerated() where picks.contains(position)
            {
                var reader = entry.key.reader()
                _ = reader.readString()
                _ = reader.readString()
                let index = Int(reader.readUInt64() ?? 0)
                let item = try txn.json(
                    DatasetItemRecord.self, in: items,
                    at: StoreLayout.datasetItemKey(record.name, index))
                let stored = try JSONDecoder().decode(CaptionRecord.self, from: entry.value)
                anchors.append(
                    CaptionAnchor(
                        index: UInt64(index), path: item?.path ?? "",
                        captions: stored.captions.map {
                            CaptionText(text: $0.text, score: $0.score)
                        }))
                if anchors.count == count { break }
            }
            return anchors
        }
        return reply
    }

    private func pairs(_ task: AnchorTaskRecord, sample: Int) throws -> ShowAnchorsReply {
        let anchors = try store.table(StoreLayout.anchors)
        let count = min(sample, task.count)
        let picks = (0..<count).map { $0 * task.count / max(count, 1) }
        let pairs = try store.read { txn in
            try picks.compactMap { rank -> PairAnchor? in
                guard
                    let pair = try txn.json(
                        PairAnchorRecord.self, in: anchors,
                        at: StoreLayout.anchorKey(task: task.task, rank: rank))
                else { return nil }
                return PairAnchor(
                    rank: UInt64(rank), poolIndex: UInt64(pair.poolIndex), path: pair.path,
                    caption: pair.caption, classIndex: UInt32(clamping: pair.classIndex),
                    className: pair.className, score: pair.score, query: pair.query)
            }
        }
        return ShowAnchorsReply(
            kind: "pairs", name: task.task, task: task.info, pairs: pairs,
            total: UInt64(task.count))
    }
}
