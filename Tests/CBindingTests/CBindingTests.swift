import CCrypto
import CCurl
import CFuse
import CHiredis
import CSQLite
import Testing

/// Each binding calls into its library, so a broken module map or link line fails here
/// rather than deep inside a layer.
@Suite struct CBindingTests {
    @Test func fuseReportsTheLowLevelAPIVersion() {
        #expect(cfuse_version() >= 312)
        let ops = fuse_lowlevel_ops()
        #expect(ops.lookup == nil)
    }

    @Test func sqliteRunsAQuery() throws {
        var db: OpaquePointer?
        #expect(sqlite3_open(":memory:", &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        #expect(sqlite3_prepare_v2(db, "SELECT 40 + 2", -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        #expect(sqlite3_step(statement) == SQLITE_ROW)
        #expect(sqlite3_column_int(statement, 0) == 42)
    }

    @Test func hiredisBuildsARequest() {
        // Formatting a command exercises the library without a server.
        var command: UnsafeMutablePointer<CChar>?
        var argv: [UnsafePointer<CChar>?] = ["PING".withCString { UnsafePointer(strdup($0)) }]
        defer { argv.forEach { free(UnsafeMutableRawPointer(mutating: $0)) } }
        var lengths = [4]
        let length = redisFormatCommandArgv(&command, 1, &argv, &lengths)
        defer { redisFreeCommand(command) }
        #expect(length == 14)
        #expect(String(cString: command!) == "*1\r\n$4\r\nPING\r\n")
    }

    @Test func curlReportsItsVersionAndAcceptsOptions() {
        let info = curl_version_info(CURLVERSION_ELEVENTH)!
        #expect(info.pointee.features & CURL_VERSION_SSL != 0)
        let handle = curl_easy_init()
        defer { curl_easy_cleanup(handle) }
        #expect(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        #expect(ccurl_setopt_string(handle, CURLOPT_URL, "http://127.0.0.1:9/") == CURLE_OK)
    }

    @Test func libcryptoHashes() {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array("abc".utf8)
        CCrypto.SHA256(input, input.count, &digest)
        #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
    }
}
