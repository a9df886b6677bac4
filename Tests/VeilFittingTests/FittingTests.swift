import Foundation
import Testing
@testable import VeilFitting

/// Veil's head fitting against scikit-learn (goldens from Tools/reference/heads_reference.py).
struct FittingTests {
    struct Goldens: Decodable {
        struct Fit: Decodable { var c: Double; var coefficients: [Double]; var intercept: Double; var probabilities: [Double] }
        struct Dataset: Decodable { var name: String; var rows: [[Double]]; var labels: [Int]; var fits: [Fit] }
        struct Platt: Decodable { var decisions: [Double]; var labels: [Int]; var a: Double; var b: Double }
        struct Metrics: Decodable { var scores: [Double]; var labels: [Int]; var rocAUC: Double; var averagePrecision: Double }
        var datasets: [Dataset]
        var platt: Platt
        var metrics: Metrics
    }

    static let goldens: Goldens = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("logistic_goldens.json")
        return try! JSONDecoder().decode(Goldens.self, from: Data(contentsOf: url))
    }()

    /// On the same standardised rows and C, coefficients, intercept and probabilities agree
    /// with scikit-learn's within 1e-4, with more rows than features and with fewer.
    @Test func logisticRegressionMatchesScikitLearn() throws {
        for set in Self.goldens.datasets {
            let x = Matrix(rows: set.rows)
            let z = Standardizer(fitting: x).apply(x)
            let labels = set.labels.map { $0 == 1 }
            for fit in set.fits {
                let model = LogisticRegression.fit(z, labels: labels, c: fit.c)
                let coefficientError = zip(model.weights, fit.coefficients).map { abs($0 - $1) }.max()!
                #expect(coefficientError < 1e-4, "\(set.name) C=\(fit.c): coefficients differ by \(coefficientError)")
                #expect(abs(model.intercept - fit.intercept) < 1e-4, "\(set.name) C=\(fit.c): intercept \(model.intercept) vs \(fit.intercept)")
                let probabilityError = (0..<z.rows).map { abs(model.probability(z.row($0)) - fit.probabilities[$0]) }.max()!
                #expect(probabilityError < 1e-4, "\(set.name) C=\(fit.c): probabilities differ by \(probabilityError)")
            }
        }
    }

    /// Platt's fit agrees with scikit-learn's `_sigmoid_calibration` (whose sign is the
    /// opposite: P = 1/(1 + exp(a f + b))).
    @Test func plattScalingMatchesScikitLearn() {
        let g = Self.goldens.platt
        let platt = PlattScaling.fit(decisions: g.decisions, labels: g.labels.map { $0 == 1 })
        #expect(abs(platt.a + g.a) < 1e-4 && abs(platt.b + g.b) < 1e-4, "a \(platt.a) b \(platt.b) vs \(-g.a) \(-g.b)")
    }

    @Test func rankingMeasuresMatchScikitLearn() throws {
        let g = Self.goldens.metrics
        let labels = g.labels.map { $0 == 1 }
        #expect(abs(try #require(rocAUC(scores: g.scores, labels: labels)) - g.rocAUC) < 1e-12)
        #expect(abs(try #require(averagePrecision(scores: g.scores, labels: labels)) - g.averagePrecision) < 1e-12)
        #expect(rocAUC(scores: [0.1, 0.2], labels: [true, true]) == nil)
    }

    /// The threshold for a recall is the highest that reaches it, with the precision and the
    /// share reviewed there: counted by hand on ten scores.
    @Test func thresholdForATargetRecall() throws {
        let scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
        let labels = [true, false, true, true, false, false, true, false, false, false]
        let at = try #require(thresholdForRecall(0.75, scores: scores, labels: labels))
        // 3 of 4 positives at ≥ 0.7: four items reviewed, three of them positive.
        #expect(at.threshold == 0.7 && at.recall == 0.75 && at.precision == 0.75 && at.reviewRate == 0.4)
        #expect(try #require(thresholdForRecall(1, scores: scores, labels: labels)).threshold == 0.4)
    }

    /// Folds are stratified and the same for the same seed.
    @Test func stratifiedFoldsKeepEachClassesShare() {
        let labels = (0..<103).map { $0 % 4 == 0 }
        let folds = stratifiedFolds(labels: labels, k: 5, seed: 3)
        #expect(folds == stratifiedFolds(labels: labels, k: 5, seed: 3))
        #expect(folds != stratifiedFolds(labels: labels, k: 5, seed: 4))
        for k in 0..<5 {
            let positives = labels.indices.filter { folds[$0] == k && labels[$0] }.count
            #expect((5...6).contains(positives), "fold \(k) has \(positives) of 26 positives")
        }
    }

    /// Too few examples: refused, saying how many more of which class.
    @Test func tooFewExamplesAreRefused() {
        let x = Matrix(rows: (0..<45).map { [Double($0), 1] })
        let labels = (0..<45).map { $0 < 12 }
        #expect {
            _ = try fitHead(embeddings: x, labels: labels)
        } throws: { error in
            "\(error)".contains("8 more with the flag (have 12)") && !"\(error)".contains("without")
        }
    }

    /// A learnable signal gives a high out-of-fold AUC; the same rows with shuffled labels
    /// give about one half: nothing of a validation row leaks into its own score.
    @Test func crossValidationDoesNotLeak() throws {
        var generator = SeededGenerator(seed: 5)
        func normal() -> Double {
            let u = Double.random(in: Double.ulpOfOne..<1, using: &generator), v = Double.random(in: 0..<1, using: &generator)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let n = 120, d = 40
        let labels = (0..<n).map { $0 % 3 == 0 }
        let rows = labels.map { label in (0..<d).map { j in normal() + (label && j < 4 ? 1.5 : 0) } }
        let signal = try fitHead(embeddings: Matrix(rows: rows), labels: labels)
        #expect(signal.rocAUC > 0.9, "AUC \(signal.rocAUC)")
        #expect(signal.rocAUCInterval[0] <= signal.rocAUC && signal.rocAUC <= signal.rocAUCInterval[1])
        var shuffled = labels
        shuffled.shuffle(using: &generator)
        let noise = try fitHead(embeddings: Matrix(rows: rows), labels: shuffled)
        #expect(abs(noise.rocAUC - 0.5) < 0.15, "AUC on shuffled labels \(noise.rocAUC)")
        // The folded head is the standardised model, calibrated.
        let z = signal.standardizer.apply(Matrix(rows: [rows[0]]))
        let direct = signal.calibration.probability(signal.model.decision(z.row(0)))
        #expect(abs(signal.probability(rows[0][...]) - direct) < 1e-12)
    }
}
