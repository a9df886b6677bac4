/// 3×3, stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin and Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016).
///
/// Each 4×4 block of outputs ("tile") is computed from the 6×6 input patch around it. Input
/// patches and 3×3 kernels are transformed into a 6×6 domain where the convolution becomes
/// an element-wise product, so a layer turns into 36 independent GEMMs
/// `M[p] = U[p] · V[p]` (`Cout × Cin` by `Cin × tiles`), one per position `p` of the 6×6
/// domain, followed by an inverse transform of each tile:
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
///
/// That is 36 multiplies per tile and channel pair instead of 16 × 9 = 144, and no im2col
/// panel nine times the input's size. The price is rounding: the transforms' constants
/// (up to 8, and 1/24) lose a few bits, about 1e-6 relative per layer in float32, which the
/// convolution sweep and the model parity tests bound.
///
/// Kernels are transformed once, at load (`U`, 36/9 = 4× the original weights). Tiles are
/// processed in blocks sized so that one block's transformed input and products stay in L2,
/// each taken whole by one worker like the im2col path's column blocks; when there are too
/// few tiles for that, the workers share one block phase by phase (see ``forward``).
struct WinogradF43: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// `U[p]`: the transformed kernels, one `Cout × Cin` matrix per position, packed.
    let transformed: [PackedMatrix]
    /// The same for tensors with blocked channels; built instead of ``transformed`` when asked.
    let blockedProducts: [BlockedPointwise]

    /// Whether a convolution of this shape is worth the transforms: they cost a fixed amount
    /// per tile and channel, so with few channels the GEMM they shrink is too small to pay.
    static func suits(inputChannels: Int, outputChannels: Int, groups: Int, window: Window) -> Bool {
        groups == 1 && window.kernelHeight == 3 && window.kernelWidth == 3 && window.strideX == 1 && window.strideY == 1
            && inputChannels >= minimumChannels && outputChannels >= minimumChannels
    }

    static let minimumChannels = 32

    /// Whether an image of this size has enough tiles: each position's product is
    /// `Cout × Cin` by `Cin × tiles`, and with fewer than about 32 tiles an image's products
    /// are so thin that im2col wins (measured on open_nsfw: at batch 1 the 14×14 and 7×7
    /// layers, with 16 and 4 tiles, lose). Decided per image, never per batch: the two ways
    /// round differently, and an image must score the same bits in any batch.
    static func pays(for outShape: Tensor.Shape) -> Bool {
        ((outShape.height + 3) / 4) * ((outShape.width + 3) / 4) >= 16
    }

    func pays(for outShape: Tensor.Shape) -> Bool { Self.pays(for: outShape) }

    /// Transforms `weights` (`Cout × Cin × 3 × 3`): `U = G g Gᵀ`, in double precision.
    init(weights: [Float], inputChannels: Int, outputChannels: Int, blocked: Bool = false) {
        // G (6×3) by columns, in the first six lanes.
        let g0 = SIMD8<Double>(1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24, 0, 0, 0)
        let g1 = SIMD8<Double>(0, -1.0 / 6, 1.0 / 6, 1.0 / 12, -1.0 / 12, 0, 0, 0)
        let g2 = SIMD8<Double>(0, -1.0 / 6, -1.0 / 6, 1.0 / 6, 1.0 / 6, 1, 0, 0)
        let pairs = outputChannels * inputChannels
        let u = winogradKernels(weights, pairs: pairs, size: 6, g0: g0, g1: g1, g2: g2)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.transformed = blocked ? [] : u.withUnsafeBufferPointer { u in
            (0..<36).map { p in
                PackedMatrix(u.baseAddress! + p * pairs, lda: inputChannels, rows: outputChannels, columns: inputChannels)
            }
        }
        self.blockedProducts = !blocked ? [] : u.withUnsafeBufferPointer { u in
            (0..<36).map { p in
                BlockedPointwise(weights: u.baseAddress! + p * pairs, count: pairs, bias: nil, outputs: outputChannels,
                                 inputs: inputChannels)
            }
        }
    }

    /// The blocks of tiles: each block's transformed input (36 × Cin) and products (36 × Cout)
    /// within about 1 MiB, a core's L2 on Zen 4 and Skylake-SP, and the blocks a multiple of
    /// the workers and of even size, as the im2col path's
    /// (``Convolution2D/columnBlocks(k:m:total:workers:)``).
    /// Blocks of 2 MiB sent both through L3 between the three phases: at batch 16 the
    /// 32-channel layers took 45% longer, the 64-channel ones 40%.
    ///
    /// Several workers get at least two blocks each where the blocks can keep ``fewestTiles``,
    /// so that one slowed by the host leaves some to the others.
    func tileBlocks(total: Int, workers: Int) -> EvenRuns {
        let cached = max(8, Convolution2D.columnBlock / (36 * (inputChannels + outputChannels)))
        let blocks = Convolution2D.blockCount(cached: (total + cached - 1) / cached, total: total, workers: workers,
                                              perWorker: 2, fewest: Self.fewestTiles)
        return EvenRuns(count: total, unit: 1, parts: blocks)
    }

    /// The fewest tiles worth a block of its own: a 56×56 map's 196 tiles in four blocks of
    /// 49 run as whole micro-tiles and one column; eight of 25 would pad a third of a tile.
    static let fewestTiles = 48

    /// The geometry of one call.
    struct Plan {
        let inShape: Tensor.Shape, outShape: Tensor.Shape
        let padTop: Int, padLeft: Int
        let tilesX: Int, tilesPerImage: Int
        var stripWidth: Int { 4 * tilesX + 2 }
    }

    /// Two schedules. With at least 32 tiles per worker, blocks of tiles sized for L2 are
    /// split among the workers, each block transformed, multiplied and transformed back by
    /// one worker. With fewer (small maps, small batches), one block holds every tile and the
    /// workers split each phase instead: input channels, then the 36 products, then output
    /// channels.
    func forward(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                 into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                 epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let tilesX = (outShape.width + 3) / 4, tilesY = (outShape.height + 3) / 4
        let plan = Plan(inShape: inShape, outShape: outShape, padTop: padTop, padLeft: padLeft,
                        tilesX: tilesX, tilesPerImage: tilesX * tilesY)
        let total = outShape.batch * plan.tilesPerImage
        let workers = Runtime.current.threads
        let cin = inputChannels, cout = outputChannels
        do {
            if total < 32 * workers {
                let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * cin * total)
                let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * cout * total)
                defer { v.deallocate(); m.deallocate() }
                // Channels in runs of eight, products one position at a time: items small
                // enough for a slowed worker to leave some to the other (Runtime.share).
                let inRuns = (cin + 7) / 8, outRuns = (cout + 7) / 8
                Runtime.current.share(inRuns) { items in
                    let scratch = StripScratch(width: plan.stripWidth)
                    defer { scratch.deallocate() }
                    while let run = items.next() {
                        transformInputs(src, plan, first: 0, count: total, channels: (8 * run)..<min(cin, 8 * run + 8),
                                        into: v, scratch)
                    }
                }
                Runtime.current.share(36) { items in
                    let scratch = GemmScratch(columns: total)
                    defer { scratch.deallocate() }
                    while let position = items.next() {
                        multiply(v, m, count: total, positions: position..<(position + 1), scratch)
                    }
                }
                Runtime.current.share(outRuns) { items in
                    while let run = items.next() {
                        transformOutputs(m, plan, first: 0, count: total, channels: (8 * run)..<min(cout, 8 * run + 8),
                                         into: dst, epilogue: epilogue, residual: residual)
                    }
                }
                return
            }
            let blocks = tileBlocks(total: total, workers: workers)
            let block = blocks.longest
            Runtime.current.share(blocks.parts) { items in
                let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * cin * block)
                let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * cout * block)
                let scratch = StripScratch(width: plan.stripWidth)
                let gemmScratch = GemmScratch(columns: block)
                defer { v.deallocate(); m.deallocate(); scratch.deallocate(); gemmScratch.deallocate() }
                while let b = items.next() {
                    let first = blocks[b].lowerBound, count = blocks[b].count
                    transformInputs(src, plan, first: first, count: count, channels: 0..<cin, into: v, scratch)
                    multiply(v, m, count: count, positions: 0..<36, gemmScratch)
                    transformOutputs(m, plan, first: first, count: count, channels: 0..<cout,
                                     into: dst, epilogue: epilogue, residual: residual)
                }
            }
        }
    }

    /// Six input rows with zero borders, and their column transform, for one worker.
    struct StripScratch {
        let rows: UnsafeMutablePointer<Float>
        let strip: UnsafeMutablePointer<Float>

        init(width: Int) {
            rows = .allocate(capacity: 6 * width)
            // Four spare floats: the four-tile row transform reads two past a row's end.
            strip = .allocate(capacity: 6 * width + 4)
            strip.initialize(repeating: 0, count: 6 * width + 4)
        }

        func deallocate() { rows.deallocate(); strip.deallocate() }
    }

    /// `V[p][ci][t] = (Bᵀ d B)[p]` for the given input channels and the tiles
    /// `first..<first+count` (`t` counted from `first`), one tile row at a time.
    private func transformInputs(_ src: UnsafePointer<Float>, _ plan: Plan, first: Int, count: Int, channels: Range<Int>,
                                 into v: UnsafeMutablePointer<Float>, _ scratch: StripScratch) {
        let cin = inputChannels, width = plan.stripWidth
        for ci in channels {
            var t = 0
            while t < count {
                let tile = first + t
                let n = tile / plan.tilesPerImage, ty = (tile % plan.tilesPerImage) / plan.tilesX, tx0 = tile % plan.tilesX
                let run = min(plan.tilesX - tx0, count - t)
                Self.columnTransform(src + (ci * plan.inShape.batch + n) * plan.inShape.plane, plan.inShape,
                                     y0: ty * 4 - plan.padTop, padLeft: plan.padLeft, rows: scratch.rows, into: scratch.strip, width: width)
                var r = 0
                while r + 4 <= run {
                    Self.rowTransform4(scratch.strip + 4 * (tx0 + r), width: width, into: v + ci * count + t + r, stride: cin * count)
                    r += 4
                }
                while r < run {
                    Self.rowTransform(scratch.strip + 4 * (tx0 + r), width: width, into: v + ci * count + t + r, stride: cin * count)
                    r += 1
                }
                t += run
            }
        }
    }

    /// `M[p] = U[p] · V[p]` for the given positions.
    private func multiply(_ v: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                          count: Int, positions: Range<Int>, _ scratch: GemmScratch) {
        let cin = inputChannels, cout = outputChannels
        for p in positions {
            transformed[p].multiply(v + p * cin * count, ldb: count, n: count, into: m + p * cout * count, ldc: count,
                                    scratch: scratch)
        }
    }

    /// The inverse transform, bias, shortcut and activation for the given output channels
    /// and the tiles `first..<first+count`.
    private func transformOutputs(_ m: UnsafePointer<Float>, _ plan: Plan, first: Int, count: Int, channels: Range<Int>,
                                  into dst: UnsafeMutablePointer<Float>, epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let cout = outputChannels, outShape = plan.outShape, tilesX = plan.tilesX, relu = epilogue.relu
        for co in channels {
            let bias = epilogue.bias[co]
            var t = 0
            while t < count {
                let tile = first + t
                let n = tile / plan.tilesPerImage, ty = (tile % plan.tilesPerImage) / tilesX, tx = tile % tilesX
                let offset = (co * outShape.batch + n) * outShape.plane
                // Up to four tiles side by side in one tile row: one vector pass, clipped to
                // the output where the last tiles hang over its edge (all of a 14×14 map's
                // do). Lanes past the row's last tile compute the next tiles' products and are
                // not written; each lane's arithmetic is its own.
                if t + 4 <= count {
                    let tiles = min(4, tilesX - tx)
                    let corner = offset + 4 * ty * outShape.width + 4 * tx
                    Self.transformOutput4(m + co * count + t, stride: cout * count, bias: bias, relu: relu,
                                          into: dst + corner, residual: residual.map { $0 + corner }, rowStride: outShape.width,
                                          rows: min(4, outShape.height - 4 * ty),
                                          columns: min(4 * tiles, outShape.width - 4 * tx))
                    t += tiles
                    continue
                }
                Self.transformOutput(m + co * count + t, stride: cout * count, bias: bias, relu: relu,
                                     into: dst + offset, residual: residual.map { $0 + offset }, outShape,
                                     y0: ty * 4, x0: tx * 4)
                t += 1
            }
        }
    }

    /// `strip[i][x] = (Bᵀ d)[i]` for every column `x` of the six input rows starting at
    /// `y0` (zeros outside the image): the column half of the input transform, done once
    /// per column instead of once per overlapping tile, in contiguous loops.
    static func columnTransform(_ plane: UnsafePointer<Float>, _ shape: Tensor.Shape, y0: Int, padLeft: Int,
                                rows: UnsafeMutablePointer<Float>, into strip: UnsafeMutablePointer<Float>, width: Int) {
        let copyFrom = max(0, padLeft), copyTo = min(width, shape.width + padLeft)  // strip columns inside the image
        for k in 0..<6 {
            let row = rows + k * width
            let y = y0 + k
            if y < 0 || y >= shape.height || copyFrom >= copyTo {
                row.update(repeating: 0, count: width)
                continue
            }
            if copyFrom > 0 { row.update(repeating: 0, count: copyFrom) }
            (row + copyFrom).update(from: plane + y * shape.width + (copyFrom - padLeft), count: copyTo - copyFrom)
            if copyTo < width { (row + copyTo).update(repeating: 0, count: width - copyTo) }
        }
        Vectorized.winogradColumns(rows, into: strip, width: width)
    }

    /// The row half of the input transform for the tile whose strip columns start at
    /// `strip`: writes `V[p]` to `out[p * stride]`.
    @inline(__always)
    static func rowTransform(_ strip: UnsafePointer<Float>, width: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
        for i in 0..<6 {
            let r = strip + i * width
            let a0 = r[0], a1 = r[1], a2 = r[2], a3 = r[3], a4 = r[4], a5 = r[5]
            let o = out + 6 * i * stride
            o[0] = 4 * a0 - 5 * a2 + a4
            o[stride] = -4 * (a1 + a2) + a3 + a4
            o[2 * stride] = 4 * (a1 - a2) - a3 + a4
            o[3 * stride] = -2 * (a1 - a3) - a2 + a4
            o[4 * stride] = 2 * (a1 - a3) - a2 + a4
            o[5 * stride] = 4 * a1 - 5 * a3 + a5
        }
    }

    /// ``rowTransform(_:width:into:stride:)`` for four consecutive tiles of a strip, one per
    /// vector lane: their values sit 4 apart, so four contiguous loads and a transpose give
    /// each of the six points for all four, and the results land on four consecutive tiles'
    /// slots of `V`, one store each.
    @inline(__always)
    static func rowTransform4(_ strip: UnsafePointer<Float>, width: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
        for i in 0..<6 {
            let r = UnsafeRawPointer(strip + i * width)
            let v0 = r.loadUnaligned(as: SIMD4<Float>.self), v1 = r.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
            let v2 = r.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self), v3 = r.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self)
            let v4 = r.loadUnaligned(fromByteOffset: 64, as: SIMD4<Float>.self)
            // Lane L of aK is point K of tile L: strip[4L + K].
            let a0 = SIMD4(v0[0], v1[0], v2[0], v3[0]), a1 = SIMD4(v0[1], v1[1], v2[1], v3[1])
            let a2 = SIMD4(v0[2], v1[2], v2[2], v3[2]), a3 = SIMD4(v0[3], v1[3], v2[3], v3[3])
            let a4 = SIMD4(v1[0], v2[0], v3[0], v4[0]), a5 = SIMD4(v1[1], v2[1], v3[1], v4[1])
            let o = UnsafeMutableRawPointer(out + 6 * i * stride)
            let step = 4 * stride
            o.storeBytes(of: 4 * a0 - 5 * a2 + a4, as: SIMD4<Float>.self)
            o.storeBytes(of: -4 * (a1 + a2) + a3 + a4, toByteOffset: step, as: SIMD4<Float>.self)
            o.storeBytes(of: 4 * (a1 - a2) - a3 + a4, toByteOffset: 2 * step, as: SIMD4<Float>.self)
            o.storeBytes(of: -2 * (a1 - a3) - a2 + a4, toByteOffset: 3 * step, as: SIMD4<Float>.self)
            o.storeBytes(of: 2 * (a1 - a3) - a2 + a4, toByteOffset: 4 * step, as: SIMD4<Float>.self)
            o.storeBytes(of: 4 * a1 - 5 * a3 + a5, toByteOffset: 5 * step, as: SIMD4<Float>.self)
        }
    }

    /// `Aᵀ m A` for one tile, lane by lane, `load(p)` giving position `p`'s products: the 16
    /// outputs row by row. One body for both layouts (lanes are four tiles over planes,
    /// sixteen channels over blocks), so that both round alike:
    /// `y[r][c] = Σⱼ Aᵀ[c][j] (Σᵢ Aᵀ[r][i] m[i][j])`, for each column `j` the column transform
    /// (6 → 4), then that column's share of each output row.
    @inline(__always)
    static func inverse<V: SIMD>(_ load: (Int) -> V) -> (V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V)
    where V.Scalar == Float {
        var y00 = V(), y01 = V(), y02 = V(), y03 = V()
        var y10 = V(), y11 = V(), y12 = V(), y13 = V()
        var y20 = V(), y21 = V(), y22 = V(), y23 = V()
        var y30 = V(), y31 = V(), y32 = V(), y33 = V()
        for j in 0..<6 {
            let m0 = load(j), m1 = load(6 + j), m2 = load(12 + j), m3 = load(18 + j), m4 = load(24 + j), m5 = load(30 + j)
            let t0 = m0 + m1 + m2 + m3 + m4
            let t1 = (m1 - m2) + 2 * (m3 - m4)
            let t2 = (m1 + m2) + 4 * (m3 + m4)
            let t3 = (m1 - m2) + 8 * (m3 - m4) + m5
            // Aᵀ's column j, as in transformOutput.
            switch j {
            case 0:
                y00 += t0; y10 += t1; y20 += t2; y30 += t3
            case 1:
                y00 += t0; y01 += t0; y02 += t0; y03 += t0
                y10 += t1; y11 += t1; y12 += t1; y13 += t1
                y20 += t2; y21 += t2; y22 += t2; y23 += t2
                y30 += t3; y31 += t3; y32 += t3; y33 += t3
            case 2:
                y00 += t0; y01 -= t0; y02 += t0; y03 -= t0
                y10 += t1; y11 -= t1; y12 += t1; y13 -= t1
                y20 += t2; y21 -= t2; y22 += t2; y23 -= t2
                y30 += t3; y31 -= t3; y32 += t3; y33 -= t3
            case 3:
                y00 += t0; y01 += 2 * t0; y02 += 4 * t0; y03 += 8 * t0
                y10 += t1; y11 += 2 * t1; y12 += 4 * t1; y13 += 8 * t1
                y20 += t2; y21 += 2 * t2; y22 += 4 * t2; y23 += 8 * t2
                y30 += t3; y31 += 2 * t3; y32 += 4 * t3; y33 += 8 * t3
            case 4:
                y00 += t0; y01 -= 2 * t0; y02 += 4 * t0; y03 -= 8 * t0
                y10 += t1; y11 -= 2 * t1; y12 += 4 * t1; y13 -= 8 * t1
                y20 += t2; y21 -= 2 * t2; y22 += 4 * t2; y23 -= 8 * t2
                y30 += t3; y31 -= 2 * t3; y32 += 4 * t3; y33 -= 8 * t3
            default:
                y03 += t0; y13 += t1; y23 += t2; y33 += t3
            }
        }
        return (y00, y01, y02, y03, y10, y11, y12, y13, y20, y21, y22, y23, y30, y31, y32, y33)
    }

    /// ``transformOutput(_:stride:bias:relu:into:residual:_:y0:x0:)`` for four consecutive
    /// tiles of one tile row, one per vector lane: their products are contiguous in `M`, and
    /// each output row of the four is one run of 16 floats at `out`, of which the first
    /// `columns` are written, in the first `rows` rows.
    @inline(__always)
    static func transformOutput4(_ m: UnsafePointer<Float>, stride: Int, bias: Float, relu: Bool,
                                 into out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rowStride: Int,
                                 rows: Int, columns: Int) {
        @inline(__always) func load(_ p: Int) -> SIMD4<Float> {
            UnsafeRawPointer(m + p * stride).loadUnaligned(as: SIMD4<Float>.self)
        }
        // Lanes are the four tiles.
        let y = Self.inverse(load)
        let b = SIMD4<Float>(repeating: bias)
        @inline(__always) func write(_ c0: SIMD4<Float>, _ c1: SIMD4<Float>, _ c2: SIMD4<Float>, _ c3: SIMD4<Float>, row: Int) {
            // Transpose (columns × tiles → tiles × columns): tile L's four outputs are contiguous.
            for lane in 0..<4 {
                let at = row * rowStride + 4 * lane, inside = columns - 4 * lane
                if inside <= 0 { break }
                var value = SIMD4(c0[lane], c1[lane], c2[lane], c3[lane]) + b
                if inside >= 4 {
                    if let residual { value += UnsafeRawPointer(residual + at).loadUnaligned(as: SIMD4<Float>.self) }
                    if relu { value = value.replacing(with: 0, where: .!(value .> 0)) }  // as rectified()
                    UnsafeMutableRawPointer(out + at).storeBytes(of: value, as: SIMD4<Float>.self)
                } else {
                    for x in 0..<inside {
                        var v = value[x]
                        if let residual { v += residual[at + x] }
                        out[at + x] = relu ? rectified(v) : v
                    }
                }
            }
        }
        write(y.0, y.1, y.2, y.3, row: 0)
        if rows > 1 { write(y.4, y.5, y.6, y.7, row: 1) }
        if rows > 2 { write(y.8, y.9, y.10, y.11, row: 2) }
        if rows > 3 { write(y.12, y.13, y.14, y.15, row: 3) }
    }

    /// Reads the 36 products of one tile (`m[p * stride]`), writes `Aᵀ m A` plus bias,
    /// shortcut and activation to the output positions of the tile that exist.
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<Float>, stride: Int, bias: Float, relu: Bool,
                                into plane: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                                _ shape: Tensor.Shape, y0: Int, x0: Int) {
        let rows = min(4, shape.height - y0), cols = min(4, shape.width - x0)
        // The same operations, in the same order, as one lane of transformOutput4, so that a
        // tile's outputs do not depend on whether it was computed with three neighbours
        // (which depends on the batch and the threads): for each column j of the products,
        // the column transform (6 → 4), then that column's share of each output row.
        var c0 = SIMD4<Float>(), c1 = SIMD4<Float>(), c2 = SIMD4<Float>(), c3 = SIMD4<Float>()
        for j in 0..<6 {
            let m0 = m[j * stride], m1 = m[(6 + j) * stride], m2 = m[(12 + j) * stride]
            let m3 = m[(18 + j) * stride], m4 = m[(24 + j) * stride], m5 = m[(30 + j) * stride]
            let t0 = m0 + m1 + m2 + m3 + m4
            let t1 = (m1 - m2) + 2 * (m3 - m4)
            let t2 = (m1 + m2) + 4 * (m3 + m4)
            let t3 = (m1 - m2) + 8 * (m3 - m4) + m5
            switch j {  // Aᵀ's column j: (1,0,0,0), (1,1,1,1), (1,-1,1,-1), (1,2,4,8), (1,-2,4,-8), (0,0,0,1)
            case 0: c0[0] += t0; c1[0] += t1; c2[0] += t2; c3[0] += t3
            case 1: c0 += t0; c1 += t1; c2 += t2; c3 += t3
            case 2:
                c0 += SIMD4(t0, -t0, t0, -t0); c1 += SIMD4(t1, -t1, t1, -t1)
                c2 += SIMD4(t2, -t2, t2, -t2); c3 += SIMD4(t3, -t3, t3, -t3)
            case 3:
                c0 += SIMD4(t0, 2 * t0, 4 * t0, 8 * t0); c1 += SIMD4(t1, 2 * t1, 4 * t1, 8 * t1)
                c2 += SIMD4(t2, 2 * t2, 4 * t2, 8 * t2); c3 += SIMD4(t3, 2 * t3, 4 * t3, 8 * t3)
            case 4:
                c0 += SIMD4(t0, -(2 * t0), 4 * t0, -(8 * t0)); c1 += SIMD4(t1, -(2 * t1), 4 * t1, -(8 * t1))
                c2 += SIMD4(t2, -(2 * t2), 4 * t2, -(8 * t2)); c3 += SIMD4(t3, -(2 * t3), 4 * t3, -(8 * t3))
            default: c0[3] += t0; c1[3] += t1; c2[3] += t2; c3[3] += t3
            }
        }
        for y in 0..<rows {
            let index = (y0 + y) * shape.width + x0
            let out = plane + index
            let row = y == 0 ? c0 : y == 1 ? c1 : y == 2 ? c2 : c3
            for x in 0..<cols {
                var value = row[x] + bias
                if let residual { value += residual[index + x] }
                out[x] = relu ? rectified(value) : value
            }
        }
    }
}

/// `U = G g Gᵀ` for each of the `pairs` 3×3 kernels in `weights`, in double precision, with
/// `G` (`size × 3`) given by its columns in the first `size` lanes: element (i, j) of kernel
/// `pair`'s transform lands at `[(i · size + j) · pairs + pair]`, one matrix per position.
///
/// Loaded with every model, so spread over the compute threads, a run of pairs each:
/// open_nsfw has 314,000 kernels, and this was an eighth of a one-photo `veil score`. Every
/// element is written, so the array is not zeroed first.
func winogradKernels(_ weights: [Float], pairs: Int, size: Int,
                     g0: SIMD8<Double>, g1: SIMD8<Double>, g2: SIMD8<Double>) -> [Float] {
    let positions = size * size
    return [Float](unsafeUninitializedCapacity: positions * pairs) { u, initialized in
        weights.withUnsafeBufferPointer { w in
            let (u, w) = (u.baseAddress!, w.baseAddress!)
            let parts = min(Runtime.current.threads, max(1, pairs / 1024))
            Runtime.current.parallelFor(parts) { part in
                // A run of pairs at a time, so that each position gets whole cache lines
                // instead of one scattered float per pair.
                let run = 64
                let staged = UnsafeMutablePointer<Float>.allocate(capacity: positions * run)
                defer { staged.deallocate() }
                let mine = (pairs * part / parts)..<(pairs * (part + 1) / parts)
                for first in Swift.stride(from: mine.lowerBound, to: mine.upperBound, by: run) {
                    let count = min(run, mine.upperBound - first)
                    for p in 0..<count {  // pair = co * Cin + ci, its index in each U[p]
                        let k = w + (first + p) * 9
                        // t = G k, column by column; then U = t Gᵀ, row by row.
                        let t0 = g0 * Double(k[0]) + g1 * Double(k[3]) + g2 * Double(k[6])
                        let t1 = g0 * Double(k[1]) + g1 * Double(k[4]) + g2 * Double(k[7])
                        let t2 = g0 * Double(k[2]) + g1 * Double(k[5]) + g2 * Double(k[8])
                        for i in 0..<size {
                            let row = g0 * t0[i] + g1 * t1[i] + g2 * t2[i]
                            for j in 0..<size { staged[(i * size + j) * run + p] = Float(row[j]) }
                        }
                    }
                    for position in 0..<positions {
                        (u + position * pairs + first).initialize(from: staged + position * run, count: count)
                    }
                }
            }
        }
        initialized = positions * pairs
    }
}
