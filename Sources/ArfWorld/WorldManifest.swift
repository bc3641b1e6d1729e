// world.json: what a generated world holds (seed, scale, vocabulary, which classes are
// seen, each split's size and digest) and the digest of all its files, so that a consumer
// can check a world on disk and find out how it was made without reading the generator.
// It records no time or host, so the same seed gives the same file.
import Foundation

/// One generated file: its path relative to the world folder, digest and size.
public struct FileRecord: Codable, Sendable, Equatable {
    /// The path relative to the world's folder.
    public let path: String
    /// The SHA-256 of the file's bytes, in hexadecimal.
    public let sha256: String
    /// The file's size.
    public let bytes: Int

    /// SHA-256 of "<sha256>  <path>\n" lines sorted by the paths' bytes.
    public static func digest(_ records: [FileRecord]) -> String {
        var hasher = SHA256()
        let sorted = records.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        for record in sorted { hasher.update("\(record.sha256)  \(record.path)\n") }
        return SHA256.hexString(hasher.finish())
    }
}

/// The contents of world.json.
public struct WorldManifest: Codable, Sendable, Equatable {
    /// A split's folder, size and digest.
    public struct Split: Codable, Sendable, Equatable {
        /// The split's name, as `WorldSplit` spells it.
        public let name: String
        /// The split's folder relative to the world's folder.
        public let folder: String
        /// The number of pictures.
        public let items: Int
        /// The names of the classes drawn.
        public let classes: [String]
        /// The domains drawn.
        public let domains: [String]
        /// The number of files, pictures and lists together.
        public let files: Int
        /// Their total size.
        public let bytes: Int
        /// The digest of the split's files alone.
        public let sha256: String
    }

    /// `WorldGenerator.version` of the generator that wrote the world.
    public let generatorVersion: Int
    /// The world's seed.
    public let seed: UInt64
    /// Item counts and picture size.
    public let scale: WorldScale
    /// All class names, in class order.
    public let classes: [String]
    /// The classes of the finetuning and in-distribution sets.
    public let seenClasses: [String]
    /// The classes held out for zero-shot evaluation.
    public let unseenClasses: [String]
    /// The visual domains.
    public let domains: [String]
    /// The named colours of objects and backgrounds.
    public let colours: [String]
    /// The object sizes.
    public let sizes: [String]
    /// The object counts, as words.
    public let counts: [String]
    /// The named positions of single objects.
    public let positions: [String]
    /// The background patterns.
    public let backgrounds: [String]
    /// Each seen class's usual colour in the finetuning and in-distribution sets.
    public let spuriousColours: [String: String]
    /// The fraction of those pictures in their class's colour.
    public let spuriousColourRate: Double
    /// Every split's folder, size and digest.
    public let splits: [Split]
    /// The number of files, world.json aside.
    public let files: Int
    /// Their total size.
    public let bytes: Int
    /// The digest of every file but world.json (see `FileRecord.digest`).
    public let sha256: String

    init(seed: UInt64, scale: WorldScale, files records: [FileRecord]) {
        generatorVersion = WorldGenerator.version
        self.seed = seed
        self.scale = scale
        classes = ObjectClass.allCases.map(\.name)
        seenClasses = ObjectClass.seen.map(\.name)
        unseenClasses = ObjectClass.unseen.map(\.name)
        domains = Domain.allCases.map(\.rawValue)
        colours = NamedColour.allCases.map(\.rawValue)
        sizes = ObjectSize.allCases.map(\.rawValue)
        counts = ObjectCount.allCases.map(\.word)
        positions = Position.allCases.map(\.rawValue)
        backgrounds = BackgroundPattern.allCases.map(\.rawValue)
        var cues: [String: String] = [:]
        for c in ObjectClass.seen { cues[c.name] = c.spuriousColour?.rawValue }
        spuriousColours = cues
        spuriousColourRate = Double(World.spuriousColourRate * 100).rounded() / 100
        splits = WorldSplit.allCases.map { split in
            let mine = records.filter { $0.path.hasPrefix(split.folder + "/") }
            return Split(
                name: split.rawValue, folder: split.folder, items: scale.count(of: split),
                classes: split.classes.map(\.name), domains: split.domains.map(\.rawValue),
                files: mine.count, bytes: mine.reduce(0) { $0 + $1.bytes },
                sha256: FileRecord.digest(mine))
        }
        files = records.count
        bytes = records.reduce(0) { $0 + $1.bytes }
        sha256 = FileRecord.digest(records)
    }

    /// Reads `world.json` from a world folder.
    public static func load(from folder: URL) throws -> WorldManifest {
        let url = folder.appendingPathComponent("world.json")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw WorldError.cannotRead(path: url.path, reason: error.localizedDescription)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(WorldManifest.self, from: data)
        } catch {
            throw WorldError.badManifest(path: url.path, reason: "\(error)")
        }
    }

    /// The manifest as pretty-printed JSON with sorted, snake_case keys.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
