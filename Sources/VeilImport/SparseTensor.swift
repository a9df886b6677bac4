/// A TFLite tensor stored compressed (the schema's SparsityParameters), as pruned models
/// such as BlazeFace full range ship their weights: expanded to dense values once, at import,
/// so that Veil's engine only ever sees dense weights.
///
/// The stored values are listed in traversal order: `traversalOrder` names, level by level,
/// which dimension each level walks (the tensor's own dimensions first, then block
/// dimensions, each the inner part of the dimension `blockMap` names). A dense level walks
/// every index; a compressed (CSR) level walks the indices listed for its parent position.
struct SparseTensor {
    struct Damage: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    enum Level {
        case dense(size: Int)
        case compressed(segments: [Int], indices: [Int])
    }

    let shape: [Int]
    let traversalOrder: [Int]
    let blockMap: [Int]
    let levels: [Level]

    /// Reads the SparsityParameters table for a tensor of dense `shape`.
    init(_ table: FlatBuffer.Table, shape: [Int]) throws {
        let levels = try table.tableVector(2).map { level -> Level in
            let format = try level.uint8(0)
            if format == 0 { return .dense(size: Int(try level.int32(1))) }
            guard format == 1 else { throw Damage("level format \(format) is neither dense (0) nor CSR (1)") }
            return .compressed(segments: try Self.indexVector(level, type: 2, value: 3),
                               indices: try Self.indexVector(level, type: 4, value: 5))
        }
        try self.init(shape: shape, traversalOrder: try table.int32Vector(0).map(Int.init),
                      blockMap: try table.int32Vector(1).map(Int.init), levels: levels)
    }

    /// Checks that the parts describe a `shape` tensor TFLite could have written.
    init(shape: [Int], traversalOrder: [Int], blockMap: [Int], levels: [Level]) throws {
        self.shape = shape
        self.traversalOrder = traversalOrder
        self.blockMap = blockMap
        self.levels = levels
        let rank = shape.count
        for case .dense(let size) in levels where size <= 0 || size > 1 << 20 { throw Damage("a dense level has size \(size)") }
        guard shape.allSatisfy({ $0 > 0 }), levels.count == traversalOrder.count, traversalOrder.count == rank + blockMap.count,
              Set(traversalOrder) == Set(0..<traversalOrder.count), Set(traversalOrder.prefix(rank)) == Set(0..<rank),
              blockMap.allSatisfy({ (0..<rank).contains($0) }), zip(blockMap, blockMap.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw Damage("its traversal order \(traversalOrder), block map \(blockMap) and \(levels.count) levels do not describe a \(shape) tensor")
        }
    }

    /// A SparseIndexVector union: Int32Vector (1), Uint16Vector (2) or Uint8Vector (3).
    private static func indexVector(_ level: FlatBuffer.Table, type: Int, value: Int) throws -> [Int] {
        guard let vector = try level.table(value) else { throw Damage("a compressed level lacks its index arrays") }
        switch try level.uint8(type) {
        case 1: return try vector.int32Vector(0).map(Int.init)
        case 2:
            guard let range = try vector.vectorRange(0, elementSize: 2) else { return [] }
            let bytes = vector.buffer.bytes
            return stride(from: range.lowerBound, to: range.upperBound, by: 2).map { Int(bytes[$0]) | Int(bytes[$0 + 1]) << 8 }
        case 3:
            guard let range = try vector.vectorRange(0, elementSize: 1) else { return [] }
            return vector.buffer.bytes[range].map(Int.init)
        case let other: throw Damage("index array type \(other) is not one of TFLite's (int32, uint16, uint8)")
        }
    }

    /// The dense tensor, row-major in `shape`, zeros where nothing is stored.
    func densify(_ stored: [Float]) throws -> [Float] {
        let rank = shape.count
        let count = shape.reduce(1, *)  // bounded: the importer refuses shapes over 2^28 values
        var dense = [Float](repeating: 0, count: count)
        // Block b's size is the dense size of the level that walks dimension rank + b.
        var blockSizes = [Int](repeating: 0, count: blockMap.count)
        for level in rank..<levels.count {
            guard case .dense(let size) = levels[level] else { throw Damage("block level \(level) is not dense") }
            blockSizes[traversalOrder[level] - rank] = size
        }
        var coordinates = [Int](repeating: 0, count: levels.count)
        var next = 0

        func place() throws {
            var index = [Int](repeating: 0, count: rank)
            for level in 0..<rank { index[traversalOrder[level]] = coordinates[level] }
            for level in rank..<levels.count {
                let block = traversalOrder[level] - rank
                guard block >= 0, block < blockMap.count else { throw Damage("traversal order names block \(block), which the block map lacks") }
                // Each dimension is blocked at most once (the block map ascends), so this stays
                // below 2^31 · 2^20; the bound below catches what does not fit.
                index[blockMap[block]] = index[blockMap[block]] * blockSizes[block] + coordinates[level]
            }
            var flat = 0
            for d in 0..<rank {
                guard index[d] >= 0, index[d] < shape[d] else {
                    throw Damage("a stored value lies at index \(index[d]) of dimension \(d), which has \(shape[d])")
                }
                flat = flat * shape[d] + index[d]
            }
            guard next < stored.count else { throw Damage("the metadata lists more values than the \(stored.count) stored") }
            dense[flat] = stored[next]
            next += 1
        }

        func walk(_ level: Int, parent: Int) throws {
            guard level < levels.count else { return try place() }
            switch levels[level] {
            case .dense(let size):
                // A level cannot have more positions than the tensor has values (at most 2^28).
                let (first, overflow) = parent.multipliedReportingOverflow(by: size)
                guard !overflow, first < count else { throw Damage("level \(level) has more positions than the tensor has values") }
                for i in 0..<size {
                    coordinates[level] = i
                    try walk(level + 1, parent: first + i)
                }
            case let .compressed(segments, indices):
                guard parent + 1 < segments.count else { throw Damage("level \(level) has no segment for position \(parent)") }
                let (start, end) = (segments[parent], segments[parent + 1])
                guard start >= 0, start <= end, end <= indices.count else {
                    throw Damage("level \(level)'s segment \(start)..<\(end) is not within its \(indices.count) indices")
                }
                let range = start..<end
                for i in range {
                    coordinates[level] = indices[i]
                    try walk(level + 1, parent: i)
                }
            }
        }
        try walk(0, parent: 0)
        guard next == stored.count else { throw Damage("\(stored.count) values are stored but the metadata places \(next)") }
        return dense
    }
}
