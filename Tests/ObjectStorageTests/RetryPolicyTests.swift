import Testing

@testable import ObjectStorage

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5), deadline: .seconds(5))

    @Test func retriesTransientErrorsThenSucceeds() throws {
        var attempts = 0
        let result = try policy.run { () throws(ObjectStoreError) -> Int in
            attempts += 1
            if attempts < 3 { throw ObjectStoreError(.transient, "busy", status: 503) }
            return 42
        }
        #expect(result == 42)
        #expect(attempts == 3)
    }

    @Test(arguments: [ObjectStoreError.Kind.notFound, .alreadyExists, .accessDenied, .permanent, .invalidArgument])
    func neverRetriesOtherFailures(kind: ObjectStoreError.Kind) {
        var attempts = 0
        #expect(throws: ObjectStoreError(kind, "no")) {
            try policy.run { () throws(ObjectStoreError) in
                attempts += 1
                throw ObjectStoreError(kind, "no")
            }
        }
        #expect(attempts == 1)
    }

    @Test func jitteredDelaysStayUnderTheCap() {
        for attempt in 2...20 {
            #expect(policy.delay(beforeAttempt: attempt) <= .milliseconds(5))
        }
    }
}
