// Guards the checked-in protobuf-c code: regenerating it from proto/ with
// scripts/generate-proto.sh must give exactly the files in Sources/ArfProto. When this fails,
// run the script and commit its output.
import Foundation
import Testing

@Suite("Generated code")
struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var protocC: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(
            separator: ":")
        return paths.map { "\($0)/protoc-c" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Relative path to contents of every generated file under `folder`.
    func generatedFiles(in folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".pb-c.c") || relative.hasSuffix(".pb-c.h") else { continue }
            files[relative] = try Data(contentsOf: folder.appendingPathComponent(relative))
        }
        return files
    }

    @Test("the checked-in protobuf-c code matches what protoc-c generates from proto/")
    func generatedCodeIsFresh() throws {
        guard Self.protocC != nil else {
            print(
                "skipping the generated-code check: protoc-c is not installed "
                    + "(Debian package protobuf-c-compiler)")
            return
        }
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("arf-proto-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: output) }

        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = [
            Self.root.appendingPathComponent("scripts/generate-proto.sh").path,
            output.path,
        ]
        try script.run()
        script.waitUntilExit()
        #expect(script.terminationStatus == 0)

        let fresh = try generatedFiles(in: output)
        let checkedIn = try generatedFiles(in: Self.root.appendingPathComponent("Sources/ArfProto"))
        #expect(fresh.count >= 10)
        #expect(Set(checkedIn.keys) == Set(fresh.keys), "run scripts/generate-proto.sh")
        let stale = fresh.keys.filter { checkedIn[$0] != fresh[$0] }.sorted()
        #expect(stale == [], "stale generated files; run scripts/generate-proto.sh")
    }
}
