import Foundation
import Testing

/// The `veil` command, unlike the library, sets OpenBLAS up for its process
/// (`OpenBLASProcessSetup`, in the executable). Checked in a child process, so that this test run's own
/// OpenBLAS state never changes while other tests use it.
struct ProcessTuningTests {
    static let genericCores = ["Prescott", "Core2", "Penryn", "Katmai", "Coppermine", "Northwood", "Unknown"]

    static func openBLASLine(_ environment: [String: String?]) throws -> String {
        let run = try ScoreCommandTests.veil(["model", "info"], environment: environment)
        try #require(run.status == 0, "stderr: \(run.stderr)")
        return try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("OpenBLAS: ") }.map(String.init),
                            "no OpenBLAS line in: \(run.stdout)")
    }

    /// Two OpenBLAS threads asked for in the environment: veil still runs each product on
    /// one, because its own workers split the work.
    @Test func productsRunOnOneOpenBLASThread() throws {
        let line = try Self.openBLASLine(["OPENBLAS_NUM_THREADS": "2", "OPENBLAS_CORETYPE": nil])
        #expect(line.hasSuffix(", 1 thread(s) per product"), "\(line)")
    }

    static var cpuHasAVX2AndFMA: Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " "))
        return set.contains("avx2") && set.contains("fma")
    }

    /// Whatever OpenBLAS picks by itself on this CPU, veil runs better than generic kernels
    /// on one with AVX2 and FMA; a core the user pins is kept.
    @Test(.enabled(if: cpuHasAVX2AndFMA, "skipped: this CPU has no AVX2 with FMA, so generic kernels are right"))
    func modernCPUsGetModernKernels() throws {
        let line = try Self.openBLASLine(["OPENBLAS_CORETYPE": nil])
        #expect(!Self.genericCores.contains { line.hasPrefix("OpenBLAS: \($0) ") }, "\(line)")
        let pinned = try Self.openBLASLine(["OPENBLAS_CORETYPE": "Prescott"])
        #expect(pinned.hasPrefix("OpenBLAS: Prescott kernels"), "\(pinned)")
    }
}
