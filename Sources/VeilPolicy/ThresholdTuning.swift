import Foundation

/// Threshold metrics for one flag, from scores and reviewer-confirmed truth.
///
/// Conventions, stated once: an image is sent to review when `score >= threshold`; ROC AUC
/// is the Mann-Whitney statistic with ties counted one half; PR AUC is average precision,
/// `Σ (Rₙ − Rₙ₋₁) · Pₙ` over thresholds from high to low. These are the definitions
/// scikit-learn's `roc_auc_score` and `average_precision_score` use, and the tests compare
/// with values scikit-learn computed.
public struct ThresholdTuning: Sendable {
    /// One operating point.
    public struct Point: Sendable, Equatable, Codable {
        /// Scores at or above this go to review.
        public var threshold: Double
        /// The share of sensitive images sent to review.
        public var recall: Double
        /// The share of reviewed images that are sensitive.
        public var precision: Double
        /// The share of clear images sent to review.
        public var falsePositiveRate: Double
        /// The share of all images sent to review.
        public var reviewRate: Double
        /// Reviews per 10,000 images.
        public var reviewsPer10000: Double { reviewRate * 10_000 }

        enum CodingKeys: String, CodingKey { case threshold, recall, precision, falsePositiveRate, reviewRate, reviewsPer10000 }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(threshold, forKey: .threshold)
            try c.encode(recall, forKey: .recall)
            try c.encode(precision, forKey: .precision)
            try c.encode(falsePositiveRate, forKey: .falsePositiveRate)
            try c.encode(reviewRate, forKey: .reviewRate)
            try c.encode(reviewsPer10000, forKey: .reviewsPer10000)
        }
        /// Creates an operating point.
        public init(threshold: Double, recall: Double, precision: Double, falsePositiveRate: Double, reviewRate: Double) {
            self.threshold = threshold
            self.recall = recall
            self.precision = precision
            self.falsePositiveRate = falsePositiveRate
            self.reviewRate = reviewRate
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            threshold = try c.decode(Double.self, forKey: .threshold)
            recall = try c.decode(Double.self, forKey: .recall)
            precision = try c.decode(Double.self, forKey: .precision)
            falsePositiveRate = try c.decode(Double.self, forKey: .falsePositiveRate)
            reviewRate = try c.decode(Double.self, forKey: .reviewRate)
        }
    }

    /// Scores and 0/1 truth, one pair per image.
    public let samples: [(score: Double, positive: Bool)]
    /// How many samples are sensitive.
    public let positives: Int
    /// How many samples are clear.
    public let negatives: Int
    /// Every distinct score as a threshold, from high to low.
    public let curve: [Point]

    /// Builds the curve. Needs at least one positive and one negative.
    public init(samples: [(score: Double, positive: Bool)]) throws {
        self.samples = samples
        positives = samples.filter(\.positive).count
        negatives = samples.count - positives
        guard positives > 0 else { throw TuningError("no confirmed positives: recall is undefined; label some sensitive images first") }
        guard negatives > 0 else { throw TuningError("no confirmed negatives: precision and false-positive rate are undefined") }
        curve = Self.curve(samples, positives: positives, negatives: negatives)
    }

    static func curve(_ samples: [(score: Double, positive: Bool)], positives: Int, negatives: Int) -> [Point] {
        let sorted = samples.sorted { $0.score > $1.score }
        var points: [Point] = []
        var tp = 0, fp = 0, i = 0
        while i < sorted.count {
            let t = sorted[i].score
            while i < sorted.count && sorted[i].score == t {
                if sorted[i].positive { tp += 1 } else { fp += 1 }
                i += 1
            }
            points.append(Point(threshold: t, recall: Double(tp) / Double(positives),
                                precision: Double(tp) / Double(tp + fp),
                                falsePositiveRate: Double(fp) / Double(negatives),
                                reviewRate: Double(tp + fp) / Double(samples.count)))
        }
        return points
    }

    /// Area under the ROC curve (Mann-Whitney, ties count one half).
    public var rocAUC: Double {
        var area = 0.0, previousTPR = 0.0, previousFPR = 0.0
        for p in curve {  // trapezoids between successive distinct thresholds
            area += (p.falsePositiveRate - previousFPR) * (p.recall + previousTPR) / 2
            previousTPR = p.recall
            previousFPR = p.falsePositiveRate
        }
        return area
    }

    /// Average precision: the area under the precision-recall curve as a step function.
    public var prAUC: Double {
        var area = 0.0, previousRecall = 0.0
        for p in curve {
            area += (p.recall - previousRecall) * p.precision
            previousRecall = p.recall
        }
        return area
    }

    /// The highest threshold whose recall is at least `target`, with its operating point.
    public func operatingPoint(forRecall target: Double) -> Point? {
        curve.first { $0.recall >= target - 1e-12 }
    }

    /// A 95% bootstrap interval for the threshold that reaches `target` recall: `resamples`
    /// resamplings of the images with replacement, from a fixed seed so reports reproduce.
    public func thresholdInterval(forRecall target: Double, resamples: Int = 1000, seed: UInt64 = 0x5EED) -> (low: Double, high: Double)? {
        var rng = SplitMix64(seed: seed)
        var thresholds: [Double] = []
        thresholds.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let sample = (0..<samples.count).map { _ in samples[Int(rng.next() % UInt64(samples.count))] }
            let p = sample.filter(\.positive).count
            guard p > 0, p < sample.count else { continue }
            let c = Self.curve(sample, positives: p, negatives: sample.count - p)
            if let point = c.first(where: { $0.recall >= target - 1e-12 }) { thresholds.append(point.threshold) }
        }
        guard thresholds.count >= resamples / 2 else { return nil }
        thresholds.sort()
        func percentile(_ q: Double) -> Double { thresholds[min(thresholds.count - 1, max(0, Int((q * Double(thresholds.count)).rounded(.down))))] }
        return (percentile(0.025), percentile(0.975))
    }

    /// Operating points at round thresholds (0.05 apart), for a committee's table.
    public func table(step: Double = 0.05) -> [Point] {
        stride(from: 0.0, through: 1.0 + 1e-9, by: step).map { t -> Point in
            let flagged = samples.filter { $0.score >= t - 1e-12 }
            let tp = flagged.filter(\.positive).count
            return Point(threshold: (t * 1000).rounded() / 1000, recall: Double(tp) / Double(positives),
                         precision: flagged.isEmpty ? 1 : Double(tp) / Double(flagged.count),
                         falsePositiveRate: Double(flagged.count - tp) / Double(negatives),
                         reviewRate: Double(flagged.count) / Double(samples.count))
        }
    }
}

/// Tuning is not possible with the data given.
public struct TuningError: Error, Sendable, CustomStringConvertible {
    /// Why, for operators.
    public var reason: String
    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A small, fast, reproducible random generator for bootstrap resampling.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
