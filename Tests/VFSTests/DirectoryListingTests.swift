import Dispatch
import Foundation
import Metadata
import Synchronization
import SystemPackage
import Testing

@testable import VFS

@Suite struct DirectoryListingTests {
    /// A directory of `count` names in order, read as the engine would page it; counts reads.
    private final class Directory: @unchecked Sendable {
        let lock = NSLock()
        var names: [[UInt8]]
        var reads = 0
        var failNextRead = false

        init(count: Int) {
            names = (0..<count).map { Array(String(format: "f%06d", $0).utf8) }
        }

        func page(after: [UInt8]?, limit: Int) throws(Errno) -> [DirectoryEntry] {
            lock.lock()
            defer { lock.unlock() }
            reads += 1
            if failNextRead {
                failNextRead = false
                throw .ioError
            }
            let start = after.map { last in names.firstIndex { last.lexicographicallyPrecedes($0) } ?? names.count } ?? 0
            return names[start...].prefix(limit).map { DirectoryEntry(name: $0, inode: 2, type: .regular, attr: nil) }
        }
    }

    private let pageSize = 1024

    private func listing(of directory: Directory, pageSize: Int? = nil) -> DirectoryListing {
        DirectoryListing(
            leading: [DirectoryEntry(name: Array(".".utf8), inode: 1, type: .directory, attr: nil)], pageSize: pageSize ?? self.pageSize,
            readPage: directory.page)
    }

    /// Reads the whole listing the way the kernel does: replies of `perReply` entries, each
    /// followed by a read ahead.
    private func drain(_ listing: DirectoryListing, perReply: Int) throws -> [[UInt8]] {
        var names: [[UInt8]] = []
        var offset = 0
        while true {
            let reply = try listing.entries(from: offset).prefix(perReply)
            guard !reply.isEmpty else { return names }
            names += reply.map(\.name)
            offset += reply.count
            listing.readAhead(from: offset)
        }
    }

    @Test func aDirectoryOfManyPagesListsEveryEntryOnceInOrder() throws {
        let directory = Directory(count: 3 * pageSize + 17)
        let names = try drain(listing(of: directory), perReply: 300)
        #expect(names == [Array(".".utf8)] + directory.names)
        #expect(directory.reads == 4, "one read per page, the last one short")
    }

    @Test func pagesAreReadAsTheListingNearsThemNotAtOpen() throws {
        let directory = Directory(count: 10 * pageSize)
        let listing = listing(of: directory)
        #expect(directory.reads == 0)
        #expect(try listing.entries(from: 0).count == 1 + pageSize)
        listing.readAhead(from: 300)
        #expect(directory.reads == 3, "read ahead \(DirectoryListing.pagesAhead) pages past the reply, not to the end")
    }

    @Test func anEngineThatReadsWholeDirectoriesListsInOneRead() throws {
        let directory = Directory(count: 5 * pageSize)
        let names = try drain(listing(of: directory, pageSize: .max), perReply: 300)
        #expect(names.count == 1 + 5 * pageSize)
        #expect(directory.reads == 1)
    }

    @Test func offsetsStayStableWhenEntriesAreAddedOrRemoved() throws {
        let directory = Directory(count: 2 * pageSize)
        let listing = listing(of: directory)
        let firstPage = try listing.entries(from: 0).map(\.name)
        directory.lock.withLock {
            directory.names.removeFirst(10)
            directory.names.insert(Array("a-new".utf8), at: 0)
        }
        #expect(try listing.entries(from: 0).map(\.name).prefix(firstPage.count) == firstPage[...], "entries handed out keep their offsets")
        let all = try drain(listing, perReply: 500)
        #expect(Set(all).count == all.count, "no entry twice")
        #expect(!all.contains(Array("a-new".utf8)), "a name before the pages read is not listed")
    }

    @Test func aFailedReadAheadLeavesTheErrorToTheReplyThatNeedsThePage() throws {
        let directory = Directory(count: 3 * pageSize)
        let listing = listing(of: directory)
        _ = try listing.entries(from: 0)
        directory.lock.withLock { directory.failNextRead = true }
        listing.readAhead(from: 1)
        directory.lock.withLock { directory.failNextRead = true }
        #expect(throws: Errno.ioError) { _ = try listing.entries(from: pageSize) }
        #expect(try drain(listing, perReply: 400) == [Array(".".utf8)] + directory.names, "the next read retries the page")
    }

    @Test func concurrentRepliesAndReadAheadsSeeOneListing() throws {
        let directory = Directory(count: 8 * pageSize + 5)
        let listing = listing(of: directory)
        let expected = [Array(".".utf8)] + directory.names
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for offset in stride(from: worker * 97, to: expected.count, by: 701) {
                listing.readAhead(from: offset)
                let names = (try? listing.entries(from: offset).prefix(50).map(\.name)) ?? []
                if names != Array(expected[offset..<min(offset + 50, expected.count)]) { wrong.withLock { $0 += 1 } }
            }
        }
        #expect(wrong.withLock { $0 } == 0)
        #expect(directory.reads == 9, "each page read once")
    }
}
