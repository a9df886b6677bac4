/// The engine's matrix product, `C = A · B` in single precision, written once and compiled
/// three times: here for baseline CPUs, and in `VeilKernelsX86_64_v3` and
/// `VeilKernelsX86_64_v4` for AVX2 with FMA and for AVX-512. Swift chooses vector
/// instructions per module, not per function, so the arithmetic lives in `@inlinable`
/// generic code that each module instantiates with its own lanes and compiler flags; the
/// tensor engine picks one instantiation at run time from what the CPU offers.
///
/// Each element of `C` is summed in an order that depends on `k` alone: chunks of
/// ``PackedGemm/chunk`` products, each accumulated from zero in `k` order by one
/// multiply-add per product, then added to the element in chunk order. Where a column or
/// row falls in the matrix, how many columns the call has and how the caller split its work
/// change nothing, so an image scores the same bits in any batch.
public enum PackedGemm {
    /// Rows of `A` per micro-tile, the same for every instantiation so that one packed copy
    /// of a layer's weights serves them all.
    public static let rows = 6

    /// Products summed per chunk of `k`: a chunk of a micro-tile's packed `B` (256 rows of at
    /// most 32 floats) stays in L1 while the tile is computed.
    public static let chunk = 256

    /// The widest micro-tile any instantiation uses, in columns.
    public static let widestTile = 32

    /// Floats of a packed `m × k` matrix `A` (``pack(_:lda:m:k:into:)``), with
    /// ``packedSlack`` readable floats after it.
    public static func packedCount(m: Int, k: Int) -> Int { roundedUp(m, rows) * k + packedSlack }

    /// Floats after a packed matrix that the column kernel may read (eight lanes from a
    /// panel's last six values) and never uses.
    public static let packedSlack = 2

    /// Columns at the right edge of a product that the column kernel takes rather than a
    /// micro-tile one vector wide or more, which would compute mostly padding.
    public static let thinColumns = 4

    /// Floats of `B` packed at a time: 128 KiB, to stay in L2 beside a chunk of `A`.
    public static let packedBlock = 32 << 10

    /// Floats of the scratch one call needs for its packed `B`: one block.
    /// (`n` is kept for callers that size scratch by columns; it no longer matters.)
    public static func scratchCount(n: Int) -> Int { Swift.max(packedBlock, chunk * widestTile) }

    /// Packs the row-major `m × k` matrix `a` for the micro-tiles: for each chunk of `k`,
    /// panels of ``rows`` rows (the last padded with zeros), each panel stored product by
    /// product with its rows side by side, then ``packedSlack`` zeros: ``packedCount(m:k:)``
    /// floats in all. Done once per layer, at load.
    public static func pack(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, into packed: UnsafeMutablePointer<Float>) {
        let paddedRows = roundedUp(m, rows)
        var first = 0
        while first < k {
            let depth = Swift.min(chunk, k - first)
            let base = packed + paddedRows * first
            for panel in Swift.stride(from: 0, to: paddedRows, by: rows) {
                let out = base + panel * depth
                for p in 0..<depth {
                    for r in 0..<rows {
                        let row = panel + r
                        out[p * rows + r] = row < m ? a[row * lda + first + p] : 0
                    }
                }
            }
            first += depth
        }
        (packed + paddedRows * k).initialize(repeating: 0, count: packedSlack)
    }

    @inlinable static func roundedUp(_ x: Int, _ multiple: Int) -> Int { (x + multiple - 1) / multiple * multiple }
}

/// How an instantiation of ``PackedGemm`` does its vector arithmetic.
public protocol GemmLanes {
    /// A vector of floats; a micro-tile is ``PackedGemm/rows`` rows of two of them.
    associatedtype Vector: SIMD where Vector.Scalar == Float
    /// `c + a · b`, lane by lane.
    static func multiplyAdd(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector
    /// The same operation on eight lanes, whatever ``Vector``'s width: the column kernel
    /// holds a panel's six rows in one vector.
    static func multiplyAdd8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float>
    /// `x > 0 ? x : 0`, lane by lane (so NaN and −0 give +0). Written per lane type: in
    /// generic code the comparison became one scalar compare per lane.
    static func rectified(_ v: Vector) -> Vector
}

/// Four lanes (SSE2 on x86-64, NEON on ARM), a multiply then an add: baseline x86-64 has no
/// fused multiply-add, and `addingProduct` there becomes a libm `fmaf` call per lane.
public enum PortableLanes: GemmLanes {
    /// Four floats.
    public typealias Vector = SIMD4<Float>
    /// Rounded twice, as baseline x86-64 must.
    @inlinable @inline(__always)
    public static func multiplyAdd(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector { c + a * b }
    /// Rounded twice, as ``multiplyAdd(_:_:_:)``.
    @inlinable @inline(__always)
    public static func multiplyAdd8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> { c + a * b }
    /// `x > 0 ? x : 0` per lane.
    @inlinable @inline(__always)
    public static func rectified(_ v: Vector) -> Vector { Vector(repeating: 0).replacing(with: v, where: v .> 0) }
}

/// Eight lanes with fused multiply-add (AVX2 and FMA). Only for modules compiled for
/// x86-64-v3 or later: anywhere else `addingProduct` is a libm call per lane.
public enum FusedLanes8: GemmLanes {
    /// Eight floats.
    public typealias Vector = SIMD8<Float>
    /// One `vfmadd` instruction where the module targets x86-64-v3.
    @inlinable @inline(__always)
    public static func multiplyAdd(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector { c.addingProduct(a, b) }
    /// Fused, as ``multiplyAdd(_:_:_:)``.
    @inlinable @inline(__always)
    public static func multiplyAdd8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        c.addingProduct(a, b)
    }
    /// `x > 0 ? x : 0` per lane.
    @inlinable @inline(__always)
    public static func rectified(_ v: Vector) -> Vector { Vector(repeating: 0).replacing(with: v, where: v .> 0) }
}

/// Sixteen lanes with fused multiply-add (AVX-512). Only for modules compiled for x86-64-v4.
public enum FusedLanes16: GemmLanes {
    /// Sixteen floats.
    public typealias Vector = SIMD16<Float>
    /// One `vfmadd` on a 512-bit register where the module targets x86-64-v4.
    @inlinable @inline(__always)
    public static func multiplyAdd(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector { c.addingProduct(a, b) }
    /// Fused, as ``multiplyAdd(_:_:_:)``.
    @inlinable @inline(__always)
    public static func multiplyAdd8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        c.addingProduct(a, b)
    }
    /// `x > 0 ? x : 0` per lane.
    @inlinable @inline(__always)
    public static func rectified(_ v: Vector) -> Vector { Vector(repeating: 0).replacing(with: v, where: v .> 0) }
}

extension PackedGemm {
    /// `C[m×n] = A · B[k×n]` (row-major, leading dimensions `ldb`, `ldc`), `A` as
    /// ``pack(_:lda:m:k:into:)`` left it, slack included; `scratch`, needed when `packedB` is
    /// nil, holds ``scratchCount(n:)`` floats.
    /// Every element of `C` in the `m × n` block is written; `C`'s old values are never read.
    ///
    /// `selected`, which starts at a multiple of ``rows``, limits the product to those rows
    /// of `A` and `C` (`c` still points at row 0), so that threads can share a product by rows.
    ///
    /// With `packedB`, `B`'s columns come already packed by
    /// ``packColumns(_:ldb:n:k:tileWidth:panels:rows:into:)`` at this instantiation's tile width,
    /// every panel of them, and `scratch` is not used; `b` is still read for the last few
    /// columns, which the column kernel takes as they are. Threads sharing a product by rows
    /// then pack `B` once between them instead of once each.
    @inlinable @inline(__always)
    public static func multiply<L: GemmLanes>(_ lanes: L.Type, m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>,
                                              b: UnsafePointer<Float>, ldb: Int,
                                              c: UnsafeMutablePointer<Float>, ldc: Int,
                                              scratch: UnsafeMutablePointer<Float>?, packedB: UnsafePointer<Float>? = nil,
                                              rows selected: Range<Int>) {
        precondition(selected.lowerBound >= 0 && selected.upperBound <= m
                        && (selected.isEmpty || selected.lowerBound % rows == 0),
                     "rows \(selected) of \(m) must start at a multiple of \(rows)")
        precondition(scratch != nil || packedB != nil, "a product needs scratch or packed columns")
        let width = 2 * L.Vector.scalarCount
        let paddedRows = roundedUp(m, rows)
        // The last few columns, past whole vectors, go to the column kernel; the rest to tiles.
        let tail = thinTail(n, lanes: L.Vector.scalarCount), n = n - tail
        let paddedColumns = roundedUp(n, width)
        var first = 0
        while first < k {
            let depth = Swift.min(chunk, k - first)
            let a = packedA + paddedRows * first
            // A block of column panels at a time (``packedBlock`` floats, in L2), packed row
            // by row so that `B` is read in long runs; then each panel in turn, in L1, runs
            // under every row panel while the chunk of `A` stays in L2. Packing all of `B`
            // first and sweeping it once per row panel reread it from memory whenever it
            // outgrew L2 (a 1×1 layer with 128 inputs over 3,136 columns packs 1.6 MB);
            // packing one panel at a time read `B` in as many short runs as it has rows.
            let span = Swift.max(width, packedBlock / depth / width * width)
            var start = 0
            while start < n {
                let count = Swift.min(span, n - start)
                let panels: UnsafePointer<Float>
                if let packedB {
                    panels = packedB + first * paddedColumns + start * depth
                } else {
                    packBlock(lanes, b + first * ldb + start, ldb: ldb, depth: depth, n: count, into: scratch!)
                    panels = UnsafePointer(scratch!)
                }
                var column = 0
                while column < count {
                    let columns = Swift.min(width, count - column), panel = panels + (column / width) * depth * width
                    var row = selected.lowerBound
                    while row < selected.upperBound {
                        let target = c + row * ldc + start + column, rowsLeft = Swift.min(rows, selected.upperBound - row)
                        if columns <= L.Vector.scalarCount {
                            // A last panel one vector wide or less, common in thin batch-1
                            // products (a 14×14 map's 16 Winograd tiles): half the work.
                            narrowTile(lanes, depth: depth, a: a + row * depth, b: panel, c: target, ldc: ldc,
                                       rows: rowsLeft, columns: columns, accumulate: first > 0)
                        } else if rowsLeft <= 4 {
                            // The last row panel of a matrix whose rows are not a multiple of
                            // six (32, 64, 128 … output channels): only the rows it has.
                            shortTile(lanes, depth: depth, a: a + row * depth, b: panel, c: target, ldc: ldc,
                                      rows: rowsLeft, columns: columns, accumulate: first > 0)
                        } else {
                            tile(lanes, depth: depth, a: a + row * depth, b: panel, c: target, ldc: ldc,
                                 rows: rowsLeft, columns: columns, accumulate: first > 0)
                        }
                        row += rows
                    }
                    column += width
                }
                start += count
            }
            if tail > 0 {
                columnTail(lanes, depth: depth, a: a, b: b + first * ldb + n, ldb: ldb, c: c + n, ldc: ldc,
                           rows: selected, columns: tail, accumulate: first > 0)
            }
            first += depth
        }
    }

    /// Floats that ``packColumns(_:ldb:n:k:tileWidth:panels:rows:into:)`` fills for a `k × n`
    /// matrix `B` at tile width `tileWidth`: every column but the few the column kernel
    /// takes, in whole panels.
    public static func packedColumnsCount(n: Int, k: Int, tileWidth: Int) -> Int {
        k * columnPanels(n: n, tileWidth: tileWidth) * tileWidth
    }

    /// Panels of `tileWidth` columns that hold `n` columns but the column kernel's few.
    public static func columnPanels(n: Int, tileWidth: Int) -> Int {
        (n - thinTail(n, lanes: tileWidth / 2) + tileWidth - 1) / tileWidth
    }

    /// Packs rows `rows` (products, of `k`) of column panels `panels` (each `tileWidth`
    /// columns) of the row-major `k × n` matrix `b` as
    /// ``multiply(_:m:n:k:packedA:b:ldb:c:ldc:scratch:packedB:rows:)`` reads them: for each
    /// chunk of `k`, panel after panel, each product by product, the last panel padded with
    /// zeros. `b` points at row 0. Threads may pack different rows, or panels, into the same
    /// buffer: those sharing a product by output channels each pack the rows of `b` they
    /// wrote themselves.
    public static func packColumns(_ b: UnsafePointer<Float>, ldb: Int, n: Int, k: Int, tileWidth width: Int,
                                   panels: Range<Int>, rows: Range<Int>, into packed: UnsafeMutablePointer<Float>) {
        let main = n - thinTail(n, lanes: width / 2), padded = roundedUp(main, width)
        precondition(panels.lowerBound >= 0 && panels.upperBound * width <= padded, "panels \(panels) of \(n) columns")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= k, "rows \(rows) of \(k)")
        for r in rows {
            let first = r / chunk * chunk, depth = Swift.min(chunk, k - first), p = r - first
            let from = b + r * ldb
            for panel in panels {
                let target = packed + first * padded + panel * depth * width + p * width
                let whole = Swift.min(width, main - panel * width)
                target.update(from: from + panel * width, count: whole)
                if whole < width { (target + whole).update(repeating: 0, count: width - whole) }
            }
        }
    }

    /// How many of `n` columns the column kernel takes: those past the last whole vector,
    /// when they are at most ``thinColumns``. (A 7×7 map's 49 columns, on sixteen lanes, are a
    /// tile of 32, a vector of 16 and one column, not two tiles of 32.)
    @inlinable @inline(__always)
    static func thinTail(_ n: Int, lanes: Int) -> Int {
        let past = n % lanes
        return past <= thinColumns ? past : 0
    }

    /// `columns` columns of the product, each alone, four row panels at a time: a panel's
    /// six rows are one eight-lane vector of `A`, multiplied by one broadcast value of `B`.
    /// Each element is the same chain of multiply-adds, in the same order, as in a tile, so
    /// the same bits; but a column costs one multiply-add per panel and product, where a tile
    /// one vector wide would spend six.
    @inlinable @inline(__always)
    static func columnTail<L: GemmLanes>(_: L.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                         ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows selected: Range<Int>,
                                         columns: Int, accumulate: Bool) {
        typealias V = SIMD8<Float>
        let step = rows * depth  // floats between two panels of this chunk
        for j in 0..<columns {
            var row = selected.lowerBound
            while row < selected.upperBound {
                let panels = Swift.min(4, (selected.upperBound - row + rows - 1) / rows)
                // Missing panels repeat the first: computed, never written.
                let p0 = UnsafeRawPointer(a + row * depth)
                let p1 = panels > 1 ? p0 + step * 4 : p0, p2 = panels > 2 ? p0 + 2 * step * 4 : p0
                let p3 = panels > 3 ? p0 + 3 * step * 4 : p0
                var s0 = V(), s1 = V(), s2 = V(), s3 = V()
                var pb = b + j, offset = 0
                for _ in 0..<depth {
                    let x = V(repeating: pb[0])
                    s0 = L.multiplyAdd8(p0.loadUnaligned(fromByteOffset: offset, as: V.self), x, s0)
                    s1 = L.multiplyAdd8(p1.loadUnaligned(fromByteOffset: offset, as: V.self), x, s1)
                    s2 = L.multiplyAdd8(p2.loadUnaligned(fromByteOffset: offset, as: V.self), x, s2)
                    s3 = L.multiplyAdd8(p3.loadUnaligned(fromByteOffset: offset, as: V.self), x, s3)
                    pb += ldb
                    offset += rows * 4
                }
                withUnsafeTemporaryAllocation(of: V.self, capacity: 4) { sums in
                    sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3
                    let values = UnsafeRawPointer(sums.baseAddress!).assumingMemoryBound(to: Float.self)
                    for panel in 0..<panels {
                        let first = row + panel * rows
                        for r in 0..<Swift.min(rows, selected.upperBound - first) {
                            let target = c + (first + r) * ldc + j, sum = values[panel * 8 + r]
                            target.pointee = accumulate ? target.pointee + sum : sum
                        }
                    }
                }
                row += panels * rows
            }
        }
    }

    /// Copies `depth` rows of `n` columns of `b` into panels of one micro-tile's width,
    /// product by product, the last panel padded with zeros. Row by row, so that `b` is read
    /// in order.
    @inlinable @inline(__always)
    static func packBlock<L: GemmLanes>(_: L.Type, _ b: UnsafePointer<Float>, ldb: Int, depth: Int, n: Int,
                                        into packed: UnsafeMutablePointer<Float>) {
        let lanes = L.Vector.scalarCount, width = 2 * lanes
        let whole = n / width * width
        for p in 0..<depth {
            let from = b + p * ldb
            var column = 0
            while column < whole {
                let source = UnsafeRawPointer(from + column)
                let target = UnsafeMutableRawPointer(packed + (column / width) * depth * width + p * width)
                target.storeBytes(of: source.loadUnaligned(as: L.Vector.self), as: L.Vector.self)
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: lanes * 4, as: L.Vector.self),
                                  toByteOffset: lanes * 4, as: L.Vector.self)
                column += width
            }
            if whole < n {
                let target = packed + (whole / width) * depth * width + p * width
                for j in 0..<width { target[j] = whole + j < n ? from[whole + j] : 0 }
            }
        }
    }

    /// ``tile(_:depth:a:b:c:ldc:rows:columns:accumulate:)`` for a panel of at most one
    /// vector's width: the first vector of each packed row, the same sums in the same order.
    @inlinable @inline(__always)
    static func narrowTile<L: GemmLanes>(_: L.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                         c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool) {
        typealias V = L.Vector
        let lanes = V.scalarCount
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V()
        var pa = a, pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.loadUnaligned(as: V.self)
            c0 = L.multiplyAdd(V(repeating: pa[0]), b0, c0)
            c1 = L.multiplyAdd(V(repeating: pa[1]), b0, c1)
            c2 = L.multiplyAdd(V(repeating: pa[2]), b0, c2)
            c3 = L.multiplyAdd(V(repeating: pa[3]), b0, c3)
            c4 = L.multiplyAdd(V(repeating: pa[4]), b0, c4)
            c5 = L.multiplyAdd(V(repeating: pa[5]), b0, c5)
            pa += 6
            pb += 2 * lanes * 4
        }
        withUnsafeTemporaryAllocation(of: V.self, capacity: 6) { sums in
            sums[0] = c0; sums[1] = c1; sums[2] = c2; sums[3] = c3; sums[4] = c4; sums[5] = c5
            for r in 0..<rows {
                let target = c + r * ldc
                if columns == lanes {
                    let raw = UnsafeMutableRawPointer(target)
                    raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: V.self) + sums[r] : sums[r], as: V.self)
                    continue
                }
                let row = UnsafeRawPointer(sums.baseAddress! + r).assumingMemoryBound(to: Float.self)
                if accumulate {
                    for j in 0..<columns { target[j] = target[j] + row[j] }
                } else {
                    for j in 0..<columns { target[j] = row[j] }
                }
            }
        }
    }

    /// ``tile(_:depth:a:b:c:ldc:rows:columns:accumulate:)`` for a panel with at most four
    /// of its six rows in the matrix: two or four rows of sums instead of six, each summed
    /// in the same order, so the same bits.
    @inlinable @inline(__always)
    static func shortTile<L: GemmLanes>(_: L.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool) {
        typealias V = L.Vector
        let lanes = V.scalarCount
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var pa = a, pb = UnsafeRawPointer(b)
        // Two loops, not a test in one: two rows of sums or four.
        if rows <= 2 {
            for _ in 0..<depth {
                let b0 = pb.loadUnaligned(as: V.self), b1 = pb.loadUnaligned(fromByteOffset: lanes * 4, as: V.self)
                multiplyAdd(L.self, pa[0], b0, b1, &c00, &c01)
                multiplyAdd(L.self, pa[1], b0, b1, &c10, &c11)
                pa += 6
                pb += 2 * lanes * 4
            }
        } else {
            for _ in 0..<depth {
                let b0 = pb.loadUnaligned(as: V.self), b1 = pb.loadUnaligned(fromByteOffset: lanes * 4, as: V.self)
                multiplyAdd(L.self, pa[0], b0, b1, &c00, &c01)
                multiplyAdd(L.self, pa[1], b0, b1, &c10, &c11)
                multiplyAdd(L.self, pa[2], b0, b1, &c20, &c21)
                multiplyAdd(L.self, pa[3], b0, b1, &c30, &c31)
                pa += 6
                pb += 2 * lanes * 4
            }
        }
        withUnsafeTemporaryAllocation(of: V.self, capacity: 8) { sums in
            sums[0] = c00; sums[1] = c01; sums[2] = c10; sums[3] = c11; sums[4] = c20; sums[5] = c21; sums[6] = c30; sums[7] = c31
            write(sums.baseAddress!, rows: rows, columns: columns, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// One row of a micro-tile, one product deep: `c0 += a · b0`, `c1 += a · b1`.
    @inlinable @inline(__always)
    static func multiplyAdd<L: GemmLanes>(_: L.Type, _ a: Float, _ b0: L.Vector, _ b1: L.Vector,
                                          _ c0: inout L.Vector, _ c1: inout L.Vector) {
        let x = L.Vector(repeating: a)
        c0 = L.multiplyAdd(x, b0, c0)
        c1 = L.multiplyAdd(x, b1, c1)
    }

    /// Writes (or adds, when `accumulate`) `rows × columns` sums of a tile that `sums` holds
    /// row by row, two vectors a row, element by element: for tiles at the matrix's edges.
    @inlinable @inline(__always)
    static func write<V: SIMD>(_ sums: UnsafePointer<V>, rows: Int, columns: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                               accumulate: Bool) where V.Scalar == Float {
        let values = UnsafeRawPointer(sums).assumingMemoryBound(to: Float.self)
        for r in 0..<rows {
            let target = c + r * ldc, row = values + r * 2 * V.scalarCount
            if accumulate {
                for j in 0..<columns { target[j] = target[j] + row[j] }
            } else {
                for j in 0..<columns { target[j] = row[j] }
            }
        }
    }

    /// One micro-tile: `rows × 2` vectors of sums over `depth` products, held in registers,
    /// then written to `c` (or added to it, for every chunk after the first).
    @inlinable @inline(__always)
    static func tile<L: GemmLanes>(_: L.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                   c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool) {
        typealias V = L.Vector
        let lanes = V.scalarCount
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var pa = a, pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.loadUnaligned(as: V.self), b1 = pb.loadUnaligned(fromByteOffset: lanes * 4, as: V.self)
            multiplyAdd(L.self, pa[0], b0, b1, &c00, &c01)
            multiplyAdd(L.self, pa[1], b0, b1, &c10, &c11)
            multiplyAdd(L.self, pa[2], b0, b1, &c20, &c21)
            multiplyAdd(L.self, pa[3], b0, b1, &c30, &c31)
            multiplyAdd(L.self, pa[4], b0, b1, &c40, &c41)
            multiplyAdd(L.self, pa[5], b0, b1, &c50, &c51)
            pa += 6
            pb += 2 * lanes * 4
        }
        if columns == 2 * lanes {
            @inline(__always) func put(_ low: V, _ high: V, _ r: Int) {
                let target = UnsafeMutableRawPointer(c + r * ldc)
                if accumulate {
                    target.storeBytes(of: target.loadUnaligned(as: V.self) + low, as: V.self)
                    target.storeBytes(of: target.loadUnaligned(fromByteOffset: lanes * 4, as: V.self) + high,
                                      toByteOffset: lanes * 4, as: V.self)
                } else {
                    target.storeBytes(of: low, as: V.self)
                    target.storeBytes(of: high, toByteOffset: lanes * 4, as: V.self)
                }
            }
            // Whole rows of vectors, as many as the matrix has left (the last panel of a
            // matrix whose rows are not a multiple of six has fewer).
            put(c00, c01, 0)
            if rows > 1 { put(c10, c11, 1) }
            if rows > 2 { put(c20, c21, 2) }
            if rows > 3 { put(c30, c31, 3) }
            if rows > 4 { put(c40, c41, 4) }
            if rows > 5 { put(c50, c51, 5) }
            return
        }
        // A partial tile at the matrix's right edge: the same sums, written element by element.
        withUnsafeTemporaryAllocation(of: V.self, capacity: 12) { sums in
            sums[0] = c00; sums[1] = c01; sums[2] = c10; sums[3] = c11; sums[4] = c20; sums[5] = c21
            sums[6] = c30; sums[7] = c31; sums[8] = c40; sums[9] = c41; sums[10] = c50; sums[11] = c51
            write(sums.baseAddress!, rows: rows, columns: columns, c: c, ldc: ldc, accumulate: accumulate)
        }
    }
}

/// The baseline instantiation: what every CPU runs when no faster one applies.
public enum PortableKernels {
    /// ``PackedGemm/multiply(_:m:n:k:packedA:b:ldb:c:ldc:scratch:packedB:rows:)`` with ``PortableLanes``.
    public static func multiply(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>?,
                                packedB: UnsafePointer<Float>?, rows: Range<Int>) {
        PackedGemm.multiply(PortableLanes.self, m: m, n: n, k: k, packedA: packedA, b: b, ldb: ldb, c: c, ldc: ldc,
                            scratch: scratch, packedB: packedB, rows: rows)
    }
}
