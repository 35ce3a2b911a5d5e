import Foundation
import Metadata
import SystemPackage

/// One open directory's entries, read from the engine a page at a time in name order and
/// kept: an entry's offset (its index + 1) never changes while the directory is open, so a
/// listing resumed or rewound at any offset neither skips nor repeats an entry.
///
/// Pages are read as the reader gets near them, not all at `opendir`: the FUSE layer asks
/// for the next page right after replying with the last one (`readAhead`), so a large
/// directory's rows are decoded on one worker while the kernel and the lister take in the
/// entries already sent. Entries added or removed past the pages read so far may or may not
/// appear, as POSIX allows for changes after `opendir`.
final class DirectoryListing: @unchecked Sendable {
    typealias PageReader = (_ after: [UInt8]?, _ limit: Int) throws(Errno) -> [DirectoryEntry]

    /// A reply waits for more entries only while fewer than this many are ready past its offset.
    static let replyEntries = 512
    /// How many pages `readAhead` keeps read past the entries handed out.
    static let pagesAhead = 2

    /// Entries per engine read (`MetaEngine.listingPageSize`); a shorter page is the last.
    let pageSize: Int
    private let readPage: PageReader
    private let condition = NSCondition()
    /// The pages read so far, the leading entries first. A page never changes once read: a
    /// reply still going through one does not make the next page's arrival copy the listing.
    private var pages: [[DirectoryEntry]]
    /// The offset of each page's first entry, and the entries in all of them.
    private var pageStarts: [Int] = [0]
    private var count: Int
    /// The name the next page starts after; nil before the first.
    private var resumeAfter: [UInt8]?
    private var complete = false
    private var reading = false

    init(leading: [DirectoryEntry], pageSize: Int, readPage: @escaping PageReader) {
        pages = [leading]
        count = leading.count
        self.pageSize = max(1, pageSize)
        self.readPage = readPage
    }

    /// Entries from `offset` on, after reading the pages needed to fill a reply.
    func entries(from offset: Int) throws(Errno) -> ArraySlice<DirectoryEntry> {
        condition.lock()
        defer { condition.unlock() }
        while !complete && count < offset + Self.replyEntries {
            if reading {
                condition.wait()
            } else {
                try readNextPage()
            }
        }
        let offset = min(max(0, offset), count)
        let index = pageStarts.lastIndex { $0 <= offset }!
        let rest = pages[index][(offset - pageStarts[index])...]
        guard rest.count < Self.replyEntries, index + 1 < pages.count else { return rest }
        return rest + pages[index + 1]  // a reply's worth across the page boundary
    }

    /// Reads pages until `pagesAhead` pages past `offset` are ready, unless another caller
    /// is already reading. A failure is left for the `entries(from:)` call that needs the page.
    func readAhead(from offset: Int) {
        condition.lock()
        defer { condition.unlock() }
        while !complete && !reading && max(0, count - offset) / pageSize < Self.pagesAhead {
            do {
                try readNextPage()
            } catch {
                return
            }
        }
    }

    /// Reads one page with the lock released; call with it held.
    private func readNextPage() throws(Errno) {
        reading = true
        let after = resumeAfter
        condition.unlock()
        let page = Result { () throws(Errno) in try readPage(after, pageSize) }
        condition.lock()
        reading = false
        condition.broadcast()
        switch page {
        case .success(let page):
            pageStarts.append(count)
            pages.append(page)
            count += page.count
            if page.count < pageSize {
                complete = true
            } else {
                resumeAfter = page.last?.name
            }
        case .failure(.noSuchFileOrDirectory):
            complete = true  // the directory was removed while open: nothing more to list
        case .failure(let error):
            throw error
        }
    }
}
