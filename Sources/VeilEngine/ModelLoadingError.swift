/// Why a model could not be loaded. Thrown at load, so that inference never meets a bad model.
public struct ModelLoadingError: Error, Sendable, CustomStringConvertible {
    /// The file at fault: the manifest or the weights.
    public var file: String
    /// The graph node at fault, when there is one.
    public var node: String?
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(file: String, node: String? = nil, _ reason: String) {
        self.file = file
        self.node = node
        self.reason = reason
    }

    public var description: String {
        if let node { return "\(file): node '\(node)': \(reason)" }
        return "\(file): \(reason)"
    }
}
