import COpenBLAS
import Foundation

/// Binary logistic regression with an L2 penalty on the weights (not the intercept), the
/// model scikit-learn's `LogisticRegression(C:, class_weight: "balanced")` fits: it
/// minimises `½‖w‖² + C Σᵢ sᵢ log(1 + exp(−yᵢ(w·xᵢ + b)))`, where `sᵢ` weighs each class
/// by `n / (2 nₖ)` so that a rare class counts as much as a common one.
///
/// Fitted by Newton's method with a backtracking line search: the objective is smooth and
/// strictly convex, so Newton reaches the optimum to machine precision in a few steps, where
/// a first-order solver stops at its tolerance. Each step solves one `(d+1)²` system with
/// LAPACK's Cholesky (`dposv`), which is what makes 1,024-dimensional embeddings cheap.
package struct LogisticRegression: Sendable, Equatable {
    /// One weight per feature.
    package var weights: [Double]
    /// The intercept.
    package var intercept: Double

    /// The decision value `w·x + b` of one row.
    package func decision(_ row: ArraySlice<Double>) -> Double {
        var z = intercept
        for (w, x) in zip(weights, row) { z += w * x }
        return z
    }

    /// `P(label)` for one row.
    package func probability(_ row: ArraySlice<Double>) -> Double { sigmoid(decision(row)) }

    /// Fits the model.
    ///
    /// - Parameters:
    ///   - x: the rows, `n × d`, row-major.
    ///   - labels: one per row; both classes must occur.
    ///   - c: the inverse of the regularisation strength (scikit-learn's `C`), > 0.
    ///   - start: a model to start from (the fit of a nearby `c`), or nil for zeros.
    package static func fit(_ x: Matrix, labels: [Bool], c: Double, start: LogisticRegression? = nil) -> LogisticRegression {
        precondition(x.rows == labels.count && x.rows > 0 && c > 0)
        let n = x.rows, d = x.columns, m = d + 1
        let positives = labels.filter { $0 }.count
        precondition(positives > 0 && positives < n, "both classes must occur")
        let sampleWeight = labels.map { $0 ? Double(n) / (2 * Double(positives)) : Double(n) / (2 * Double(n - positives)) }
        var theta = start.map { $0.weights + [$0.intercept] } ?? [Double](repeating: 0, count: m)

        func objective(_ t: [Double]) -> Double {
            var loss = 0.0
            for i in 0..<n {
                var z = t[d]
                let row = x.row(i)
                for j in 0..<d { z += t[j] * row[row.startIndex + j] }
                let margin = labels[i] ? z : -z
                // log(1 + e^(−margin)), stable for large |margin|.
                loss += sampleWeight[i] * (margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin)))
            }
            var penalty = 0.0
            for j in 0..<d { penalty += t[j] * t[j] }
            return 0.5 * penalty + c * loss
        }

        var augmented = [Double](repeating: 0, count: n * m)  // rows of √(C sᵢ pᵢ(1−pᵢ)) [xᵢ, 1]
        var hessian = [Double](repeating: 0, count: m * m)
        var current = objective(theta)
        for _ in 0..<100 {
            var gradient = [Double](repeating: 0, count: m)
            for j in 0..<d { gradient[j] = theta[j] }
            for i in 0..<n {
                let row = x.row(i)
                var z = theta[d]
                for j in 0..<d { z += theta[j] * row[row.startIndex + j] }
                let p = sigmoid(z)
                let residual = c * sampleWeight[i] * (p - (labels[i] ? 1 : 0))
                let scale = (c * sampleWeight[i] * p * (1 - p)).squareRoot()
                for j in 0..<d {
                    gradient[j] += residual * row[row.startIndex + j]
                    augmented[i * m + j] = scale * row[row.startIndex + j]
                }
                gradient[d] += residual
                augmented[i * m + d] = scale
            }
            let size = gradient.reduce(0) { max($0, abs($1)) }
            if size < 1e-12 * max(1, c * Double(n)) { break }
            // H = AᵀA + I (no penalty on the intercept), upper triangle in row-major order,
            // which is LAPACK's lower triangle in its column-major view.
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(m), Int32(n), 1, augmented, Int32(m), 0, &hessian, Int32(m))
            for j in 0..<d { hessian[j * m + j] += 1 }
            var step = gradient
            var uplo = Int8(UInt8(ascii: "L")), order = Int32(m), one = Int32(1), info = Int32(0)
            var lda = Int32(m), ldb = Int32(m)
            dposv_(&uplo, &order, &one, &hessian, &lda, &step, &ldb, &info)
            guard info == 0 else { break }  // not positive definite: cannot happen with the identity added
            // Backtrack until the objective falls; a full step almost always does.
            var fraction = 1.0
            var next = theta, value = current
            while fraction > 1e-10 {
                for j in 0..<m { next[j] = theta[j] - fraction * step[j] }
                value = objective(next)
                if value <= current { break }
                fraction /= 2
            }
            guard value <= current else { break }
            let moved = zip(next, theta).reduce(0) { max($0, abs($1.0 - $1.1)) }
            theta = next
            let improvement = current - value
            current = value
            if moved < 1e-13 * max(1, theta.reduce(0) { max($0, abs($1)) }) || improvement <= 1e-16 * max(1, abs(current)) { break }
        }
        return LogisticRegression(weights: Array(theta[0..<d]), intercept: theta[d])
    }
}

/// The logistic function, without overflow for large |z|.
package func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}

/// A dense row-major matrix of doubles.
package struct Matrix: Sendable, Equatable {
    package var rows: Int
    package var columns: Int
    package var values: [Double]

    /// A matrix from rows of equal length.
    package init(rows: [[Double]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "rows of unequal length")
        self.rows = rows.count
        self.columns = columns
        self.values = rows.flatMap { $0 }
    }

    /// A matrix of `rows × columns` values, row-major.
    package init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Row `i`.
    package func row(_ i: Int) -> ArraySlice<Double> { values[(i * columns)..<((i + 1) * columns)] }

    /// The rows at `indices`, in that order.
    package func rows(_ indices: [Int]) -> Matrix {
        var out: [Double] = []
        out.reserveCapacity(indices.count * columns)
        for i in indices { out += row(i) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }
}

/// Centres each column on its mean and divides by its standard deviation (the population
/// one, as scikit-learn's `StandardScaler`); a constant column is only centred.
package struct Standardizer: Sendable, Equatable {
    package var mean: [Double]
    package var scale: [Double]

    /// The column means and deviations of `x`.
    package init(fitting x: Matrix) {
        var mean = [Double](repeating: 0, count: x.columns)
        for i in 0..<x.rows { for (j, v) in x.row(i).enumerated() { mean[j] += v } }
        mean = mean.map { $0 / Double(x.rows) }
        var variance = [Double](repeating: 0, count: x.columns)
        for i in 0..<x.rows { for (j, v) in x.row(i).enumerated() { variance[j] += (v - mean[j]) * (v - mean[j]) } }
        self.mean = mean
        // scikit-learn treats a variance below 10·eps·mean² as zero and keeps the scale at 1.
        self.scale = zip(variance, mean).map { v, m in
            let s = (v / Double(x.rows)).squareRoot()
            return s <= 10 * Double.ulpOfOne * max(1, abs(m)) ? 1 : s
        }
    }

    /// `(x − mean) / scale`, row by row.
    package func apply(_ x: Matrix) -> Matrix {
        var values = x.values
        for i in 0..<x.rows { for j in 0..<x.columns { values[i * x.columns + j] = (values[i * x.columns + j] - mean[j]) / scale[j] } }
        return Matrix(rows: x.rows, columns: x.columns, values: values)
    }
}
