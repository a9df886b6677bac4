import Testing
@testable import VeilImport

/// TFLite's sparse formats on small matrices whose dense form is known, as TFLite's schema
/// (SparsityParameters) defines them; the model-level check is the full-range BlazeFace
/// parity test against the TFLite interpreter.
struct SparseTensorTests {
    /// [[1, 0, 2, 3], [0, 4, 0, 0], [0, 0, 5, 0], [0, 0, 0, 6]].
    static let matrix: [Float] = [1, 0, 2, 3, 0, 4, 0, 0, 0, 0, 5, 0, 0, 0, 0, 6]

    /// Rows dense, columns compressed: row r's columns are indices[segments[r]..<segments[r + 1]].
    @Test func compressedRows() throws {
        let sparse = try SparseTensor(shape: [4, 4], traversalOrder: [0, 1], blockMap: [],
                                      levels: [.dense(size: 4), .compressed(segments: [0, 3, 4, 5, 6], indices: [0, 2, 3, 1, 2, 3])])
        #expect(try sparse.densify([1, 2, 3, 4, 5, 6]) == Self.matrix)
    }

    /// 2×2 blocks: block rows dense, block columns compressed (the all-zero block (1, 0) is
    /// not stored), each block's values row by row.
    @Test func blocks() throws {
        let sparse = try SparseTensor(shape: [4, 4], traversalOrder: [0, 1, 2, 3], blockMap: [0, 1],
                                      levels: [.dense(size: 2), .compressed(segments: [0, 2, 3], indices: [0, 1, 1]),
                                               .dense(size: 2), .dense(size: 2)])
        #expect(try sparse.densify([1, 0, 0, 4, 2, 3, 0, 0, 5, 0, 0, 6]) == Self.matrix)
    }

    /// Blocks of 1 row × 2 columns walked column first: [[1, 2, 0, 0], [0, 0, 3, 4]]. Each block
    /// level takes the size of the dimension it walks, not of its position in the order.
    @Test func blocksWalkedInAnotherOrder() throws {
        let sparse = try SparseTensor(shape: [2, 4], traversalOrder: [0, 1, 3, 2], blockMap: [0, 1],
                                      levels: [.dense(size: 2), .compressed(segments: [0, 1, 2], indices: [0, 1]),
                                               .dense(size: 2), .dense(size: 1)])
        #expect(try sparse.densify([1, 2, 3, 4]) == [1, 2, 0, 0, 0, 0, 3, 4])
    }

    /// Damaged metadata is refused, never trapped on.
    @Test func damageIsRefused() throws {
        let rows: [SparseTensor.Level] = [.dense(size: 4)]
        for (levels, values) in [
            (rows + [.compressed(segments: [0, 3, 4, 5, 6], indices: [0, 2, -1, 1, 2, 3])], [Float](repeating: 1, count: 6)),  // negative index
            (rows + [.compressed(segments: [0, 3, 2, 5, 6], indices: [0, 2, 3, 1, 2, 3])], [Float](repeating: 1, count: 6)),   // segments go back
            (rows + [.compressed(segments: [0, 3, 4, 5, 9], indices: [0, 2, 3, 1, 2, 3])], [Float](repeating: 1, count: 9)),   // past the indices
            (rows + [.compressed(segments: [0, 3, 4], indices: [0, 2, 3, 1])], [Float](repeating: 1, count: 4)),                  // too few segments
            (rows + [.compressed(segments: [0, 3, 4, 5, 6], indices: [0, 2, 4, 1, 2, 3])], [Float](repeating: 1, count: 6)),   // index past the row
            (rows + [.compressed(segments: [0, 3, 4, 5, 6], indices: [0, 2, 3, 1, 2, 3])], [Float](repeating: 1, count: 5)),   // values missing
            (rows + [.compressed(segments: [0, 3, 4, 5, 6], indices: [0, 2, 3, 1, 2, 3])], [Float](repeating: 1, count: 7)),   // values left over
        ] {
            #expect(throws: SparseTensor.Damage.self) { try SparseTensor(shape: [4, 4], traversalOrder: [0, 1], blockMap: [], levels: levels).densify(values) }
        }
        #expect(throws: SparseTensor.Damage.self) {  // a dimension blocked twice
            try SparseTensor(shape: [4, 4], traversalOrder: [0, 1, 2, 3], blockMap: [0, 0],
                             levels: [.dense(size: 2), .dense(size: 2), .dense(size: 2), .dense(size: 2)])
        }
        #expect(throws: SparseTensor.Damage.self) {  // a level size no tensor has
            try SparseTensor(shape: [4, 4], traversalOrder: [0, 1], blockMap: [], levels: [.dense(size: -4), .dense(size: 4)])
        }
        #expect(throws: SparseTensor.Damage.self) {  // positions beyond the tensor's values
            try SparseTensor(shape: [1, 1], traversalOrder: [0, 1], blockMap: [],
                             levels: [.compressed(segments: [0, 1], indices: [0]), .dense(size: 1 << 20)]).densify([1])
        }
    }
}
