import Foundation

/// The `veil` executable the tests run: built into the same products folder as the test binary.
public enum VeilExecutable {
    public static let url: URL = {
        var products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: products.appendingPathComponent("veil").path), products.path != "/" {
            products.deleteLastPathComponent()
        }
        return products.appendingPathComponent("veil")
    }()
}
