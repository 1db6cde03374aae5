import Foundation

/// A small real file system the test mounts itself (needs root, as CI runs): a tmpfs (which
/// reserves blocks with fallocate), or ext2 in a loop-mounted image file (whose files cannot
/// reserve blocks: fallocate says EOPNOTSUPP). Mounted in the test's own mount namespace at a
/// fresh temporary folder; `unmount()` takes it away (lazily, so a file still open cannot keep
/// it).
final class SmallFileSystem: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    enum Kind: String { case tmpfs, ext2 }

    struct Failure: Error, CustomStringConvertible { var description: String }

    let path: String
    private let image: String?
    private var mounted = true

    /// Whether this machine lets the test mount a tmpfs (probes once with a 1 MiB one).
    static let tmpfsAvailable: Bool = probe(.tmpfs)
    /// Whether it can also loop-mount an ext2 image (loop devices and mkfs.ext2 present).
    static let ext2Available: Bool = probe(.ext2)

    private static func probe(_ kind: Kind) -> Bool {
        guard geteuid() == 0, let fs = try? SmallFileSystem(kind, mebibytes: kind == .tmpfs ? 1 : 4) else { return false }
        fs.unmount()
        return true
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let (status, text) = try runCapturingOutput("/usr/bin/env", arguments,
                                                    environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        guard status == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// Mounts a `kind` file system of `mebibytes` at `at` (made when missing) or a fresh folder.
    init(_ kind: Kind, mebibytes: Int, at: String? = nil) throws {
        let directory = at ?? FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-fs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory
        switch kind {
        case .tmpfs:
            image = nil
            try Self.run(["mount", "-t", "tmpfs", "-o", "size=\(mebibytes)m", "tmpfs", directory])
        case .ext2:
            let file = directory + ".img"
            image = file
            FileManager.default.createFile(atPath: file, contents: nil)
            try FileHandle(forWritingAtPath: file).map { handle in
                try handle.truncate(atOffset: UInt64(mebibytes) << 20)
                try handle.close()
            }
            do {
                try Self.run(["mkfs.ext2", "-q", "-F", "-m", "0", file])
                try Self.run(["mount", "-o", "loop", file, directory])
            } catch {
                unlink(file)
                throw error
            }
        }
    }

    /// Free bytes on the file system.
    var freeBytes: Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return -1 }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Writes `name` until the file system is full (ENOSPC); returns the bytes written.
    @discardableResult
    func fill(_ name: String) -> Int64 {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5A, count: 64 << 10)
        var written: Int64 = 0
        var size = chunk.count
        while size > 0 {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if n > 0 { written += Int64(n) } else { size /= 2 }  // a last partial block
        }
        fsync(fd)
        return written
    }

    func unmount() {
        guard mounted else { return }
        mounted = false
        _ = try? Self.run(["umount", "-l", path])
        if let image { unlink(image) }
        rmdir(path)
    }

    deinit { unmount() }
}
