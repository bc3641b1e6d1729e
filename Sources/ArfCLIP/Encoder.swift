// The pre-norm transformer block both towers stack, forward and backward side by side:
//   h1  = x + out_proj(attention(layer_norm1(x)))
//   out = h1 + fc2(act(fc1(layer_norm2(h1))))
// Legend: B sequences, L tokens, N = B x L rows, D width, F MLP width.
// Weights live in `EncoderLayer`; what a forward pass leaves for its backward pass lives in
// `LayerActivations`, so that one set of weights can serve several callers, each with its
// own activations. `EncoderScratch` holds the backward pass's temporaries, shared by layers.
import ArfTensor

/// One transformer block's weights, named as the checkpoint names them under `prefix`.
public final class EncoderLayer {
    let config: TransformerConfig
    let qWeight, qBias, kWeight, kBias, vWeight, vBias, outWeight, outBias: Parameter
    let norm1Weight, norm1Bias, norm2Weight, norm2Bias: Parameter
    let fc1Weight, fc1Bias, fc2Weight, fc2Bias: Parameter

    init(prefix: String, config: TransformerConfig) {
        self.config = config
        let d = config.hiddenSize
        let f = config.intermediateSize
        func p(_ name: String, _ shape: [Int], decays: Bool = false) -> Parameter {
            Parameter(name: "\(prefix).\(name)", shape: shape, decays: decays)
        }
        qWeight = p("self_attn.q_proj.weight", [d, d], decays: true)
        qBias = p("self_attn.q_proj.bias", [d])
        kWeight = p("self_attn.k_proj.weight", [d, d], decays: true)
        kBias = p("self_attn.k_proj.bias", [d])
        vWeight = p("self_attn.v_proj.weight", [d, d], decays: true)
        vBias = p("self_attn.v_proj.bias", [d])
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
        Linear.forward(x: a.norm1.data, weight: qWeight.value.data, bias: qBias.value.data,
                       y: a.q.data, n: n, inputs: d, outputs: d)
        Linear.forward(x: a.norm1.data, weight: kWeight.value.data, bias: kBias.value.data,
                       y: a.k.data, n: n, inputs: d, outputs: d)
        Linear.forward(x: a.norm1.data, weight: vWeight.value.data, bias: vBias.value.data,
                       y: a.v.data, n: n, inputs: d, outputs: d)
        Attention.forward(q: a.q.data, k: a.k.data, v: a.v.data, probs: a.probs.data,
                          out: a.attended.data, shape: shape)

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
            dOut: s.dAttended.data, q: a.q.data, k: a.k.data, v: a.v.data, probs: a.probs.data,
            dq: s.dq.data, dk: s.dk.data, dv: s.dv.data, shape: shape)
        Linear.backward(
            dy: s.dq.data, x: a.norm1.data, weight: qWeight.value.data, dx: s.dNorm.data,
            dWeight: qWeight.gradientData, dBias: qBias.gradientData, n: n, inputs: d,
            outputs: d)
        Linear.backward(
            dy: s.dk.data, x: a.norm1.data, weight: kWeight.value.data, dx: s.dNorm.data,
            dWeight: kWeight.gradientData, dBias: kBias.gradientData, n: n, inputs: d,
            outputs: d, accumulate: true)
        Linear.backward(
            dy: s.dv.data, x: a.norm1.data, weight: vWeight.value.data, dx: s.dNorm.data,
            dWeight: vWeight.gradientData, dBias: vBias.gradientData, n: n, inputs: d,
            outputs: d, accumulate: true)
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
    let q = Tensor(zeros: [0]), k = Tensor(zeros: [0]), v = Tensor(zeros: [0])
    let probs = Tensor(zeros: [0]), attended = Tensor(zeros: [0]), h1 = Tensor(zeros: [0])
    let norm2 = Tensor(zeros: [0]), mean2 = Tensor(zeros: [0]), rstd2 = Tensor(zeros: [0])
    let preActivation = Tensor(zeros: [0]), activated = Tensor(zeros: [0])

    func reserve(rows n: Int, width d: Int, mlp f: Int, probabilities: Int) {
        for t in [norm1, q, k, v, attended, h1, norm2] { t.resize([n, d]) }
        for t in [mean1, rstd1, mean2, rstd2] { t.resize([n]) }
        probs.resize([probabilities])
        preActivation.resize([n, f])
        activated.resize([n, f])
    }
}

/// Temporaries of a backward pass through one block, shared by all blocks of a tower.
public final class EncoderScratch {
    let dh1 = Tensor(zeros: [0]), dNorm = Tensor(zeros: [0]), dAttended = Tensor(zeros: [0])
    let dq = Tensor(zeros: [0]), dk = Tensor(zeros: [0]), dv = Tensor(zeros: [0])
    let dMLP = Tensor(zeros: [0])

    func reserve(rows n: Int, width d: Int, mlp f: Int) {
        for t in [dh1, dNorm, dAttended, dq, dk, dv] { t.resize([n, d]) }
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
