import Foundation
import Testing
@testable import VeilVocabulary

/// DICOM's sensitive content codes (CID 900 and 901) and the vocabulary's map onto them.
struct SensitiveContentCodeTests {
    /// The groups as DICOM 2026a lists them: 6 categories (all DCM, 131390–131395) and 37
    /// details, 36 of them SNOMED CT and one DCM.
    @Test func groupsHoldTheStandardsCodes() {
        #expect(SensitiveContentCode.categories.map(\.value) == (131390...131395).map(String.init))
        #expect(SensitiveContentCode.categories.allSatisfy { $0.scheme == "DCM" && $0.group == .category })
        #expect(SensitiveContentCode.details.count == 37)
        #expect(SensitiveContentCode.details.filter { $0.scheme == "SCT" }.count == 36)
        #expect(Set(SensitiveContentCode.details.map(\.key)).count == 37)
        #expect(SensitiveContentCode.recognize("SCT:312608009")?.meaning == "Laceration")
        #expect(SensitiveContentCode.recognize(scheme: " dcm ", value: "131396")?.meaning == "Excised tissue")
        #expect(SensitiveContentCode.recognize("SRT:312608009") == nil, "a scheme other than the group's is not its code")
        #expect(SensitiveContentCode.recognize("131391") == nil)
    }

    /// Every intimate or face concept of the tables has a category; the ones with a CID 901
    /// member of their own map to it exactly, vulva and perineum to Genital as broader, and
    /// every detail the map names is a CID 901 member.
    @Test func vocabularyMapsOntoTheDetails() throws {
        let vocabulary = try Vocabulary.standard()
        let sensitive = vocabulary.concepts.filter { $0.sensitivity != .none }
        try #require(sensitive.count > 20)
        for concept in sensitive { #expect(concept.contentCategory != nil, "\(concept.meaning)") }
        func detail(_ text: String) -> ContentDetail? { vocabulary.normalize(text).first?.concept?.contentDetail }
        #expect(detail("breast") == ContentDetail(code: SensitiveContentCode.recognize("SCT:76752008")!, broader: false))
        #expect(detail("vulva")?.code.meaning == "Genital" && detail("vulva")?.broader == true)
        #expect(detail("perineum")?.code.meaning == "Genital" && detail("perineum")?.broader == true)
        #expect(detail("face")?.code.meaning == "Face" && detail("face")?.broader == false)
        #expect(detail("knee") == nil)
        for (concept, member) in AnatomicConcept.broaderDetails {
            #expect(SensitiveContentCode.recognize(scheme: "SCT", value: member)?.group == .detail, "\(concept) → \(member)")
            #expect(vocabulary.concept(snomed: concept) != nil, "\(concept) is not a concept of the tables")
        }
        #expect(vocabulary.concepts.first { $0.snomed == "38864007" }?.contentCategory == .nudityContent)
    }
}

/// Annex L codes some combinations of regions as one concept; free text naming the parts
/// one after another gets that concept, as a Body Part Examined of the compound term would.
struct CompoundRegionTests {
    @Test(arguments: [
        ("abdomen and pelvis", "818982008"), ("CHEST ABDOMEN PELVIS", "416775004"), ("head & neck", "774007"),
        ("pelvis abdomen", "818982008"), ("neck, chest, abdomen and pelvis", "416319003"), ("tibia fibula", "110536004"),
        ("CHESTABDPELVIS", "416775004"),
    ])
    func partsNamedTogetherAreTheCompound(_ text: String, _ code: String) throws {
        let regions = try Vocabulary.standard().normalize(text)
        #expect(regions.map { $0.concept?.snomed } == [code], "\(text): \(regions.map { $0.concept?.meaning ?? "-" })")
    }

    /// Parts with a side, or apart from each other, stay separate regions.
    @Test func onlySureRunsCombine() throws {
        let vocabulary = try Vocabulary.standard()
        #expect(vocabulary.normalize("chest and left knee").map { $0.concept?.meaning } == ["Chest", "Knee"])
        #expect(vocabulary.normalize("left breast and abdomen").count == 2)
        #expect(vocabulary.compounds.count >= 10, "Annex L's compounds whose parts are concepts")
    }
}
