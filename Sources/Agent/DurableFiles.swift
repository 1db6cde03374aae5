#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// File operations that survive power loss: data is fsync'ed before it is renamed into place and
/// the directory is fsync'ed after, so a committed job never points at a missing or empty file.
enum DurableFiles {
    /// Writes `data` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
    /// `mode` applies from creation on (secrets are never readable by others, even briefly).
    static func write(_ data: Data, to path: String, mode: mode_t = 0o640) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = directory + "/.tmp-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AgentError(.io, "cannot create file: \(String(cString: strerror(errno)))", path: temporary) }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        let writeErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(temporary)
            throw AgentError(.io, "cannot write file: \(String(cString: strerror(writeErrno)))", path: path)
        }
        try rename(from: temporary, to: path)
    }

    /// Renames `from` to `to` and fsyncs the destination folder (and the source folder when it
    /// differs), so the move survives power loss.
    static func rename(from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw AgentError(.io, "cannot move \(from): \(String(cString: strerror(errno)))", path: to)
        }
        let target = (to as NSString).deletingLastPathComponent
        let source = (from as NSString).deletingLastPathComponent
        syncDirectory(target)
        if source != target { syncDirectory(source) }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Creates `path` and its parents when missing. Throws `AgentError.io`.
    static func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw AgentError(.io, "cannot create directory: \(error.localizedDescription)", path: path)
        }
    }

    /// Free bytes on the file system holding `path`, or nil.
    static func freeBytes(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
