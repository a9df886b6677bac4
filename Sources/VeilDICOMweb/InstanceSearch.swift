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
        private var studyPages: Pager
        private var studies: [String] = []
        private var study: String?
        private var instancePages: Pager
        private var instances: [InstanceReference] = []

        init(client: DICOMwebClient, query: InstanceQuery, pageSize: Int) {
            self.client = client
            self.query = query
            studyPages = Pager(pageSize: pageSize)
            instancePages = Pager(pageSize: pageSize)
        }

        /// The next instance, or nil when the search is done. Throws the search's
        /// `DICOMwebError`.
        public mutating func next() async throws -> InstanceReference? {
            let client = client, query = query
            while true {
                if !instances.isEmpty { return instances.removeFirst() }
                if let current = study {
                    let page = try await instancePages.next { offset, limit in
                        try await client.searchInstances(inStudy: current, query.instanceTerms, offset: offset, limit: limit)
                    }
                    if let page { instances = page } else { study = nil }
                    continue
                }
                if !studies.isEmpty {
                    study = studies.removeFirst()
                    instancePages = Pager(pageSize: instancePages.pageSize)
                    continue
                }
                guard let page = try await studyPages.next({ offset, limit in
                    try await client.searchStudies(query.studyTerms, offset: offset, limit: limit)
                }) else { return nil }
                studies = page
            }
        }
    }
}

/// Offset paging that does not take an archive's word for the end.
///
/// Paging goes on until a page comes back empty (an archive may cap its pages below the
/// size asked for). An empty page after others is then checked from the start: Orthanc 1.10,
/// searching studies by `ModalitiesInStudy`, answers a full first page and nothing at any
/// later offset. When the check finds more than was paged, the pager reads from offset 0
/// with a growing limit instead, keeping only what is new, so nothing is skipped.
struct Pager: Sendable {
    let pageSize: Int
    private var offset = 0
    private var ended = false
    /// The archive's offsets cannot be trusted: read from 0 with a growing limit.
    private var fromStart = false

    init(pageSize: Int) { self.pageSize = pageSize }

    /// The next non-empty page, or nil at the end.
    mutating func next<T>(_ fetch: (_ offset: Int, _ limit: Int) async throws -> [T]) async throws -> [T]? {
        guard !ended else { return nil }
        if !fromStart {
            let page = try await fetch(offset, pageSize)
            if !page.isEmpty {
                offset += page.count
                return page
            }
            guard offset > 0, try await fetch(0, offset + 1).count > offset else {
                ended = true
                return nil
            }
            fromStart = true
        }
        let all = try await fetch(0, offset + pageSize)
        let page = Array(all.dropFirst(offset))
        if page.isEmpty { ended = true; return nil }
        offset += page.count
        return page
    }
}
