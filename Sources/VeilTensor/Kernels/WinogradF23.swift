/// A 3×3, stride-1 convolution by one of Winograd's minimal filterings.
protocol WinogradForm: Sendable {
    /// Convolves `src` into `dst`, with the bias, shortcut and activation of `epilogue`.
    func forward(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
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

    /// The shapes it is built for: those ``WinogradF43`` takes, the products being the same.
    static func suits(inputChannels: Int, outputChannels: Int, groups: Int, window: Window) -> Bool {
        WinogradF43.suits(inputChannels: inputChannels, outputChannels: outputChannels, groups: groups, window: window)
    }

    /// Whether an image of this output size has the 16 tiles that fill a vector. Decided per
    /// image, never per batch, as ``WinogradF43/pays(for:)`` is.
    func pays(for outShape: Tensor.Shape) -> Bool {
        ((outShape.height + 1) / 2) * ((outShape.width + 1) / 2) >= 16
    }

    /// Transforms `weights` (`Cout × Cin × 3 × 3`): `U = G g Gᵀ`, in double precision.
    init(weights: [Float], inputChannels: Int, outputChannels: Int) {
        let pairs = outputChannels * inputChannels
        // G (4×3) by columns, in the first four lanes: its rows are (1,0,0), (½,½,½), (½,-½,½), (0,0,1).
        let u = winogradKernels(weights, pairs: pairs, size: 4, g0: SIMD8(1, 0.5, 0.5, 0, 0, 0, 0, 0),
                                g1: SIMD8(0, 0.5, -0.5, 0, 0, 0, 0, 0), g2: SIMD8(0, 0.5, 0.5, 1, 0, 0, 0, 0))
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        transformed = u.withUnsafeBufferPointer { u in
            (0..<16).map { p in
                PackedMatrix(u.baseAddress! + p * pairs, lda: inputChannels, rows: outputChannels, columns: inputChannels)
            }
        }
    }

    /// Convolves all tiles of the batch at once (the maps are small), the workers splitting
    /// each phase: input channels, then the 16 products, then output channels.
    func forward(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                 into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                 epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let tilesX = (outShape.width + 1) / 2, tilesY = (outShape.height + 1) / 2
        let perImage = tilesX * tilesY, count = outShape.batch * perImage
        let cin = inputChannels, cout = outputChannels
        let workers = Runtime.current.threads
        let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cin * count)
        let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cout * count)
        defer { v.deallocate(); m.deallocate() }
        // V[p][ci][t] = (Bᵀ d B)[p]; Bᵀ's rows: (1,0,-1,0), (0,1,1,0), (0,-1,1,0), (0,1,0,-1).
        Runtime.current.parallelFor(min(workers, cin)) { part in
            let parts = min(workers, cin)
            for ci in (cin * part / parts)..<(cin * (part + 1) / parts) {
                for t in 0..<count {
                    let n = t / perImage, ty = (t % perImage) / tilesX, tx = t % tilesX
                    let plane = src + (ci * inShape.batch + n) * inShape.plane
                    // The patch's four rows, zeros outside the image.
                    @inline(__always) func row(_ i: Int) -> (Float, Float, Float, Float) {
                        let y = 2 * ty - padTop + i
                        guard y >= 0, y < inShape.height else { return (0, 0, 0, 0) }
                        let line = plane + y * inShape.width, x = 2 * tx - padLeft
                        if x >= 0, x + 3 < inShape.width { return (line[x], line[x + 1], line[x + 2], line[x + 3]) }
                        @inline(__always) func at(_ j: Int) -> Float { x + j >= 0 && x + j < inShape.width ? line[x + j] : 0 }
                        return (at(0), at(1), at(2), at(3))
                    }
                    let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3)
                    // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3; then the same on each row's columns.
                    let t0 = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
                    let t1 = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
                    let t2 = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
                    let t3 = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
                    let out = v + ci * count + t, step = cin * count
                    @inline(__always) func put(_ r: (Float, Float, Float, Float), _ i: Int) {
                        let o = out + 4 * i * step
                        o[0] = r.0 - r.2
                        o[step] = r.1 + r.2
                        o[2 * step] = r.2 - r.1
                        o[3 * step] = r.1 - r.3
                    }
                    put(t0, 0); put(t1, 1); put(t2, 2); put(t3, 3)
                }
            }
        }
        Runtime.current.parallelFor(min(workers, 16)) { part in
            let parts = min(workers, 16)
            let scratch = GemmScratch(columns: count)
            defer { scratch.deallocate() }
            for p in (16 * part / parts)..<(16 * (part + 1) / parts) {
                transformed[p].multiply(v + p * cin * count, ldb: count, n: count, into: m + p * cout * count, ldc: count,
                                        scratch: scratch)
            }
        }
        // Y = Aᵀ M A, Aᵀ's rows (1,1,1,0) and (0,1,-1,-1); then bias, shortcut, activation,
        // in the epilogue's order.
        Runtime.current.parallelFor(min(workers, cout)) { part in
            let parts = min(workers, cout)
            for co in (cout * part / parts)..<(cout * (part + 1) / parts) {
                let bias = epilogue.bias[co]
                for t in 0..<count {
                    let n = t / perImage, ty = (t % perImage) / tilesX, tx = t % tilesX
                    let from = m + co * count + t, step = cout * count
                    // Aᵀ M, column by column: rows m0 + m1 + m2 and m1 - m2 - m3.
                    @inline(__always) func column(_ j: Int) -> (Float, Float) {
                        let m0 = from[j * step], m1 = from[(4 + j) * step], m2 = from[(8 + j) * step], m3 = from[(12 + j) * step]
                        return (m0 + m1 + m2, m1 - m2 - m3)
                    }
                    let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
                    let offset = (co * outShape.batch + n) * outShape.plane
                    for i in 0..<2 {
                        let y = 2 * ty + i
                        guard y < outShape.height else { continue }
                        let (s0, s1, s2, s3) = i == 0 ? (c0.0, c1.0, c2.0, c3.0) : (c0.1, c1.1, c2.1, c3.1)
                        let row = (s0 + s1 + s2, s1 - s2 - s3)
                        for j in 0..<2 {
                            let x = 2 * tx + j
                            guard x < outShape.width else { continue }
                            let at = offset + y * outShape.width + x
                            var value = (j == 0 ? row.0 : row.1) + bias
                            if let residual { value += residual[at] }
                            dst[at] = epilogue.relu ? rectified(value) : value
                        }
                    }
                }
            }
        }
    }
}
