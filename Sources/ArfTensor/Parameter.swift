// A named, trainable tensor: its value, a gradient allocated on first use, and whether
// weight decay applies to it. Names are the checkpoint's own tensor names, so that errors and
// saved files speak the checkpoint's language.

/// A model weight with its checkpoint name and, once training starts, its gradient.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public let value: Tensor
    /// Whether AdamW's weight decay applies: not to biases, norms, embeddings or scales.
    public let decays: Bool
    /// False freezes the parameter: no gradient is kept for it and the optimizer skips it.
    public var trainable = true
    private var storedGradient: Tensor?

    /// Where a parameter that shares memory with others keeps its value and gradient.
    private let block: (ParameterBlock, offset: Int)?

    public init(name: String, shape: [Int], decays: Bool) {
        self.name = name
        self.value = Tensor(zeros: shape)
        self.decays = decays
        self.block = nil
    }

    /// A parameter whose value and gradient are slices of a block shared with others, so
    /// that kernels can treat the block as one matrix.
    public init(name: String, shape: [Int], decays: Bool, block: ParameterBlock, offset: Int) {
        self.name = name
        self.value = Tensor(viewOf: block.value, offset: offset, shape: shape)
        self.decays = decays
        self.block = (block, offset)
    }

    public var shape: [Int] { value.shape }

    /// The gradient, allocated (zeroed) the first time it is asked for.
    public var gradient: Tensor {
        if let storedGradient { return storedGradient }
        let made =
            block.map { Tensor(viewOf: $0.0.gradient, offset: $0.offset, shape: value.shape) }
            ?? Tensor(zeros: value.shape)
        storedGradient = made
        return made
    }

    /// The gradient's memory when the parameter trains, else nil so that kernels skip it.
    public var gradientData: UnsafeMutablePointer<Float>? { trainable ? gradient.data : nil }

    /// Zeroes the gradient if one exists.
    public func zeroGradient() { storedGradient?.zero() }

    /// Frees the gradient (after training).
    public func dropGradient() { storedGradient = nil }
}

/// Memory shared by several parameters that kernels use as one matrix (the query, key and
/// value projections, multiplied in one product); the gradient is allocated on first use.
public final class ParameterBlock: @unchecked Sendable {
    public let value: Tensor
    private var storedGradient: Tensor?

    public init(count: Int) { value = Tensor(zeros: [count]) }

    public var gradient: Tensor {
        if let storedGradient { return storedGradient }
        let made = Tensor(zeros: value.shape)
        storedGradient = made
        return made
    }
}
