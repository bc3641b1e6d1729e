// The retrieval module's one error type: bad shapes and parameters from callers, and stored
// indexes that are missing or do not hold together.

/// What went wrong in building, storing or searching a vector index.
public enum RetrievalError: Error, CustomStringConvertible, Equatable {
    /// A matrix or array does not have the size it must have.
    case shape(what: String, expected: String, found: String)
    /// A parameter is outside the range it may take.
    case parameter(name: String, value: String, reason: String)
    /// No index of that name is stored.
    case indexNotFound(name: String, table: String)
    /// A stored index is damaged or was written by an incompatible version.
    case corruptIndex(name: String, reason: String)

    public var description: String {
        switch self {
        case .shape(let what, let expected, let found):
            return "\(what) has size \(found), expected \(expected)"
        case .parameter(let name, let value, let reason):
            return "\(name) = \(value) is not allowed: \(reason)"
        case .indexNotFound(let name, let table):
            return "no index called \"\(name)\" in table \(table)"
        case .corruptIndex(let name, let reason):
            return "stored index \"\(name)\" is damaged: \(reason)"
        }
    }
}

/// Throws when two matrices that must be compared have different row widths.
func requireSameDimension(_ a: VectorMatrix, _ b: VectorMatrix, _ what: String) throws {
    guard a.dimension == b.dimension else {
        throw RetrievalError.shape(
            what: "\(what) dimension", expected: "\(b.dimension)", found: "\(a.dimension)")
    }
}
