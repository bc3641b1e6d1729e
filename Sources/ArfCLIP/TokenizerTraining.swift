// Builds a small CLIP-style vocabulary from a corpus, for toy models and tests: byte-level BPE
// over the same words the tokenizer splits text into, written as the vocab.json and merges.txt
// that both this tokenizer and transformers load. It counts every word in memory, so it suits
// corpora of captions rather than of books; it has no minimum frequency and no dropout.
import Foundation

extension CLIPTokenizer {
    /// Learns up to `mergeCount` merges from a corpus (fewer once every word is one token),
    /// returning the vocabulary in OpenAI's order and the merges by priority.
    public static func train(
        corpus: [String], mergeCount: Int
    ) -> (vocab: [String: Int], merges: [(String, String)]) {
        var frequencies: [[UInt8]: Int] = [:]
        for text in corpus {
            TextSplitter.forEachWord(in: TextSplitter.normalize(text)) { word in
                frequencies[word, default: 0] += 1
                return true
            }
        }
        var trainer = MergeTrainer(frequencies: frequencies)
        let merges = trainer.run(mergeCount: mergeCount)

        // Bytes, then bytes ending a word, then one token per new merge, then the specials.
        var vocab: [String: Int] = [:]
        for (index, byte) in ByteAlphabet.vocabularyOrder.enumerated() {
            let character = String(ByteAlphabet.characters[Int(byte)])
            vocab[character] = index
            vocab[character + "</w>"] = 256 + index
        }
        for (left, right) in merges where vocab[left + right] == nil {
            vocab[left + right] = vocab.count
        }
        vocab[startText] = vocab.count
        vocab[endText] = vocab.count
        return (vocab, merges)
    }

    /// Writes vocab.json (by id) and merges.txt (after a `#version: 0.2` line) into a
    /// directory, creating it if needed.
    public static func write(
        vocab: [String: Int], merges: [(String, String)], to directory: URL
    ) throws {
        for (left, right) in merges {
            for token in [left, right]
            where token.isEmpty || token.contains(where: \.isWhitespace) {
                throw TokenizerError.invalidToken(
                    token, reason: "a merge half must be non-empty and free of whitespace")
            }
        }
        let entries = vocab.sorted { $0.value < $1.value }
            .map { "  \(jsonString($0.key)): \($0.value)" }
        let vocabText = "{\n" + entries.joined(separator: ",\n") + "\n}\n"
        let mergesText = (["#version: 0.2"] + merges.map { "\($0.0) \($0.1)" })
            .joined(separator: "\n") + "\n"

        let files = [("vocab.json", vocabText), ("merges.txt", mergesText)]
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            do {
                try FileManager.default.createDirectory(
                    at: directory, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url, options: .atomic)
            } catch {
                throw TokenizerError.unwritableFile(path: url.path, reason: "\(error)")
            }
        }
    }

    /// A JSON string literal; vocab tokens hold quotes and backslashes but never controls,
    /// which are escaped anyway.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Greedy BPE training: merge the most frequent adjacent pair everywhere, again and again.
///
/// Pair counts are kept up to date word by word, so a merge costs the length of the words that
/// hold the pair instead of a pass over the whole corpus.
struct MergeTrainer {
    /// A candidate merge; the heap puts the most frequent first and breaks ties by the older
    /// symbols, so training does not depend on dictionary order.
    struct Candidate: Comparable {
        var count: Int
        var pair: UInt64

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.count != b.count ? a.count > b.count : a.pair < b.pair
        }
    }

    private var spellings: [String] = []
    private var symbolIds: [String: Int32] = [:]
    private var words: [[Int32]] = []
    private var wordCounts: [Int] = []
    private var pairCounts: [UInt64: Int] = [:]
    /// The words in which each pair has appeared; a word may be listed more than once.
    private var pairWords: [UInt64: [Int]] = [:]
    private var queue = MinHeap<Candidate>()

    init(frequencies: [[UInt8]: Int]) {
        for byte in ByteAlphabet.vocabularyOrder {
            _ = symbol(String(ByteAlphabet.characters[Int(byte)]))
        }
        for byte in ByteAlphabet.vocabularyOrder {
            _ = symbol(String(ByteAlphabet.characters[Int(byte)]) + "</w>")
        }
        for (bytes, count) in frequencies {
            var word = bytes.map { symbolIds[String(ByteAlphabet.characters[Int($0)])]! }
            word[word.count - 1] = symbolIds[spellings[Int(word[word.count - 1])] + "</w>"]!
            let index = words.count
            words.append(word)
            wordCounts.append(count)
            for (left, right) in zip(word, word.dropFirst()) {
                let pair = Self.pair(left, right)
                pairCounts[pair, default: 0] += count
                pairWords[pair, default: []].append(index)
            }
        }
        for (pair, count) in pairCounts { queue.push(Candidate(count: count, pair: pair)) }
    }

    static func pair(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    }

    /// The id of a spelling, made up if it is new.
    private mutating func symbol(_ spelling: String) -> Int32 {
        if let id = symbolIds[spelling] { return id }
        let id = Int32(spellings.count)
        spellings.append(spelling)
        symbolIds[spelling] = id
        return id
    }

    /// Merges until `mergeCount` merges are made or no pair is left.
    mutating func run(mergeCount: Int) -> [(String, String)] {
        var merges: [(String, String)] = []
        var visited = [Int](repeating: -1, count: words.count)
        while merges.count < mergeCount, let best = queue.pop() {
            // Entries go stale when a count changes; the fresh one was pushed alongside.
            guard best.count > 0, pairCounts[best.pair] == best.count else { continue }
            let left = Int32(truncatingIfNeeded: best.pair >> 32)
            let right = Int32(truncatingIfNeeded: best.pair)
            merges.append((spellings[Int(left)], spellings[Int(right)]))
            let merged = symbol(spellings[Int(left)] + spellings[Int(right)])

            var changed = Set<UInt64>()
            for index in pairWords.removeValue(forKey: best.pair) ?? [] {
                guard visited[index] != merges.count else { continue }
                visited[index] = merges.count
                rewrite(index, left: left, right: right, merged: merged, changed: &changed)
            }
            for pair in changed {
                let count = pairCounts[pair] ?? 0
                if count > 0 { queue.push(Candidate(count: count, pair: pair)) }
            }
        }
        return merges
    }

    /// Replaces every `left right` in one word by `merged`, left to right, moving its counts.
    private mutating func rewrite(
        _ index: Int, left: Int32, right: Int32, merged: Int32, changed: inout Set<UInt64>
    ) {
        let old = words[index]
        let count = wordCounts[index]
        var new: [Int32] = []
        new.reserveCapacity(old.count)
        var position = 0
        while position < old.count {
            if position + 1 < old.count, old[position] == left, old[position + 1] == right {
                new.append(merged)
                position += 2
            } else {
                new.append(old[position])
                position += 1
            }
        }
        guard new.count != old.count else { return }
        for (a, b) in zip(old, old.dropFirst()) {
            let pair = Self.pair(a, b)
            let remaining = pairCounts[pair, default: 0] - count
            pairCounts[pair] = remaining > 0 ? remaining : nil
            changed.insert(pair)
        }
        for (a, b) in zip(new, new.dropFirst()) {
            let pair = Self.pair(a, b)
            pairCounts[pair, default: 0] += count
            changed.insert(pair)
            // Only pairs next to the new symbol can be new to this word.
            if a == merged || b == merged { pairWords[pair, default: []].append(index) }
        }
        words[index] = new
    }
}
