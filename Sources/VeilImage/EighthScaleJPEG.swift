/// Baseline JPEG decoded at one eighth of its size straight from the entropy-coded data.
///
/// At 1/8 scale an 8×8 block becomes one pixel, its DC term, so nearly all the work is stepping
/// over the other 63 terms' Huffman codes. TurboJPEG steps over one code and then its extra
/// bits, refilling a byte at a time; here one table lookup steps over both, and the bit buffer
/// refills eight bytes at once where no 0xFF byte is near. Camera photos are decoded this way
/// on every scoring run, and their entropy decoding is most of the cost of scoring them.
///
/// The arithmetic after entropy decoding is libjpeg's, so the pixels are TurboJPEG's to the
/// bit (tests hold it to that on every sampling layout, size and quality they try):
/// - luma, and chroma at full resolution or subsampled in one direction, take the 1×1 reduced
///   IDCT, (DC × quantizer + 4) >> 3, and libjpeg's range limit;
/// - chroma subsampled 2×2 takes libjpeg's 2×2 reduced IDCT, as libjpeg scales it up by the
///   IDCT instead of upsampling it; subsampling in one direction is upsampled by replication,
///   as libjpeg does when it decodes at 1/8;
/// - YCbCr becomes RGB through libjpeg's fixed-point tables.
///
/// Only the common case is taken: one interleaved baseline scan of 8-bit grey or YCbCr at
/// 4:4:4, 4:2:2, 4:4:0 or 4:2:0. Anything else, and any data that is not clean (a code that
/// is not in its table, a scan that runs into a marker early, a restart marker missing or out
/// of order, stray bytes), returns nil, and the caller decodes with TurboJPEG, which reports
/// or recovers exactly as it always has. Every read is bounds-checked by position, every
/// table index is masked, so hostile data costs a fallback, never a crash.
enum EighthScaleJPEG {
    /// The image's stored size divided by eight (rounded up) and its RGB bytes, or nil when the
    /// file is not one this decoder takes.
    static func decode(_ jpeg: UnsafeBufferPointer<UInt8>) -> (width: Int, height: Int, rgb: [UInt8])? {
        guard let base = jpeg.baseAddress, jpeg.count >= 4, base[0] == 0xFF, base[1] == 0xD8,
              let header = Header.read(base, count: jpeg.count) else { return nil }
        defer { header.tables?.deallocate() }
        return header.decodeScan(base, count: jpeg.count)
    }

    /// Bits a lookup table resolves at once; longer codes, rare in practice, take the
    /// canonical-code path.
    static let lookupBits = 11

    /// libjpeg's zigzag-to-natural order, with its 16 extra entries: a corrupt run that carries
    /// `k` past 63 writes coefficient 63, as libjpeg's does.
    static let naturalOrder: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ] + [Int](repeating: 63, count: 16)
}

// MARK: - Headers

extension EighthScaleJPEG {
    struct Component {
        var id: UInt8
        var h: Int, v: Int
        var quantTable: Int
        var dcTable = 0, acTable = 0
        /// Output pixels per block edge: 1 (the DC term), or 2 for 2×2-subsampled chroma.
        var blockPixels = 1
    }

    /// One Huffman table, checked as libjpeg checks it, and written out in the flat layout the
    /// decoding loop reads (`FlatTable`).
    struct HuffmanTable {
        var counts: [Int]  // codes of each length, 1...16 (index 0 unused)
        var values: [UInt8]
        var isDC: Bool

        init?(counts: [Int], values: [UInt8], isDC: Bool) {
            var code = 0
            for length in 1...16 {
                code += counts[length]
                // A code that does not fit in its length is a bogus table to libjpeg.
                if code >= 1 << length { return nil }
                code <<= 1
            }
            if isDC, values.contains(where: { $0 > 15 }) { return nil }  // libjpeg rejects it too
            self.counts = counts
            self.values = values
            self.isDC = isDC
        }

        /// How far one AC symbol moves the coefficient index: run + 1; 16 for ZRL; 64 (past
        /// the block) for end of block, which libjpeg takes any other zero-size symbol for.
        static func step(_ symbol: Int) -> Int {
            let size = symbol & 15, run = symbol >> 4
            if size != 0 { return run + 1 }
            return run == 15 ? 16 : 64
        }

        func write(into table: FlatTable) {
            let bits = EighthScaleJPEG.lookupBits, n = 1 << bits
            table.raw.initializeMemory(as: UInt8.self, repeating: 0, count: FlatTable.size)
            for i in 0..<18 { table.maxCode[i] = -1 }
            var code = 0, index = 0
            for length in 1...16 {
                if counts[length] > 0 {
                    table.valueOffset[length] = Int32(index - code)
                    for _ in 0..<counts[length] {
                        if length <= bits {
                            let shift = bits - length
                            let entry = UInt16(length) | UInt16(values[index]) << 4
                            for fill in (code << shift)..<((code + 1) << shift) { table.single[fill] = entry }
                        }
                        table.values[index] = values[index]
                        code += 1
                        index += 1
                    }
                    table.maxCode[length] = Int32(code - 1)
                }
                code <<= 1
            }
            table.maxCode[17] = Int32.max  // ends the long-code search: no code, a fallback
            if isDC {
                // A DC code and its extra bits, resolved to the difference they encode,
                // wherever both fit in the lookup.
                for i in 0..<n {
                    let first = table.single[i]
                    let length = Int(first & 15), size = Int(first >> 4)
                    guard first != 0, length + size <= bits else { continue }
                    let raw = (i >> (bits - length - size)) & ((1 << size) - 1)
                    let difference = size == 0 ? 0 : raw < 1 << (size - 1) ? raw - (1 << size) + 1 : raw
                    table.pair[i] = UInt32(length + size) | UInt32(bitPattern: Int32(difference) << 8)
                }
                return
            }
            // Pairs: a code and its extra bits, and the next code and its extra bits when both
            // fit in the lookup and the first does not end the block.
            for i in 0..<n {
                let first = table.single[i]
                guard first != 0 else { continue }
                let symbol = Int(first >> 4), total = Int(first & 15) + symbol & 15, step = Self.step(symbol)
                var both = total, bothStep = step
                if step != 64, total < bits {
                    let second = table.single[(i << total) & (n - 1)]
                    let secondSymbol = Int(second >> 4)
                    if second != 0, total + Int(second & 15) + secondSymbol & 15 <= bits {
                        both = total + Int(second & 15) + secondSymbol & 15
                        bothStep = step + Self.step(secondSymbol)
                    }
                }
                table.pair[i] = UInt32(both) | UInt32(bothStep) << 8 | UInt32(total) << 16 | UInt32(step) << 24
            }
        }
    }

    /// A Huffman table as the decoding loop reads it, in one allocation:
    /// - `single`: the next `lookupBits` bits → code length (bits 0–3) and symbol (4–11);
    /// - `pair` (AC tables): the next `lookupBits` bits → the bits two codes and their extra
    ///   bits take (0–7) and how far they move the coefficient index (8–15), when the second
    ///   fits and the first does not end the block, else the first's alone; and the first's
    ///   alone (16–23, 24–31). The bit count comes first so that the shift reads it as is;
    /// - `pair` (DC tables): the bits a code and its extra bits take (0–7) and the difference
    ///   they encode (8–31, signed), where both fit in the lookup;
    /// - for longer codes, libjpeg's canonical limits, `maxCode` and `valueOffset`, and the symbols.
    /// Zero in a lookup means that what it resolves is longer than `lookupBits`, or is no code.
    struct FlatTable {
        let raw: UnsafeMutableRawPointer
        static let size = 2 << EighthScaleJPEG.lookupBits + 4 << EighthScaleJPEG.lookupBits + 2 * 18 * 4 + 256
        var single: UnsafeMutablePointer<UInt16> { raw.assumingMemoryBound(to: UInt16.self) }
        var pair: UnsafeMutablePointer<UInt32> { (raw + (2 << EighthScaleJPEG.lookupBits)).assumingMemoryBound(to: UInt32.self) }
        var maxCode: UnsafeMutablePointer<Int32> { (raw + (6 << EighthScaleJPEG.lookupBits)).assumingMemoryBound(to: Int32.self) }
        var valueOffset: UnsafeMutablePointer<Int32> { maxCode + 18 }
        var values: UnsafeMutablePointer<UInt8> { (raw + (6 << EighthScaleJPEG.lookupBits) + 2 * 18 * 4).assumingMemoryBound(to: UInt8.self) }
    }

    struct Header {
        var width = 0, height = 0
        var components: [Component] = []
        var quant = [[Int32]](repeating: [], count: 4)  // natural order
        var dc = [HuffmanTable?](repeating: nil, count: 4)
        var ac = [HuffmanTable?](repeating: nil, count: 4)
        var restartInterval = 0
        /// Where the entropy-coded data of the one scan begins.
        var scanStart = 0
        /// The scan's Huffman tables (four DC slots, then four AC) and quantizers, in one
        /// allocation for the decoding loop.
        var tables: UnsafeMutableRawPointer! = nil
        static let quantOffset = 8 * FlatTable.size
        func table(dc id: Int) -> FlatTable { FlatTable(raw: tables + id * FlatTable.size) }
        func table(ac id: Int) -> FlatTable { FlatTable(raw: tables + (4 + id) * FlatTable.size) }
        func quantizers(_ id: Int) -> UnsafeMutablePointer<Int32> {
            (tables + Self.quantOffset).assumingMemoryBound(to: Int32.self) + 64 * id
        }

        /// The headers up to the first scan, or nil if anything is outside what this decoder takes.
        static func read(_ p: UnsafePointer<UInt8>, count: Int) -> Header? {
            var header = Header()
            var sawFrame = false, sawJFIF = false
            var at = 2
            func u16(_ i: Int) -> Int { Int(p[i]) << 8 | Int(p[i + 1]) }
            while at + 4 <= count {
                guard p[at] == 0xFF else { return nil }
                let marker = p[at + 1]
                let length = u16(at + 2)
                guard length >= 2, at + 2 + length <= count else { return nil }
                let body = at + 4, end = at + 2 + length
                switch marker {
                case 0xE0:
                    if end - body >= 5, p[body] == 0x4A, p[body + 1] == 0x46, p[body + 2] == 0x49,
                       p[body + 3] == 0x46, p[body + 4] == 0 { sawJFIF = true }
                case 0xEE:
                    return nil  // Adobe: its transform flag decides the colour space
                case 0xE1...0xED, 0xEF, 0xFE:
                    break
                case 0xDB:
                    var i = body
                    while i < end {
                        let precision = Int(p[i] >> 4), id = Int(p[i] & 15)
                        let size = precision == 0 ? 64 : 128
                        guard precision <= 1, id < 4, i + 1 + size <= end else { return nil }
                        var table = [Int32](repeating: 0, count: 64)
                        for k in 0..<64 {
                            let value = precision == 0 ? Int32(p[i + 1 + k]) : Int32(u16(i + 1 + 2 * k))
                            // libjpeg keeps quantizers as 16-bit signed integers.
                            guard value <= Int32(Int16.max) else { return nil }
                            table[EighthScaleJPEG.naturalOrder[k]] = value
                        }
                        header.quant[id] = table
                        i += 1 + size
                    }
                case 0xC4:
                    var i = body
                    while i < end {
                        let tableClass = Int(p[i] >> 4), id = Int(p[i] & 15)
                        guard tableClass <= 1, id < 4, i + 17 <= end else { return nil }
                        var counts = [0]
                        for n in 1...16 { counts.append(Int(p[i + n])) }
                        let total = counts.reduce(0, +)
                        guard total <= 256, i + 17 + total <= end else { return nil }
                        let values = (0..<total).map { p[i + 17 + $0] }
                        guard let table = HuffmanTable(counts: counts, values: values, isDC: tableClass == 0) else { return nil }
                        if tableClass == 0 { header.dc[id] = table } else { header.ac[id] = table }
                        i += 17 + total
                    }
                case 0xC0, 0xC1:
                    guard !sawFrame, end - body >= 6, p[body] == 8 else { return nil }
                    sawFrame = true
                    header.height = u16(body + 1)
                    header.width = u16(body + 3)
                    let n = Int(p[body + 5])
                    guard header.width > 0, header.height > 0, n == 1 || n == 3, end - body == 6 + 3 * n else { return nil }
                    for c in 0..<n {
                        let at = body + 6 + 3 * c
                        let h = Int(p[at + 1] >> 4), v = Int(p[at + 1] & 15)
                        guard (1...4).contains(h), (1...4).contains(v), p[at + 2] < 4 else { return nil }
                        header.components.append(Component(id: p[at], h: h, v: v, quantTable: Int(p[at + 2])))
                    }
                case 0xDD:
                    guard length == 4 else { return nil }
                    header.restartInterval = u16(body)
                case 0xDA:
                    guard sawFrame, header.select(scan: p, body: body, end: end, sawJFIF: sawJFIF) else { return nil }
                    header.scanStart = end
                    return header
                default:
                    return nil  // any other frame type, DNL, or a marker out of place
                }
                at = end
            }
            return nil
        }

        /// Checks the scan header and the frame's layout, and gathers the scan's tables.
        mutating func select(scan p: UnsafePointer<UInt8>, body: Int, end: Int, sawJFIF: Bool) -> Bool {
            guard end > body else { return false }
            let n = Int(p[body])
            guard n == components.count, end - body == 1 + 2 * n + 3 else { return false }
            for c in 0..<n {
                guard p[body + 1 + 2 * c] == components[c].id else { return false }
                let tables = p[body + 2 + 2 * c]
                components[c].dcTable = Int(tables >> 4)
                components[c].acTable = Int(tables & 15)
                guard components[c].dcTable < 4, components[c].acTable < 4,
                      dc[components[c].dcTable] != nil, ac[components[c].acTable] != nil,
                      quant[components[c].quantTable].count == 64 else { return false }
            }
            let spectral = body + 1 + 2 * n
            guard p[spectral] == 0, p[spectral + 1] == 63, p[spectral + 2] == 0 else { return false }
            if n == 1 {
                components[0].h = 1; components[0].v = 1  // one component: one block an MCU
            } else {
                // Without JFIF, libjpeg reads components named R, G, B as RGB.
                if !sawJFIF, components.map(\.id) == [0x52, 0x47, 0x42] { return false }
                let luma = components[0]
                guard [(1, 1), (2, 1), (1, 2), (2, 2)].contains(where: { $0 == (luma.h, luma.v) }),
                      components[1].h == 1, components[1].v == 1, components[2].h == 1, components[2].v == 1
                else { return false }
                // libjpeg scales 2×2-subsampled chroma up in its IDCT; one-way subsampling it
                // replicates after a 1×1 IDCT.
                if luma.h == 2, luma.v == 2 { components[1].blockPixels = 2; components[2].blockPixels = 2 }
            }
            // The tables the scan uses, flat, for the loop.
            tables = .allocate(byteCount: Self.quantOffset + 4 * 64 * 4, alignment: 64)
            for component in components {
                dc[component.dcTable]!.write(into: table(dc: component.dcTable))
                ac[component.acTable]!.write(into: table(ac: component.acTable))
                quantizers(component.quantTable).initialize(from: quant[component.quantTable], count: 64)
            }
            return true
        }
    }
}

// MARK: - The scan

extension EighthScaleJPEG {
    /// A big-endian bit buffer over the entropy-coded data. `count` is the number of real bits;
    /// past a marker it goes on shifting in zeros and `count` goes negative, which the caller
    /// checks once a block: libjpeg would warn there, and this decoder gives up.
    struct Bits {
        var buffer: UInt64 = 0
        var count = 0
        var at: Int
        let data: UnsafePointer<UInt8>
        let end: Int
        /// Set at the first marker: no data is loaded past it.
        var atMarker = false

        init(at: Int, data: UnsafePointer<UInt8>, end: Int) {
            self.at = at; self.data = data; self.end = end
        }

        @inline(__always) mutating func refill() {
            if at &+ 8 <= end {
                let word = UInt64(bigEndian: UnsafeRawPointer(data + at).loadUnaligned(as: UInt64.self))
                let inverted = ~word  // 0xFF bytes become zero bytes
                if (inverted &- 0x0101_0101_0101_0101) & ~inverted & 0x8080_8080_8080_8080 == 0 {
                    // No 0xFF among the next eight bytes: take the whole ones that fit. The
                    // partial byte below them is the same byte the next refill places there.
                    buffer |= word &>> UInt64(truncatingIfNeeded: count)
                    let bytes = (63 &- count) &>> 3
                    at &+= bytes
                    count &+= bytes &<< 3
                    return
                }
            }
            refillSlowly()
        }

        mutating func refillSlowly() {
            while count <= 56, !atMarker {
                guard at < end else { atMarker = true; return }
                let byte = data[at]
                if byte == 0xFF {
                    guard at + 1 < end, data[at + 1] == 0 else { atMarker = true; return }
                    at += 1  // stuffed zero
                }
                at += 1
                buffer |= UInt64(byte) &<< UInt64(56 - count)
                count += 8
            }
        }

        /// The next `lookupBits` bits, as a lookup index.
        @inline(__always) var peek: Int { Int(truncatingIfNeeded: buffer &>> UInt64(64 - EighthScaleJPEG.lookupBits)) }

        @inline(__always) mutating func skip(_ n: Int) {
            buffer = buffer &<< UInt64(truncatingIfNeeded: n)
            count &-= n
        }

        /// The next `n` bits (1...15) as a signed value, libjpeg's HUFF_EXTEND, consumed.
        @inline(__always) mutating func signed(_ n: Int) -> Int32 {
            let raw = Int32(truncatingIfNeeded: buffer &>> UInt64(truncatingIfNeeded: 64 &- n))
            skip(n)
            return raw < 1 &<< (n &- 1) ? raw &- (1 &<< n) &+ 1 : raw
        }

        /// A code longer than the lookup, by libjpeg's canonical search: (length, symbol), or
        /// nil for a code not in the table.
        func longCode(_ table: EighthScaleJPEG.FlatTable) -> (Int, Int)? {
            for length in (EighthScaleJPEG.lookupBits + 1)...16 {
                let code = Int32(truncatingIfNeeded: buffer &>> UInt64(64 - length))
                if code <= table.maxCode[length] {
                    let index = Int(table.valueOffset[length] &+ code)
                    guard index >= 0, index < 256 else { return nil }
                    return (length, Int(table.values[index]))
                }
            }
            return nil
        }
    }
}

extension EighthScaleJPEG.Header {
    func decodeScan(_ p: UnsafePointer<UInt8>, count: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        let hMax = components.map(\.h).max()!, vMax = components.map(\.v).max()!
        let mcuColumns = (width + 8 * hMax - 1) / (8 * hMax)
        let mcuRows = (height + 8 * vMax - 1) / (8 * vMax)
        let outWidth = (width + 7) / 8, outHeight = (height + 7) / 8
        // One plane per component at its output resolution, covering whole MCUs.
        let strides = components.map { mcuColumns * $0.h * $0.blockPixels }
        var offsets = [0]
        for c in components.indices { offsets.append(offsets[c] + strides[c] * mcuRows * components[c].v * components[c].blockPixels) }
        var planes = [UInt8](repeating: 0, count: offsets.last!)
        let ok = planes.withUnsafeMutableBufferPointer { out in
            decodeMCUs(p, count: count, columns: mcuColumns, rows: mcuRows, into: out.baseAddress!, offsets: offsets, strides: strides)
        }
        guard ok else { return nil }
        return (outWidth, outHeight, toRGB(planes, offsets: offsets, strides: strides, width: outWidth, height: outHeight))
    }

    /// Every MCU of the scan into the planes; false where libjpeg would have warned or failed.
    private func decodeMCUs(_ p: UnsafePointer<UInt8>, count: Int, columns: Int, rows: Int,
                            into planes: UnsafeMutablePointer<UInt8>, offsets: [Int], strides: [Int]) -> Bool {
        struct Lane {
            var dc: EighthScaleJPEG.FlatTable, ac: EighthScaleJPEG.FlatTable
            var q: UnsafePointer<Int32>
            var h: Int, v: Int, blockPixels: Int
            var plane: UnsafeMutablePointer<UInt8>, stride: Int
        }
        let lanes = components.indices.map { c in
            Lane(dc: table(dc: components[c].dcTable), ac: table(ac: components[c].acTable),
                 q: UnsafePointer(quantizers(components[c].quantTable)), h: components[c].h, v: components[c].v,
                 blockPixels: components[c].blockPixels, plane: planes + offsets[c], stride: strides[c])
        }
        var bits = EighthScaleJPEG.Bits(at: scanStart, data: p, end: count)
        var predictions: (Int32, Int32, Int32) = (0, 0, 0)
        let sums = UnsafeMutablePointer<Int64>.allocate(capacity: TwoByTwoTerms.sumCount)
        defer { sums.deallocate() }
        let terms = TwoByTwoTerms()
        defer { terms.deallocate() }
        var restartsLeft = restartInterval, nextRestart: UInt8 = 0xD0
        for mcuRow in 0..<rows {
            for mcuColumn in 0..<columns {
                if restartInterval > 0 {
                    if restartsLeft == 0 {
                        // Only the padding of the last byte may remain, then RSTn.
                        if !bits.atMarker { bits.refillSlowly() }
                        guard bits.atMarker, bits.count >= 0, bits.count < 8, bits.at + 1 < count,
                              p[bits.at + 1] == nextRestart else { return false }
                        bits = EighthScaleJPEG.Bits(at: bits.at + 2, data: p, end: count)
                        predictions = (0, 0, 0)
                        nextRestart = nextRestart == 0xD7 ? 0xD0 : nextRestart + 1
                        restartsLeft = restartInterval
                    }
                    restartsLeft -= 1
                }
                for c in lanes.indices {
                    let lane = lanes[c]
                    for v in 0..<lane.v {
                        for h in 0..<lane.h {
                            // DC: its difference from the last block's.
                            if bits.count < 32 { bits.refill() }
                            let difference: Int32
                            let resolved = lane.dc.pair[bits.peek]
                            if resolved != 0 {
                                bits.skip(Int(resolved & 0xFF))
                                difference = Int32(bitPattern: resolved) >> 8
                            } else {
                                let extra: Int
                                let entry = lane.dc.single[bits.peek]
                                if entry != 0 {
                                    bits.skip(Int(entry & 15))
                                    extra = Int(entry >> 4)
                                } else {
                                    guard let (length, symbol) = bits.longCode(lane.dc) else { return false }
                                    bits.skip(length)
                                    extra = symbol
                                }
                                difference = extra > 0 ? bits.signed(extra) : 0
                            }
                            let prediction: Int32
                            switch c {
                            case 0: predictions.0 &+= difference; prediction = predictions.0
                            case 1: predictions.1 &+= difference; prediction = predictions.1
                            default: predictions.2 &+= difference; prediction = predictions.2
                            }
                            // libjpeg stores the coefficient in 16 bits.
                            let dcTerm = Int32(Int16(truncatingIfNeeded: prediction))
                            let x = (mcuColumn * lane.h + h) * lane.blockPixels
                            let y = (mcuRow * lane.v + v) * lane.blockPixels
                            let out = lane.plane + y * lane.stride + x
                            if lane.blockPixels == 1 {
                                guard Self.skipTerms(&bits, lane.ac) else { return false }
                                out.pointee = rangeLimit((dcTerm &* lane.q[0] &+ 4) >> 3)
                            } else {
                                sums.update(repeating: 0, count: TwoByTwoTerms.sumCount)
                                sums[0] = Int64(dcTerm &* lane.q[0]) << 15
                                guard Self.addTerms(&bits, lane.ac, q: lane.q, terms: terms, into: sums) else { return false }
                                idct2x2(sums, into: out, stride: lane.stride)
                            }
                        }
                    }
                }
            }
        }
        // The scan must end here: padding, then EOI.
        if !bits.atMarker { bits.refillSlowly() }
        return bits.atMarker && bits.count >= 0 && bits.count < 8 && bits.at + 1 < count && p[bits.at + 1] == 0xD9
    }

    /// Steps over a block's 63 AC terms, one or two codes and their extra bits a lookup.
    @inline(__always)
    private static func skipTerms(_ bits: inout EighthScaleJPEG.Bits, _ table: EighthScaleJPEG.FlatTable) -> Bool {
        var k = 1
        // Below 48 a code that does not end the block (its run is at most 15) leaves it open,
        // so the second code of a pair is this block's: no test on the path from one lookup
        // to the next.
        while k < 48 {
            if bits.count < 32 { bits.refill() }
            let entry = table.pair[bits.peek]
            guard entry != 0 else {
                guard skipLongCode(&bits, table, &k) else { return false }
                continue
            }
            bits.skip(Int(entry & 0xFF))
            k &+= Int(entry >> 8 & 0xFF)
        }
        while k < 64 {
            if bits.count < 32 { bits.refill() }
            let entry = table.pair[bits.peek]
            guard entry != 0 else {
                guard skipLongCode(&bits, table, &k) else { return false }
                continue
            }
            // The second code is this block's only if the first leaves it open.
            let step = Int(entry >> 24)
            if k &+ step < 64 {
                bits.skip(Int(entry & 0xFF))
                k &+= Int(entry >> 8 & 0xFF)
            } else {
                bits.skip(Int(entry >> 16 & 0xFF))
                k &+= step
            }
        }
        return bits.count >= 0
    }

    /// Steps over one code longer than the lookup and its extra bits; false for no code.
    private static func skipLongCode(_ bits: inout EighthScaleJPEG.Bits, _ table: EighthScaleJPEG.FlatTable, _ k: inout Int) -> Bool {
        guard let (length, symbol) = bits.longCode(table) else { return false }
        bits.skip(length + symbol & 15)
        k += EighthScaleJPEG.HuffmanTable.step(symbol)
        return true
    }

    /// Reads a 2×2-scaled block's AC terms, each dequantized and added to the sum of
    /// ``TwoByTwoTerms`` that libjpeg's 2×2 IDCT would multiply it into, or dropped when that
    /// IDCT does not read it. A chroma block of a photo has a few nonzero terms, so this does
    /// a few multiplications where storing all 64 and transforming 25 did about a hundred.
    private static func addTerms(_ bits: inout EighthScaleJPEG.Bits, _ table: EighthScaleJPEG.FlatTable,
                                 q: UnsafePointer<Int32>, terms: TwoByTwoTerms, into sums: UnsafeMutablePointer<Int64>) -> Bool {
        // libjpeg stores term 63, and every term a corrupt run carries past it, in one place,
        // the last one written winning; so that one is added only at the end.
        var last: Int64 = 0
        var k = 1
        while k < 64 {
            if bits.count < 32 { bits.refill() }
            let entry = table.single[bits.peek]
            let length: Int, symbol: Int
            if entry != 0 {
                length = Int(entry & 15)
                symbol = Int(entry >> 4)
            } else {
                guard let long = bits.longCode(table) else { return false }
                (length, symbol) = long
            }
            bits.skip(length)
            let size = symbol & 15, run = symbol >> 4
            if size != 0 {
                k &+= run
                // libjpeg keeps the term in 16 bits and dequantizes it in 32.
                let value = Int32(Int16(truncatingIfNeeded: bits.signed(size)))
                let z = Int64(value &* q[terms.natural[k]])
                if k < 63 {
                    sums[terms.sum[k]] &+= z &* terms.weight[k]
                } else {
                    last = z
                }
                k &+= 1
            } else if run == 15 {
                k &+= 16
            } else {
                break
            }
        }
        sums[TwoByTwoTerms.lastSum] &+= last &* TwoByTwoTerms.c7
        return bits.count >= 0
    }

    /// libjpeg's post-IDCT range limit: the low ten bits as a signed number, plus 128, clamped.
    @inline(__always) func rangeLimit(_ x: Int32) -> UInt8 {
        let wrapped = (x & 1023) >= 512 ? (x & 1023) - 1024 : x & 1023
        return UInt8(clamping: wrapped + 128)
    }

    /// libjpeg's reduced 2×2 inverse DCT (`jpeg_idct_2x2`) finished from the column sums
    /// ``addTerms`` gathered: its column pass rounds each sum to 32 bits, keeping 2 bits, and
    /// its row pass combines columns 0, 1, 3, 5 and 7. libjpeg skips the odd terms of a column
    /// or row when they are all zero; the full formula gives the same numbers then, so it is used
    /// throughout, without branches that noisy chroma would mispredict.
    @inline(__always)
    func idct2x2(_ sums: UnsafePointer<Int64>, into out: UnsafeMutablePointer<UInt8>, stride: Int) {
        typealias Terms = EighthScaleJPEG.Header.TwoByTwoTerms
        @inline(__always) func column(_ j: Int) -> (Int64, Int64) {
            let even = sums[j], odd = sums[Terms.columns + j]
            return (Int64(Int32(truncatingIfNeeded: (even &+ odd &+ (1 << 12)) >> 13)),
                    Int64(Int32(truncatingIfNeeded: (even &- odd &+ (1 << 12)) >> 13)))
        }
        let w0 = column(0), w1 = column(1), w3 = column(2), w5 = column(3), w7 = column(4)
        let (c1, c3, c5, c7) = (Terms.c1, Terms.c3, Terms.c5, Terms.c7)
        let evenTop = w0.0 << 15, oddTop = w7.0 * c7 + w5.0 * c5 + w3.0 * c3 + w1.0 * c1
        let evenBottom = w0.1 << 15, oddBottom = w7.1 * c7 + w5.1 * c5 + w3.1 * c3 + w1.1 * c1
        out[0] = rangeLimit(Int32(truncatingIfNeeded: (evenTop + oddTop + (1 << 19)) >> 20))
        out[1] = rangeLimit(Int32(truncatingIfNeeded: (evenTop - oddTop + (1 << 19)) >> 20))
        out[stride] = rangeLimit(Int32(truncatingIfNeeded: (evenBottom + oddBottom + (1 << 19)) >> 20))
        out[stride + 1] = rangeLimit(Int32(truncatingIfNeeded: (evenBottom - oddBottom + (1 << 19)) >> 20))
    }

    /// Where each AC term of a 2×2-scaled block goes, by its zigzag index (0..<80, as
    /// ``EighthScaleJPEG/naturalOrder``). libjpeg's `jpeg_idct_2x2` reads rows and columns 0,
    /// 1, 3, 5 and 7; its column pass sums, for each such column, row 0 times 2¹⁵ (the even
    /// sum) and rows 1, 3, 5, 7 times √2 times sums of odd cosines (the odd sum). Those ten
    /// sums are linear in the terms, so each term can be added as soon as it is decoded.
    struct TwoByTwoTerms {
        /// FIX(x) = x × 8192 rounded, for √2 times sums of the odd cosines (rows 1, 3, 5, 7).
        static let c1: Int64 = 29692, c3: Int64 = -10426, c5: Int64 = 6967, c7: Int64 = -5906
        /// Columns read: 0, 1, 3, 5, 7. Sums 0..<5 are their even sums, 5..<10 their odd
        /// sums, and sum 10 takes the terms the IDCT does not read.
        static let columns = 5
        static let sumCount = 11
        /// The odd sum of column 7, which term 63 (row 7, column 7) goes to.
        static let lastSum = 9
        let natural: UnsafeMutablePointer<Int>
        let sum: UnsafeMutablePointer<Int>
        let weight: UnsafeMutablePointer<Int64>

        init() {
            natural = .allocate(capacity: 80)
            sum = .allocate(capacity: 80)
            weight = .allocate(capacity: 80)
            let columnIndex = [0: 0, 1: 1, 3: 2, 5: 3, 7: 4]
            let rowWeight: [Int: Int64] = [0: 1 << 15, 1: Self.c1, 3: Self.c3, 5: Self.c5, 7: Self.c7]
            for k in 0..<80 {
                let n = EighthScaleJPEG.naturalOrder[k], row = n >> 3
                natural[k] = n
                if let column = columnIndex[n & 7], let w = rowWeight[row] {
                    sum[k] = row == 0 ? column : Self.columns + column
                    weight[k] = w
                } else {
                    sum[k] = Self.sumCount - 1
                    weight[k] = 0
                }
            }
        }

        func deallocate() {
            natural.deallocate(); sum.deallocate(); weight.deallocate()
        }
    }

    /// libjpeg's YCbCr → RGB: fixed point with 16 fractional bits, through its tables; one-way
    /// subsampled chroma is replicated, as libjpeg upsamples it at this scale.
    func toRGB(_ planes: [UInt8], offsets: [Int], strides: [Int], width: Int, height: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let luma = components[0]
        // Chroma planes are at luma resolution, except one-way subsampling: halve that axis.
        let halveX = luma.h == 2 && luma.v == 1, halveY = luma.v == 2 && luma.h == 1
        let tables = YCbCrTables.shared
        planes.withUnsafeBufferPointer { planes in
            rgb.withUnsafeMutableBufferPointer { out in
                let out = out.baseAddress!, y0 = planes.baseAddress!
                if components.count == 1 {
                    for y in 0..<height {
                        for x in 0..<width {
                            let value = y0[y * strides[0] + x]
                            (out + (y * width + x) * 3).update(repeating: value, count: 3)
                        }
                    }
                    return
                }
                tables.crToR.withUnsafeBufferPointer { crToR in
                    tables.cbToB.withUnsafeBufferPointer { cbToB in
                        tables.crToG.withUnsafeBufferPointer { crToG in
                            tables.cbToG.withUnsafeBufferPointer { cbToG in
                                for y in 0..<height {
                                    let lumaRow = y0 + y * strides[0]
                                    let cy = halveY ? y >> 1 : y
                                    let cbRow = y0 + offsets[1] + cy * strides[1], crRow = y0 + offsets[2] + cy * strides[2]
                                    var target = out + y * width * 3
                                    for x in 0..<width {
                                        let cx = halveX ? x >> 1 : x
                                        let l = Int32(lumaRow[x]), cb = Int(cbRow[cx]), cr = Int(crRow[cx])
                                        target[0] = UInt8(clamping: l &+ crToR[cr])
                                        target[1] = UInt8(clamping: l &+ ((cbToG[cb] &+ crToG[cr]) >> 16))
                                        target[2] = UInt8(clamping: l &+ cbToB[cb])
                                        target += 3
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return rgb
    }
}

/// libjpeg's `build_ycc_rgb_table`: FIX(x) is x × 65536 rounded.
struct YCbCrTables: Sendable {
    let crToR: [Int32], cbToB: [Int32], crToG: [Int32], cbToG: [Int32]
    static let shared = YCbCrTables()
    private init() {
        let half: Int32 = 1 << 15
        func fix(_ x: Double) -> Int32 { Int32(x * 65536 + 0.5) }
        crToR = (0..<256).map { (fix(1.40200) * (Int32($0) - 128) + half) >> 16 }
        cbToB = (0..<256).map { (fix(1.77200) * (Int32($0) - 128) + half) >> 16 }
        crToG = (0..<256).map { -fix(0.71414) * (Int32($0) - 128) }
        cbToG = (0..<256).map { -fix(0.34414) * (Int32($0) - 128) + half }
    }
}
