// Tests of Key: byte layout, ordering that matches the order of the parts, and reading the
// parts back, including strings with 0 bytes and integers whose bytes look like escapes.
import ArfStore
import Testing

@Suite("Key")
struct KeyTests {
    @Test("string parts are their UTF-8 bytes each ended by a 0 byte")
    func stringLayout() {
        let key = Key("model", "dataset", "item")
        #expect(key.bytes == Array("model\u{0}dataset\u{0}item\u{0}".utf8))
        #expect(Key("model").appending("dataset").appending("item") == key)
        #expect(("model" as Key).appending("dataset").bytes == Key("model", "dataset").bytes)
    }

    @Test("unsigned integer keys sort in numeric order")
    func unsignedOrder() {
        let values: [UInt64] = [
            0, 1, 255, 256, 65_535, 1 << 32, 1 << 56, 0xff00_0000_0000_0000,
            UInt64.max - 1, UInt64.max,
        ]
        let sortedByKey = values.shuffled().sorted { Key($0) < Key($1) }
        #expect(sortedByKey == values)
        #expect(Key(258).bytes == [0, 0, 0, 0, 0, 0, 1, 2])
    }

    @Test("signed integer keys sort negative numbers first")
    func signedOrder() {
        let values: [Int64] = [Int64.min, -1_000_000, -256, -1, 0, 1, 255, 1 << 40, Int64.max]
        let sortedByKey = values.shuffled().sorted {
            Key.empty.appending(signed: $0) < Key.empty.appending(signed: $1)
        }
        #expect(sortedByKey == values)
    }

    @Test("composite keys sort part by part, also with 0 and 1 bytes inside strings")
    func compositeOrder() {
        let tuples: [[String]] = [
            ["", "z"], ["a"], ["a", ""], ["a", "b"], ["a\u{0}"], ["a\u{0}", "a"], ["a\u{1}"],
            ["a\u{2}"], ["ab"], ["ab", "c"], ["b"], ["é"],
        ]
        let byTuple = tuples.shuffled().sorted { a, b in
            a.lexicographicallyPrecedes(b) { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
        }
        let byKey = tuples.shuffled().sorted { a, b in
            Key(bytes: a.flatMap { Key($0).bytes }) < Key(bytes: b.flatMap { Key($0).bytes })
        }
        #expect(byKey == byTuple)
        #expect(byTuple == tuples)
    }

    @Test("a reader gets back every part, even an integer after a string with a 0 byte")
    func readerRoundTrip() {
        let key = Key("run\u{0}\u{1}x").appending(0xff01_0203_0405_0607).appending(signed: -7)
            .appending("")
        var reader = key.reader()
        #expect(reader.readString() == "run\u{0}\u{1}x")
        #expect(reader.readUInt64() == 0xff01_0203_0405_0607)
        #expect(reader.readInt64() == -7)
        #expect(reader.readString() == "")
        #expect(reader.isAtEnd)
        #expect(Key("a", "b\u{0}", "c").strings == ["a", "b\u{0}", "c"])
    }

    @Test("a reader returns nil for bytes that do not hold the requested part")
    func readerRejectsMalformedBytes() {
        var unterminated = Key(bytes: Array("abc".utf8)).reader()
        #expect(unterminated.readString() == nil)
        var badEscape = Key(bytes: [0x61, 1, 7, 0]).reader()
        #expect(badEscape.readString() == nil)
        var badUTF8 = Key(bytes: [0xff, 0xfe, 0]).reader()
        #expect(badUTF8.readString() == nil)
        var short = Key(bytes: [1, 2, 3]).reader()
        #expect(short.readUInt64() == nil)
        #expect(short.remaining == [1, 2, 3])
        #expect(Key(7).strings == nil)
    }

    @Test("description prints ASCII and escapes every other byte")
    func description() {
        #expect(Key("job", "a b").description == "job\\0a b\\0")
        #expect(Key(bytes: [0x41, 0xff, 0x5c]).description == "A\\xff\\\\")
    }

    @Test("hasPrefix compares bytes")
    func prefix() {
        #expect(Key("model", "data").hasPrefix(Key("model")))
        #expect(!Key("models", "data").hasPrefix(Key("model")))
        #expect(Key(5).hasPrefix(.empty))
    }
}
