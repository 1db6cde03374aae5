import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) of processes, read from `/proc` (Linux), so a load run can say how
/// the shared cores were split between the load tool, the coordinator and the database.
enum ProcessCPU {
    /// CPU seconds process `pid` has used so far; nil when it is gone or /proc is missing.
    static func seconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The direct children of `pid` (e.g. the PostgreSQL backends of a postmaster).
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0) }
        }
    }

    /// This process's own CPU seconds (0 when /proc is missing).
    static func own() -> Double {
        seconds(pid: getpid()) ?? 0
    }
}

/// CPU seconds of the load tool, the coordinator and the database over one timed phase.
struct CPUSample {
    var own: Double
    var coordinator: Double?
    var database: [Int32: Double]

    static func take(coordinator: Int32?, databaseParent: Int32?) -> CPUSample {
        var database: [Int32: Double] = [:]
        if let databaseParent {
            for pid in [databaseParent] + ProcessCPU.children(of: databaseParent) {
                database[pid] = ProcessCPU.seconds(pid: pid)
            }
        }
        return CPUSample(own: ProcessCPU.own(), coordinator: coordinator.flatMap { ProcessCPU.seconds(pid: $0) },
                         database: database)
    }

    /// CPU seconds used between `start` and `self` (database: processes alive at both ends).
    func since(_ start: CPUSample) -> (own: Double, coordinator: Double?, database: Double?) {
        let coordinator = self.coordinator.flatMap { end in start.coordinator.map { end - $0 } }
        var database: Double?
        if !start.database.isEmpty {
            database = self.database.reduce(0) { sum, entry in sum + (start.database[entry.key].map { entry.value - $0 } ?? entry.value) }
        }
        return (own - start.own, coordinator, database)
    }
}
