// CLIP's contrastive objective on a batch of image and text features, forward and backward:
//   logits = exp(logit_scale) * normalise(images) normalise(texts)^T          [N, M]
//   loss   = (CE over rows with image targets + CE over columns with text targets) / 2
// With N = M and target i for row and column i this is CLIP's symmetric loss. Targets are
// distributions, so a batch where several images share one text can say so exactly.
// Legend: N images, M texts, P projection width.
import ArfTensor
import Foundation

/// The loss, its gradients with respect to both feature matrices and the logit scale, and
/// the scaled logits.
public struct ContrastiveResult {
    public let loss: Float
    public let logits: Tensor
    public let dImages: Tensor
    public let dTexts: Tensor
    public let dLogitScale: Float
}

public enum ContrastiveLoss {
    /// exp(logit_scale) times the cosine similarity of every image with every text: [N, M].
    public static func logits(images: Tensor, texts: Tensor, logitScale: Float) -> Tensor {
        Compute.serialized {
            unserializedLogits(images: images, texts: texts, logitScale: logitScale)
        }
    }

    static func unserializedLogits(images: Tensor, texts: Tensor, logitScale: Float) -> Tensor {
        let (n, m, p) = (images.shape[0], texts.shape[0], images.shape[1])
        let i = Tensor(zeros: [n, p])
        let t = Tensor(zeros: [m, p])
        let norms = Tensor(zeros: [Swift.max(n, m)])
        L2Normalize.forward(x: images.data, y: i.data, norms: norms.data, n: n, p: p)
        L2Normalize.forward(x: texts.data, y: t.data, norms: norms.data, n: m, p: p)
        let logits = Tensor(zeros: [n, m])
        gemm(
            transB: true, m: n, n: m, k: p, alpha: Foundation.exp(logitScale), a: i.data, lda: p,
            b: t.data, ldb: p, c: logits.data, ldc: m)
        return logits
    }

    /// The symmetric loss where image i and text i are the only matching pair.
    public static func clip(images: Tensor, texts: Tensor, logitScale: Float) -> ContrastiveResult {
        let n = images.shape[0]
        let diagonal = (0..<n).map { [($0, Float(1))] }
        return compute(
            images: images, texts: texts, logitScale: logitScale, imageTargets: diagonal,
            textTargets: diagonal)
    }

    /// The loss with explicit targets: `imageTargets[i]` is image i's distribution over the
    /// texts, `textTargets[j]` text j's over the images. Features are not normalised yet.
    public static func compute(
        images: Tensor, texts: Tensor, logitScale: Float, imageTargets: [[(Int, Float)]],
        textTargets: [[(Int, Float)]]
    ) -> ContrastiveResult {
        Compute.serialized {
            unserializedCompute(
                images: images, texts: texts, logitScale: logitScale, imageTargets: imageTargets,
                textTargets: textTargets)
        }
    }

    static func unserializedCompute(
        images: Tensor, texts: Tensor, logitScale: Float, imageTargets: [[(Int, Float)]],
        textTargets: [[(Int, Float)]]
    ) -> ContrastiveResult {
        let (n, m, p) = (images.shape[0], texts.shape[0], images.shape[1])
        precondition(texts.shape[1] == p, "feature widths \(p) and \(texts.shape[1]) differ")

        let imageNorms = Tensor(zeros: [n])
        let textNorms = Tensor(zeros: [m])
        let i = Tensor(zeros: [n, p])
        let t = Tensor(zeros: [m, p])
        L2Normalize.forward(x: images.data, y: i.data, norms: imageNorms.data, n: n, p: p)
        L2Normalize.forward(x: texts.data, y: t.data, norms: textNorms.data, n: m, p: p)
        let scale = Foundation.exp(logitScale)
        let logits = Tensor(zeros: [n, m])
        gemm(
            transB: true, m: n, n: m, k: p, alpha: scale, a: i.data, lda: p, b: t.data, ldb: p,
            c: logits.data, ldc: m)

        // Rows against image targets; columns, through a transposed copy, against text targets.
        let dLogits = Tensor(zeros: [n, m])
        let rowLoss = CrossEntropy.forwardBackward(
            logits: logits.data, rows: n, classes: m, targets: imageTargets,
            dLogits: dLogits.data, weight: 0.5)
        let logitsT = Tensor(zeros: [m, n])
        let dLogitsT = Tensor(zeros: [m, n])
        transpose(logits.data, rows: n, cols: m, into: logitsT.data)
        let columnLoss = CrossEntropy.forwardBackward(
            logits: logitsT.data, rows: m, classes: n, targets: textTargets,
            dLogits: dLogitsT.data, weight: 0.5)
        for r in 0..<n { for c in 0..<m { dLogits.data[r * m + c] += dLogitsT.data[c * n + r] } }

        // d logit_scale = sum(dlogits * logits), since logits are linear in exp(logit_scale).
        var dScale: Float = 0
        for k in 0..<(n * m) { dScale += dLogits.data[k] * logits.data[k] }

        let di = Tensor(zeros: [n, p])
        let dt = Tensor(zeros: [m, p])
        gemm(
            m: n, n: p, k: m, alpha: scale, a: dLogits.data, lda: m, b: t.data, ldb: p,
            c: di.data, ldc: p)
        gemm(
            transA: true, m: m, n: p, k: n, alpha: scale, a: dLogits.data, lda: m, b: i.data,
            ldb: p, c: dt.data, ldc: p)
        let dImages = Tensor(zeros: [n, p])
        let dTexts = Tensor(zeros: [m, p])
        L2Normalize.backward(
            dy: di.data, y: i.data, norms: imageNorms.data, dx: dImages.data,
            n: n, p: p)
        L2Normalize.backward(
            dy: dt.data, y: t.data, norms: textNorms.data, dx: dTexts.data,
            n: m, p: p)
        return ContrastiveResult(
            loss: (rowLoss + columnLoss) / 2, logits: logits, dImages: dImages, dTexts: dTexts,
            dLogitScale: dScale)
    }
}
