import Foundation
import Testing
import Veil
import VeilDICOM
import VeilImage
import VeilPolicy
import VeilTensor
import VeilVocabulary

/// Which metadata raises which flag, and that the DICOM rules fail closed.
struct EvidenceTests {
    static let vocabulary = try! Vocabulary.standard()

    @Test func dicomAttributesRaiseFlagsAndNameThemselves() {
        var m = DICOMMetadata()
        m.bodyPartExamined = "BREAST"
        m.imageLaterality = "L"
        m.descriptions = [AttributeText(attribute: "SeriesDescription (0008,103E)", text: "face and neck burns")]
        m.anatomicRegions = [CodedEntry(value: "76752008", scheme: "SCT", meaning: "Breast")]
        m.recognizableVisualFeatures = "NO"
        let evidence = Evidence.fromDICOM(m, vocabulary: Self.vocabulary)
        let byField = Dictionary(grouping: evidence, by: \.field)
        let bodyPart = byField["BodyPartExamined (0018,0015)"]?.first
        #expect(bodyPart?.flag == "body-region" && bodyPart?.snomed == "76752008" && bodyPart?.confidence == 1)
        #expect(bodyPart?.laterality == "L", "Image Laterality fills in the side")
        #expect(byField["AnatomicRegionSequence (0008,2218)"]?.first?.flag == "body-region")
        #expect(byField["SeriesDescription (0008,103E)"]?.contains { $0.flag == "face" } == true)
        #expect(!evidence.contains { $0.field.hasPrefix("RecognizableVisualFeatures") }, "NO raises nothing")
        #expect(Evidence.scores(evidence)["body-region"] == 1)
    }

    /// Any Sensitive Content Code Sequence item counts, whatever its code: fail closed.
    @Test func unknownSensitiveContentCodesStillCount() {
        var m = DICOMMetadata()
        m.sensitiveContent = [CodedEntry(value: "ZZZ-UNKNOWN", scheme: "99NOBODY", meaning: "")]
        m.recognizableVisualFeatures = "YES"
        let scores = Evidence.scores(Evidence.fromDICOM(m, vocabulary: Self.vocabulary))
        #expect(scores == ["sensitive-content": 1, "face": 1])
        #expect(Evidence.fromDICOM(DICOMMetadata(), vocabulary: Self.vocabulary).isEmpty)
    }

    /// Codes of CID 900 and 901 are recognised by scheme and value, whatever meaning the writer
    /// gave (131396 is spelt two ways), and reported with the group's meaning.
    @Test func sensitiveContentCodesAreRecognised() throws {
        var m = DICOMMetadata()
        m.sensitiveContent = [CodedEntry(value: "131394", scheme: "DCM", meaning: "gore"),
                              CodedEntry(value: "125666000", scheme: "SCT", meaning: "Burn"),
                              CodedEntry(value: "131396", scheme: "DCM", meaning: "Excised Tissue"),
                              CodedEntry(value: "131396", scheme: "DCM", meaning: "Excised tissue")]
        let evidence = Evidence.fromDICOM(m, vocabulary: Self.vocabulary)
        #expect(evidence.map(\.contentCode?.meaning) == ["Gruesome Content", "Burn", "Excised tissue", "Excised tissue"])
        #expect(evidence.map(\.contentCode?.group) == [.category, .detail, .detail, .detail])
        #expect(evidence.allSatisfy { $0.flag == .sensitiveContent && $0.confidence == 1 })
    }

    /// Every code of both groups, as pydicom wrote them from the project's copy of PS3.16
    /// (`sensitive-all-codes.dcm`), read from the file and recognised with the group and the
    /// meaning the standard gives; 131396 written "Excised Tissue" is the same code.
    @Test func everyCodeOfBothGroupsIsReadAndRecognised() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../VeilDICOMTests/Fixtures")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
            as? [String: Any])["sensitive-all-codes"] as? [String: Any]
        let written = try #require(expected?["sensitiveContent"] as? [[String: Any]])
        try #require(written.count == 44, "6 categories, 37 details, and 131396 spelt the other way")
        let source = try ImageReader().pictures(inFileAt: fixtures.appendingPathComponent("sensitive-all-codes.dcm").path)
        let evidence = Evidence.fromDICOM(try #require(source.dicom), vocabulary: Self.vocabulary)
        try #require(evidence.count == written.count)
        for (e, w) in zip(evidence, written) {
            let value = w["value"] as! String
            // The group's own meaning: the first row written for this code.
            let meaning = written.first { $0["value"] as? String == value }?["meaning"] as? String
            #expect(e.contentCode?.value == value && e.contentCode?.scheme == w["scheme"] as? String, "\(w)")
            #expect(e.contentCode?.group.rawValue == w["cid"] as? Int, "\(w)")
            #expect(e.contentCode?.meaning == meaning, "\(w)")
            #expect(e.confidence == (value == "131390" ? 0 : 1))
        }
    }

    /// 131390 is a person's earlier clearance: reported, raising nothing by itself. Beside
    /// any other code, that code still counts.
    @Test func clearedObjectsAreReportedNotRaised() {
        var m = DICOMMetadata()
        m.sensitiveContent = [CodedEntry(value: "131390", scheme: "DCM", meaning: "No Sensitive Content Identified")]
        let cleared = Evidence.fromDICOM(m, vocabulary: Self.vocabulary)
        #expect(cleared.map(\.contentCode) == [.noSensitiveContent])
        #expect(Evidence.scores(cleared) == [.sensitiveContent: 0])
        m.sensitiveContent.append(CodedEntry(value: "LOCAL-9", scheme: "99SITE", meaning: "restricted"))
        #expect(Evidence.scores(Evidence.fromDICOM(m, vocabulary: Self.vocabulary)) == [.sensitiveContent: 1])
        // Only DICOM's own spelling clears: a lower-case scheme counts as sensitive.
        m.sensitiveContent = [CodedEntry(value: "131390", scheme: "dcm", meaning: "No Sensitive Content Identified")]
        #expect(Evidence.scores(Evidence.fromDICOM(m, vocabulary: Self.vocabulary)) == [.sensitiveContent: 1])
    }

    /// The path raises only intimate regions: "face" in a file name says little.
    @Test func pathEvidenceIsIntimateOnly() {
        #expect(Evidence.fromPath("/archive/face/L breast 2024.jpg", vocabulary: Self.vocabulary).map(\.flag) == ["body-region"])
    }

    /// The façade reads DICOM like any image: one picture per frame, and
    /// `scores(forFileAt:)` keeps each flag's highest score over the frames.
    @Test func readerAndClassifierHandleMultiFrameDICOM() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../VeilDICOMTests/Fixtures")
        let path = fixtures.appendingPathComponent("multiframe-rgb.dcm").standardized.path
        let classifier = try Classifier.loadDefault()
        let pictures = try classifier.reader.read(contentsOf: path)
        #expect(pictures.map { $0.frame?.number } == [1, 2, 3])
        #expect(pictures.allSatisfy { $0.format == .dicom && $0.dicom?.sopInstanceUID != nil })
        let perFrame = try classifier.scores(for: pictures.map(\.image)).map { $0["nudity"]! }
        #expect(try classifier.scores(forFileAt: path)["nudity"] == perFrame.max())
    }
}
