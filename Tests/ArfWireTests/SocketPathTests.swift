// The default socket path: ARF_SOCKET first, then $XDG_RUNTIME_DIR/arf, then ~/.arf, with the
// derived folder created private, and paths too long for a Unix socket refused.
import Foundation
import Testing

@testable import ArfWire

@Suite("SocketPath")
struct SocketPathTests {
    func temporaryFolder() throws -> String {
        var template = Array("/tmp/arfpath.XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw WireError.notRunning("mkdtemp failed") }
        return String(cString: template)
    }

    @Test("ARF_SOCKET wins over the other variables and is used as given")
    func explicitPath() throws {
        let path = try SocketPath.resolve(environment: [
            "ARF_SOCKET": "/run/custom/arf.sock", "XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/h",
        ])
        #expect(path == "/run/custom/arf.sock")
        #expect(!FileManager.default.fileExists(atPath: "/run/custom"))
    }

    @Test("XDG_RUNTIME_DIR gives arf/arfd.sock inside it, with the folder made 0700")
    func runtimeDirectory() throws {
        let runtime = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: runtime) }

        let path = try SocketPath.resolve(environment: ["XDG_RUNTIME_DIR": runtime, "HOME": "/h"])

        #expect(path == runtime + "/arf/arfd.sock")
        var info = stat()
        #expect(stat(runtime + "/arf", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700, "mode \(String(info.st_mode & 0o777, radix: 8))")
        // A second resolve finds the folder in place.
        #expect(try SocketPath.resolve(environment: ["XDG_RUNTIME_DIR": runtime]) == path)
    }

    @Test("without either variable the socket lives in ~/.arf")
    func homeDirectory() throws {
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }

        let path = try SocketPath.resolve(environment: ["HOME": home])

        #expect(path == home + "/.arf/arfd.sock")
        #expect(FileManager.default.fileExists(atPath: home + "/.arf"))
    }

    @Test("a path too long for sun_path is refused with its length")
    func tooLong() {
        let long = "/tmp/" + String(repeating: "d", count: 110)
        #expect(throws: WireError.socketPathTooLong(path: long, bytes: 115, limit: 107)) {
            try SocketPath.resolve(environment: ["ARF_SOCKET": long])
        }
        #expect(SocketPath.maxBytes == 107)
    }
}
