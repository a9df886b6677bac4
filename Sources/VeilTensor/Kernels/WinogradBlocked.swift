import VeilKernels

// Winograd's forms over tensors with blocked channels (``BlockedChannels``).
//
// The same three steps as over planes, with sixteen channels in the lanes instead of four
// tiles: a tile's input patch is 36 (or 16) loads of a block's channels, transformed lane
// by lane; the transformed input of position `p` is itself a blocked tensor whose
// positions are the tiles, so the products `M[p] = U[p] · V[p]` are 1×1 convolutions
// (``BlockedPointwise``); and the output transform writes each output position's sixteen
// channels at once. Every lane does the planes path's operations in its order, and the
// products sum as ``PackedGemm`` does, so both layouts give the same bits.

/// One block of channels at one position.
typealias Lanes16 = SIMD16<Float>

extension WinogradF43 {
    /// ``forward(_:_:padTop:padLeft:into:_:epilogue:residual:)`` over blocked channels, with
    /// the same two schedules.
    func forwardBlocked(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                        into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                        epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let tiles = BlockedTiles(inShape: inShape, outShape: outShape, size: 4, padTop: padTop, padLeft: padLeft)
        let inBlocks = inShape.blocks, outBlocks = outShape.blocks, workers = Runtime.current.threads
        let bias = BlockedTiles.bias(epilogue.bias), relu = epilogue.relu
        let products = blockedProducts
        if tiles.total < 32 * workers {
            // Few tiles: the workers share each phase, as over planes.
            let count = tiles.total, stride = count * BlockedChannels.width
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * inBlocks * stride)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outBlocks * stride)
            defer { v.deallocate(); m.deallocate() }
            Runtime.current.share(inBlocks) { items in
                while let block = items.next() {
                    for t in 0..<count {
                        Self.transformInput(src, tiles, tile: t, block: block, into: v + block * stride + t * 16,
                                            step: inBlocks * stride)
                    }
                }
            }
            Runtime.current.share(36) { items in
                while let p = items.next() {
                    products[p].run(input: v + p * inBlocks * stride, inputStride: stride, relu: false, residual: nil,
                                    output: m + p * outBlocks * stride, outputStride: stride, positions: 0..<count,
                                    blocks: 0..<outBlocks)
                }
            }
            Runtime.current.share(outBlocks) { items in
                while let block = items.next() {
                    for t in 0..<count {
                        Self.transformOutput(m + block * stride + t * 16, step: outBlocks * stride, tiles, tile: t, block: block,
                                             bias: bias[block], relu: relu, into: dst, residual: residual)
                    }
                }
            }
            return
        }
        let blocks = tileBlocks(total: tiles.total, workers: workers)
        let longest = blocks.longest
        Runtime.current.share(blocks.parts) { items in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 36 * inBlocks * longest * 16)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 36 * outBlocks * longest * 16)
            defer { v.deallocate(); m.deallocate() }
            while let b = items.next() {
                let first = blocks[b].lowerBound, count = blocks[b].count, stride = count * BlockedChannels.width
                for block in 0..<inBlocks {
                    for t in 0..<count {
                        Self.transformInput(src, tiles, tile: first + t, block: block, into: v + block * stride + t * 16,
                                            step: inBlocks * stride)
                    }
                }
                for p in 0..<36 {
                    products[p].run(input: v + p * inBlocks * stride, inputStride: stride, relu: false, residual: nil,
                                    output: m + p * outBlocks * stride, outputStride: stride, positions: 0..<count,
                                    blocks: 0..<outBlocks)
                }
                for block in 0..<outBlocks {
                    for t in 0..<count {
                        Self.transformOutput(m + block * stride + t * 16, step: outBlocks * stride, tiles, tile: first + t,
                                             block: block, bias: bias[block], relu: relu, into: dst, residual: residual)
                    }
                }
            }
        }
    }

    /// `V[p]` for one tile and block of channels, written to `out + p · step`: the planes
    /// path's column transform (``ElementwiseKernels/winogradColumns(_:into:width:)``) and
    /// row transform (``rowTransform(_:width:into:stride:)``), lane by lane.
    @inline(__always)
    static func transformInput(_ src: UnsafePointer<Float>, _ tiles: BlockedTiles, tile: Int, block: Int,
                               into out: UnsafeMutablePointer<Float>, step: Int) {
        // strip[6i + c] = (Bᵀ d)[i] at patch column c.
        let patch = tiles.patch(src, tile: tile, block: block)
        withUnsafeTemporaryAllocation(of: Lanes16.self, capacity: 36) { strip in
            let strip = strip.baseAddress!
            for c in 0..<6 {
                let a0 = patch.load(row: 0, column: c)
                let a1 = patch.load(row: 1, column: c)
                let a2 = patch.load(row: 2, column: c)
                let a3 = patch.load(row: 3, column: c)
                let a4 = patch.load(row: 4, column: c)
                let a5 = patch.load(row: 5, column: c)
                strip[c] = 4 * a0 - 5 * a2 + a4
                strip[6 + c] = -4 * (a1 + a2) + a3 + a4
                strip[12 + c] = 4 * (a1 - a2) - a3 + a4
                strip[18 + c] = -2 * (a1 - a3) - a2 + a4
                strip[24 + c] = 2 * (a1 - a3) - a2 + a4
                strip[30 + c] = 4 * a1 - 5 * a3 + a5
            }
            for i in 0..<6 {
                let r = strip + 6 * i
                let a0 = r[0], a1 = r[1], a2 = r[2], a3 = r[3], a4 = r[4], a5 = r[5]
                @inline(__always) func put(_ value: Lanes16, _ j: Int) {
                    UnsafeMutableRawPointer(out + (6 * i + j) * step).storeBytes(of: value, as: Lanes16.self)
                }
                put(4 * a0 - 5 * a2 + a4, 0)
                put(-4 * (a1 + a2) + a3 + a4, 1)
                put(4 * (a1 - a2) - a3 + a4, 2)
                put(-2 * (a1 - a3) - a2 + a4, 3)
                put(2 * (a1 - a3) - a2 + a4, 4)
                put(4 * a1 - 5 * a3 + a5, 5)
            }
        }
    }

    /// `Aᵀ M A` for one tile and block of output channels, `M[p]` at `m + p · step`, plus
    /// bias, shortcut and activation, written where the tile lies in the map
    /// (``inverse(_:)``, as over planes).
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<Float>, step: Int, _ tiles: BlockedTiles, tile: Int, block: Int,
                                bias: Lanes16, relu: Bool, into dst: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
        @inline(__always) func load(_ p: Int) -> Lanes16 { UnsafeRawPointer(m + p * step).loadUnaligned(as: Lanes16.self) }
        let y = inverse(load)
        tiles.write(y.0, y.1, y.2, y.3, row: 0, tile: tile, block: block, bias: bias, relu: relu, into: dst, residual: residual)
        tiles.write(y.4, y.5, y.6, y.7, row: 1, tile: tile, block: block, bias: bias, relu: relu, into: dst, residual: residual)
        tiles.write(y.8, y.9, y.10, y.11, row: 2, tile: tile, block: block, bias: bias, relu: relu, into: dst, residual: residual)
        tiles.write(y.12, y.13, y.14, y.15, row: 3, tile: tile, block: block, bias: bias, relu: relu, into: dst, residual: residual)
    }
}

extension WinogradF23 {
    /// ``forward(_:_:padTop:padLeft:into:_:epilogue:residual:)`` over blocked channels.
    func forwardBlocked(_ src: UnsafePointer<Float>, _ inShape: Tensor.Shape, padTop: Int, padLeft: Int,
                        into dst: UnsafeMutablePointer<Float>, _ outShape: Tensor.Shape,
                        epilogue: Epilogue, residual: UnsafePointer<Float>?) {
        let tiles = BlockedTiles(inShape: inShape, outShape: outShape, size: 2, padTop: padTop, padLeft: padLeft)
        let inBlocks = inShape.blocks, outBlocks = outShape.blocks
        let bias = BlockedTiles.bias(epilogue.bias), relu = epilogue.relu
        let count = tiles.total, stride = count * BlockedChannels.width
        let products = blockedProducts
        let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * inBlocks * stride)
        let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * outBlocks * stride)
        defer { v.deallocate(); m.deallocate() }
        // V = Bᵀ d B; Bᵀ's rows: (1,0,-1,0), (0,1,1,0), (0,-1,1,0), (0,1,0,-1), as over planes.
        Runtime.current.share(inBlocks) { items in
            while let block = items.next() {
                for t in 0..<count {
                    let out = v + block * stride + t * 16, step = inBlocks * stride
                    let patch = tiles.patch(src, tile: t, block: block)
                    @inline(__always) func row(_ i: Int) -> (Lanes16, Lanes16, Lanes16, Lanes16) {
                        (patch.load(row: i, column: 0), patch.load(row: i, column: 1),
                         patch.load(row: i, column: 2), patch.load(row: i, column: 3))
                    }
                    let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3)
                    let t0 = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
                    let t1 = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
                    let t2 = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
                    let t3 = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
                    @inline(__always) func store(_ value: Lanes16, _ p: Int) {
                        UnsafeMutableRawPointer(out + p * step).storeBytes(of: value, as: Lanes16.self)
                    }
                    @inline(__always) func put(_ r: (Lanes16, Lanes16, Lanes16, Lanes16), _ i: Int) {
                        store(r.0 - r.2, 4 * i)
                        store(r.1 + r.2, 4 * i + 1)
                        store(r.2 - r.1, 4 * i + 2)
                        store(r.1 - r.3, 4 * i + 3)
                    }
                    put(t0, 0); put(t1, 1); put(t2, 2); put(t3, 3)
                }
            }
        }
        Runtime.current.share(16) { items in
            while let p = items.next() {
                products[p].run(input: v + p * inBlocks * stride, inputStride: stride, relu: false, residual: nil,
                                output: m + p * outBlocks * stride, outputStride: stride, positions: 0..<count, blocks: 0..<outBlocks)
            }
        }
        // Y = Aᵀ M A, Aᵀ's rows (1,1,1,0) and (0,1,-1,-1); then bias, shortcut, activation.
        Runtime.current.share(outBlocks) { items in
            while let block = items.next() {
                for t in 0..<count {
                    let from = m + block * stride + t * 16, step = outBlocks * stride
                    @inline(__always) func at(_ p: Int) -> Lanes16 { UnsafeRawPointer(from + p * step).loadUnaligned(as: Lanes16.self) }
                    @inline(__always) func column(_ j: Int) -> (Lanes16, Lanes16) {
                        let m0 = at(j), m1 = at(4 + j), m2 = at(8 + j), m3 = at(12 + j)
                        return (m0 + m1 + m2, m1 - m2 - m3)
                    }
                    let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
                    let zero = Lanes16()
                    let (left0, right0) = (c0.0 + c1.0 + c2.0, c1.0 - c2.0 - c3.0)
                    let (left1, right1) = (c0.1 + c1.1 + c2.1, c1.1 - c2.1 - c3.1)
                    tiles.write(left0, right0, zero, zero, row: 0, tile: t, block: block, bias: bias[block], relu: relu,
                                into: dst, residual: residual)
                    tiles.write(left1, right1, zero, zero, row: 1, tile: t, block: block, bias: bias[block], relu: relu,
                                into: dst, residual: residual)
                }
            }
        }
    }
}

/// Where a Winograd form's tiles lie in blocked input and output tensors.
struct BlockedTiles {
    let inShape: Tensor.Shape, outShape: Tensor.Shape
    /// Outputs per tile side (4 for F(4×4), 2 for F(2×2)).
    let size: Int
    let padTop: Int, padLeft: Int
    let tilesX: Int, perImage: Int

    init(inShape: Tensor.Shape, outShape: Tensor.Shape, size: Int, padTop: Int, padLeft: Int) {
        (self.inShape, self.outShape, self.size, self.padTop, self.padLeft) = (inShape, outShape, size, padTop, padLeft)
        tilesX = (outShape.width + size - 1) / size
        perImage = tilesX * ((outShape.height + size - 1) / size)
    }

    /// Tiles in the batch.
    var total: Int { outShape.batch * perImage }

    /// The bias of each block of output channels, zero in the padding lanes.
    static func bias(_ bias: [Float]) -> [Lanes16] {
        (0..<BlockedChannels.blocks(bias.count)).map { block in
            var lanes = Lanes16()
            for l in 0..<16 where block * 16 + l < bias.count { lanes[l] = bias[block * 16 + l] }
            return lanes
        }
    }

    /// Where `tile`'s input patch lies in one block of channels, worked out once for its
    /// 36 (or 16) loads.
    @inline(__always)
    func patch(_ src: UnsafePointer<Float>, tile: Int, block: Int) -> Patch {
        let n = tile / perImage, ty = tile % perImage / tilesX, tx = tile % tilesX
        return Patch(image: src + (block * inShape.positions + n * inShape.plane) * 16, top: ty * size - padTop,
                     left: tx * size - padLeft, height: inShape.height, width: inShape.width)
    }

    /// One tile's input patch in one block of channels of one image.
    struct Patch {
        let image: UnsafePointer<Float>
        let top: Int, left: Int, height: Int, width: Int

        /// The value at (`row`, `column`) of the patch; zero outside the image.
        @inline(__always)
        func load(row: Int, column: Int) -> Lanes16 {
            let y = top + row, x = left + column
            guard y >= 0, y < height, x >= 0, x < width else { return Lanes16() }
            return UnsafeRawPointer(image + (y * width + x) * 16).loadUnaligned(as: Lanes16.self)
        }
    }

    /// Writes output row `row` of `tile` (its columns `c0`…`c3`, as far as the tile has
    /// them and the map goes) with bias, shortcut and activation in the epilogue's order.
    @inline(__always)
    func write(_ c0: Lanes16, _ c1: Lanes16, _ c2: Lanes16, _ c3: Lanes16, row: Int, tile: Int, block: Int,
               bias: Lanes16, relu: Bool, into dst: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
        let n = tile / perImage, ty = tile % perImage / tilesX, tx = tile % tilesX
        let y = ty * size + row
        guard y < outShape.height else { return }
        let columns = min(size, outShape.width - tx * size)
        let base = block * outShape.positions + (n * outShape.height + y) * outShape.width + tx * size
        @inline(__always) func put(_ sum: Lanes16, _ c: Int) {
            let at = (base + c) * 16
            var value = sum + bias
            if let residual { value += UnsafeRawPointer(residual + at).loadUnaligned(as: Lanes16.self) }
            if relu { value.replace(with: 0, where: .!(value .> 0)) }
            UnsafeMutableRawPointer(dst + at).storeBytes(of: value, as: Lanes16.self)
        }
        put(c0, 0)
        if columns > 1 { put(c1, 1) }
        if columns > 2 { put(c2, 2) }
        if columns > 3 { put(c3, 3) }
    }
}
