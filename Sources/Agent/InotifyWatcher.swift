#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Watches one directory with inotify for files that became complete: renamed into it
/// (`IN_MOVED_TO`) or closed after writing (`IN_CLOSE_WRITE`). Events are read by a dedicated
/// thread (a blocking read loop must not occupy the cooperative pool) and delivered as an
/// `AsyncStream` of file names. A queue overflow is delivered as `nil`, telling the consumer to
/// rescan the directory.
final class InotifyWatcher: @unchecked Sendable {
    // @unchecked: `fd` is immutable after init; `stopped` is only written under `lock`.
    enum Event: Sendable, Equatable {
        /// Renamed into place: complete by construction.
        case movedIn(String)
        /// Closed after writing: complete unless the writer reopens it.
        case closedAfterWrite(String)
        /// Events were lost; rescan.
        case overflow
    }

    private let fd: Int32
    private let lock = NSLock()
    private var stopped = false
    let directory: String
    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    /// Starts watching `directory`. Throws `AgentError.io` when inotify is unavailable or the
    /// directory cannot be watched.
    init(directory: String) throws {
        self.directory = directory
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw AgentError(.io, "inotify_init1 failed: \(String(cString: strerror(errno)))", path: directory) }
        let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw AgentError(.io, "cannot watch the inbox: \(message)", path: directory)
        }
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        let thread = Thread { [self] in readLoop() }
        thread.name = "edgevlm-inotify"
        thread.start()
    }

    /// Stops the read thread and finishes the event stream.
    func stop() {
        lock.withLock { stopped = true }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func readLoop() {
        defer {
            close(fd)
            continuation.finish()
        }
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        while !isStopped {
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, 250)  // wake up to notice stop()
            if ready <= 0 { continue }
            let count = read(fd, buffer, bufferSize)
            if count <= 0 { continue }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                var name = ""
                if event.len > 0 {
                    let namePointer = buffer.advanced(by: nameStart).assumingMemoryBound(to: CChar.self)
                    name = String(cString: namePointer)
                }
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    continuation.yield(.overflow)
                } else if !name.isEmpty {
                    if event.mask & UInt32(IN_MOVED_TO) != 0 { continuation.yield(.movedIn(name)) }
                    else if event.mask & UInt32(IN_CLOSE_WRITE) != 0 { continuation.yield(.closedAfterWrite(name)) }
                }
                offset = nameStart + Int(event.len)
            }
        }
    }
}
