/// A 3×3, stride-1 convolution by one of Winograd's minimal filterings.
protocol WinogradForm: Sendable {
    /// Convolves `src` into `dst`, with the bias, shortcut and activation of `epilogue`.
    func forward(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                 into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                 epilogue: Epilogue, residual: UnsafePointer<Float>?)
    /// The same over tensors with blocked channels (``BlockedChannels``).
    func forwardBlocked(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                        into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                        epilogue: Epilogue, residual: UnsafePointer<Float>?)
}

extension WinogradF43: WinogradForm {}

/// 3×3, stride-1 convolution by Winograd's F(2×2, 3×3), for the small maps that
/// ``WinogradF43`` leaves to im2col: a 7×7 map, ResNet's last stage at 224 pixels.
///
/// Why: at batch 1 such a layer's product has 49 columns, which the 32-wide micro-tiles
/// compute as 64. Here each 2×2 block of outputs comes from the 4×4 input patch around it, a
/// 7×7 map has 16 such tiles, exactly one vector of the widest kernels, and the layer
/// becomes 16 products `M[p] = U[p] · V[p]` (`Cout × Cin` by `Cin × tiles`) with 16 multiplies
/// per tile and channel pair instead of 36 (Lavin and Gray, 2016):
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
///
/// The transforms only add and halve, so they lose less than F(4×4, 3×3)'s. Each tile is
/// transformed on its own, and each product sums over input channels in ``PackedGemm``'s
/// order, so an image's outputs do not depend on the rest of its batch.
struct WinogradF23: WinogradForm {
    let inputChannels: Int
    let outputChannels: Int
    /// `U[p]`: the transformed kernels, one `Cout × Cin` matrix per position, packed.
    let transformed: [PackedMatrix]
    /// The same for tensors with blocked channels; built instead of ``transformed`` when asked.
    let blockedProducts: [BlockedPointwise]

    /// The shapes it is built for: those ``WinogradF43`` takes, the products being the same.
    static func suits(inputChannels: Int, outputChannels: Int, groups: Int, window: Window) -> Bool {
        WinogradF43.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
    }

    /// Whether an image of this output size has the 16 tiles that fill a vector. Decided per
    /// image, never per batch, as ``WinogradF43/pays(for:)`` is.
    static func pays(for outShape: Tensor.Shape) -> Bool {
        ((outShape.height + 1) / 2) * ((outShape.width + 1) / 2) >= 16
    }

    func pays(for outShape: Tensor.Shape) -> Bool { Self.pays(for: outShape) }

    /// Transforms `weights` (`Cout × Cin × 3 × 3`): `U = G g Gᵀ`, in double precision.
    init(weights: [Float], inputChannels: Int, outputChannels: Int, blocked: Bool = false) {
        let pairs = outputChannels * inputChannels
        // G (4×3) by columns, in the first four lanes: its rows are (1,0,0), (½,½,½), (½,-½,½), (0,0,1).
        let u = winogradKernels(weights, pairs: pairs, size: 4, g0: SIMD8(1, 0.5, 0.5, 0, 0, 0, 0, 0),
                                g1: SIMD8(0, 0.5, -0.5, 0, 0, 0, 0, 0), g2: SIMD8(0, 0.5, 0.5, 1, 0, 0, 0, 0))
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        transformed = blocked ? [] : u.withUnsafeBufferPointer { u in
            (0..<16).map { p in
                PackedMatrix(u.baseAddress! + p * pairs, lda: inputChannels, rows: outputChannels, columns: inputChannels)
            }
        }
        blockedProducts = !blocked ? [] : u.withUnsafeBufferPointer { u in
            (0..<16).map { p in
                BlockedPointwise(weights: u.baseAddress! + p * pairs, count: pairs, bias: nil, outputs: outputChannels,
                                 inputs: inputChannels)
            }
        }
    }

    /// Convolves all tiles of the batch at once (the maps are small), the workers splitting
    /// each phase: input channels, then the 16 products, then output channels.
    ///
    /// Both transforms run on four tiles of a tile row at once, a lane each: the patches of
    /// neighbouring tiles start two columns apart, so one row of the input, read twice
    /// eight wide, gives each of a patch row's four columns for four tiles, and the
    /// transformed values of those tiles are neighbours in `V` and `M`. Each lane does the
    /// scalar transform's additions in the scalar order, so the bits do not change.
    func forward(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                 into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                 epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let tilesX = (outShape.width + 1) / 2, tilesY = (outShape.height + 1) / 2
        let perImage = tilesX * tilesY, count = outShape.batch * perImage
        let cin = inputChannels, cout = outputChannels
        let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cin * count)
        // Four floats more than the products fill: the output transform's last group of four
        // tiles may read past its tile row, into lanes it never stores.
        let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cout * count + 4)
        defer { v.deallocate(); m.deallocate() }
        (m + 16 * cout * count).initialize(repeating: 0, count: 4)
        // V[p][ci][t] = (Bᵀ d B)[p]; Bᵀ's rows: (1,0,-1,0), (0,1,1,0), (0,-1,1,0), (0,1,0,-1).
        // Channels in runs of four, products one position at a time: items small enough
        // for a slowed worker to leave some to the other (Runtime.share).
        Runtime.current.share((cin + 3) / 4) { items in
            // A patch row of every tile of a tile row, zeros outside the image, and room
            // for the eight-wide reads of the last group.
            let rowLength = 2 * roundedUp(tilesX, 4) + 4
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: 4 * rowLength)
            defer { rows.deallocate() }
            rows.update(repeating: 0, count: 4 * rowLength)
            while let run = items.next() {
                for ci in (4 * run)..<min(cin, 4 * run + 4) {
                    for n in 0..<outShape.batch {
                        let plane = src + (ci * inShape.batch + n) * inShape.plane
                        for ty in 0..<tilesY {
                            for i in 0..<4 {
                                let y = 2 * ty - padTop + i, row = rows + i * rowLength
                                guard y >= 0, y < inShape.height else {
                                    row.update(repeating: 0, count: 2 * tilesX + 2)
                                    continue
                                }
                                let line = plane + y * inShape.width
                                for c in 0..<(2 * tilesX + 2) {
                                    let x = c - padLeft
                                    row[c] = x >= 0 && x < inShape.width ? line[x] : 0
                                }
                            }
                            let first = n * perImage + ty * tilesX
                            var tx = 0
                            while tx < tilesX {
                                // Column j of the patch row, for four tiles.
                                @inline(__always) func columns(_ i: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
                                    let from = UnsafeRawPointer(rows + i * rowLength + 2 * tx)
                                    let a = from.loadUnaligned(as: SIMD8<Float>.self)
                                    let b = from.loadUnaligned(fromByteOffset: 8, as: SIMD8<Float>.self)
                                    return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
                                }
                                let d0 = columns(0), d1 = columns(1), d2 = columns(2), d3 = columns(3)
                                // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3; then the same on each row's columns.
                                let t0 = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
                                let t1 = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
                                let t2 = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
                                let t3 = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
                                let out = v + ci * count + first + tx, step = cin * count, lanes = min(4, tilesX - tx)
                                @inline(__always) func store(_ value: SIMD4<Float>, _ p: Int) {
                                    let target = out + p * step
                                    if lanes == 4 {
                                        UnsafeMutableRawPointer(target).storeBytes(of: value, as: SIMD4<Float>.self)
                                    } else {
                                        for l in 0..<lanes { target[l] = value[l] }
                                    }
                                }
                                @inline(__always) func put(_ r: (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>), _ i: Int) {
                                    store(r.0 - r.2, 4 * i)
                                    store(r.1 + r.2, 4 * i + 1)
                                    store(r.2 - r.1, 4 * i + 2)
                                    store(r.1 - r.3, 4 * i + 3)
                                }
                                put(t0, 0); put(t1, 1); put(t2, 2); put(t3, 3)
                                tx += 4
                            }
                        }
                    }
                }
            }
        }
        Runtime.current.share(16) { items in
            let scratch = GemmScratch(columns: count)
            defer { scratch.deallocate() }
            while let p = items.next() {
                transformed[p].multiply(v + p * cin * count, ldb: count, n: count, into: m + p * cout * count, ldc: count,
                                        scratch: scratch)
            }
        }
        // Y = Aᵀ M A, Aᵀ's rows (1,1,1,0) and (0,1,-1,-1); then bias, shortcut, activation,
        // in the epilogue's order.
        let relu = epilogue.relu
        Runtime.current.share((cout + 3) / 4) { items in
            while let run = items.next() {
                for co in (4 * run)..<min(cout, 4 * run + 4) {
                    let bias = SIMD8<Float>(repeating: epilogue.bias[co])
                    for n in 0..<outShape.batch {
                        let offset = (co * outShape.batch + n) * outShape.plane
                        for ty in 0..<tilesY {
                            var tx = 0
                            while tx < tilesX {
                                let from = m + co * count + n * perImage + ty * tilesX + tx, step = cout * count
                                @inline(__always) func at(_ p: Int) -> SIMD4<Float> {
                                    UnsafeRawPointer(from + p * step).loadUnaligned(as: SIMD4<Float>.self)
                                }
                                // Aᵀ M, column by column: rows m0 + m1 + m2 and m1 - m2 - m3.
                                @inline(__always) func column(_ j: Int) -> (SIMD4<Float>, SIMD4<Float>) {
                                    let m0 = at(j), m1 = at(4 + j), m2 = at(8 + j), m3 = at(12 + j)
                                    return (m0 + m1 + m2, m1 - m2 - m3)
                                }
                                let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
                                // Output columns 2·tx … 2·tx + 7, as far as the map goes.
                                let x = 2 * tx, width = min(8, outShape.width - x)
                                for i in 0..<2 {
                                    let y = 2 * ty + i
                                    guard y < outShape.height else { continue }
                                    let (s0, s1, s2, s3) = i == 0 ? (c0.0, c1.0, c2.0, c3.0) : (c0.1, c1.1, c2.1, c3.1)
                                    let left = s0 + s1 + s2, right = s1 - s2 - s3
                                    var value = SIMD8<Float>(left[0], right[0], left[1], right[1],
                                                             left[2], right[2], left[3], right[3]) + bias
                                    let at = offset + y * outShape.width + x
                                    if let residual {
                                        if width == 8 {
                                            value += UnsafeRawPointer(residual + at).loadUnaligned(as: SIMD8<Float>.self)
                                        } else {
                                            var shortcut = SIMD8<Float>()
                                            for l in 0..<width { shortcut[l] = residual[at + l] }
                                            value += shortcut
                                        }
                                    }
                                    if relu { value.replace(with: 0, where: .!(value .> 0)) }
                                    let target = UnsafeMutableRawPointer(dst + at)
                                    if width == 8 {
                                        target.storeBytes(of: value, as: SIMD8<Float>.self)
                                    } else {
                                        // Only the map's columns: past them lies the next row, or
                                        // another worker's plane.
                                        var l = 0
                                        if width >= 4 { target.storeBytes(of: value.lowHalf, as: SIMD4<Float>.self); l = 4 }
                                        while l < width { dst[at + l] = value[l]; l += 1 }
                                    }
                                }
                                tx += 4
                            }
                        }
                    }
                }
            }
        }
    }
}
