// The embedder's façade: one `import Veil` brings in image decoding and, as they land,
// the model runtime and the vocabulary.
@_exported import VeilImage
