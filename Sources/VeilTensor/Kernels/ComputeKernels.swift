import Foundation
import VeilKernels
#if AcceleratedKernels && arch(x86_64)
import VeilKernelsX86_64_v3
import VeilKernelsX86_64_v4
#endif

/// The instruction sets Veil's own matrix kernels are compiled for, and the one a process runs.
///
/// The engine's products run on kernels compiled for baseline x86-64 (or the platform's
/// baseline elsewhere), for x86-64-v3 (AVX2 and FMA) and for x86-64-v4 (AVX-512). The
/// process takes the best that the CPU supports, once, at first use. The environment variable
/// `VEIL_KERNELS` (`portable`, `x86-64-v3` or `x86-64-v4`) asks for one instead: a set the
/// CPU cannot run or the build does not hold is refused when a model loads, never tried.
/// Builds with the package trait `AcceleratedKernels` turned off hold only ``portable``.
///
/// An image's scores are the same bits in any batch and with any number of threads, for a
/// given kernel set; two kernel sets differ in rounding (fused or separate multiply-adds),
/// by about one part in a million.
public enum ComputeKernels: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Baseline vector code: four lanes, multiply then add.
    case portable
    /// AVX2 with fused multiply-add: eight lanes.
    case x86_64_v3 = "x86-64-v3"
    /// AVX-512: sixteen lanes.
    case x86_64_v4 = "x86-64-v4"

    /// The kernel sets this build holds.
    public static var built: [ComputeKernels] {
        #if AcceleratedKernels && arch(x86_64)
        return [.portable, .x86_64_v3, .x86_64_v4]
        #else
        return [.portable]
        #endif
    }

    /// The kernel sets that this build holds and this CPU can run, slowest first.
    public static var supported: [ComputeKernels] {
        let flags = BLASDiagnostics.cpuFlags()
        return built.filter { $0.requiredFlags.isSubset(of: flags) }
    }

    /// The kernels this process runs: ``supported``'s last, or the set `VEIL_KERNELS` names.
    /// Throws when `VEIL_KERNELS` names a set that is unknown, not built, or not supported by
    /// this CPU.
    public static func active() throws(ComputeKernelsError) -> ComputeKernels { try selection.get() }

    /// Resolved once: every product in the process uses the same kernels.
    static let selection: Result<ComputeKernels, ComputeKernelsError> = {
        do throws(ComputeKernelsError) {
            return .success(try choose(requested: ProcessInfo.processInfo.environment["VEIL_KERNELS"],
                                       built: built, flags: BLASDiagnostics.cpuFlags()))
        } catch {
            return .failure(error)
        }
    }()

    /// The kernels in use, or the portable ones when `VEIL_KERNELS` is invalid (model loading
    /// refuses that case before any product runs).
    static let current: ComputeKernels = (try? selection.get()) ?? .portable

    /// The choice itself, separate from the process's environment so that it can be tested.
    package static func choose(requested: String?, built: [ComputeKernels], flags: Set<String>) throws(ComputeKernelsError) -> ComputeKernels {
        let supported = built.filter { $0.requiredFlags.isSubset(of: flags) }
        guard let requested, !requested.isEmpty, requested != "auto" else { return supported.last ?? .portable }
        guard let kernels = ComputeKernels(rawValue: requested) else {
            throw ComputeKernelsError(requested: requested, reason: "unknown kernel set; use one of auto, "
                                      + allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard built.contains(kernels) else {
            throw ComputeKernelsError(requested: requested, reason: "this build holds only "
                                      + built.map(\.rawValue).joined(separator: ", ")
                                      + " (the AcceleratedKernels trait is off, or the processor is not x86-64)")
        }
        let missing = kernels.requiredFlags.subtracting(flags)
        guard missing.isEmpty else {
            throw ComputeKernelsError(requested: requested, reason: "this CPU lacks " + missing.sorted().joined(separator: ", "))
        }
        return kernels
    }

    /// Columns of a micro-tile: two vectors of the lanes that ``PackedMatrix`` multiplies
    /// with for this set (the portable ones for every set a build does not hold).
    var tileWidth: Int {
        switch self {
        #if AcceleratedKernels && arch(x86_64)
        case .x86_64_v4: return 2 * FusedLanes16.Vector.scalarCount
        case .x86_64_v3: return 2 * FusedLanes8.Vector.scalarCount
        #endif
        default: return 2 * PortableLanes.Vector.scalarCount
        }
    }

    /// The `/proc/cpuinfo` flags a set's instructions need (what the OS lets programs use).
    var requiredFlags: Set<String> {
        let v3: Set = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
        switch self {
        case .portable: return []
        case .x86_64_v3: return v3
        case .x86_64_v4: return v3.union(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
        }
    }

    public var description: String { rawValue }
}

/// `VEIL_KERNELS` asks for kernels this process cannot run.
public struct ComputeKernelsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The value of `VEIL_KERNELS`.
    public var requested: String
    /// Why it cannot be honoured.
    public var reason: String

    public var description: String { "VEIL_KERNELS=\(requested): \(reason)" }
}

/// A matrix packed once, at load, as the left operand of the engine's products.
struct PackedMatrix: Sendable {
    /// Rows (`m`) and columns (`k`) of the matrix before packing.
    let rows: Int, columns: Int
    let values: [Float]

    /// Packs the row-major `rows × columns` matrix at `a` (leading dimension `lda`).
    init(_ a: UnsafePointer<Float>, lda: Int, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        values = [Float](unsafeUninitializedCapacity: PackedGemm.packedCount(m: rows, k: columns)) { buffer, count in
            PackedGemm.pack(a, lda: lda, m: rows, k: columns, into: buffer.baseAddress!)
            count = buffer.count
        }
    }

    /// The element at (`row`, `column`) of the matrix before packing, for naive twins that
    /// read weights one by one.
    func element(row: Int, column: Int) -> Float {
        let chunk = column / PackedGemm.chunk * PackedGemm.chunk
        let depth = min(PackedGemm.chunk, columns - chunk)
        let paddedRows = (rows + PackedGemm.rows - 1) / PackedGemm.rows * PackedGemm.rows
        let panel = row / PackedGemm.rows * PackedGemm.rows
        return values[paddedRows * chunk + panel * depth + (column - chunk) * PackedGemm.rows + row % PackedGemm.rows]
    }

    /// `C[rows × n] = self · B[columns × n]`, row-major; every element of that block of `C`
    /// is written. `scratch` must come from ``GemmScratch/init(columns:)`` with at least `n`.
    /// `only`, starting at a multiple of ``PackedGemm/rows``, limits the product to those
    /// rows of `C`.
    func multiply(_ b: UnsafePointer<Float>, ldb: Int, n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                  scratch: GemmScratch, rows only: Range<Int>? = nil, kernels: ComputeKernels = ComputeKernels.current) {
        precondition(n > 0 && n <= scratch.columns && ldb >= n && ldc >= n,
                     "product shapes: n=\(n) scratch=\(scratch.columns) ldb=\(ldb) ldc=\(ldc)")
        run(b, ldb: ldb, n: n, into: c, ldc: ldc, scratch: scratch.pointer, packedB: nil, rows: only ?? 0..<rows,
            kernels: kernels)
    }

    /// The same product with `B`'s columns already packed into `packedB` by
    /// ``PackedColumns``, for `kernels`; `b` is still read for the last few columns.
    func multiply(_ b: UnsafePointer<Float>, ldb: Int, n: Int, packed packedB: PackedColumns,
                  into c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>) {
        precondition(n > 0 && n == packedB.columns && ldb >= n && ldc >= n && packedB.rows == columns,
                     "product shapes: n=\(n) packed=\(packedB.rows)x\(packedB.columns) ldb=\(ldb) ldc=\(ldc)")
        run(b, ldb: ldb, n: n, into: c, ldc: ldc, scratch: nil, packedB: packedB.pointer, rows: rows,
            kernels: packedB.kernels)
    }

    private func run(_ b: UnsafePointer<Float>, ldb: Int, n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int,
                     scratch: UnsafeMutablePointer<Float>?, packedB: UnsafePointer<Float>?, rows selected: Range<Int>,
                     kernels: ComputeKernels) {
        values.withUnsafeBufferPointer { a in
            let a = a.baseAddress!
            switch kernels {
            #if AcceleratedKernels && arch(x86_64)
            case .x86_64_v4:
                X86_64_v4Kernels.multiply(m: rows, n: n, k: columns, packedA: a, b: b, ldb: ldb, c: c, ldc: ldc,
                                          scratch: scratch, packedB: packedB, rows: selected)
            case .x86_64_v3:
                X86_64_v3Kernels.multiply(m: rows, n: n, k: columns, packedA: a, b: b, ldb: ldb, c: c, ldc: ldc,
                                          scratch: scratch, packedB: packedB, rows: selected)
            #endif
            default:
                PortableKernels.multiply(m: rows, n: n, k: columns, packedA: a, b: b, ldb: ldb, c: c, ldc: ldc,
                                         scratch: scratch, packedB: packedB, rows: selected)
            }
        }
    }
}

/// The right operand of a product packed once for every thread that shares the product by
/// rows: each would otherwise pack all of it for itself. The panels are as wide as the
/// micro-tiles of `kernels`, which must be the kernels that multiply it.
struct PackedColumns {
    /// Rows (`k`) and columns (`n`) of the matrix it holds.
    let rows: Int, columns: Int
    let kernels: ComputeKernels
    let pointer: UnsafeMutablePointer<Float>

    init(rows: Int, columns: Int, kernels: ComputeKernels = ComputeKernels.current) {
        (self.rows, self.columns, self.kernels) = (rows, columns, kernels)
        let count = max(1, PackedGemm.packedColumnsCount(n: columns, k: rows, tileWidth: kernels.tileWidth))
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }

    /// Panels of whole micro-tile width that hold the columns (the last few may be left to
    /// the column kernel, and are in none).
    var panels: Int { PackedGemm.columnPanels(n: columns, tileWidth: kernels.tileWidth) }

    /// Packs `panels` of the `rows × columns` matrix `b` (leading dimension `ldb`); threads
    /// may pack different panels at once.
    func pack(_ b: UnsafePointer<Float>, ldb: Int, panels: Range<Int>) {
        PackedGemm.packColumns(b, ldb: ldb, n: columns, k: rows, tileWidth: kernels.tileWidth, panels: panels,
                               rows: 0..<rows, into: pointer)
    }

    /// Floats the packed panels take.
    var floats: Int { PackedGemm.packedColumnsCount(n: columns, k: rows, tileWidth: kernels.tileWidth) }

    /// Packs rows `rows` of the `rows × columns` matrix `b` into every panel; threads may
    /// pack different rows at once.
    func pack(_ b: UnsafePointer<Float>, ldb: Int, rows range: Range<Int>) {
        PackedGemm.packColumns(b, ldb: ldb, n: columns, k: rows, tileWidth: kernels.tileWidth, panels: 0..<panels,
                               rows: range, into: pointer)
    }

    func deallocate() { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// One worker's room for the packed right operand of products of up to `columns` columns.
struct GemmScratch {
    let columns: Int
    let pointer: UnsafeMutablePointer<Float>

    init(columns: Int) {
        self.columns = columns
        let count = PackedGemm.scratchCount(n: columns)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }

    func deallocate() { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// The element-wise passes of ``ElementwiseKernels``, on the kernels this process runs.
enum Vectorized {
    /// `out = activation(x + bias + residual)`; see ``Epilogue``.
    @inline(__always)
    static func biasResidualActivation(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
                                       bias: Float, relu: Bool, residual: UnsafePointer<Float>?) {
        switch ComputeKernels.current {
        #if AcceleratedKernels && arch(x86_64)
        case .x86_64_v4:
            X86_64_v4Kernels.biasResidualActivation(x, into: out, count: count, bias: bias, relu: relu, residual: residual)
        case .x86_64_v3:
            X86_64_v3Kernels.biasResidualActivation(x, into: out, count: count, bias: bias, relu: relu, residual: residual)
        #endif
        default:
            PortableKernels.biasResidualActivation(x, into: out, count: count, bias: bias, relu: relu, residual: residual)
        }
    }

    /// The column half of the Winograd input transform; see ``WinogradF43``.
    @inline(__always)
    static func winogradColumns(_ rows: UnsafePointer<Float>, into strip: UnsafeMutablePointer<Float>, width: Int) {
        switch ComputeKernels.current {
        #if AcceleratedKernels && arch(x86_64)
        case .x86_64_v4: X86_64_v4Kernels.winogradColumns(rows, into: strip, width: width)
        case .x86_64_v3: X86_64_v3Kernels.winogradColumns(rows, into: strip, width: width)
        #endif
        default: PortableKernels.winogradColumns(rows, into: strip, width: width)
        }
    }
    /// One output row of a stem convolution; see ``ConvolutionThenMaxPool``.
    @inline(__always)
    static func convolveRow(input: UnsafePointer<Float>, offsets: UnsafePointer<Int>, depth: Int, count: Int,
                            weights: UnsafePointer<Float>, channels: Int, into out: UnsafeMutablePointer<Float>) {
        switch ComputeKernels.current {
        #if AcceleratedKernels && arch(x86_64)
        case .x86_64_v4:
            X86_64_v4Kernels.convolveRow(input: input, offsets: offsets, depth: depth, count: count, weights: weights,
                                         channels: channels, into: out)
        case .x86_64_v3:
            X86_64_v3Kernels.convolveRow(input: input, offsets: offsets, depth: depth, count: count, weights: weights,
                                         channels: channels, into: out)
        #endif
        default:
            PortableKernels.convolveRow(input: input, offsets: offsets, depth: depth, count: count, weights: weights,
                                        channels: channels, into: out)
        }
    }

    /// One pooled row of a stem's output; see ``ConvolutionThenMaxPool``.
    @inline(__always)
    static func poolRow(_ rows: UnsafePointer<UnsafePointer<Float>>, rowCount: Int, width: Int, channels: Int,
                        spans: UnsafePointer<Int>, outCount: Int, bias: UnsafePointer<Float>, relu: Bool,
                        columnMax: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                        into out: UnsafeMutablePointer<Float>, outStride: Int, outChannels: Int) {
        switch ComputeKernels.current {
        #if AcceleratedKernels && arch(x86_64)
        case .x86_64_v4:
            X86_64_v4Kernels.poolRow(rows, rowCount: rowCount, width: width, channels: channels, spans: spans,
                                     outCount: outCount, bias: bias, relu: relu, columnMax: columnMax, pooled: pooled,
                                     into: out, outStride: outStride, outChannels: outChannels)
        case .x86_64_v3:
            X86_64_v3Kernels.poolRow(rows, rowCount: rowCount, width: width, channels: channels, spans: spans,
                                     outCount: outCount, bias: bias, relu: relu, columnMax: columnMax, pooled: pooled,
                                     into: out, outStride: outStride, outChannels: outChannels)
        #endif
        default:
            PortableKernels.poolRow(rows, rowCount: rowCount, width: width, channels: channels, spans: spans,
                                    outCount: outCount, bias: bias, relu: relu, columnMax: columnMax, pooled: pooled,
                                    into: out, outStride: outStride, outChannels: outChannels)
        }
    }
}
