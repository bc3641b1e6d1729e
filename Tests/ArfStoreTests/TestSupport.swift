// Helpers shared by the store's tests: a fresh folder per test, removed afterwards, so tests
// can run in parallel without seeing each other's data.
import ArfStore
import Foundation

/// A new, empty folder under the system's temporary directory.
func temporaryDirectory(_ label: String) -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("arf-store-\(label)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Opens a store in a fresh folder, runs `body`, then closes the store and removes the folder.
func withTemporaryStore<R>(
    _ label: String, options: Store.Options = Store.Options(), _ body: (Store) throws -> R
) throws -> R {
    let directory = temporaryDirectory(label)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try Store.open(directory: directory, options: options)
    defer { store.close() }
    return try body(store)
}

/// Whether two float arrays have identical bits, element by element.
func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}
