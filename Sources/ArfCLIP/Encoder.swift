// The pre-norm transformer block both towers stack, forward and backward side by side:
//   h1  = x + out_proj(attention(layer_norm1(x)))
//   out = h1 + fc2(act(fc1(layer_norm2(h1))))
// Legend: B sequences, L tokens, N = B x L rows, D width, F MLP width.
// Weights live in `EncoderLayer`; what a forward pass leaves for its backward pass lives in
// `LayerActivations`, so that one set of weights can serve several callers, each with its
// own activations. `EncoderScratch` holds the backward pass's temporaries, shared by layers.
// The query, key and value projections share one block of memory, [3D, D] weights and [3D]
// biases, so that one product computes all three; each is still its own named parameter.
import ArfTensor

/// One transformer block's weights, named as the checkpoint names them under `prefix`.
public final class EncoderLayer {
    let config: TransformerConfig
    let qWeight, qBias, kWeight, kBias, vWeight, vBias, outWeight, outBias: Parameter
    let norm1Weight, norm1Bias, norm2Weight, norm2Bias: Parameter
    let fc1Weight, fc1Bias, fc2Weight, fc2Bias: Parameter
    let qkvWeight, qkvBias: ParameterBlock

    init(prefix: String, config: TransformerConfig) {
        self.config = config
        let d = config.hiddenSize
        let f = config.intermediateSize
        func p(_ name: String, _ shape: [Int], decays: Bool = false) -> Parameter {
            Parameter(name: "\(prefix).\(name)", shape: shape, decays: decays)
        }
        let qkvWeight = ParameterBlock(count: 3 * d * d)
        let qkvBias = ParameterBlock(count: 3 * d)
        func part(_ name: String, _ index: Int) -> (Parameter, Parameter) {
            let stem = "\(prefix).self_attn.\(name)_proj"
            return (
                Parameter(name: "\(stem).weight", shape: [d, d], decays: true, block: qkvWeight,
                          offset: index * d * d),
                Parameter(name: "\(stem).bias", shape: [d], decays: false, block: qkvBias,
                          offset: index * d))
        }
        (qWeight, qBias) = part("q", 0)
        (kWeight, kBias) = part("k", 1)
        (vWeight, vBias) = part("v", 2)
        self.qkvWeight = qkvWeight
        self.qkvBias = qkvBias
        outWeight = p("self_attn.out_proj.weight", [d, d], decays: true)
        outBias = p("self_attn.out_proj.bias", [d])
        norm1Weight = p("layer_norm1.weight", [d])
        norm1Bias = p("layer_norm1.bias", [d])
        fc1Weight = p("mlp.fc1.weight", [f, d], decays: true)
        fc1Bias = p("mlp.fc1.bias", [f])
        fc2Weight = p("mlp.fc2.weight", [d, f], decays: true)
        fc2Bias = p("mlp.fc2.bias", [d])
        norm2Weight = p("layer_norm2.weight", [d])
        norm2Bias = p("layer_norm2.bias", [d])
    }

    /// In checkpoint order.
    var parameters: [Parameter] {
        [
            kWeight, kBias, vWeight, vBias, qWeight, qBias, outWeight, outBias, norm1Weight,
            norm1Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, norm2Weight, norm2Bias,
        ]
    }

    /// Writes the block's output for input `x` [N, D] into `out`, keeping in `a` what the
    /// backward pass needs.
    func forward(x: Tensor, out: Tensor, a: LayerActivations, shape: AttentionShape) {
        let n = shape.sequences * shape.tokens
        let d = config.hiddenSize
        let f = config.intermediateSize
        a.reserve(rows: n, width: d, mlp: f, probabilities: shape.probabilityCount)
        out.resize([n, d])

        LayerNorm.forward(
            x: x.data, gamma: norm1Weight.value.data, beta: norm1Bias.value.data,
            y: a.norm1.data, mean: a.mean1.data, rstd: a.rstd1.data, n: n, d: d,
            eps: config.layerNormEps)
        Linear.forward(x: a.norm1.data, weight: qkvWeight.value.data, bias: qkvBias.value.data,
                       y: a.qkv.data, n: n, inputs: d, outputs: 3 * d)
        Attention.forward(q: a.qkv.data, k: a.qkv.data + d, v: a.qkv.data + 2 * d,
                          probs: a.probs.data, out: a.attended.data, shape: shape, stride: 3 * d)

        // h1 = x + out_proj(attended), built in place in h1.
        Linear.forward(x: a.attended.data, weight: outWeight.value.data,
                       bias: outBias.value.data, y: a.h1.data, n: n, inputs: d, outputs: d)
        add(x.data, into: a.h1.data, count: n * d)

        LayerNorm.forward(
            x: a.h1.data, gamma: norm2Weight.value.data, beta: norm2Bias.value.data,
            y: a.norm2.data, mean: a.mean2.data, rstd: a.rstd2.data, n: n, d: d,
            eps: config.layerNormEps)
        Linear.forward(x: a.norm2.data, weight: fc1Weight.value.data, bias: fc1Bias.value.data,
                       y: a.preActivation.data, n: n, inputs: d, outputs: f)
        config.activation.forward(x: a.preActivation.data, y: a.activated.data, count: n * f)
        Linear.forward(x: a.activated.data, weight: fc2Weight.value.data,
                       bias: fc2Bias.value.data, y: out.data, n: n, inputs: f, outputs: d)
        add(a.h1.data, into: out.data, count: n * d)
    }

    /// Given dOut [N, D], writes dx and accumulates every parameter's gradient.
    func backward(
        dOut: Tensor, x: Tensor, dx: Tensor, a: LayerActivations, s: EncoderScratch,
        shape: AttentionShape
    ) {
        let n = shape.sequences * shape.tokens
        let d = config.hiddenSize
        let f = config.intermediateSize
        s.reserve(rows: n, width: d, mlp: f)
        dx.resize([n, d])

        // MLP branch: dh1 starts as the residual's share of dOut.
        s.dh1.copy(from: dOut)
        Linear.backward(
            dy: dOut.data, x: a.activated.data, weight: fc2Weight.value.data,
            dx: s.dMLP.data, dWeight: fc2Weight.gradientData, dBias: fc2Bias.gradientData,
            n: n, inputs: f, outputs: d)
        config.activation.backward(
            dy: s.dMLP.data, x: a.preActivation.data, dx: s.dMLP.data, count: n * f)
        Linear.backward(
            dy: s.dMLP.data, x: a.norm2.data, weight: fc1Weight.value.data, dx: s.dNorm.data,
            dWeight: fc1Weight.gradientData, dBias: fc1Bias.gradientData, n: n, inputs: d,
            outputs: f)
        LayerNorm.backward(
            dy: s.dNorm.data, x: a.h1.data, mean: a.mean2.data, rstd: a.rstd2.data,
            gamma: norm2Weight.value.data, dx: s.dh1.data, dGamma: s.gradient(norm2Weight),
            dBeta: s.gradient(norm2Bias), n: n, d: d, accumulate: true)

        // Attention branch: dx starts as the residual's share of dh1.
        dx.copy(from: s.dh1)
        Linear.backward(
            dy: s.dh1.data, x: a.attended.data, weight: outWeight.value.data,
            dx: s.dAttended.data, dWeight: outWeight.gradientData, dBias: outBias.gradientData,
            n: n, inputs: d, outputs: d)
        Attention.backward(
            dOut: s.dAttended.data, q: a.qkv.data, k: a.qkv.data + d, v: a.qkv.data + 2 * d,
            probs: a.probs.data, dq: s.dQKV.data, dk: s.dQKV.data + d, dv: s.dQKV.data + 2 * d,
            shape: shape, stride: 3 * d)
        // The three projections train or stay frozen together (a tower is the unit).
        let trains = qWeight.trainable
        Linear.backward(
            dy: s.dQKV.data, x: a.norm1.data, weight: qkvWeight.value.data, dx: s.dNorm.data,
            dWeight: trains ? qkvWeight.gradient.data : nil,
            dBias: trains ? qkvBias.gradient.data : nil, n: n, inputs: d, outputs: 3 * d)
        LayerNorm.backward(
            dy: s.dNorm.data, x: x.data, mean: a.mean1.data, rstd: a.rstd1.data,
            gamma: norm1Weight.value.data, dx: dx.data, dGamma: s.gradient(norm1Weight),
            dBeta: s.gradient(norm1Bias), n: n, d: d, accumulate: true)
    }
}

/// y += x over `count` elements.
func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count, minimumPerChunk: 65536) { range in
        for i in range { y[i] += x[i] }
    }
}

/// What one block's forward pass keeps for its backward pass; buffers grow to the largest
/// batch seen and are reused after that.
public final class LayerActivations {
    let norm1 = Tensor(zeros: [0]), mean1 = Tensor(zeros: [0]), rstd1 = Tensor(zeros: [0])
    let qkv = Tensor(zeros: [0])
    let probs = Tensor(zeros: [0]), attended = Tensor(zeros: [0]), h1 = Tensor(zeros: [0])
    let norm2 = Tensor(zeros: [0]), mean2 = Tensor(zeros: [0]), rstd2 = Tensor(zeros: [0])
    let preActivation = Tensor(zeros: [0]), activated = Tensor(zeros: [0])

    func reserve(rows n: Int, width d: Int, mlp f: Int, probabilities: Int) {
        for t in [norm1, attended, h1, norm2] { t.resize([n, d]) }
        qkv.resize([n, 3 * d])
        for t in [mean1, rstd1, mean2, rstd2] { t.resize([n]) }
        probs.resize([probabilities])
        preActivation.resize([n, f])
        activated.resize([n, f])
    }
}

/// Temporaries of a backward pass through one block, shared by all blocks of a tower.
public final class EncoderScratch {
    let dh1 = Tensor(zeros: [0]), dNorm = Tensor(zeros: [0]), dAttended = Tensor(zeros: [0])
    let dQKV = Tensor(zeros: [0]), dMLP = Tensor(zeros: [0])

    func reserve(rows n: Int, width d: Int, mlp f: Int) {
        for t in [dh1, dNorm, dAttended] { t.resize([n, d]) }
        dQKV.resize([n, 3 * d])
        dMLP.resize([n, f])
    }

    private let sink = Tensor(zeros: [0])

    /// Where a kernel may accumulate `p`'s gradient: its own, or, for a frozen parameter
    /// that gradients still flow through, memory that nobody reads.
    func gradient(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        if p.trainable { return p.gradient.data }
        if sink.count < p.value.count { sink.resize([p.value.count]) }
        return sink.data
    }
}
