import Foundation
import Testing
@testable import Agent

@Suite("Health window after a switch")
struct HealthWindowTests {
    @Test func failuresPastTheThresholdAfterTheMinimumAreUnhealthy() {
        var window = HealthWindow(jobs: 20, seconds: 3600, minJobs: 5, maxFailureRate: 0.2, maxFallbackRate: 1)
        // Two failures in the first jobs are not judged before five jobs were seen.
        #expect(window.record(failed: true, fallbacks: 0) == .watching)
        #expect(window.record(failed: true, fallbacks: 0) == .watching)
        #expect(window.record(failed: false, fallbacks: 0) == .watching)
        #expect(window.record(failed: false, fallbacks: 0) == .watching)
        guard case .unhealthy(let reason) = window.record(failed: false, fallbacks: 0) else {
            Issue.record("2 of 5 failed (40 %) passed a 20 % limit")
            return
        }
        #expect(reason.contains("2 of 5 jobs failed"))
    }

    @Test func fallbacksCountAndAQuietWindowCloses() {
        var fallbacks = HealthWindow(jobs: 20, minJobs: 2, maxFailureRate: 1, maxFallbackRate: 0.5)
        #expect(fallbacks.record(failed: false, fallbacks: 3) == .watching)
        if case .unhealthy(let reason) = fallbacks.record(failed: false, fallbacks: 1) {
            #expect(reason.contains("fell back"))
        } else {
            Issue.record("2 of 2 jobs with fallbacks passed a 50 % limit")
        }
        let opened = Date(timeIntervalSince1970: 1000)
        var quiet = HealthWindow(jobs: 3, seconds: 60, minJobs: 1, openedAt: opened)
        #expect(quiet.record(failed: false, fallbacks: 0, now: opened) == .watching)
        #expect(quiet.record(failed: false, fallbacks: 0, now: opened.addingTimeInterval(61)) == .healthy)
        var full = HealthWindow(jobs: 2, seconds: 3600, minJobs: 1, openedAt: opened)
        #expect(full.record(failed: false, fallbacks: 0, now: opened) == .watching)
        #expect(full.record(failed: false, fallbacks: 0, now: opened) == .healthy)
    }
}
