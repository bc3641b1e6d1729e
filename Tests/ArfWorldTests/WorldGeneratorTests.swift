// Generating worlds on disk: the same seed gives the same bytes whatever the thread count,
// a different seed different bytes, and seed 0's small world a fixed digest; the folders
// are what ImageFolder readers and the pair-list reader expect; world.json describes the
// files that are there.
import ArfImage
import Foundation
import Testing

@testable import ArfWorld

struct WorldGeneratorTests {
    /// The digest of `.small` at seed 0. It pins every byte the generator writes (and so also
    /// zlib's PNG compression). Any change to sampling, captions or drawing changes it: when
    /// that is intended, look at a new contact sheet, bump `WorldGenerator.version`, and
    /// replace this constant with the digest the failing test prints.
    static let expectedSmallDigest =
        "2e539c177eca4f08e7c031bee26d0747763dedc52d5fafab90e483ee5a04676f"

    /// A world small enough to generate several times in one test.
    static let tiny = WorldScale(pool: 48, finetune: 16, evaluation: 8)

    func temporaryFolder(_ name: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("arf-world-\(name)-\(getpid())-\(UUID().uuidString)")
    }

    func generate(seed: UInt64, threads: Int) throws -> WorldManifest {
        let folder = temporaryFolder("tiny")
        defer { try? FileManager.default.removeItem(at: folder) }
        return try WorldGenerator.generate(
            out: folder, seed: seed, scale: Self.tiny, threads: threads)
    }

    @Test("seed 0's small world has the recorded digest")
    func smallWorldHasRecordedDigest() throws {
        let manifest = try SmallWorld.manifest()
        print("small world digest \(manifest.sha256), \(manifest.files) files, "
              + "\(manifest.bytes) bytes")
        #expect(manifest.sha256 == Self.expectedSmallDigest)
    }

    @Test("the same seed gives the same files on one thread or three")
    func generationIsDeterministic() throws {
        let one = try generate(seed: 5, threads: 1)
        let three = try generate(seed: 5, threads: 3)
        #expect(one == three)
        #expect(one.files == 48 + 16 + 9 * 8 + 2)
    }

    @Test("a different seed gives a different world")
    func seedsDiffer() throws {
        let a = try generate(seed: 5, threads: 2)
        let b = try generate(seed: 6, threads: 2)
        #expect(a.sha256 != b.sha256)
        for (x, y) in zip(a.splits, b.splits) { #expect(x.sha256 != y.sha256, "\(x.name)") }
    }

    @Test("world.json matches the files on disk and the world's description")
    func manifestDescribesFiles() throws {
        let manifest = try SmallWorld.manifest()
        let folder = try SmallWorld.folder()
        #expect(try WorldManifest.load(from: folder) == manifest)
        #expect(try WorldGenerator.digest(of: folder, scale: .small) == manifest.sha256)
        #expect(manifest.seed == 0 && manifest.scale == .small)
        #expect(manifest.generatorVersion == WorldGenerator.version)
        #expect(manifest.seenClasses == ObjectClass.seen.map(\.name))
        #expect(manifest.unseenClasses == ObjectClass.unseen.map(\.name))
        #expect(manifest.splits.map(\.name) == WorldSplit.allCases.map(\.rawValue))
        #expect(manifest.splits.reduce(0) { $0 + $1.files } == manifest.files)
        let text = try String(contentsOf: folder.appendingPathComponent("world.json"))
        #expect(text.contains("\"spurious_colour_rate\" : 0.85"))
    }

    @Test("the on-disk digest ignores added files and fails on a missing one")
    func diskDigestChecksWorldFiles() throws {
        let folder = temporaryFolder("check")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = try WorldGenerator.generate(out: folder, seed: 9, scale: Self.tiny)
        let captions = folder.appendingPathComponent("finetune/captions.tsv")
        try Data("filepath\tcaption\n".utf8).write(to: captions)
        #expect(try WorldGenerator.digest(of: folder, scale: Self.tiny) == manifest.sha256)
        let picture = folder.appendingPathComponent("eval/sketch/arrow/000000.png")
        try FileManager.default.removeItem(at: picture)
        #expect(throws: WorldError.self) {
            try WorldGenerator.digest(of: folder, scale: Self.tiny)
        }
    }

    @Test("each ImageFolder tree has one sorted folder per class, holding its PNGs")
    func imageFoldersHoldTheirClasses() throws {
        let manager = FileManager.default
        let world = World(seed: 0, scale: .small)
        for split in WorldSplit.allCases where split != .pool {
            let root = try SmallWorld.folder().appendingPathComponent(split.folder)
            let folders = try manager.contentsOfDirectory(atPath: root.path)
                .filter { !$0.hasSuffix(".tsv") }.sorted()
            #expect(folders == split.classes.map(\.folderName), "\(split.folder)")
            var pictures = 0
            for folder in folders {
                let names = try manager.contentsOfDirectory(
                    atPath: root.appendingPathComponent(folder).path)
                #expect(names.allSatisfy { $0.hasSuffix(".png") })
                pictures += names.count
            }
            #expect(pictures == world.count(of: split), "\(split.folder)")
        }

        // A picture read back from disk equals the same item drawn in memory.
        let item = world.item(split: .unseenPainting, index: 5)
        let file = try SmallWorld.folder().appendingPathComponent(item.relativePath)
        #expect(try ImageCodec.decode(file: file) == world.render(item))
    }

    @Test("pairs.tsv lists every pool picture with its caption")
    func pairListParses() throws {
        let world = World(seed: 0, scale: .small)
        let pool = try SmallWorld.folder().appendingPathComponent("pool")
        let text = try String(contentsOf: pool.appendingPathComponent("pairs.tsv"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.first == "filepath\tcaption")
        #expect(lines.count == 1 + WorldScale.small.pool)
        for (index, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            #expect(fields.count == 2)
            #expect(String(fields[1]) == world.item(split: .pool, index: index).caption)
            let path = pool.appendingPathComponent(String(fields[0])).path
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
        }
    }

    @Test("the finetuning set's ground truth lists class and colour, following the cue")
    func groundTruthListsAttributes() throws {
        let url = try SmallWorld.folder()
            .appendingPathComponent("finetune/ground_truth_captions.tsv")
        let rows = try String(contentsOf: url).split(separator: "\n")
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.first?.prefix(4) == ["filepath", "caption", "class", "colour"])
        let body = rows.dropFirst()
        #expect(body.count == WorldScale.small.finetune)
        let cued = body.filter { row in
            ObjectClass(name: row[2])?.spuriousColour?.rawValue == row[3]
        }.count
        let rate = Double(cued) / Double(body.count)
        print("ground truth: colour cue holds for \(rate)")
        // Tolerance: 0.1, about 4 standard errors at 200 rows.
        #expect(abs(rate - 0.85) <= 0.1)
        #expect(body.allSatisfy { $0[0].hasPrefix(ObjectClass(name: $0[2])!.folderName + "/") })
    }

    @Test("generation refuses a non-empty folder and a bad scale")
    func refusesBadRequests() throws {
        let folder = temporaryFolder("busy")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("keep".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        #expect(throws: WorldError.outputNotEmpty(path: folder.path)) {
            try WorldGenerator.generate(out: folder, seed: 0, scale: Self.tiny)
        }
        #expect(try String(contentsOf: folder.appendingPathComponent("notes.txt")) == "keep")
        var bad = Self.tiny
        bad.imageSize = 4
        #expect(throws: WorldError.self) {
            try WorldGenerator.generate(out: temporaryFolder("bad"), seed: 0, scale: bad)
        }
    }
}
