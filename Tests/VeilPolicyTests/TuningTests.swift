import Foundation
import Testing
@testable import VeilPolicy

/// Threshold metrics against scikit-learn on a generated data set (Tools/reference/tuning_reference.py).
struct TuningTests {
    struct Fixture: Decodable {
        struct Target: Decodable { var threshold, precision, recall, reviewRate: Double }
        struct Row: Decodable { var threshold, recall, precision, falsePositiveRate, reviewRate: Double }
        var scores: [Double]
        var labels: [Int]
        var rocAUC: Double
        var prAUC: Double
        var targets: [String: Target]
        var table: [Row]
        var platt: [String: Double]
        var isotonicAt: [String: [Double]]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "Fixtures/tuning", withExtension: "json")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func tuning() throws -> ThresholdTuning {
        try ThresholdTuning(samples: zip(fixture.scores, fixture.labels).map { ($0, $1 == 1) })
    }

    @Test func aucsMatchScikitLearn() throws {
        let t = try Self.tuning()
        #expect(abs(t.rocAUC - Self.fixture.rocAUC) < 1e-9, "ROC AUC \(t.rocAUC) vs \(Self.fixture.rocAUC)")
        #expect(abs(t.prAUC - Self.fixture.prAUC) < 1e-9, "PR AUC \(t.prAUC) vs \(Self.fixture.prAUC)")
    }

    @Test(arguments: ["0.9", "0.95", "0.99"])
    func thresholdForTargetRecallMatches(target: String) throws {
        let t = try Self.tuning()
        let expected = try #require(Self.fixture.targets[target])
        let point = try #require(t.operatingPoint(forRecall: Double(target)!))
        #expect(point.threshold == expected.threshold)
        #expect(abs(point.precision - expected.precision) < 1e-12)
        #expect(abs(point.recall - expected.recall) < 1e-12)
        #expect(abs(point.reviewRate - expected.reviewRate) < 1e-12)
        // The bootstrap interval is reproducible and brackets the estimate.
        let interval = try #require(t.thresholdInterval(forRecall: Double(target)!, resamples: 400))
        #expect(interval.low <= point.threshold && point.threshold <= interval.high)
        #expect(interval == t.thresholdInterval(forRecall: Double(target)!, resamples: 400)!)
    }

    @Test func tableMatchesIndependentCounts() throws {
        let rows = try Self.tuning().table()
        try #require(rows.count == Self.fixture.table.count)
        for (got, want) in zip(rows, Self.fixture.table) {
            #expect(got.threshold == want.threshold)
            #expect(abs(got.recall - want.recall) < 1e-12 && abs(got.precision - want.precision) < 1e-12)
            #expect(abs(got.falsePositiveRate - want.falsePositiveRate) < 1e-12 && abs(got.reviewRate - want.reviewRate) < 1e-12)
        }
    }

    @Test func plattFitMatchesUnregularisedLogisticRegression() throws {
        let samples = zip(Self.fixture.scores, Self.fixture.labels).map { ($0, $1 == 1) }
        guard case let .platt(a, b) = try Calibration.fitPlatt(samples) else { Issue.record("not Platt"); return }
        // Both sides iterate to their own stopping rule (scikit-learn's lbfgs with tol=1e-12,
        // Veil's Newton steps); a and b are around 10, so 1e-5 is a relative 1e-6, far
        // tighter than any difference in the fitted curve a reviewer could see.
        #expect(abs(a - Self.fixture.platt["a"]!) < 1e-5, "a = \(a)")
        #expect(abs(b - Self.fixture.platt["b"]!) < 1e-5, "b = \(b)")
    }

    @Test func isotonicFitMatchesScikitLearn() throws {
        let samples = zip(Self.fixture.scores, Self.fixture.labels).map { ($0, $1 == 1) }
        let fit = try Calibration.fitIsotonic(samples)
        for (x, y) in zip(Self.fixture.isotonicAt["x"]!, Self.fixture.isotonicAt["y"]!) {
            #expect(abs(fit.apply(x) - y) < 1e-9, "at \(x): \(fit.apply(x)) vs \(y)")
        }
    }

    @Test func needsBothClasses() {
        #expect(throws: TuningError.self) { try ThresholdTuning(samples: [(0.5, false), (0.7, false)]) }
        #expect(throws: TuningError.self) { try ThresholdTuning(samples: [(0.5, true)]) }
    }
}
