import Foundation
import Veil
import VeilImage
import VeilPolicy
import VeilReview

/// Why a preview cannot be shown. None of these says where the file is.
enum PreviewFailure: Error, Equatable {
    /// The file the ledger names is gone.
    case missing
    /// The file no longer has the content that was scored: it is not shown, because the
    /// suggestions say nothing about what it holds now.
    case changed
    /// The file cannot be decoded.
    case unreadable
}

/// Renders the desk's previews, off the server's threads and one at a time (the other core
/// serves pages), and keeps the encoded JPEGs in memory. Only ``Preview`` pixels ever leave:
/// the original file is read, checked against its SHA-256 in the ledger, and dropped.
final class PreviewRenderer: Sendable {
    /// The two sizes the pages ask for.
    enum Size: String, Sendable { case thumb, card }

    /// What one preview's bytes depend on.
    struct Key: Hashable {
        var sha256: String, frame: Int, whole: Bool, level: Int, side: Int
    }

    let faceDetector: FaceDetector?
    let sides: (thumb: Int, card: Int)
    private let queue = DispatchQueue(label: "veil.desk.previews", qos: .userInitiated)
    private let cache = ByteCache(limit: 64 << 20)
    private let faces = FaceCache()

    init(faceDetector: FaceDetector?, sides: (Int, Int)) {
        self.faceDetector = faceDetector
        self.sides = (sides.0, sides.1)
    }

    /// The JPEG preview of `entry`'s image at `level`. `flags` are every flag suggested for
    /// that image and frame, whatever their state: any but `face` obscures the whole image,
    /// so that a rejection, right or wrong, never unveils it at level 0.
    func jpeg(for entry: LedgerEntry, flags: Set<Flag>, level: Int, size: Size) async throws -> Data {
        let key = Key(sha256: entry.sha256, frame: entry.frame ?? 1, whole: flags.contains { $0 != .face } || faceDetector == nil,
                      level: level, side: size == .thumb ? sides.thumb : sides.card)
        if let hit = cache[key] { return hit }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.cache[key] ?? self.render(key, path: entry.path) })
            }
        }
    }

    /// Renders the level-0 previews of `entries` in the background, one at a time, each
    /// queued behind any preview a reviewer is waiting for.
    func warm(_ entries: [LedgerEntry], flags flagsOf: (LedgerEntry) -> Set<Flag>) async {
        for entry in entries {
            let flags = flagsOf(entry)
            for size in [Size.thumb, .card] {
                _ = try? await jpeg(for: entry, flags: flags, level: 0, size: size)
            }
        }
    }

    private func render(_ key: Key, path: String) throws -> Data {
        let data: Data
        do { data = try ImageDecoder.readFile(atPath: path) } catch let error as ImageDecodingError {
            throw error.kind == .noSuchFile ? PreviewFailure.missing : PreviewFailure.unreadable
        }
        guard ContentDigest.sha256(data) == key.sha256 else { throw PreviewFailure.changed }
        // Faces are looked for in a larger decode than the thumbnail: the detector needs pixels.
        let side = key.whole ? key.side : max(key.side, 640)
        let picture: LoadedImage
        do {
            let source = try ImageReader(options: DecodingOptions(minimumSize: PixelSize(width: side, height: side))).pictures(in: data)
            guard key.frame >= 1, key.frame <= source.count else { throw PreviewFailure.unreadable }
            picture = try source.picture(at: key.frame - 1)
        } catch is ImageDecodingError { throw PreviewFailure.unreadable }
        let mode: Preview.Mode
        if key.whole {
            mode = .whole
        } else {
            let found = try faces(of: picture, key: key)
            // No face found in an image suggested for a face: hide it all rather than nothing.
            mode = found.isEmpty ? .whole : .faces(found)
        }
        let preview = Preview.render(picture.image, fullSize: picture.fullSize, mode: mode, level: key.level, maxSide: key.side)
        guard let bytes = try? preview.jpegData(quality: 85) else { throw PreviewFailure.unreadable }
        let jpeg = Data(bytes)
        cache[key] = jpeg
        return jpeg
    }

    /// The faces in `picture`, in full-size pixels, found once per image and frame.
    private func faces(of picture: LoadedImage, key: Key) throws -> [FaceDetection] {
        let imageKey = "\(key.sha256) \(key.frame)"
        if let known = faces[imageKey] { return known }
        guard let faceDetector else { return [] }
        let sx = Double(picture.fullSize.width) / Double(max(1, picture.image.width))
        let sy = Double(picture.fullSize.height) / Double(max(1, picture.image.height))
        let found = try faceDetector.faces(in: picture.image).map { f in
            FaceDetection(x: f.x * sx, y: f.y * sy, width: f.width * sx, height: f.height * sy, score: f.score)
        }
        faces[imageKey] = found
        return found
    }
}

/// Encoded previews by key, at most `limit` bytes; the oldest go first.
private final class ByteCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [PreviewRenderer.Key: Data] = [:]
    private var order: [PreviewRenderer.Key] = []
    private var bytes = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    subscript(key: PreviewRenderer.Key) -> Data? {
        get { lock.withLock { entries[key] } }
        set {
            guard let newValue else { return }
            lock.withLock {
                if let old = entries.updateValue(newValue, forKey: key) { bytes -= old.count } else { order.append(key) }
                bytes += newValue.count
                while bytes > limit, !order.isEmpty {
                    let oldest = order.removeFirst()
                    bytes -= entries.removeValue(forKey: oldest)?.count ?? 0
                }
            }
        }
    }
}

/// Face boxes by image and frame; a few numbers each, so unbounded is fine for any queue.
private final class FaceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var boxes: [String: [FaceDetection]] = [:]

    subscript(key: String) -> [FaceDetection]? {
        get { lock.withLock { boxes[key] } }
        set { lock.withLock { boxes[key] = newValue } }
    }
}
