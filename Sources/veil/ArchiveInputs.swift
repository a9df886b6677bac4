import Foundation
import VeilDICOM
import VeilDICOMweb

/// The inputs of `veil score --dicomweb`: an archive's instances, searched with QIDO-RS
/// and retrieved with WADO-RS ahead of the pipeline, so that downloads overlap decoding and
/// scoring.
///
/// At most `window` retrievals are in flight and `capacity` retrieved objects wait for the
/// pipeline, so memory is bounded whatever the size of the archive. Inputs come out in the
/// order the search listed them. An object's failure (404, another 4xx) is that input's
/// error record; a failure of the archive itself (no connection, 5xx or 429 after every
/// retry, refused credentials) ends the sequence, and `failure` says why.
final class ArchiveInputs: Sequence, IteratorProtocol {
    enum Item: Sendable {
        case input(InputWalker.Input)
        case failed(DICOMwebError)
    }

    private let handOff: HandOff<Item>
    private var producer: Task<Void, Never>?
    /// Why the archive's inputs ended early, if they did.
    private(set) var failure: DICOMwebError?

    /// `include` decides, before anything is retrieved, whether an instance belongs to this
    /// run (its shard, and not already recorded).
    init(client: DICOMwebClient, query: InstanceQuery, pageSize: Int, window: Int, capacity: Int,
         include: @escaping @Sendable (InstanceReference) -> Bool) {
        let handOff = HandOff<Item>(capacity: capacity)
        self.handOff = handOff
        producer = Self.start(client: client, query: query, pageSize: pageSize, window: window, include: include, into: handOff)
    }

    private static func start(client: DICOMwebClient, query: InstanceQuery, pageSize: Int, window: Int,
                              include: @escaping @Sendable (InstanceReference) -> Bool, into handOff: HandOff<Item>) -> Task<Void, Never> {
        Task {
            await produce(client: client, query: query, pageSize: pageSize, window: window, include: include, into: handOff)
            handOff.finish()
        }
    }

    deinit {
        producer?.cancel()
        handOff.abandon()
    }

    func next() -> InputWalker.Input? {
        guard failure == nil else { return nil }
        switch handOff.take() {
        case let .input(input)?: return input
        case let .failed(error)?:
            failure = error
            producer?.cancel()
            handOff.abandon()
            return nil
        case nil: return nil
        }
    }

    private static func produce(client: DICOMwebClient, query: InstanceQuery, pageSize: Int, window: Int,
                                include: @escaping @Sendable (InstanceReference) -> Bool, into handOff: HandOff<Item>) async {
        do {
            try await withThrowingTaskGroup(of: (Int, Item).self) { group in
                var issued = 0, delivered = 0
                var ready: [Int: Item] = [:]
                // Hands over, in search order, every retrieved input whose turn has come.
                // Returns false once a failure of the archive has been handed over.
                func collect() async throws -> Bool {
                    guard let (index, item) = try await group.next() else { return true }
                    ready[index] = item
                    while let next = ready.removeValue(forKey: delivered) {
                        delivered += 1
                        await handOff.put(next)
                        if case .failed = next { return false }
                    }
                    return !Task.isCancelled
                }
                for try await instance in client.instances(matching: query, pageSize: pageSize) where include(instance) {
                    while issued - delivered >= window {
                        guard try await collect() else { group.cancelAll(); return }
                    }
                    let index = issued
                    issued += 1
                    group.addTask { (index, await retrieve(instance, from: client)) }
                }
                while delivered < issued {
                    guard try await collect() else { group.cancelAll(); return }
                }
            }
        } catch is CancellationError {
            return
        } catch let error as DICOMwebError {
            await handOff.put(.failed(error))
        } catch {
            await handOff.put(.failed(DICOMwebError(.connection, url: client.configuration.baseURL.absoluteString, "the search failed: \(type(of: error))")))
        }
    }

    /// One instance as an input: as the archive stores it when Veil decodes that transfer
    /// syntax, else transcoded by the archive to Explicit VR Little Endian.
    static func retrieve(_ instance: InstanceReference, from client: DICOMwebClient) async -> Item {
        let url = client.url(of: instance)
        do {
            let stored = try await client.retrieve(instance, transferSyntax: "*")
            guard let syntax = DICOMObject.declaredTransferSyntax(of: stored), !syntax.isSupported else {
                return .input(.init(path: url, named: true, data: stored, instance: instance))
            }
            // Ask for nothing else: an archive that cannot transcode leaves the stored object,
            // whose record then says which syntax it is in.
            do {
                let transcoded = try await client.retrieve(instance, transferSyntax: explicitVRLittleEndian)
                return .input(.init(path: url, named: true, data: transcoded, instance: instance))
            } catch let error as DICOMwebError where error.isAboutTranscodingThisObject {
                // The stored object's record names its syntax, and the run goes on.
                return .input(.init(path: url, named: true, data: stored, instance: instance))
            }
        } catch let error as DICOMwebError where !error.isArchiveFailure {
            return .input(.init(path: url, named: true, instance: instance, remoteFailure: (error.kind.description, error.reason)))
        } catch let error as DICOMwebError {
            return .failed(error)
        } catch {
            return .failed(DICOMwebError(.connection, url: url, "the retrieval was interrupted"))
        }
    }

    static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
}

/// A bounded hand-off from one async producer to one blocking consumer thread: `put`
/// suspends while `capacity` items wait, `take` blocks while none do.
final class HandOff<T: Sendable>: @unchecked Sendable {
    private var items: [T] = []
    private var finished = false
    private var abandoned = false
    private var spaceWaiter: CheckedContinuation<Void, Never>?
    private let capacity: Int
    private let condition = NSCondition()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func put(_ item: T) async {
        while !append(item) {
            await withCheckedContinuation { continuation in
                if !park(continuation) { continuation.resume() }
            }
        }
    }

    /// The next item, or nil once the producer has finished and every item was taken.
    func take() -> T? {
        condition.lock()
        while items.isEmpty && !finished { condition.wait() }
        guard !items.isEmpty else {
            condition.unlock()
            return nil
        }
        let item = items.removeFirst()
        let waiter = spaceWaiter
        spaceWaiter = nil
        condition.unlock()
        waiter?.resume()
        return item
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer is gone: a waiting producer is let go, and what it puts is dropped.
    func abandon() {
        condition.lock()
        abandoned = true
        items.removeAll()
        let waiter = spaceWaiter
        spaceWaiter = nil
        condition.unlock()
        waiter?.resume()
    }

    private func append(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if abandoned { return true }
        guard items.count < capacity else { return false }
        items.append(item)
        condition.signal()
        return true
    }

    /// Parks the producer until there is room; false when there already is.
    private func park(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard items.count >= capacity, !abandoned else { return false }
        spaceWaiter = continuation
        return true
    }
}
