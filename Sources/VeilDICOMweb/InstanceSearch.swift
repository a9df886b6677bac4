/// The instances a QIDO-RS search finds, read lazily: the studies matching the query's
/// study-level keys, page by page, then each study's instances matching the rest.
public struct InstanceSearch: AsyncSequence, Sendable {
    /// Each instance found.
    public typealias Element = InstanceReference

    let client: DICOMwebClient
    let query: InstanceQuery
    let pageSize: Int

    /// An iterator that starts the search from the beginning.
    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, query: query, pageSize: pageSize)
    }

    /// Reads the next page only when the last one is used up.
    public struct Iterator: AsyncIteratorProtocol {
        let client: DICOMwebClient
        let query: InstanceQuery
        let pageSize: Int
        private var studies: [String] = []
        private var studyOffset = 0
        private var studiesDone = false
        private var study: String?
        private var instances: [InstanceReference] = []
        private var instanceOffset = 0

        init(client: DICOMwebClient, query: InstanceQuery, pageSize: Int) {
            self.client = client
            self.query = query
            self.pageSize = pageSize
        }

        /// The next instance, or nil when the search is done. Throws the search's
        /// `DICOMwebError`.
        public mutating func next() async throws -> InstanceReference? {
            while true {
                if !instances.isEmpty { return instances.removeFirst() }
                if let current = study {
                    let page = try await client.searchInstances(inStudy: current, query.instanceTerms, offset: instanceOffset, limit: pageSize)
                    if page.isEmpty { study = nil } else { instanceOffset += page.count; instances = page }
                    continue
                }
                if !studies.isEmpty {
                    study = studies.removeFirst()
                    instanceOffset = 0
                    continue
                }
                if studiesDone { return nil }
                let page = try await client.searchStudies(query.studyTerms, offset: studyOffset, limit: pageSize)
                if page.isEmpty { studiesDone = true } else { studyOffset += page.count; studies = page }
            }
        }
    }
}
