#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reserves a file's disk blocks ahead of the writes (`fallocate(2)`), so a queue growing
/// during a long download cannot take the space the model needs: the shortage shows when the
/// download starts, not at 99 %.
enum DiskReservation {
    /// glibc's `fallocate(2)` wrapper, looked up at run time (the Glibc module does not export
    /// this GNU extension); nil where the C library lacks it.
    private static let fallocate: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    }()

    /// What a reservation came to.
    enum Result: Equatable {
        case reserved
        /// The file system (or C library) cannot reserve; writes may still hit a full disk.
        case unsupported
        /// Not enough space.
        case noSpace
    }

    /// Reserves `length` bytes from `offset` of `fd`; `keepSize` leaves the file's length as it
    /// is (FALLOC_FL_KEEP_SIZE: the length still says what arrived).
    static func reserve(fd: Int32, offset: Int64, length: Int64, keepSize: Bool) -> Result {
        guard length > 0 else { return .reserved }
        guard let fallocate else { return .unsupported }
        let mode: Int32 = keepSize ? 0x01 : 0  // FALLOC_FL_KEEP_SIZE (linux/falloc.h)
        guard fallocate(fd, mode, off_t(offset), off_t(length)) != 0 else { return .reserved }
        // EOPNOTSUPP and the like: no reservation on this file system.
        return errno == ENOSPC ? .noSpace : .unsupported
    }
}
