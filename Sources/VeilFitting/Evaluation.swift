import Foundation

/// A small seeded generator (SplitMix64): folds and bootstrap samples must come out the same
/// on every machine and every run, which the system generator does not promise.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Stratified k-fold assignment: each class is shuffled with `seed` and dealt round-robin,
/// so every fold holds its share of each class. Returns the fold (0..<k) of each item.
package func stratifiedFolds(labels: [Bool], k: Int, seed: UInt64) -> [Int] {
    var generator = SeededGenerator(seed: seed)
    var fold = [Int](repeating: 0, count: labels.count)
    var next = 0
    for cls in [true, false] {
        var members = labels.indices.filter { labels[$0] == cls }
        members.shuffle(using: &generator)
        for i in members {
            fold[i] = next % k
            next += 1
        }
    }
    return fold
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney statistic, as scikit-learn's
/// `roc_auc_score`). Nil when a class is missing.
package func rocAUC(scores: [Double], labels: [Bool]) -> Double? {
    let positives = labels.filter { $0 }.count, negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return nil }
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    // Average ranks over ties.
    var rankSumPositive = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let rank = Double(i + j) / 2 + 1
        for t in i...j where labels[order[t]] { rankSumPositive += rank }
        i = j + 1
    }
    let u = rankSumPositive - Double(positives) * Double(positives + 1) / 2
    return u / (Double(positives) * Double(negatives))
}

/// Average precision, the area under the precision–recall curve as scikit-learn's
/// `average_precision_score` defines it: Σ (Rₖ − Rₖ₋₁) Pₖ over the distinct thresholds,
/// highest first. Nil without positives.
package func averagePrecision(scores: [Double], labels: [Bool]) -> Double? {
    let positives = labels.filter { $0 }.count
    guard positives > 0 else { return nil }
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var truePositives = 0, seen = 0, previousRecall = 0.0, area = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        for t in i...j where labels[order[t]] { truePositives += 1 }
        seen = j + 1
        let recall = Double(truePositives) / Double(positives)
        area += (recall - previousRecall) * Double(truePositives) / Double(seen)
        previousRecall = recall
        i = j + 1
    }
    return area
}

/// The 2.5th and 97.5th percentiles of `statistic` over `resamples` bootstrap samples drawn
/// with `seed`; samples that lack a class are drawn again.
package func bootstrapInterval(scores: [Double], labels: [Bool], resamples: Int = 1000, seed: UInt64,
                               statistic: ([Double], [Bool]) -> Double?) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    var values: [Double] = []
    var attempts = 0
    while values.count < resamples && attempts < resamples * 10 {
        attempts += 1
        var s: [Double] = [], l: [Bool] = []
        s.reserveCapacity(scores.count)
        l.reserveCapacity(scores.count)
        for _ in scores.indices {
            let i = Int.random(in: 0..<scores.count, using: &generator)
            s.append(scores[i])
            l.append(labels[i])
        }
        if let v = statistic(s, l) { values.append(v) }
    }
    guard !values.isEmpty else { return [.nan, .nan] }
    values.sort()
    func percentile(_ q: Double) -> Double {
        let position = q * Double(values.count - 1)
        let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
        return values[low] + (values[high] - values[low]) * (position - Double(low))
    }
    return [percentile(0.025), percentile(0.975)]
}

/// The highest threshold at which `score ≥ threshold` still finds `targetRecall` of the
/// positives, with the precision there and the share of all items at or above it.
package func thresholdForRecall(_ targetRecall: Double, scores: [Double], labels: [Bool])
    -> (threshold: Double, recall: Double, precision: Double, reviewRate: Double)? {
    let positives = labels.filter { $0 }.count
    guard positives > 0 else { return nil }
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var truePositives = 0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        for t in i...j where labels[order[t]] { truePositives += 1 }
        let recall = Double(truePositives) / Double(positives)
        if recall >= targetRecall {
            return (scores[order[i]], recall, Double(truePositives) / Double(j + 1), Double(j + 1) / Double(scores.count))
        }
        i = j + 1
    }
    return nil
}

/// Platt scaling: `P = σ(a·z + b)` fitted to decision values `z` by maximum likelihood on
/// Platt's smoothed targets, `(n₊ + 1)/(n₊ + 2)` and `1/(n₋ + 2)`, which keep a separable
/// set from driving `a` to infinity. Newton's method in two unknowns.
package struct PlattScaling: Sendable, Equatable {
    package var a: Double
    package var b: Double

    package func probability(_ z: Double) -> Double { sigmoid(a * z + b) }

    package static func fit(decisions z: [Double], labels: [Bool]) -> PlattScaling {
        let positives = Double(labels.filter { $0 }.count), negatives = Double(labels.count) - positives
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        let t = labels.map { $0 ? hi : lo }
        var a = 1.0, b = 0.0
        func loss(_ a: Double, _ b: Double) -> Double {
            zip(z, t).reduce(0) { sum, pair in
                let f = a * pair.0 + b
                // −[t log σ(f) + (1−t) log(1−σ(f))], stably.
                return sum + (f > 0 ? (1 - pair.1) * f + log1p(exp(-f)) : -pair.1 * f + log1p(exp(f)))
            }
        }
        var current = loss(a, b)
        for _ in 0..<100 {
            var gA = 0.0, gB = 0.0, hAA = 1e-12, hAB = 0.0, hBB = 1e-12
            for (zi, ti) in zip(z, t) {
                let p = sigmoid(a * zi + b), d = p - ti, w = p * (1 - p)
                gA += d * zi; gB += d
                hAA += w * zi * zi; hAB += w * zi; hBB += w
            }
            let det = hAA * hBB - hAB * hAB
            guard det > 0 else { break }
            let dA = (hBB * gA - hAB * gB) / det, dB = (hAA * gB - hAB * gA) / det
            var fraction = 1.0
            var next = (a - dA, b - dB), value = loss(next.0, next.1)
            while value > current && fraction > 1e-10 {
                fraction /= 2
                next = (a - fraction * dA, b - fraction * dB)
                value = loss(next.0, next.1)
            }
            guard value <= current else { break }
            let moved = max(abs(next.0 - a), abs(next.1 - b))
            (a, b, current) = (next.0, next.1, value)
            if moved < 1e-12 { break }
        }
        return PlattScaling(a: a, b: b)
    }
}
