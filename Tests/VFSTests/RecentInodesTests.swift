import StorageFormat
import Testing

@testable import VFS

@Suite struct RecentInodesTests {
    @Test func holdsAtMostItsCapacityAndLetsGoOfTheEarliestFirst() {
        var recent = RecentInodes(capacity: 3)
        for inode in 1...5 { recent.insert(Ino(UInt64(inode))) }
        #expect((1...5).filter { recent.contains(Ino(UInt64($0))) } == [3, 4, 5])
        recent.insert(6)
        #expect((1...6).filter { recent.contains(Ino(UInt64($0))) } == [4, 5, 6])
    }

    @Test func aRemovedInodeIsGoneAndItsPlaceLapsesInTurn() {
        var recent = RecentInodes(capacity: 3)
        for inode in 1...3 { recent.insert(Ino(UInt64(inode))) }
        recent.remove(2)
        #expect(!recent.contains(2))
        recent.insert(4)
        #expect((1...4).filter { recent.contains(Ino(UInt64($0))) } == [3, 4], "the earliest, 1, makes room; 2's place is not reused early")
        recent.insert(5)
        #expect((1...5).filter { recent.contains(Ino(UInt64($0))) } == [3, 4, 5])
    }

    @Test func insertingAMemberAgainKeepsOnePlace() {
        var recent = RecentInodes(capacity: 2)
        recent.insert(1)
        recent.insert(1)
        recent.insert(2)
        #expect(recent.contains(1) && recent.contains(2))
    }
}
