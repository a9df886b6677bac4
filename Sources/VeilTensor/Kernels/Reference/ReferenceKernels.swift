/// Naive twins of the optimised kernels: the definitions written as plainly as possible, with
/// no GEMM, no im2col and no threading. Tests sweep the fast kernels against these.
enum ReferenceKernels {
    static func convolution(_ conv: Convolution2D, _ input: Tensor) -> Tensor {
        let s = input.shape
        let o = try! conv.outputShape(for: s)
        var out = Tensor(zeros: o)
        let w = conv.window
        let cinG = conv.inputChannels / conv.groups, coutG = conv.outputChannels / conv.groups
        for n in 0..<s.batch {
            for co in 0..<conv.outputChannels {
                let g = co / coutG
                for oy in 0..<o.height {
                    for ox in 0..<o.width {
                        var sum = Double(conv.bias[co])
                        for ci in 0..<cinG {
                            for ky in 0..<w.kernelHeight {
                                for kx in 0..<w.kernelWidth {
                                    let iy = oy * w.strideY - w.padTop + ky
                                    let ix = ox * w.strideX - w.padLeft + kx
                                    guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                                    let x = input.storage[((g * cinG + ci) * s.batch + n) * s.plane + iy * s.width + ix]
                                    let k = conv.weight(output: co, input: ci, ky: ky, kx: kx)
                                    sum += Double(x) * Double(k)
                                }
                            }
                        }
                        if conv.activation == .relu { sum = max(0, sum) }
                        out.storage[(co * s.batch + n) * o.plane + oy * o.width + ox] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    static func pooling(_ pool: Pooling, _ input: Tensor) -> Tensor {
        let s = input.shape
        let o = try! pool.outputShape(for: s)
        var out = Tensor(zeros: o)
        let w = pool.window
        for plane in 0..<(s.channels * s.batch) {
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    var best = -Float.infinity
                    var sum = 0.0
                    var area = 0
                    for ky in 0..<w.kernelHeight {
                        for kx in 0..<w.kernelWidth {
                            let iy = oy * w.strideY - w.padTop + ky
                            let ix = ox * w.strideX - w.padLeft + kx
                            // Positions inside the padded input count towards the average.
                            let insidePadded = iy < s.height + w.padBottom && ix < s.width + w.padRight
                            if insidePadded { area += 1 }
                            guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                            let v = input.storage[plane * s.plane + iy * s.width + ix]
                            best = max(best, v)
                            sum += Double(v)
                        }
                    }
                    out.storage[plane * o.plane + oy * o.width + ox] = pool.kind == .max ? best : Float(sum / Double(area))
                }
            }
        }
        return out
    }
}
