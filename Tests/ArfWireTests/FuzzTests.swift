// Fuzzes the frame decoder and every message decoder in-process with random and mutated input
// from a fixed seed: nothing may crash or trap, refusals must be thrown `WireError`s, and
// anything accepted must re-encode to something that decodes to the same value.
//
// The default run is 100,000 iterations (each feeds one mutated frame stream to a frame decoder
// and one mutated body to a message decoder) and takes a few seconds. For a longer campaign:
//
//     ARF_FUZZ_ITERATIONS=20000000 ARF_FUZZ_SEED=$RANDOM \
//         swift test -c release --filter FuzzTests
//
// A failure prints the seed and iteration, so `ARF_FUZZ_SEED` reproduces it.
import Foundation
import Testing

@testable import ArfWire

/// SplitMix64: small, fast, and the same sequence on every platform for a given seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One message type under fuzzing: a valid encoding to mutate, and a check that decodes bytes
/// as that type, returns whether they were accepted, and throws when an accepted value does
/// not survive a second round trip.
struct FuzzTarget {
    let seed: [UInt8]
    let check: ([UInt8]) throws -> Bool

    init<M: WireMessage & Equatable>(_ sample: M) {
        seed = sample.encoded()
        check = { bytes in
            let value: M
            do {
                value = try M(decoding: bytes)
            } catch is WireError {
                return false
            }
            let again = try M(decoding: value.encoded())
            // NaN floats are unequal to themselves, so fall back to comparing descriptions.
            guard again == value || "\(again)" == "\(value)" else {
                throw WireError.status(.internal, "\(M.self) changed on a round trip")
            }
            return true
        }
    }
}

@Suite("Fuzz")
struct FuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["ARF_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 100_000
    static let seed = environment["ARF_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x00A2_F5EE_D000_0001

    /// Every message type, each with a rich sample as its starting point.
    static let targets: [FuzzTarget] = [
        FuzzTarget(CallStatus(.notFound, "no model", hint: "load it")),
        FuzzTarget(StatusRequest()),
        FuzzTarget(StatusReply(version: "1", pid: 9, uptimeSeconds: 2, loadedModels: ["a", "b"])),
        FuzzTarget(sampleArchitecture), FuzzTarget(sampleModel),
        FuzzTarget(LoadModelRequest(name: "n", directory: "/d")),
        FuzzTarget(LoadModelReply(model: sampleModel, loadSeconds: 1)),
        FuzzTarget(ListModelsRequest()),
        FuzzTarget(ListModelsReply(models: [sampleModel, sampleModel])),
        FuzzTarget(EmbedInput.imageBytes([1, 2, 3])),
        FuzzTarget(
            EmbedRequest(
                model: "m", inputs: [.text("t"), .imagePath("p"), .imageBytes([1, 2])])),
        FuzzTarget(sampleEmbedding),
        FuzzTarget(EmbedReply(model: "m", embeddings: [sampleEmbedding, sampleEmbedding])),
        FuzzTarget(ImageInput.path("/a.png")),
        FuzzTarget(
            ClassifyRequest(
                model: "m", labels: ["a", "b"], templates: ["{}"],
                images: [.path("x"), .data([3])],
                topK: 2)),
        FuzzTarget(LabelScore(label: "cat", probability: 0.5)), FuzzTarget(sampleScores),
        FuzzTarget(ClassifyReply(model: "m", results: [sampleScores, sampleScores])),
        FuzzTarget(sampleJob), FuzzTarget(ListJobsRequest()),
        FuzzTarget(ListJobsReply(jobs: [sampleJob, sampleJob])),
        FuzzTarget(WatchJobRequest(jobID: "j")),
        FuzzTarget(JobEvent(jobID: "j", state: .running, step: 3, loss: 0.5, resultJSON: "{}")),
        FuzzTarget(CancelJobRequest(jobID: "j")), FuzzTarget(CancelJobReply(state: .failed)),
        FuzzTarget(PruneJobsRequest(olderThanSeconds: 60, keep: 2)),
        FuzzTarget(PruneJobsReply(removed: ["1", "2"], remaining: 3)),
        FuzzTarget(RemoveModelRequest(name: "m")), FuzzTarget(RemoveModelReply(embeddings: 2)),
        FuzzTarget(RemoveRunRequest(name: "r")),
        FuzzTarget(RemoveRunReply(models: ["r"], results: 1, bytes: 9)),
    ]

    static let bodies = targets.map(\.seed).filter { !$0.isEmpty }

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[position] = [0x00, 0x7F, 0x80, 0xFF][Int.random(in: 0..<4, using: &random)]
            case 2:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 3 where !bytes.isEmpty:
                bytes.remove(at: position)
            case 4:
                bytes = Array(bytes.prefix(position))
            case 5:
                let other = bodies[Int.random(in: 0..<bodies.count, using: &random)]
                bytes += other.prefix(Int.random(in: 0...other.count, using: &random))
            default:
                // An over-long varint, the classic length-field trap.
                bytes.insert(
                    contentsOf: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
                    at: position)
            }
        }
        return bytes
    }

    static func randomBytes(_ count: Int, _ random: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    /// A stream of a few valid frames, mutated; returns how many frames the decoder yielded.
    static func fuzzFrames(_ random: inout SeededGenerator) throws -> Int {
        var stream: [UInt8] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let kinds = FrameFlags.kinds
            let flags = kinds[Int.random(in: 0..<kinds.count, using: &random)]
            let body =
                flags == .cancel || flags == .end
                ? [] : bodies[Int.random(in: 0..<bodies.count, using: &random)]
            stream += Frame(
                flags: flags, methodID: UInt16.random(in: 1...40, using: &random),
                callID: UInt32.random(in: 1...9, using: &random), body: body
            ).encoded()
        }
        if Bool.random(using: &random) { stream = mutate(stream, &random) }
        if Int.random(in: 0..<8, using: &random) == 0 {
            stream = randomBytes(Int.random(in: 0...48, using: &random), &random)
        }

        var decoder = FrameDecoder(maxFrameBytes: 4096)
        var yielded = 0
        var offset = 0
        while offset < stream.count {
            let size = Int.random(in: 1...256, using: &random)
            decoder.append(Array(stream[offset..<min(stream.count, offset + size)]))
            offset += size
            do {
                while let frame = try decoder.next() {
                    guard Frame.headerSize + frame.body.count <= 4096 else {
                        throw WireError.status(.internal, "frame above the limit got through")
                    }
                    yielded += 1
                }
            } catch is WireError {
                // A refused stream must stay refused.
                guard (try? decoder.next()) == nil else {
                    throw WireError.status(.internal, "decoder recovered after an error")
                }
                return yielded
            }
        }
        return yielded
    }

    @Test("random and mutated frames and bodies never crash the decoders")
    func fuzzDecoders() throws {
        var random = SeededGenerator(state: Self.seed)
        var accepted = 0
        var refused = 0
        var frames = 0
        let started = Date()

        for iteration in 0..<Self.iterations {
            do {
                frames += try Self.fuzzFrames(&random)

                // Mostly a mutated sample of the type being decoded, so that decoding gets past
                // the first field; sometimes noise or another type's bytes.
                var target = Self.targets[Int.random(in: 0..<Self.targets.count, using: &random)]
                let body: [UInt8]
                switch Int.random(in: 0..<8, using: &random) {
                case 0:
                    body = Self.randomBytes(Int.random(in: 0...32, using: &random), &random)
                case 1:
                    body = Self.mutate(
                        Self.bodies[Int.random(in: 0..<Self.bodies.count, using: &random)], &random)
                default:
                    body = Self.mutate(target.seed, &random)
                }
                if Int.random(in: 0..<8, using: &random) == 0 {
                    target = Self.targets[Int.random(in: 0..<Self.targets.count, using: &random)]
                }
                if try target.check(body) { accepted += 1 } else { refused += 1 }
            } catch {
                Issue.record("seed \(Self.seed) iteration \(iteration): \(error)")
                return
            }
        }

        let seconds = Date().timeIntervalSince(started)
        print(
            "fuzz: \(Self.iterations) iterations in \(String(format: "%.1f", seconds)) s, "
                + "\(frames) frames decoded, \(accepted) bodies accepted, \(refused) refused")
        // Both outcomes must occur, or the mutations are too timid or too wild to test much.
        #expect(accepted > Self.iterations / 20)
        #expect(refused > Self.iterations / 20)
        #expect(frames > Self.iterations / 2)
    }
}
