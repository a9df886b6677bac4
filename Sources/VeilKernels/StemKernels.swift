/// A convolution with few input channels followed by a max pooling, as a ResNet's stem is,
/// computed directly: no im2col matrix and no packed copy of it, which with three input
/// channels and a 7×7 window cost a third of the layer beside the arithmetic.
///
/// Written once like ``PackedGemm`` and compiled per instruction set. A micro-tile is six
/// output pixels of one row by two vectors of output channels: each of the window's taps
/// broadcasts six input values against two vectors of weights. The caller lays the input
/// out so that those six values are consecutive (padded, and at a stride across of two,
/// split into even and odd columns) and gives each tap's offset. Each output element is
/// summed from zero, tap by tap in the weights' order, by one multiply-add per tap: the
/// same sums as ``PackedGemm`` makes for a depth of at most ``PackedGemm/chunk``, so the
/// fused layer gives the unfused one's bits.
public enum StemKernels {
    /// Output pixels per micro-tile.
    public static let pixels = 6

    /// Computes one output row: `out[x * channels + c]` for pixels `x < count` and every
    /// channel `c < channels` (a multiple of ``PackedGemm/widestTile``).
    ///
    /// - `input`: where tap 0 of pixel 0 reads; pixel `x`'s tap `p` reads
    ///   `input[x + offsets[p]]`. Up to ``pixels`` − 1 pixels past `count` are read too, so
    ///   the caller leaves that much readable room after the last row.
    /// - `weights`: `depth × channels`, row-major: tap `p`'s weights for every channel.
    @inlinable @inline(__always)
    public static func convolveRow<L: GemmLanes>(_ lanes: L.Type, input: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                                 depth: Int, count: Int, weights: UnsafePointer<Float>, channels: Int,
                                                 into out: UnsafeMutablePointer<Float>) {
        typealias V = L.Vector
        let width = V.scalarCount
        var first = 0
        while first < channels {
            var x = 0
            while x < count {
                var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
                var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
                var pw = UnsafeRawPointer(weights + first)
                let source = input + x
                for p in 0..<depth {
                    let w0 = pw.loadUnaligned(as: V.self), w1 = pw.loadUnaligned(fromByteOffset: width * 4, as: V.self)
                    let s = source + offsets[p]
                    var v = V(repeating: s[0])
                    c00 = L.multiplyAdd(v, w0, c00); c01 = L.multiplyAdd(v, w1, c01)
                    v = V(repeating: s[1])
                    c10 = L.multiplyAdd(v, w0, c10); c11 = L.multiplyAdd(v, w1, c11)
                    v = V(repeating: s[2])
                    c20 = L.multiplyAdd(v, w0, c20); c21 = L.multiplyAdd(v, w1, c21)
                    v = V(repeating: s[3])
                    c30 = L.multiplyAdd(v, w0, c30); c31 = L.multiplyAdd(v, w1, c31)
                    v = V(repeating: s[4])
                    c40 = L.multiplyAdd(v, w0, c40); c41 = L.multiplyAdd(v, w1, c41)
                    v = V(repeating: s[5])
                    c50 = L.multiplyAdd(v, w0, c50); c51 = L.multiplyAdd(v, w1, c51)
                    pw += channels * 4
                }
                let left = count - x
                @inline(__always) func put(_ low: V, _ high: V, _ j: Int) {
                    let target = UnsafeMutableRawPointer(out + (x + j) * channels + first)
                    target.storeBytes(of: low, as: V.self)
                    target.storeBytes(of: high, toByteOffset: width * 4, as: V.self)
                }
                put(c00, c01, 0)
                if left > 1 { put(c10, c11, 1) }
                if left > 2 { put(c20, c21, 2) }
                if left > 3 { put(c30, c31, 3) }
                if left > 4 { put(c40, c41, 4) }
                if left > 5 { put(c50, c51, 5) }
                x += pixels
            }
            first += 2 * width
        }
    }

    /// One row of the max pooling of rows computed by ``convolveRow(_:input:offsets:depth:count:weights:channels:into:)``,
    /// then the bias and activation, written channel by channel:
    /// `out[c * outStride + o] = activation(max(window o of channel c) + bias[c])`.
    ///
    /// Taking the maximum before adding the bias and rectifying gives the same bits as
    /// the other order, since rounding a sum and rectifying are both monotone; done after,
    /// they touch a quarter as many elements.
    ///
    /// - `rows`: `rowCount` (at least one) pointers to rows of `width × channels` floats.
    /// - `spans`: for each of the `outCount` outputs, the first and past-the-last input
    ///   column of its window, clipped to the row; an empty span gives −∞, as an empty
    ///   window does unfused.
    /// - `columnMax`: room for `width × channels` floats; `pooled` for `outCount × channels`.
    @inlinable @inline(__always)
    public static func poolRow(_ rows: UnsafePointer<UnsafePointer<Float>>, rowCount: Int, width: Int, channels: Int,
                               spans: UnsafePointer<Int>, outCount: Int, bias: UnsafePointer<Float>, relu: Bool,
                               columnMax: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                               into out: UnsafeMutablePointer<Float>, outStride: Int, outChannels: Int) {
        let n = width * channels
        // The usual three rows and three columns each in one pass, with the maxima taken in
        // the same order as the general loops, so the same bits.
        var r = 1
        if rowCount >= 3 {
            let (r0, r1, r2) = (rows[0], rows[1], rows[2])
            for i in 0..<n {
                var m = r0[i]
                m = m > r1[i] ? m : r1[i]
                columnMax[i] = m > r2[i] ? m : r2[i]
            }
            r = 3
        } else {
            columnMax.update(from: rows[0], count: n)
        }
        while r < rowCount {
            let row = rows[r]
            for i in 0..<n { columnMax[i] = columnMax[i] > row[i] ? columnMax[i] : row[i] }
            r += 1
        }
        for o in 0..<outCount {
            let (lo, hi) = (spans[2 * o], spans[2 * o + 1])
            let target = pooled + o * channels
            guard lo < hi else {
                target.update(repeating: -.infinity, count: channels)
                continue
            }
            let first = columnMax + lo * channels
            if hi - lo == 3 {
                let (second, third) = (first + channels, first + 2 * channels)
                for c in 0..<channels {
                    let m = first[c] > second[c] ? first[c] : second[c]
                    target[c] = m > third[c] ? m : third[c]
                }
            } else {
                target.update(from: first, count: channels)
                for x in (lo + 1)..<max(lo + 1, hi) {
                    let column = columnMax + x * channels
                    for c in 0..<channels { target[c] = target[c] > column[c] ? target[c] : column[c] }
                }
            }
            if relu {
                for c in 0..<channels { let v = target[c] + bias[c]; target[c] = v > 0 ? v : 0 }
            } else {
                for c in 0..<channels { target[c] = target[c] + bias[c] }
            }
        }
        for c in 0..<outChannels {
            let plane = out + c * outStride
            for o in 0..<outCount { plane[o] = pooled[o * channels + c] }
        }
    }
}

/// The baseline instantiation of ``StemKernels``.
extension PortableKernels {
    /// ``StemKernels/convolveRow(_:input:offsets:depth:count:weights:channels:into:)`` with ``PortableLanes``.
    public static func convolveRow(input: UnsafePointer<Float>, offsets: UnsafePointer<Int>, depth: Int, count: Int,
                                   weights: UnsafePointer<Float>, channels: Int, into out: UnsafeMutablePointer<Float>) {
        StemKernels.convolveRow(PortableLanes.self, input: input, offsets: offsets, depth: depth, count: count,
                                weights: weights, channels: channels, into: out)
    }

    /// ``StemKernels/poolRow(_:rowCount:width:channels:spans:outCount:bias:relu:columnMax:pooled:into:outStride:outChannels:)``.
    public static func poolRow(_ rows: UnsafePointer<UnsafePointer<Float>>, rowCount: Int, width: Int, channels: Int,
                               spans: UnsafePointer<Int>, outCount: Int, bias: UnsafePointer<Float>, relu: Bool,
                               columnMax: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                               into out: UnsafeMutablePointer<Float>, outStride: Int, outChannels: Int) {
        StemKernels.poolRow(rows, rowCount: rowCount, width: width, channels: channels, spans: spans, outCount: outCount,
                            bias: bias, relu: relu, columnMax: columnMax, pooled: pooled, into: out, outStride: outStride,
                            outChannels: outChannels)
    }
}
