import Testing
import JobQueue

@Suite("Retry backoff")
struct JobRetryPolicyTests {
    let policy = JobRetryPolicy(maxAttempts: 10, baseDelaySeconds: 2, maxDelaySeconds: 60, jitterFraction: 0.25)

    @Test(arguments: [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (50, 60.0), (10_000, 60.0)])
    func exponentialAndCapped(attempts: Int, expected: Double) {
        #expect(policy.delaySeconds(afterAttempts: attempts, unitRandom: 0) == expected)
        #expect(policy.delaySeconds(afterAttempts: attempts, unitRandom: 0.999_999) <= expected * 1.25)
        #expect(policy.delaySeconds(afterAttempts: attempts, unitRandom: 0.5) == expected * 1.125)
    }
}
