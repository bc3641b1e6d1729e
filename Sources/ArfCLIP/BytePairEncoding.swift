// The text side of CLIP's byte-level BPE: the byte-to-character alphabet that vocabulary files
// are written in, the normalisation and word splitting that decide what BPE sees, and the merge
// loop with its cache of already encoded words. Reading files and special tokens live in
// Tokenizer.swift; nothing here knows about ids beyond what the merge table holds.
import Foundation

/// The byte-level alphabet: every byte is spelled as one printable character in vocab files.
enum ByteAlphabet {
    /// Bytes that stand for themselves; the others are moved to U+0100 and up, in byte order.
    static func isPrintable(_ byte: Int) -> Bool {
        (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
    }

    /// The character of each byte, indexed by byte value.
    static let characters: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: "\0", count: 256)
        var moved: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                result[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                result[byte] = Unicode.Scalar(moved)!
                moved += 1
            }
        }
        return result
    }()

    /// The byte each alphabet character stands for.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var result: [Unicode.Scalar: UInt8] = [:]
        for (byte, character) in characters.enumerated() { result[character] = UInt8(byte) }
        return result
    }()

    /// Bytes in the order the OpenAI vocabulary lists them: printable ones first.
    static let vocabularyOrder: [UInt8] =
        (0..<256).filter { isPrintable($0) }.map { UInt8($0) }
        + (0..<256).filter { !isPrintable($0) }.map { UInt8($0) }

    /// Spells bytes in the alphabet.
    static func spell<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var result = String.UnicodeScalarView()
        for byte in bytes { result.append(characters[Int(byte)]) }
        return String(result)
    }

    /// Appends the bytes a vocabulary token spells; a token with a character outside the
    /// alphabet (a special token, say) contributes its own UTF-8 bytes, as transformers does.
    static func appendBytes(of token: String, to output: inout [UInt8]) {
        let start = output.count
        for character in token.unicodeScalars {
            guard let byte = bytes[character] else {
                output.removeSubrange(start...)
                output.append(contentsOf: token.utf8)
                return
            }
            output.append(byte)
        }
    }
}

/// How CLIP's word-splitting pattern sees one character.
enum CharacterClass {
    case space, letter, number, other

    private static let ascii: [CharacterClass] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        if scalar.properties.isWhitespace { return .space }
        if (0x61...0x7A).contains(value) || (0x41...0x5A).contains(value) { return .letter }
        if (0x30...0x39).contains(value) { return .number }
        return .other
    }

    /// The class of a scalar, as the regex engine inside transformers' tokenizer decides it.
    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 128 {
            self = Self.ascii[Int(scalar.value)]
            return
        }
        let properties = scalar.properties
        if properties.isWhitespace {
            self = .space
            return
        }
        // That engine knows Unicode 16: letters and digits assigned later count as other there.
        if let age = properties.age, age.major > 16 {
            self = .other
            return
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }
}

/// Normalisation and word splitting of CLIP's tokenizer.
enum TextSplitter {
    /// Composes (NFC) and lower-cases text, one scalar at a time as transformers does.
    ///
    /// Runs of whitespace are not folded into one space: whitespace only separates words and
    /// never reaches BPE, so folding would not change a single id.
    static func normalize(_ text: String) -> [Unicode.Scalar] {
        let scalars = Array(text.unicodeScalars)
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count)
        // Foundation's composition slows down more than linearly on long strings, so long
        // text is composed in pieces cut where composition cannot reach across.
        var start = 0
        while start < scalars.count {
            var end = min(start + compositionPiece, scalars.count)
            while end < scalars.count, !isCompositionBoundary(scalars[end]) { end += 1 }
            let piece = scalars[start..<end]
            // Nothing below U+0300 composes with a neighbour or has a singleton decomposition.
            if piece.contains(where: { $0.value >= 0x300 }) {
                let composed = String(String.UnicodeScalarView(piece))
                    .precomposedStringWithCanonicalMapping
                appendLowercased(composed.unicodeScalars, to: &result)
            } else {
                appendLowercased(piece, to: &result)
            }
            start = end
        }
        return result
    }

    /// How many scalars Foundation composes at once, give or take a boundary.
    static let compositionPiece = 256

    /// Whether composition never joins a scalar to what precedes it: a starter that is not a
    /// mark and not a Hangul vowel or final consonant, which are all that composes onto a
    /// preceding character.
    static func isCompositionBoundary(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x300 { return true }
        if (0x1160...0x11FF).contains(scalar.value) { return false }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return false
        default: return properties.canonicalCombiningClass == .notReordered
        }
    }

    private static func appendLowercased<Scalars: Sequence>(
        _ scalars: Scalars, to result: inout [Unicode.Scalar]
    ) where Scalars.Element == Unicode.Scalar {
        for scalar in scalars {
            if scalar.value < 128 {
                let value = scalar.value
                result.append((0x41...0x5A).contains(value) ? Unicode.Scalar(value + 32)! : scalar)
            } else if scalar.properties.changesWhenLowercased {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
    }

    private static let specialNames: [[Unicode.Scalar]] =
        ["startoftext", "endoftext"].map { Array($0.unicodeScalars) }

    /// Calls `body` with the UTF-8 bytes of each word of normalised text, in order, until it
    /// returns false.
    ///
    /// Words are what CLIP's pattern matches: the two special-token spellings (which the
    /// byte-level step then cuts into `<|`, the name and `|>`), the contractions 's 't 're 've
    /// 'm 'll 'd, runs of letters, single digits and runs of anything else but whitespace.
    static func forEachWord(in text: [Unicode.Scalar], _ body: ([UInt8]) -> Bool) {
        var word: [UInt8] = []
        var position = 0
        func emit(_ range: Range<Int>) -> Bool {
            word.removeAll(keepingCapacity: true)
            for scalar in text[range] { UTF8.encode(scalar) { word.append($0) } }
            return body(word)
        }
        while position < text.count {
            let scalar = text[position]
            if scalar == "<", let name = specialName(in: text, at: position) {
                let nameEnd = position + 2 + name
                guard emit(position..<position + 2), emit(position + 2..<nameEnd),
                    emit(nameEnd..<nameEnd + 2)
                else { return }
                position = nameEnd + 2
                continue
            }
            if scalar == "'", let length = contractionLength(in: text, at: position) {
                guard emit(position..<position + length) else { return }
                position += length
                continue
            }
            let kind = CharacterClass(scalar)
            var end = position + 1
            switch kind {
            case .space:
                position = end
                continue
            case .number:
                break
            case .letter:
                while end < text.count, CharacterClass(text[end]) == .letter { end += 1 }
            case .other:
                while end < text.count {
                    let next = CharacterClass(text[end])
                    if next == .space || next == .letter || next == .number { break }
                    end += 1
                }
            }
            guard emit(position..<end) else { return }
            position = end
        }
    }

    /// The length of the special-token name when `<|name|>` starts at `position`.
    private static func specialName(in text: [Unicode.Scalar], at position: Int) -> Int? {
        guard position + 1 < text.count, text[position + 1] == "|" else { return nil }
        for name in specialNames {
            let end = position + 2 + name.count
            guard end + 2 <= text.count, text[end] == "|", text[end + 1] == ">" else { continue }
            if text[(position + 2)..<end].elementsEqual(name) { return name.count }
        }
        return nil
    }

    /// The length of a contraction starting with the apostrophe at `position`.
    private static func contractionLength(in text: [Unicode.Scalar], at position: Int) -> Int? {
        guard position + 1 < text.count else { return nil }
        switch text[position + 1] {
        case "s", "t", "m", "d":
            return 2
        case "r", "v", "l":
            guard position + 2 < text.count else { return nil }
            let pair = (text[position + 1], text[position + 2])
            return pair == ("r", "e") || pair == ("v", "e") || pair == ("l", "l") ? 3 : nil
        default:
            return nil
        }
    }
}

/// The merges of a vocabulary, applied to one word at a time.
struct MergeTable: Sendable {
    /// Keyed by `left << 32 | right`; the value is `rank << 32 | merged`.
    let pairs: [UInt64: UInt64]
    /// The id of each byte's character, and of it followed by `</w>` (the last of a word).
    let byteSymbols: [Int32]
    let finalByteSymbols: [Int32]

    /// The rank and result of merging two symbols, if the table has that merge.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32)? {
        guard let value = pairs[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] else {
            return nil
        }
        return (UInt32(value >> 32), Int32(truncatingIfNeeded: value))
    }

    /// Appends the ids of one word's bytes after merging by rank.
    ///
    /// The lowest-ranked pair is merged first and ties go to the leftmost pair; a heap of
    /// `rank << 32 | position` keeps a long word at n log n instead of n squared.
    func encode(_ word: [UInt8], into output: inout [Int32]) {
        let count = word.count
        guard count > 0 else { return }
        var symbols = [Int32](repeating: 0, count: count)
        var next = [Int](repeating: -1, count: count)
        var previous = [Int](repeating: -1, count: count)
        for index in 0..<count {
            let byte = Int(word[index])
            symbols[index] = index == count - 1 ? finalByteSymbols[byte] : byteSymbols[byte]
            next[index] = index + 1 < count ? index + 1 : -1
            previous[index] = index - 1
        }
        var heap = MinHeap<UInt64>()
        for index in 0..<(count - 1) {
            if let (rank, _) = merge(symbols[index], symbols[index + 1]) {
                heap.push(UInt64(rank) << 32 | UInt64(index))
            }
        }
        while let top = heap.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let right = next[position]
            // An entry is stale once either symbol took part in another merge.
            guard symbols[position] >= 0, right >= 0,
                let (rank, merged) = merge(symbols[position], symbols[right]),
                UInt64(rank) == top >> 32
            else { continue }
            symbols[position] = merged
            symbols[right] = -1
            next[position] = next[right]
            if next[right] >= 0 { previous[next[right]] = position }
            if previous[position] >= 0,
                let (rank, _) = merge(symbols[previous[position]], merged)
            {
                heap.push(UInt64(rank) << 32 | UInt64(previous[position]))
            }
            if next[position] >= 0, let (rank, _) = merge(merged, symbols[next[position]]) {
                heap.push(UInt64(rank) << 32 | UInt64(position))
            }
        }
        var index = 0
        while index >= 0 {
            output.append(symbols[index])
            index = next[index]
        }
    }
}

/// A binary min-heap.
struct MinHeap<Key: Comparable> {
    private var keys: [Key] = []

    mutating func push(_ key: Key) {
        keys.append(key)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Key? {
        guard let last = keys.popLast() else { return nil }
        guard !keys.isEmpty else { return last }
        let top = keys[0]
        keys[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < keys.count else { break }
            let right = left + 1
            let smaller = right < keys.count && keys[right] < keys[left] ? right : left
            guard keys[smaller] < keys[parent] else { break }
            keys.swapAt(smaller, parent)
            parent = smaller
        }
        return top
    }
}

/// Remembers the ids of short words; captions repeat words far more often than not.
final class WordCache: @unchecked Sendable {
    /// Longer words are rare and cheap to re-encode relative to their length.
    static let longestWord = 64
    private let capacity: Int
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]

    init(capacity: Int) { self.capacity = capacity }

    func ids(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ ids: [Int32], for word: [UInt8]) {
        guard word.count <= Self.longestWord else { return }
        lock.lock()
        defer { lock.unlock() }
        // Starting over when full keeps memory bounded without bookkeeping per lookup.
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
