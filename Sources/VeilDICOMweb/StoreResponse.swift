import Foundation

/// What an archive said about each instance of a STOW-RS request (PS3.18 10.5.3): stored,
/// stored with a warning, or failed, with the standard's reason codes.
public struct StoreResponse: Sendable {
    /// The response's HTTP status: 200 all stored, 202 some warnings or failures, 409 none stored.
    public let status: Int
    /// Stored instances, by SOP Instance UID, with the Warning Reason (0008,1196) if any.
    public let stored: [String: Int?]
    /// Failed instances, by SOP Instance UID, with the Failure Reason (0008,1197) if given.
    public let failed: [String: Int?]
    /// A Warning Reason for the whole request, if any.
    public let warning: Int?

    /// One instance's outcome.
    public enum Outcome: Sendable, Equatable {
        /// Stored; `warning` is the Warning Reason when the archive coerced or ignored something.
        case stored(warning: Int?)
        /// Not stored; `reason` is the Failure Reason (e.g. 0xA700 out of resources, 0xC000 cannot understand).
        case failed(reason: Int?)
        /// The response does not mention it: treated as not stored.
        case unreported
    }

    /// The outcome for `sopInstanceUID`.
    public func outcome(of sopInstanceUID: String) -> Outcome {
        if let reason = failed[sopInstanceUID] { return .failed(reason: reason) }
        if let warning = stored[sopInstanceUID] { return .stored(warning: warning ?? self.warning) }
        return .unreported
    }

    init(json: [String: Any], status: Int) {
        self.status = status
        func items(_ tag: String) -> [[String: Any]] {
            ((json[tag] as? [String: Any])?["Value"] as? [Any])?.compactMap { $0 as? [String: Any] } ?? []
        }
        func number(_ object: [String: Any], _ tag: String) -> Int? {
            ((object[tag] as? [String: Any])?["Value"] as? [Any])?.first.flatMap { ($0 as? NSNumber)?.intValue ?? ($0 as? String).flatMap { Int($0) } }
        }
        var stored: [String: Int?] = [:], failed: [String: Int?] = [:]
        for item in items("00081199") {
            if let uid = DICOMwebClient.string(item, "00081155") { stored[uid] = .some(number(item, "00081196")) }
        }
        for item in items("00081198") {
            if let uid = DICOMwebClient.string(item, "00081155") { failed[uid] = .some(number(item, "00081197")) }
        }
        self.stored = stored
        self.failed = failed
        warning = number(json, "00081196")
    }
}
