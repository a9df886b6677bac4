import ArgumentParser
import Foundation
import Veil

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score image files and folders, one JSON record per image.",
        discussion: """
        Folders are walked recursively. Formats are recognised from the bytes, not the \
        file name. A file that fails to decode gets an error record and the run goes on.
        """
    )

    @Argument(help: "Image files or folders to score.")
    var paths: [String]

    mutating func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one file or folder.") }
    }

    func run() throws {
        let decoder = ImageDecoder(options: DecodingOptions(minimumSize: PixelSize(width: 256, height: 256)))
        var failures = 0
        for path in InputWalker.files(under: paths) {
            let record: [String: Any]
            do {
                let decoded = try decoder.decodeWithDetails(contentsOf: path)
                record = ["path": path, "status": "ok", "format": decoded.format.rawValue,
                          "width": decoded.fullSize.width, "height": decoded.fullSize.height]
            } catch let error as ImageDecodingError {
                failures += 1
                record = ["path": path, "status": "error",
                          "error": ["kind": error.kind.name, "message": error.reason]]
            }
            let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        }
        if failures > 0 { FileHandle.standardError.write(Data("\(failures) file(s) failed to decode\n".utf8)) }
    }
}

/// Expands folders into the files beneath them, in a stable (sorted) order.
enum InputWalker {
    static func files(under paths: [String]) -> [String] {
        var result: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let found = (fm.enumerator(atPath: path)?.allObjects as? [String]) ?? []
                for relative in found.sorted() {
                    let full = (path as NSString).appendingPathComponent(relative)
                    var sub: ObjCBool = false
                    if fm.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue { result.append(full) }
                }
            } else {
                result.append(path)
            }
        }
        return result
    }
}
