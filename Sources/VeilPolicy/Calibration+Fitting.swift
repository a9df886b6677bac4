import Foundation

extension Calibration {
    /// Fits Platt scaling, `p = 1 / (1 + exp(a · score + b))`, by maximum likelihood
    /// (Newton's method on the logistic log-likelihood, no regularisation).
    public static func fitPlatt(_ samples: [(score: Double, positive: Bool)]) throws -> Calibration {
        guard samples.contains(where: \.positive), samples.contains(where: { !$0.positive }) else {
            throw TuningError("calibration needs both confirmed positives and negatives")
        }
        // Work with p = σ(w·s + c); then a = −w, b = −c.
        var w = 0.0, c = 0.0
        for _ in 0..<100 {
            var g0 = 0.0, g1 = 0.0, h00 = 0.0, h01 = 0.0, h11 = 0.0
            for (s, positive) in samples {
                let p = 1 / (1 + exp(-(w * s + c)))
                let r = (positive ? 1 : 0) - p
                g0 += r * s
                g1 += r
                let v = max(p * (1 - p), 1e-12)
                h00 += v * s * s
                h01 += v * s
                h11 += v
            }
            let det = h00 * h11 - h01 * h01
            guard det.magnitude > 1e-300 else { break }
            let dw = (h11 * g0 - h01 * g1) / det, dc = (h00 * g1 - h01 * g0) / det
            w += dw
            c += dc
            if max(dw.magnitude, dc.magnitude) < 1e-12 { break }
        }
        guard w.isFinite, c.isFinite else { throw TuningError("Platt scaling did not converge: the classes are perfectly separated") }
        return .platt(a: -w, b: -c)
    }

    /// Fits isotonic regression by pool-adjacent-violators: the non-decreasing step function
    /// closest (least squares) to the 0/1 truth, as (score, probability) points at each
    /// block's first and last score. Equal scores are pooled first.
    public static func fitIsotonic(_ samples: [(score: Double, positive: Bool)]) throws -> Calibration {
        guard !samples.isEmpty else { throw TuningError("calibration needs labelled images") }
        var unique: [(x: Double, y: Double, weight: Double)] = []
        for (s, positive) in samples.sorted(by: { $0.score < $1.score }) {
            let y = positive ? 1.0 : 0.0
            if let last = unique.last, last.x == s {
                unique[unique.count - 1] = (s, (last.y * last.weight + y) / (last.weight + 1), last.weight + 1)
            } else {
                unique.append((s, y, 1))
            }
        }
        var blocks: [(first: Double, last: Double, y: Double, weight: Double)] = []
        for u in unique {
            blocks.append((u.x, u.x, u.y, u.weight))
            while blocks.count > 1 && blocks[blocks.count - 2].y > blocks[blocks.count - 1].y {
                let b = blocks.removeLast(), a = blocks.removeLast()
                let weight = a.weight + b.weight
                blocks.append((a.first, b.last, (a.y * a.weight + b.y * b.weight) / weight, weight))
            }
        }
        var points: [(score: Double, probability: Double)] = []
        for b in blocks {
            points.append((b.first, b.y))
            if b.last != b.first { points.append((b.last, b.y)) }
        }
        return .isotonic(points: points)
    }
}
