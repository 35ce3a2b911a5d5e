import Metadata
import StorageFormat
import Testing

@testable import Volumes

struct CallerTests {
    private func attr(mode: UInt16, uid: UInt32, gid: UInt32) -> Attr {
        Attr(type: .regular, mode: mode, uid: uid, gid: gid, time: Timestamp(seconds: 0, nanoseconds: 0), nlink: 1, length: 0, parent: .root)
    }

    @Test func theOwnersGroupsOrOthersBitsDecideAsTheKernelDoes() {
        let user = Caller(uid: 1000, gid: 1000, groups: [50])
        #expect(user.may(.read, attr(mode: 0o400, uid: 1000, gid: 0)))
        #expect(!user.may(.read, attr(mode: 0o044, uid: 1000, gid: 0)), "the owner gets the owner's bits only")
        #expect(user.may(.read, attr(mode: 0o040, uid: 0, gid: 1000)))
        #expect(user.may(.read, attr(mode: 0o040, uid: 0, gid: 50)), "a supplementary group counts")
        #expect(!user.may(.read, attr(mode: 0o404, uid: 0, gid: 50)), "a member gets the group's bits only")
        #expect(user.may(.read, attr(mode: 0o004, uid: 0, gid: 0)))
        #expect(!user.may([.read, .search], attr(mode: 0o004, uid: 0, gid: 0)))
        #expect(user.may([.read, .search], attr(mode: 0o005, uid: 0, gid: 0)))
        #expect(Caller(uid: 0, gid: 0).may([.read, .search], attr(mode: 0, uid: 1000, gid: 1000)), "root reads and searches anything")
    }
}
