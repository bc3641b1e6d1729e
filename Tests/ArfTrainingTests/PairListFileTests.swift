// The pair-list file format that pool datasets and pretraining both read: quoted fields,
// named columns, the separator by extension, paths relative to the list, and errors that
// name the file and the line.
import ArfTraining
import Foundation
import Testing

@Suite("Pair-list files") struct PairListFileTests {
    /// Writes `text` as `name` in `folder` and returns its path.
    func write(_ text: String, _ name: String, in folder: URL) throws -> String {
        let file = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    @Test("quoted fields, extra columns, blank lines and absolute paths are read")
    func reads() throws {
        try withTemporaryFolder { folder in
            let csv = try write(
                "id,caption,filepath\n1,\"a red, round thing\",a.png\n\n"
                    + "2,\"she said \"\"hi\"\"\nthen left\",/data/b.png\r\n",
                "pairs.csv", in: folder)
            let list = try PairListFile(csv)
            #expect(list.pairs.map(\.path) == ["a.png", "/data/b.png"])
            #expect(
                list.pairs.map(\.caption) == ["a red, round thing", "she said \"hi\"\nthen left"])
            #expect(list.file(0).path == folder.appendingPathComponent("a.png").path)
            #expect(list.file(1).path == "/data/b.png")

            let tsv = try write("img\ttext\nx.png\t  a sketch  \n", "other.tsv", in: folder)
            let named = try PairListFile(tsv, filepathColumn: "img", captionColumn: "text")
            #expect(named.pairs.map(\.caption) == ["a sketch"])
            #expect(PairListFile.defaultSeparator(for: "P.CSV") == ",")
            #expect(PairListFile.defaultSeparator(for: "p.txt") == "\t")
        }
    }

    @Test("a malformed list is refused with the file and the line")
    func refuses() throws {
        try withTemporaryFolder { folder in
            let cases: [(String, String)] = [
                ("", "it is empty"),
                ("path\tcaption\na.png\tx\n", "no column filepath"),
                ("filepath\tcaption\n", "no pairs"),
                ("filepath\tcaption\na.png\tfine\nb.png\n", "line 3: expected 2 fields, found 1"),
                ("filepath\tcaption\na.png\t  \n", "line 2: the caption of a.png is empty"),
                ("filepath\tcaption\na.png\t\"never closed\n", "line 2: a quoted field"),
            ]
            for (index, (text, reason)) in cases.enumerated() {
                let file = try write(text, "list\(index).tsv", in: folder)
                #expect {
                    try PairListFile(file)
                } throws: {
                    "\($0)".contains(file) && "\($0)".contains(reason)
                }
            }
        }
    }
}
