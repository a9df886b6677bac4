import Foundation

/// How a head is fitted.
package struct HeadFitOptions: Sendable {
    /// Folds of the stratified cross-validation that chooses `C` and gives the out-of-fold
    /// scores every measure is computed on.
    package var folds = 5
    /// The seed of the folds and the bootstrap: the same data gives the same head.
    package var seed: UInt64 = 20_261_202
    /// The regularisation strengths tried (scikit-learn's `C`; larger is weaker).
    package var cGrid: [Double] = [0.0001, 0.001, 0.01, 0.1, 1, 10]
    /// The recall the suggested threshold must reach on the out-of-fold scores.
    package var targetRecall = 0.9
    /// Bootstrap resamples for the intervals.
    package var resamples = 1000

    /// The fewest examples of each class a fit accepts. With 5 folds, 20 leave at least 4 of
    /// each class in every validation fold, so that each fold's scores can be ranked at all;
    /// below that the interval of the ROC AUC spans most of [0.5, 1] and tells a committee
    /// nothing.
    package static let minimumPerClass = 20

    package init() {}
}

/// Why a head cannot be fitted from these examples.
package struct HeadFitError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

/// A fitted head: the standardisation, the logistic regression on standardised embeddings,
/// the Platt calibration fitted out of fold, and the cross-validated measures.
package struct FittedHead: Sendable {
    package var standardizer: Standardizer
    package var model: LogisticRegression
    package var calibration: PlattScaling
    /// The `C` cross-validation chose.
    package var c: Double
    /// Calibrated out-of-fold probabilities, one per example: what the measures describe.
    package var outOfFold: [Double]
    package var positives: Int
    package var negatives: Int
    package var rocAUC: Double
    package var rocAUCInterval: [Double]
    package var prAUC: Double
    package var prAUCInterval: [Double]
    package var targetRecall: Double
    package var threshold: Double
    package var precision: Double
    package var reviewRate: Double

    /// The whole head as one affine map of the raw embedding, `P = σ(w·x + b)`: the
    /// standardisation and the calibration folded into the weights, so that it runs as one
    /// fully connected layer and a sigmoid.
    package var folded: (weights: [Double], bias: Double) {
        var bias = calibration.a * model.intercept + calibration.b
        var weights = [Double](repeating: 0, count: model.weights.count)
        for j in weights.indices {
            weights[j] = calibration.a * model.weights[j] / standardizer.scale[j]
            bias -= weights[j] * standardizer.mean[j]
        }
        return (weights, bias)
    }

    /// The calibrated probability for one raw embedding.
    package func probability(_ embedding: ArraySlice<Double>) -> Double {
        let (w, b) = folded
        var z = b
        for (wj, xj) in zip(w, embedding) { z += wj * xj }
        return sigmoid(z)
    }
}

/// Fits a head to labelled embeddings: `C` chosen by stratified k-fold cross-validation
/// (the lowest class-weighted log loss out of fold; a tie goes to the stronger penalty),
/// Platt calibration fitted on the out-of-fold decision values, then the model refitted on
/// every example with that `C`. Each fold standardises with its own training rows only, so
/// nothing of a validation row leaks into its score.
///
/// - Throws: ``HeadFitError`` with fewer than ``HeadFitOptions/minimumPerClass`` examples of
///   a class, saying how many more are needed.
package func fitHead(embeddings x: Matrix, labels: [Bool], options: HeadFitOptions = HeadFitOptions()) throws -> FittedHead {
    let positives = labels.filter { $0 }.count, negatives = labels.count - positives
    let minimum = HeadFitOptions.minimumPerClass
    if positives < minimum || negatives < minimum {
        var missing: [String] = []
        if positives < minimum { missing.append("\(minimum - positives) more with the flag (have \(positives))") }
        if negatives < minimum { missing.append("\(minimum - negatives) more without it (have \(negatives))") }
        throw HeadFitError(description: "too few reviewed examples to fit a head: need at least \(minimum) of each class, so \(missing.joined(separator: " and "))")
    }
    let folds = min(options.folds, positives, negatives)
    let fold = stratifiedFolds(labels: labels, k: folds, seed: options.seed)
    let weightOf = { (label: Bool) in label ? Double(labels.count) / (2 * Double(positives)) : Double(labels.count) / (2 * Double(negatives)) }

    var best: (c: Double, loss: Double, decisions: [Double])?
    var starts = [LogisticRegression?](repeating: nil, count: folds)
    for c in options.cGrid.sorted() {
        var decisions = [Double](repeating: 0, count: labels.count)
        for k in 0..<folds {
            let train = labels.indices.filter { fold[$0] != k }, test = labels.indices.filter { fold[$0] == k }
            let trainX = x.rows(train)
            let scaler = Standardizer(fitting: trainX)
            let model = LogisticRegression.fit(scaler.apply(trainX), labels: train.map { labels[$0] }, c: c, start: starts[k])
            starts[k] = model
            let testX = scaler.apply(x.rows(test))
            for (row, i) in test.enumerated() { decisions[i] = model.decision(testX.row(row)) }
        }
        var loss = 0.0
        for (z, label) in zip(decisions, labels) {
            let margin = label ? z : -z
            loss += weightOf(label) * (margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin)))
        }
        loss /= Double(labels.count)
        // Strictly better only: a tie keeps the smaller C, the stronger penalty.
        if best == nil || loss < best!.loss - 1e-12 { best = (c, loss, decisions) }
    }
    let chosen = best!
    let calibration = PlattScaling.fit(decisions: chosen.decisions, labels: labels)
    let outOfFold = chosen.decisions.map(calibration.probability)
    let scaler = Standardizer(fitting: x)
    let model = LogisticRegression.fit(scaler.apply(x), labels: labels, c: chosen.c)

    let auc = rocAUC(scores: outOfFold, labels: labels) ?? .nan
    let ap = averagePrecision(scores: outOfFold, labels: labels) ?? .nan
    let operating = thresholdForRecall(options.targetRecall, scores: outOfFold, labels: labels)
    return FittedHead(
        standardizer: scaler, model: model, calibration: calibration, c: chosen.c, outOfFold: outOfFold,
        positives: positives, negatives: negatives, rocAUC: auc,
        rocAUCInterval: bootstrapInterval(scores: outOfFold, labels: labels, resamples: options.resamples, seed: options.seed, statistic: rocAUC),
        prAUC: ap,
        prAUCInterval: bootstrapInterval(scores: outOfFold, labels: labels, resamples: options.resamples, seed: options.seed &+ 1, statistic: averagePrecision),
        targetRecall: options.targetRecall, threshold: operating?.threshold ?? 0, precision: operating?.precision ?? 0,
        reviewRate: operating?.reviewRate ?? 1)
}
