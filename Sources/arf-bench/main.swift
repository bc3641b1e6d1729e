// arf-bench: speed measurements that print ratios against a reference measured in the same
// run. Each part is a sub-command; `arf-bench --help` lists them.
import ArfSupport
import ArfTensor
import Foundation

let usage = """
    usage: arf-bench <part> [options]

    parts:
      engine     CLIP forward and train-step rates against PyTorch (transformers' CLIPModel)
      retrieval  exact and IVF top-k search against faiss (IndexFlatIP, IVF,Flat)
      wire       the daemon's overhead per call: status and classify through arfd

    Run `arf-bench <part> --help` for a part's options. Build with `swift build -c release`;
    a debug build measures nothing useful.
    """

Compute.reexecWithShortBLASSpin()
var words = Array(CommandLine.arguments.dropFirst())
let part = words.isEmpty ? "--help" : words.removeFirst()
do {
    switch part {
    case "engine":
        try EngineBenchmark.main(words)
    case "retrieval":
        try RetrievalBenchmark.main(words)
    case "wire":
        try WireBenchmark.main(words)
    case "engine-child":
        try EngineBenchmark.child(words)
    case "--help", "-h", "help":
        print(usage)
    default:
        throw UsageError("unknown part \(part)", hint: "arf-bench --help lists the parts")
    }
} catch let error as UsageError {
    FileHandle.standardError.write(Data("arf-bench: \(error.message)\n".utf8))
    if !error.hint.isEmpty { FileHandle.standardError.write(Data("hint: \(error.hint)\n".utf8)) }
    exit(2)
} catch {
    FileHandle.standardError.write(Data("arf-bench: \(error)\n".utf8))
    exit(1)
}
