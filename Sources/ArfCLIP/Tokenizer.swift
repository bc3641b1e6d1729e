// CLIP's text tokenizer: reads a Hugging Face checkpoint's vocab.json and merges.txt and turns
// captions into the ids transformers' CLIPTokenizer gives, start and end tokens included,
// truncated and padded to the context length. Of the tokenizer configs it reads only
// `pad_token`; tokenizer.json, added tokens beyond the special three, offsets and attention
// masks are left out.
import Foundation

/// Why a tokenizer could not be loaded or written.
public enum TokenizerError: Error, CustomStringConvertible {
    case missingFile(path: String)
    case unreadableFile(path: String, reason: String)
    case malformedVocabulary(path: String, reason: String)
    case malformedMerges(path: String, line: Int, reason: String)
    case malformedConfig(path: String, reason: String)
    case missingToken(path: String, token: String)
    case invalidToken(String, reason: String)
    case unwritableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "tokenizer file \(path) does not exist"
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .malformedVocabulary(let path, let reason):
            return "malformed vocabulary \(path): \(reason)"
        case .malformedMerges(let path, let line, let reason):
            return "malformed merges \(path) line \(line): \(reason)"
        case .malformedConfig(let path, let reason):
            return "malformed tokenizer config \(path): \(reason)"
        case .missingToken(let path, let token):
            return "vocabulary \(path) has no token \(token)"
        case .invalidToken(let token, let reason):
            return "cannot write token \(token.debugDescription): \(reason)"
        case .unwritableFile(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

/// Byte-level BPE tokenizer giving the same ids as transformers' CLIPTokenizer.
public struct CLIPTokenizer: Sendable {
    static let startText = "<|startoftext|>"
    static let endText = "<|endoftext|>"

    /// How many ids `encode` returns, start and end tokens included.
    public let contextLength: Int
    /// The ids that open and close every encoded text, and fill the rest of the context.
    public let startToken: Int32, endToken: Int32, padToken: Int32

    private let tokenIds: [String: Int32]
    private let tokenStrings: [Int32: String]
    private let merges: MergeTable
    /// Special tokens are matched in the raw text before normalisation, longest first.
    private let specialTokens: [(bytes: [UInt8], id: Int32)]
    private let specialFirstBytes: Set<UInt8>
    private let cache = WordCache(capacity: 65_536)

    /// How many tokens the vocabulary holds.
    public var vocabularySize: Int { tokenIds.count }

    /// Loads vocab.json and merges.txt from a checkpoint directory, with the pad token that
    /// special_tokens_map.json or tokenizer_config.json names (else the end token).
    public init(directory: URL, contextLength: Int = 77) throws {
        try self.init(
            vocabulary: directory.appendingPathComponent("vocab.json"),
            merges: directory.appendingPathComponent("merges.txt"),
            contextLength: contextLength,
            padText: try Self.configuredToken("pad_token", in: directory))
    }

    /// Loads a vocabulary and its merges; the end token pads.
    public init(vocabulary: URL, merges: URL, contextLength: Int = 77) throws {
        try self.init(
            vocabulary: vocabulary, merges: merges, contextLength: contextLength, padText: nil)
    }

    private init(vocabulary: URL, merges: URL, contextLength: Int, padText: String?) throws {
        precondition(contextLength >= 2, "a context must hold the start and end tokens")
        self.contextLength = contextLength
        let vocab = try Self.readVocabulary(vocabulary)
        tokenIds = vocab
        tokenStrings = Dictionary(uniqueKeysWithValues: vocab.map { ($1, $0) })

        func id(of token: String) throws -> Int32 {
            guard let id = vocab[token] else {
                throw TokenizerError.missingToken(path: vocabulary.path, token: token)
            }
            return id
        }
        startToken = try id(of: Self.startText)
        endToken = try id(of: Self.endText)
        padToken = try padText.map(id(of:)) ?? endToken
        var specials = [(Self.startText, startToken), (Self.endText, endToken)]
        if let padText, padText != Self.startText, padText != Self.endText {
            specials.append((padText, padToken))
        }
        specialTokens = specials.filter { !$0.0.isEmpty }.map { (Array($0.0.utf8), $0.1) }
            .sorted { $0.bytes.count > $1.bytes.count }
        specialFirstBytes = Set(specialTokens.map { $0.bytes[0] })

        // A byte missing from the vocabulary becomes the unknown token, the end token in CLIP.
        let alphabet = ByteAlphabet.characters.map { String($0) }
        let unknown = endToken
        self.merges = MergeTable(
            pairs: try Self.readMerges(merges, vocabulary: vocab),
            byteSymbols: alphabet.map { vocab[$0] ?? unknown },
            finalByteSymbols: alphabet.map { vocab[$0 + "</w>"] ?? unknown })
    }

    /// The ids of a text between start and end tokens, cut to fit the context, unpadded.
    public func tokens(_ text: String) -> [Int32] {
        let limit = contextLength - 2
        var body: [Int32] = []
        body.reserveCapacity(limit + 8)
        forEachSegment(of: text) { segment, special in
            if let special {
                body.append(special)
            } else {
                encodeWords(of: segment, into: &body, limit: limit)
            }
            return body.count < limit
        }
        return [startToken] + body.prefix(limit) + [endToken]
    }

    /// The ids of a text padded with the pad token to exactly `contextLength`.
    public func encode(_ text: String) -> [Int32] {
        var ids = tokens(text)
        ids.append(contentsOf: repeatElement(padToken, count: contextLength - ids.count))
        return ids
    }

    /// The padded ids of each text.
    public func encode(_ texts: [String]) -> [[Int32]] { texts.map { encode($0) } }

    /// The text of some ids, without special tokens, each word followed by a space, trimmed.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id != startToken && id != endToken && id != padToken {
            guard let token = tokenStrings[id] else { continue }
            ByteAlphabet.appendBytes(of: token, to: &bytes)
        }
        let text = String(decoding: Self.replacingWordEnds(bytes), as: UTF8.self)
        // Python's strip also removes the four separator controls U+001C to U+001F.
        let isStripped: (Unicode.Scalar) -> Bool = {
            $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value)
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isStripped($0) }),
            let last = scalars.lastIndex(where: { !isStripped($0) })
        else { return "" }
        return String(scalars[first...last])
    }

    /// Turns every `</w>` into a space; done on bytes so no grapheme can hide the marker.
    private static func replacingWordEnds(_ bytes: [UInt8]) -> [UInt8] {
        let marker = Array("</w>".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == marker[0], index + marker.count <= bytes.count,
                bytes[index..<index + marker.count].elementsEqual(marker)
            {
                result.append(0x20)
                index += marker.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    /// Splits raw text at special tokens and calls `body` with each piece, until it returns
    /// false; a special token comes as its id, other text with a nil id.
    private func forEachSegment(of text: String, _ body: (String, Int32?) -> Bool) {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { specialFirstBytes.contains($0) }) else {
            _ = body(text, nil)
            return
        }
        var start = 0
        var index = 0
        while index < bytes.count {
            let found = specialTokens.first { special in
                index + special.bytes.count <= bytes.count
                    && bytes[index..<index + special.bytes.count].elementsEqual(special.bytes)
            }
            guard let found else {
                index += 1
                continue
            }
            if start < index {
                let segment = String(decoding: bytes[start..<index], as: UTF8.self)
                guard body(segment, nil) else { return }
            }
            guard body("", found.id) else { return }
            index += found.bytes.count
            start = index
        }
        if start < bytes.count {
            _ = body(String(decoding: bytes[start...], as: UTF8.self), nil)
        }
    }

    /// Appends the BPE ids of each word of a text until `limit` ids are reached.
    private func encodeWords(of text: String, into ids: inout [Int32], limit: Int) {
        TextSplitter.forEachWord(in: TextSplitter.normalize(text)) { word in
            if let known = cache.ids(for: word) {
                ids.append(contentsOf: known)
            } else {
                var encoded: [Int32] = []
                merges.encode(word, into: &encoded)
                cache.store(encoded, for: word)
                ids.append(contentsOf: encoded)
            }
            return ids.count < limit
        }
    }
}

extension CLIPTokenizer {
    static func read(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TokenizerError.missingFile(path: url.path)
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
    }

    /// Reads vocab.json: one JSON object from token to a non-negative, unique id.
    static func readVocabulary(_ url: URL) throws -> [String: Int32] {
        let data = try read(url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.malformedVocabulary(path: url.path, reason: "not JSON: \(error)")
        }
        guard let entries = object as? [String: Any] else {
            throw TokenizerError.malformedVocabulary(path: url.path, reason: "not a JSON object")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(entries.count)
        var seen = Set<Int32>()
        for (token, value) in entries {
            guard let number = value as? NSNumber, let id = Int32(exactly: number.doubleValue),
                id >= 0
            else {
                throw TokenizerError.malformedVocabulary(
                    path: url.path, reason: "token \(token.debugDescription) has id \(value)")
            }
            guard seen.insert(id).inserted else {
                throw TokenizerError.malformedVocabulary(
                    path: url.path, reason: "id \(id) is given to two tokens")
            }
            vocab[token] = id
        }
        return vocab
    }

    /// Reads merges.txt: an optional `#version` line, then one `left right` pair per line,
    /// highest priority first; both halves and their concatenation must be tokens.
    static func readMerges(_ url: URL, vocabulary: [String: Int32]) throws -> [UInt64: UInt64] {
        let data = try read(url)
        var pairs: [UInt64: UInt64] = [:]
        pairs.reserveCapacity(vocabulary.count)
        var rank: UInt64 = 0
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var text = String(decoding: line, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            if text.isEmpty || (lineNumber == 1 && text.hasPrefix("#version")) { continue }
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformedMerges(
                    path: url.path, line: lineNumber,
                    reason: "expected two tokens separated by one space, found \(text)")
            }
            var ids: [Int32] = []
            for token in [String(parts[0]), String(parts[1]), String(parts[0] + parts[1])] {
                guard let id = vocabulary[token] else {
                    throw TokenizerError.malformedMerges(
                        path: url.path, line: lineNumber,
                        reason: "token \(token) is not in the vocabulary")
                }
                ids.append(id)
            }
            // A repeated pair keeps its last rank, as transformers' loader does.
            let key = UInt64(UInt32(ids[0])) << 32 | UInt64(UInt32(ids[1]))
            pairs[key] = rank << 32 | UInt64(UInt32(ids[2]))
            rank += 1
        }
        return pairs
    }

    /// The token a checkpoint's tokenizer configs give for `key`; special_tokens_map.json
    /// wins over tokenizer_config.json, as in transformers.
    static func configuredToken(_ key: String, in directory: URL) throws -> String? {
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: try read(url))
            } catch let error as TokenizerError {
                throw error
            } catch {
                throw TokenizerError.malformedConfig(path: url.path, reason: "not JSON: \(error)")
            }
            guard let config = object as? [String: Any] else {
                throw TokenizerError.malformedConfig(path: url.path, reason: "not a JSON object")
            }
            switch config[key] {
            case nil, is NSNull:
                continue
            case let token as String:
                return token
            case let entry as [String: Any]:
                guard let token = entry["content"] as? String else {
                    throw TokenizerError.malformedConfig(
                        path: url.path, reason: "\(key) has no string content")
                }
                return token
            case let other?:
                throw TokenizerError.malformedConfig(
                    path: url.path, reason: "\(key) is \(other), not a token")
            }
        }
        return nil
    }
}
