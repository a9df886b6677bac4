/// Which DICOM objects are visible-light captures, the photographs Veil's models were made
/// for. A CT slice or an ultrasound frame scored as a photograph gives meaningless flags (a
/// cardiac echo once scored nudity 0.835; a CT head, a face), so `veil score` skips them.
public enum VisibleLight {
    /// VL image storage SOP classes (PS3.4 Annex B): photographs, endoscopy, microscopy,
    /// dermoscopy, ophthalmic photography, and their video forms.
    public static let sopClasses: [String: String] = [
        "1.2.840.10008.5.1.4.1.1.77.1.1": "VL Endoscopic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.1.1": "Video Endoscopic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.2": "VL Microscopic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.2.1": "Video Microscopic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.3": "VL Slide-Coordinates Microscopic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.4": "VL Photographic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.4.1": "Video Photographic Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.5.1": "Ophthalmic Photography 8 Bit Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.5.2": "Ophthalmic Photography 16 Bit Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.5.5": "Wide Field Ophthalmic Photography Stereographic Projection Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.5.6": "Wide Field Ophthalmic Photography 3D Coordinates Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.6": "VL Whole Slide Microscopy Image Storage",
        "1.2.840.10008.5.1.4.1.1.77.1.7": "Dermoscopic Photography Image Storage",
    ]

    /// Secondary Capture SOP classes: anything may be captured this way, so the modality decides.
    public static let secondaryCaptureClasses: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
    ]

    /// Modalities of visible-light captures (PS3.3 C.7.3.1.1.1): external camera, general
    /// microscopy, endoscopy, ophthalmic photography, slide microscopy, and "other", which
    /// phone and scanner captures often carry.
    public static let modalities: Set<String> = ["XC", "GM", "ES", "OP", "SM", "OT"]

    /// Why `metadata` describes something other than a visible-light capture, or nil when
    /// it is one and should be scored.
    ///
    /// A VL SOP class is scored whatever its modality. A Secondary Capture, an object with
    /// no SOP Class UID, or one with a private SOP class, is scored when its modality is a
    /// visible-light one or absent: when unsure, Veil scores rather than skips. Any other
    /// standard SOP class (CT, MR, US, …) is skipped.
    public static func exclusionReason(for metadata: DICOMMetadata) -> String? {
        let modality = metadata.modality?.uppercased()
        if let sopClass = metadata.sopClassUID, sopClasses[sopClass] != nil { return nil }
        let standard = metadata.sopClassUID.map { $0.hasPrefix("1.2.840.10008.") && !secondaryCaptureClasses.contains($0) } ?? false
        if !standard, modality == nil || modalities.contains(modality!) { return nil }
        if let modality, !modalities.contains(modality) {
            return "modality \(modality) is not a visible-light capture"
        }
        return "SOP class \(metadata.sopClassUID ?? "?") is not a visible-light image class"
    }
}
