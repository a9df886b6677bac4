// The embedder's façade: `import Veil` brings image decoding, the model runtime and the
// classifier that joins them.
@_exported import VeilEngine
@_exported import VeilImage
@_exported import VeilTensor
@_exported import VeilVocabulary
@_exported import VeilPolicy
