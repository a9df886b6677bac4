import Foundation
import Testing
import VeilTestSupport
@testable import VeilTensor

/// The engine's own matrix kernels, each kernel set this CPU can run, against a product
/// summed in double precision; and the property the engine relies on for batch-independent
/// scores: a column's result does not depend on the other columns of the call.
struct PackedGemmTests {
    struct Shape: CustomStringConvertible, Sendable {
        var m, n, k: Int
        /// Extra floats at the end of each row of `B` and `C` (leading dimension minus width).
        var padB = 0, padC = 0
        var description: String { "\(m)x\(n)x\(k) padB \(padB) padC \(padC)" }
    }

    /// Rows not a multiple of the micro-tile's six (a last panel of one to four rows takes
    /// the short tile, of five the whole one), columns not a multiple of any tile width,
    /// depths under, at and over one chunk (256) and several chunks, strided operands, a
    /// single column (a fully connected layer at batch 1).
    static let shapes: [Shape] = [
        Shape(m: 1, n: 1, k: 1),
        Shape(m: 6, n: 8, k: 3),
        Shape(m: 7, n: 33, k: 256),
        Shape(m: 64, n: 49, k: 576, padB: 5, padC: 3),
        Shape(m: 13, n: 100, k: 257),
        Shape(m: 2, n: 1, k: 1024),
        Shape(m: 50, n: 17, k: 700, padB: 31),
        Shape(m: 3, n: 200, k: 27, padC: 1),
        // Last panels exactly one vector wide (16 floats for AVX-512, twice 8 for AVX2),
        // over several chunks of k so that they also accumulate.
        Shape(m: 12, n: 16, k: 513),
        Shape(m: 11, n: 48, k: 300, padB: 2),
        // A 7×7 map's 49 columns: tiles, then one column by the column kernel on every
        // kernel set; 25 rows are row panels in a group of four and a group of one.
        Shape(m: 25, n: 49, k: 300, padB: 3, padC: 2),
    ]

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// Runs the product with `kernels`, returning `C` (`m × (n + padC)`, pad left at NaN;
    /// with `rows`, only those rows computed and the others left at NaN).
    static func product(_ s: Shape, a: [Float], b: [Float], kernels: ComputeKernels, rows: Range<Int>? = nil) -> [Float] {
        let packed = a.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, lda: s.k, rows: s.m, columns: s.k) }
        let ldc = s.n + s.padC
        var c = [Float](repeating: .nan, count: s.m * ldc)
        let scratch = GemmScratch(columns: s.n)
        defer { scratch.deallocate() }
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                packed.multiply(b.baseAddress!, ldb: s.n + s.padB, n: s.n, into: c.baseAddress!, ldc: ldc,
                                scratch: scratch, rows: rows, kernels: kernels)
            }
        }
        return c
    }

    @Test(arguments: shapes)
    func everyKernelSetMatchesDoublePrecision(_ s: Shape) throws {
        let ldb = s.n + s.padB, ldc = s.n + s.padC
        let a = Self.random(s.m * s.k, seed: UInt64(s.m * 7 + s.k))
        let b = Self.random(s.k * ldb, seed: UInt64(s.n * 13 + s.k))
        try #require(!ComputeKernels.supported.isEmpty)
        for kernels in ComputeKernels.supported {
            let c = Self.product(s, a: a, b: b, kernels: kernels)
            var worst = 0.0
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var exact = 0.0, magnitude = 0.0
                    for p in 0..<s.k {
                        exact += Double(a[i * s.k + p]) * Double(b[p * ldb + j])
                        magnitude += abs(Double(a[i * s.k + p]) * Double(b[p * ldb + j]))
                    }
                    // Float32 accumulation: |error| ≤ k·ε·Σ|a·b|; twice that is still far
                    // below an indexing mistake, which is of the order of Σ|a·b| itself.
                    let bound = 2 * Double(s.k) * Double(Float.ulpOfOne) * magnitude + 1e-30
                    let error = abs(Double(c[i * ldc + j]) - exact)
                    worst = max(worst, error / bound)
                    #expect(error <= bound, "\(kernels) \(s): C[\(i)][\(j)] = \(c[i * ldc + j]), exact \(exact)")
                }
                // The padding of each row of C is left alone.
                for j in s.n..<ldc { #expect(c[i * ldc + j].isNaN, "\(kernels) \(s): wrote past column \(s.n)") }
            }
            print("PackedGemm \(kernels) \(s): worst error \(String(format: "%.3f", worst)) of the bound")
        }
    }

    /// Column `j` of a product computed with other columns beside it (any number, at any
    /// offset) is the same bits as column `j` computed alone: what makes an image's scores
    /// independent of the batch it is in, and of how the threads split the columns.
    @Test func aColumnDoesNotDependOnItsNeighbours() throws {
        let m = 19, k = 600, n = 45
        let a = Self.random(m * k, seed: 1), b = Self.random(k * n, seed: 2)
        for kernels in ComputeKernels.supported {
            let whole = Self.product(Shape(m: m, n: n, k: k), a: a, b: b, kernels: kernels)
            for (first, count) in [(0, 1), (44, 1), (3, 17), (16, 29), (31, 2)] {
                // The columns first..<first+count as a matrix of their own.
                var part = [Float](repeating: 0, count: k * count)
                for p in 0..<k { for j in 0..<count { part[p * count + j] = b[p * n + first + j] } }
                let c = Self.product(Shape(m: m, n: count, k: k), a: a, b: part, kernels: kernels)
                for i in 0..<m {
                    for j in 0..<count {
                        #expect(c[i * count + j].bitPattern == whole[i * n + first + j].bitPattern,
                                "\(kernels): column \(first + j) row \(i) differs when computed among \(count) columns")
                    }
                }
            }
        }
    }

    /// Threads that share a product by rows take runs of rows that start on a row panel
    /// (six rows), and each run writes exactly its rows, with the bits of the whole product:
    /// over several chunks of `k`, whose packed panels are laid out across all the rows, with
    /// a last run shorter than a panel, and with the columns packed once beforehand
    /// (``PackedColumns``, a panel at a time as the workers pack them) or by each run.
    /// Columns that are all the column kernel's (three), and a strided `B`, too.
    @Test(arguments: [Shape(m: 37, n: 45, k: 600), Shape(m: 5, n: 20, k: 300), Shape(m: 37, n: 49, k: 600),
                      Shape(m: 40, n: 196, k: 300, padB: 5), Shape(m: 13, n: 3, k: 300, padB: 2)])
    func runsOfRowsAreTheWholeProductsRows(_ s: Shape) throws {
        let ldb = s.n + s.padB
        let a = Self.random(s.m * s.k, seed: 5), b = Self.random(s.k * ldb, seed: 6)
        let packed = a.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, lda: s.k, rows: s.m, columns: s.k) }
        for kernels in ComputeKernels.supported {
            let whole = Self.product(s, a: a, b: b, kernels: kernels)
            let columns = PackedColumns(rows: s.k, columns: s.n, kernels: kernels)
            defer { columns.deallocate() }
            b.withUnsafeBufferPointer { b in
                for p in (0..<columns.panels).reversed() { columns.pack(b.baseAddress!, ldb: ldb, panels: p..<(p + 1)) }
            }
            for run in [6, 12, 18] {
                for first in stride(from: 0, to: s.m, by: run) {
                    let rows = first..<min(s.m, first + run)
                    let each = Self.product(s, a: a, b: b, kernels: kernels, rows: rows)
                    var once = [Float](repeating: .nan, count: s.m * s.n)
                    b.withUnsafeBufferPointer { b in
                        once.withUnsafeMutableBufferPointer { c in
                            packed.multiply(b.baseAddress!, ldb: ldb, n: s.n, packed: columns, into: c.baseAddress!,
                                            ldc: s.n, rows: rows)
                        }
                    }
                    for (name, c) in [("packed by the run", each), ("packed once", once)] {
                        for i in 0..<s.m {
                            for j in 0..<s.n {
                                let value = c[i * s.n + j]
                                if rows.contains(i) {
                                    #expect(value.bitPattern == whole[i * s.n + j].bitPattern,
                                            "\(kernels), \(name): row \(i) column \(j) differs in run \(rows)")
                                } else {
                                    #expect(value.isNaN, "\(kernels), \(name): run \(rows) wrote row \(i)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Packing `B` a few rows at a time, as workers that each pack the input channels they
    /// wrote do, lays out every float where packing it a panel at a time does: across a
    /// chunk boundary of `k`, with the column kernel's columns left out, and out of order.
    @Test(arguments: [Shape(m: 6, n: 45, k: 600), Shape(m: 6, n: 196, k: 300, padB: 5), Shape(m: 6, n: 3, k: 20),
                      Shape(m: 6, n: 49, k: 2304)])
    func packingByRowsLaysOutWhatPackingByPanelsDoes(_ s: Shape) throws {
        let ldb = s.n + s.padB
        let b = Self.random(s.k * ldb, seed: 7)
        for kernels in ComputeKernels.supported {
            let byPanels = PackedColumns(rows: s.k, columns: s.n, kernels: kernels)
            let byRows = PackedColumns(rows: s.k, columns: s.n, kernels: kernels)
            defer { byPanels.deallocate(); byRows.deallocate() }
            let count = byRows.floats
            byRows.pointer.initialize(repeating: .nan, count: max(1, count))
            b.withUnsafeBufferPointer { b in
                byPanels.pack(b.baseAddress!, ldb: ldb, panels: 0..<byPanels.panels)
                for first in stride(from: 0, to: s.k, by: 18).reversed() {
                    byRows.pack(b.baseAddress!, ldb: ldb, rows: first..<min(s.k, first + 18))
                }
            }
            let differing = (0..<count).filter { byRows.pointer[$0].bitPattern != byPanels.pointer[$0].bitPattern }
            #expect(differing.isEmpty, "\(kernels), \(s): \(differing.count) of \(count) floats differ, first at \(differing.first ?? -1)")
        }
    }

    /// The kernel sets agree with each other to rounding: fused and separate multiply-adds
    /// differ in the last bits, never more. The two fused sets do the same operations on
    /// each element in the same order, 8 or 16 lanes at a time, so they agree bit for bit:
    /// an AVX2 machine and an AVX-512 machine sharding one backlog give the same scores.
    @Test func kernelSetsAgree() throws {
        let s = Shape(m: 20, n: 40, k: 300)
        let a = Self.random(s.m * s.k, seed: 3), b = Self.random(s.k * s.n, seed: 4)
        let reference = Self.product(s, a: a, b: b, kernels: .portable)
        for kernels in ComputeKernels.supported where kernels != .portable {
            let c = Self.product(s, a: a, b: b, kernels: kernels)
            for i in reference.indices {
                #expect(abs(c[i] - reference[i]) <= 1e-4 * max(1, abs(reference[i])), "\(kernels) at \(i)")
            }
        }
        let fused = ComputeKernels.supported.filter { $0 != .portable }
        if fused.count == 2 {
            let (v3, v4) = (Self.product(s, a: a, b: b, kernels: fused[0]), Self.product(s, a: a, b: b, kernels: fused[1]))
            #expect(v3.map(\.bitPattern) == v4.map(\.bitPattern), "x86-64-v3 and x86-64-v4 products differ")
        }
    }

    @Test func kernelSetsAreChosenFromTheCPUOrRefused() throws {
        let v3: Set = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
        let v4 = v3.union(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
        let all = ComputeKernels.allCases
        #expect(try ComputeKernels.choose(requested: nil, built: all, flags: v4) == .x86_64_v4)
        #expect(try ComputeKernels.choose(requested: "auto", built: all, flags: v3) == .x86_64_v3)
        #expect(try ComputeKernels.choose(requested: "", built: all, flags: ["sse2", "avx2"]) == .portable)
        #expect(try ComputeKernels.choose(requested: nil, built: [.portable], flags: v4) == .portable)
        #expect(try ComputeKernels.choose(requested: "portable", built: all, flags: v4) == .portable)
        #expect(try ComputeKernels.choose(requested: "x86-64-v3", built: all, flags: v4) == .x86_64_v3)
        // Asked for what the CPU lacks: refused, naming what is missing, never attempted.
        let lacking = #expect(throws: ComputeKernelsError.self) {
            try ComputeKernels.choose(requested: "x86-64-v4", built: all, flags: v3)
        }
        #expect(lacking?.description.contains("avx512bw") == true)
        // A misspelling is an error, not a quiet fallback.
        let typo = #expect(throws: ComputeKernelsError.self) {
            try ComputeKernels.choose(requested: "x86_64_v3", built: all, flags: v4)
        }
        #expect(typo?.description.contains("unknown kernel set") == true)
        // Not in this build (the AcceleratedKernels trait off).
        #expect(throws: ComputeKernelsError.self) {
            try ComputeKernels.choose(requested: "x86-64-v3", built: [.portable], flags: v4)
        }
    }

    /// What this process chose is one the CPU supports, and what `VEIL_KERNELS` asked for
    /// when it is set (the test script runs the suite once more with `portable`).
    @Test func theProcessRunsWhatWasAskedFor() throws {
        let active = try ComputeKernels.active()
        #expect(ComputeKernels.supported.contains(active))
        if let requested = ProcessInfo.processInfo.environment["VEIL_KERNELS"], requested != "auto", !requested.isEmpty {
            #expect(active.rawValue == requested)
        } else {
            #expect(active == ComputeKernels.supported.last)
        }
        print("Veil kernels in this run: \(active)")
    }
}
