import Foundation
import Veil
import VeilPolicy

/// The committee's report: one self-contained HTML file, inline SVG, no scripts, no network.
enum TuneReport {
    static func write(_ results: [TuneCommand.FlagResult], scoresFile: String, to path: String) throws {
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Veil threshold tuning</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
        h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
        .summary { font-size: 1.15em; background: #f3f6fa; border-left: 4px solid #2b6cb0; padding: 0.8em 1em; }
        .charts { display: flex; flex-wrap: wrap; gap: 1em; }
        figure { margin: 0; } figcaption { font-size: 0.9em; text-align: center; }
        table { border-collapse: collapse; font-size: 0.85em; } td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
        tr.chosen { background: #fff3c4; font-weight: bold; }
        </style></head><body>
        <h1>Veil threshold tuning</h1>
        <p>Scores: \(escape(scoresFile)). An image is sent to human review when its score is at or above the threshold.
        Generated \(ISO8601DateFormatter().string(from: Date())).</p>

        """
        for r in results {
            html += "<h2>Flag <code>\(escape(r.flag.rawValue))</code></h2>\n"
            html += "<p class=\"summary\">\(escape(r.summary))</p>\n"
            html += String(format: "<p>%d labelled images, %d of them sensitive. ROC AUC %.3f; PR AUC (average precision) %.3f.",
                           r.images, r.positives, r.rocAUC, r.prAUC)
            if let i = r.thresholdInterval95 {
                html += String(format: " For %.0f%% recall, the 95%% bootstrap interval of the threshold is %.2f to %.2f.", r.targetRecall * 100, i[0], i[1])
            }
            html += "</p>\n<div class=\"charts\">\n"
            let chosen = r.operatingPoint
            html += chart(title: "Precision against recall", x: "recall", y: "precision",
                          points: r.curve.map { ($0.recall, $0.precision) }, mark: chosen.map { ($0.recall, $0.precision) })
            html += chart(title: "ROC: recall against false-positive rate", x: "false-positive rate", y: "recall",
                          points: [(0, 0)] + r.curve.map { ($0.falsePositiveRate, $0.recall) }, mark: chosen.map { ($0.falsePositiveRate, $0.recall) })
            html += chart(title: "Workload: share of images reviewed against recall", x: "recall", y: "review rate",
                          points: [(0, 0)] + r.curve.map { ($0.recall, $0.reviewRate) }, mark: chosen.map { ($0.recall, $0.reviewRate) })
            html += "</div>\n<table><tr><th>threshold</th><th>recall</th><th>precision</th><th>false-positive rate</th><th>review rate</th><th>reviews per 10,000</th></tr>\n"
            // The round thresholds, with the chosen operating point inserted in order and highlighted.
            var rows = r.table.map { ($0, false) }
            if let c = chosen { rows.append((c, true)) }
            rows.sort { ($0.0.threshold, $0.1 ? 1 : 0) < ($1.0.threshold, $1.1 ? 1 : 0) }
            for (p, isChosen) in rows {
                html += String(format: "<tr%@><td>%@</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.0f</td></tr>\n",
                               isChosen ? " class=\"chosen\"" : "",
                               isChosen ? String(format: "%.4g (chosen)", p.threshold) : String(format: "%.2f", p.threshold),
                               p.recall, p.precision, p.falsePositiveRate, p.reviewRate, p.reviewsPer10000)
            }
            html += "</table>\n"
            if let c = r.calibration { html += "<p>Fitted calibration, for the policy file:</p><pre>\(escape(c))</pre>\n" }
        }
        html += "</body></html>\n"
        try writeWholeFile(Data(html.utf8), to: path)
    }

    /// A 300×300 line chart of points in the unit square, with the chosen point marked.
    static func chart(title: String, x: String, y: String, points: [(Double, Double)], mark: (Double, Double)?) -> String {
        let size = 260.0, left = 45.0, top = 15.0
        func px(_ v: Double) -> Double { left + v * size }
        func py(_ v: Double) -> Double { top + (1 - v) * size }
        var svg = "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"320\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(size)\" height=\"\(size)\" fill=\"#fff\" stroke=\"#999\"/>\n"
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", px(t), py(0), px(t), py(1))
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", px(0), py(t), px(1), py(t))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%.2f</text>", px(t), py(0) + 14, t)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.2f</text>\n", px(0) - 4, py(t) + 3, t)
        }
        let path = points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\"/>\n"
        if let m = mark {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#d69e2e\" stroke=\"#744210\"/>\n", px(m.0), py(m.1))
        }
        svg += String(format: "<text x=\"%.1f\" y=\"312\" font-size=\"11\" text-anchor=\"middle\">%@</text>", left + size / 2, escape(x))
        svg += String(format: "<text x=\"12\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 %.1f)\">%@</text>\n",
                      top + size / 2, top + size / 2, escape(y))
        svg += "</svg><figcaption>\(escape(title))</figcaption></figure>\n"
        return svg
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
