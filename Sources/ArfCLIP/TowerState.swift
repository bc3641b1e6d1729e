// What a tower keeps between its forward and backward passes, and the buffers it reuses
// from one batch to the next. A state belongs to one caller at a time: concurrent callers of
// one model each bring their own.
import ArfTensor

/// Activations and temporaries of one tower for one caller.
public final class TowerState {
    /// hidden[i] is the input of block i; hidden[layers] the last block's output. Without
    /// training only two alternate.
    var hidden: [Tensor] = []
    var layers: [LayerActivations] = []
    let scratch = EncoderScratch()
    var dHidden = [Tensor(zeros: [0]), Tensor(zeros: [0])]

    // Vision: patches, their projection, and the embeddings before the first norm.
    let patches = Tensor(zeros: [0]), projected = Tensor(zeros: [0])
    let embedded = Tensor(zeros: [0]), preMean = Tensor(zeros: [0]), preRstd = Tensor(zeros: [0])

    // Both: the pooled rows, their norm, and the projected features.
    let pooled = Tensor(zeros: [0]), pooledNorm = Tensor(zeros: [0])
    let poolMean = Tensor(zeros: [0]), poolRstd = Tensor(zeros: [0])
    let features = Tensor(zeros: [0])
    let dPooledNorm = Tensor(zeros: [0]), dPooled = Tensor(zeros: [0])

    // Text: the token ids actually fed (trimmed to the longest sequence), and pooled rows.
    var ids: [Int32] = []
    var pooledRows: [Int] = []
    var shape = AttentionShape(sequences: 0, tokens: 1, heads: 1, width: 1, causal: false)
    var trained = false

    public init() {}

    /// Makes sure there are buffers for `layers` blocks, kept apart when training.
    func prepare(layers count: Int, training: Bool) {
        let needed = training ? count + 1 : 2
        while hidden.count < needed { hidden.append(Tensor(zeros: [0])) }
        let activations = training ? Swift.max(count, 1) : 1
        while layers.count < activations { layers.append(LayerActivations()) }
        trained = training
    }

    /// The input and output buffers and activations of block i.
    func block(_ i: Int) -> (x: Tensor, out: Tensor, a: LayerActivations) {
        trained
            ? (hidden[i], hidden[i + 1], layers[i])
            : (hidden[i % 2], hidden[(i + 1) % 2], layers[0])
    }

    /// The buffer holding the last block's output after `count` blocks.
    func output(after count: Int) -> Tensor { trained ? hidden[count] : hidden[count % 2] }

    /// Releases every buffer (after a training run, say).
    public func release() {
        hidden = []
        layers = []
    }
}
