// The two towers of CLIP, forward and backward side by side.
// Vision: patches -> patch_embedding (as one product) -> [class; patches] + positions ->
// pre_layrnorm -> blocks -> class row -> post_layernorm -> visual_projection.
// Text: tokens + positions -> causal blocks -> end-of-text row -> final_layer_norm ->
// text_projection. Only the pooled row is normalised at the end: the norm is per row, so
// this equals normalising every row and then pooling, as transformers does.
// Legend: B images or texts, L tokens, D width, P projection width.
import ArfTensor

/// The image encoder.
public final class VisionTower {
    public let config: VisionConfig
    let classEmbedding, patchWeight, positionEmbedding: Parameter
    let preNormWeight, preNormBias, postNormWeight, postNormBias, projection: Parameter
    let blocks: [EncoderLayer]

    init(config: VisionConfig, projectionDim: Int) {
        self.config = config
        let d = config.transformer.hiddenSize
        let c = config.channels
        let p = config.patchSize
        let e = "vision_model.embeddings"
        classEmbedding = Parameter(name: "\(e).class_embedding", shape: [d], decays: false)
        patchWeight = Parameter(
            name: "\(e).patch_embedding.weight", shape: [d, c, p, p], decays: true)
        positionEmbedding = Parameter(
            name: "\(e).position_embedding.weight", shape: [config.tokens, d], decays: false)
        preNormWeight = Parameter(
            name: "vision_model.pre_layrnorm.weight", shape: [d], decays: false)
        preNormBias = Parameter(name: "vision_model.pre_layrnorm.bias", shape: [d], decays: false)
        blocks = (0..<config.transformer.layers).map {
            EncoderLayer(prefix: "vision_model.encoder.layers.\($0)", config: config.transformer)
        }
        postNormWeight = Parameter(
            name: "vision_model.post_layernorm.weight", shape: [d], decays: false)
        postNormBias = Parameter(
            name: "vision_model.post_layernorm.bias", shape: [d], decays: false)
        projection = Parameter(
            name: "visual_projection.weight", shape: [projectionDim, d], decays: true)
    }

    var parameters: [Parameter] {
        [classEmbedding, patchWeight, positionEmbedding, preNormWeight, preNormBias]
            + blocks.flatMap(\.parameters) + [postNormWeight, postNormBias, projection]
    }

    /// Features [B, P] (before L2 normalisation) of pixels [B, C, S, S].
    func forward(pixels: Tensor, b: Int, state s: TowerState, training: Bool) -> Tensor {
        let t = config.transformer
        let (d, g, l) = (t.hiddenSize, config.grid * config.grid, config.tokens)
        let patchWidth = config.channels * config.patchSize * config.patchSize
        let projectionDim = projection.shape[0]
        s.prepare(layers: blocks.count, training: training)
        s.shape = AttentionShape(sequences: b, tokens: l, heads: t.heads, width: d, causal: false)

        s.patches.resize([b * g, patchWidth])
        s.projected.resize([b * g, d])
        s.embedded.resize([b * l, d])
        s.preMean.resize([b * l])
        s.preRstd.resize([b * l])
        s.hidden[0].resize([b * l, d])
        PatchEmbedding.extractPatches(
            pixels: pixels.data, patches: s.patches.data, b: b, channels: config.channels,
            side: config.imageSize, patch: config.patchSize)
        Linear.forward(
            x: s.patches.data, weight: patchWeight.value.data, bias: nil,
            y: s.projected.data, n: b * g, inputs: patchWidth, outputs: d)
        PatchEmbedding.assemble(
            projected: s.projected.data, classToken: classEmbedding.value.data,
            position: positionEmbedding.value.data, h: s.embedded.data, b: b, g: g, d: d)
        LayerNorm.forward(
            x: s.embedded.data, gamma: preNormWeight.value.data, beta: preNormBias.value.data,
            y: s.hidden[0].data, mean: s.preMean.data, rstd: s.preRstd.data, n: b * l, d: d,
            eps: t.layerNormEps)

        for (i, block) in blocks.enumerated() {
            let (x, out, a) = s.block(i)
            block.forward(x: x, out: out, a: a, shape: s.shape)
        }

        s.pooledRows = (0..<b).map { $0 * l }
        return poolAndProject(
            s, last: s.output(after: blocks.count), normWeight: postNormWeight,
            normBias: postNormBias, projection: projection, b: b, d: d, p: projectionDim,
            eps: t.layerNormEps)
    }

    /// Accumulates parameter gradients given dFeatures [B, P].
    func backward(dFeatures: Tensor, state s: TowerState) {
        let t = config.transformer
        let (b, l, d) = (s.shape.sequences, s.shape.tokens, t.hiddenSize)
        let g = l - 1
        let patchWidth = config.channels * config.patchSize * config.patchSize
        var dOut = unpoolAndUnproject(
            s, dFeatures: dFeatures, normWeight: postNormWeight, normBias: postNormBias,
            projection: projection, b: b, d: d, rows: b * l, eps: t.layerNormEps)

        for i in stride(from: blocks.count - 1, through: 0, by: -1) {
            let (x, _, a) = s.block(i)
            let dx = dOut === s.dHidden[0] ? s.dHidden[1] : s.dHidden[0]
            blocks[i].backward(dOut: dOut, x: x, dx: dx, a: a, s: s.scratch, shape: s.shape)
            dOut = dx
        }

        // Through pre_layrnorm, then split into class token, positions and patch products.
        let dEmbedded = s.scratch.dNorm
        dEmbedded.resize([b * l, d])
        dEmbedded.zero()
        LayerNorm.backward(
            dy: dOut.data, x: s.embedded.data, mean: s.preMean.data, rstd: s.preRstd.data,
            gamma: preNormWeight.value.data, dx: dEmbedded.data,
            dGamma: s.scratch.gradient(preNormWeight), dBeta: s.scratch.gradient(preNormBias),
            n: b * l, d: d)
        guard patchWeight.trainable || classEmbedding.trainable || positionEmbedding.trainable
        else { return }
        let dProjected = s.scratch.dAttended
        dProjected.resize([b * g, d])
        PatchEmbedding.disassemble(
            dh: dEmbedded.data, dProjected: dProjected.data,
            dClassToken: s.scratch.gradient(classEmbedding),
            dPosition: s.scratch.gradient(positionEmbedding), b: b, g: g, d: d)
        Linear.backward(
            dy: dProjected.data, x: s.patches.data, weight: patchWeight.value.data, dx: nil,
            dWeight: patchWeight.gradientData, dBias: nil, n: b * g, inputs: patchWidth,
            outputs: d)
    }
}

/// The text encoder.
public final class TextTower {
    public let config: TextConfig
    let tokenEmbedding, positionEmbedding, finalNormWeight, finalNormBias, projection: Parameter
    let blocks: [EncoderLayer]

    init(config: TextConfig, projectionDim: Int) {
        self.config = config
        let d = config.transformer.hiddenSize
        let e = "text_model.embeddings"
        tokenEmbedding = Parameter(
            name: "\(e).token_embedding.weight", shape: [config.vocabularySize, d], decays: false)
        positionEmbedding = Parameter(
            name: "\(e).position_embedding.weight", shape: [config.contextLength, d], decays: false)
        blocks = (0..<config.transformer.layers).map {
            EncoderLayer(prefix: "text_model.encoder.layers.\($0)", config: config.transformer)
        }
        finalNormWeight = Parameter(
            name: "text_model.final_layer_norm.weight", shape: [d], decays: false)
        finalNormBias = Parameter(
            name: "text_model.final_layer_norm.bias", shape: [d], decays: false)
        projection = Parameter(
            name: "text_projection.weight", shape: [projectionDim, d], decays: true)
    }

    var parameters: [Parameter] {
        [tokenEmbedding, positionEmbedding] + blocks.flatMap(\.parameters)
            + [finalNormWeight, finalNormBias, projection]
    }

    /// The row each sequence is pooled at: the first end-of-text token, or for old
    /// checkpoints the highest id (which is end-of-text in the OpenAI vocabulary).
    func poolPosition(_ ids: ArraySlice<Int32>) -> Int {
        let start = ids.startIndex
        if config.poolsAtHighestId {
            var best = start
            for i in ids.indices where ids[i] > ids[best] { best = i }
            return best - start
        }
        return (ids.firstIndex(of: Int32(config.endTokenId)) ?? start) - start
    }

    /// Features [B, P] (before L2 normalisation) of token id rows of equal length.
    func forward(ids rows: [[Int32]], state s: TowerState, training: Bool) throws -> Tensor {
        let t = config.transformer
        let b = rows.count
        let d = t.hiddenSize
        let projectionDim = projection.shape[0]
        guard let full = rows.first?.count, rows.allSatisfy({ $0.count == full }) else {
            throw CLIPError.badInput(reason: "token id rows must be non-empty and of equal length")
        }
        guard full <= config.contextLength else {
            throw CLIPError.badInput(
                reason: "\(full) tokens exceed the context length \(config.contextLength)")
        }
        for row in rows {
            if let bad = row.first(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
                throw CLIPError.badInput(
                    reason: "token id \(bad) is outside the vocabulary of \(config.vocabularySize)")
            }
        }

        // Under the causal mask no token sees those after it, so every token past the last
        // pooled one can be dropped without changing any result.
        let positions = rows.map { poolPosition($0[...]) }
        let l = (positions.max() ?? 0) + 1
        s.ids = rows.flatMap { $0.prefix(l) }
        s.pooledRows = positions.enumerated().map { $0.offset * l + $0.element }
        s.prepare(layers: blocks.count, training: training)
        s.shape = AttentionShape(sequences: b, tokens: l, heads: t.heads, width: d, causal: true)

        s.hidden[0].resize([b * l, d])
        s.ids.withUnsafeBufferPointer { ids in
            TokenEmbedding.forward(
                ids: ids.baseAddress!, table: tokenEmbedding.value.data,
                position: positionEmbedding.value.data, h: s.hidden[0].data, b: b, l: l, d: d)
        }
        for (i, block) in blocks.enumerated() {
            let (x, out, a) = s.block(i)
            block.forward(x: x, out: out, a: a, shape: s.shape)
        }
        return poolAndProject(
            s, last: s.output(after: blocks.count), normWeight: finalNormWeight,
            normBias: finalNormBias, projection: projection, b: b, d: d, p: projectionDim,
            eps: t.layerNormEps)
    }

    /// Accumulates parameter gradients given dFeatures [B, P].
    func backward(dFeatures: Tensor, state s: TowerState) {
        let t = config.transformer
        let (b, l, d) = (s.shape.sequences, s.shape.tokens, t.hiddenSize)
        var dOut = unpoolAndUnproject(
            s, dFeatures: dFeatures, normWeight: finalNormWeight, normBias: finalNormBias,
            projection: projection, b: b, d: d, rows: b * l, eps: t.layerNormEps)
        for i in stride(from: blocks.count - 1, through: 0, by: -1) {
            let (x, _, a) = s.block(i)
            let dx = dOut === s.dHidden[0] ? s.dHidden[1] : s.dHidden[0]
            blocks[i].backward(dOut: dOut, x: x, dx: dx, a: a, s: s.scratch, shape: s.shape)
            dOut = dx
        }
        s.ids.withUnsafeBufferPointer { ids in
            TokenEmbedding.backward(
                dh: dOut.data, ids: ids.baseAddress!, dTable: tokenEmbedding.gradientData,
                dPosition: positionEmbedding.gradientData, b: b, l: l, d: d)
        }
    }
}

/// Pools one row per sequence, normalises it and projects it: the shared tail of both towers.
func poolAndProject(
    _ s: TowerState, last: Tensor, normWeight: Parameter, normBias: Parameter,
    projection: Parameter, b: Int, d: Int, p: Int, eps: Float
) -> Tensor {
    s.pooled.resize([b, d])
    s.pooledNorm.resize([b, d])
    s.poolMean.resize([b])
    s.poolRstd.resize([b])
    s.features.resize([b, p])
    Pooling.gather(h: last.data, rows: s.pooledRows, pooled: s.pooled.data, d: d)
    LayerNorm.forward(
        x: s.pooled.data, gamma: normWeight.value.data, beta: normBias.value.data,
        y: s.pooledNorm.data, mean: s.poolMean.data, rstd: s.poolRstd.data, n: b, d: d, eps: eps)
    Linear.forward(
        x: s.pooledNorm.data, weight: projection.value.data, bias: nil,
        y: s.features.data, n: b, inputs: d, outputs: p)
    return s.features
}

/// The backward pass of `poolAndProject`: returns d(last block output) [rows, D].
func unpoolAndUnproject(
    _ s: TowerState, dFeatures: Tensor, normWeight: Parameter, normBias: Parameter,
    projection: Parameter, b: Int, d: Int, rows: Int, eps: Float
) -> Tensor {
    let p = projection.shape[0]
    s.dPooledNorm.resize([b, d])
    s.dPooled.resize([b, d])
    s.dPooled.zero()
    Linear.backward(
        dy: dFeatures.data, x: s.pooledNorm.data, weight: projection.value.data,
        dx: s.dPooledNorm.data, dWeight: projection.gradientData, dBias: nil, n: b, inputs: d,
        outputs: p)
    LayerNorm.backward(
        dy: s.dPooledNorm.data, x: s.pooled.data, mean: s.poolMean.data, rstd: s.poolRstd.data,
        gamma: normWeight.value.data, dx: s.dPooled.data,
        dGamma: s.scratch.gradient(normWeight), dBeta: s.scratch.gradient(normBias), n: b, d: d)
    let dLast = s.dHidden[0]
    dLast.resize([rows, d])
    Pooling.scatter(
        dPooled: s.dPooled.data, rows: s.pooledRows, dh: dLast.data, totalRows: rows, d: d)
    return dLast
}
