// A small command-line parser for arf's programs: options (`--name value` or
// `--name=value`), repeatable options, boolean flags and positional arguments, with errors that
// name the offending word. Sub-command dispatch and help text stay with each program.

/// A command-line mistake, reported as one line plus a hint.
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public let hint: String

    public init(_ message: String, hint: String = "") {
        self.message = message
        self.hint = hint
    }

    public var description: String { message }
}

/// Parsed arguments, consumed by name; `finish()` rejects anything left unconsumed.
public struct Arguments {
    private var options: [String: [String]] = [:]
    private var flags: Set<String> = []
    public private(set) var positionals: [String] = []
    private var used: Set<String> = []

    /// Parses `words`; `flagNames` are the options that take no value.
    public init(_ words: [String], flags flagNames: Set<String>) throws {
        var i = 0
        var onlyPositionals = false
        while i < words.count {
            let word = words[i]
            i += 1
            if onlyPositionals || !word.hasPrefix("--") || word == "-" {
                positionals.append(word)
                continue
            }
            if word == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(word.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if flagNames.contains(name) {
                guard value == nil else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
                continue
            }
            if value == nil {
                guard i < words.count else { throw UsageError("--\(name) needs a value") }
                value = words[i]
                i += 1
            }
            options[name, default: []].append(value!)
        }
    }

    /// Whether the flag was given.
    public mutating func flag(_ name: String) -> Bool {
        used.insert(name)
        return flags.contains(name)
    }

    /// The last value of an option, if given.
    public mutating func option(_ name: String) -> String? {
        used.insert(name)
        return options[name]?.last
    }

    /// Every value of a repeatable option, in order.
    public mutating func options(_ name: String) -> [String] {
        used.insert(name)
        return options[name] ?? []
    }

    /// An integer option within `range`, or `fallback` when absent.
    public mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>)
        throws -> Int
    {
        guard let text = option(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) takes a whole number from \(range.lowerBound) to "
                + "\(range.upperBound), not \(text)")
        }
        return value
    }

    /// A number option, or `fallback` when absent.
    public mutating func number(_ name: String, default fallback: Double) throws -> Double {
        guard let text = option(name) else { return fallback }
        guard let value = Double(text), value.isFinite else {
            throw UsageError("--\(name) takes a number, not \(text)")
        }
        return value
    }

    /// Throws if an option or flag was given that no code asked about.
    public func finish() throws {
        let unknown = (Set(options.keys).union(flags)).subtracting(used).sorted()
        if let first = unknown.first {
            throw UsageError("unknown option --\(first)", hint: "see --help")
        }
    }
}
