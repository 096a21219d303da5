import Foundation
import Glibc

/// What /proc says about processes: parents, start times, thread counts.
///
/// A process is identified by (pid, start time) so that a pid recorded earlier is
/// never confused with an unrelated process that reused it later; the harness only
/// ever signals processes it started or recorded as their descendants.
enum ProcessTree {
    /// A process as recorded from /proc/PID/stat.
    struct Entry: Sendable, Hashable {
        var pid: pid_t
        var parent: pid_t
        /// Field 22 of /proc/PID/stat (clock ticks since boot).
        var startTime: UInt64
        /// Single-letter state (R, S, D, Z, ...).
        var state: Character
    }

    /// Parses /proc/PID/stat; nil if the process is gone.
    static func entry(_ pid: pid_t) -> Entry? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else {
            return nil
        }
        let text = String(decoding: data, as: UTF8.self)
        // comm (field 2) is in parentheses and may itself contain spaces and ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] = state (field 3), fields[1] = ppid (4), fields[19] = starttime (22)
        guard fields.count > 19, let state = fields[0].first,
              let ppid = pid_t(fields[1]), let start = UInt64(fields[19])
        else { return nil }
        return Entry(pid: pid, parent: ppid, startTime: start, state: state)
    }

    /// All processes now, from /proc.
    static func all() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { pid_t($0) }.compactMap(entry)
    }

    /// Processes whose parent is `pid`.
    static func children(of pid: pid_t) -> [Entry] {
        all().filter { $0.parent == pid }
    }

    /// All descendants of `pid` (children, their children, ...), breadth first.
    static func descendants(of pid: pid_t) -> [Entry] {
        let everything = all()
        var byParent: [pid_t: [Entry]] = [:]
        for entry in everything { byParent[entry.parent, default: []].append(entry) }
        var result: [Entry] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for child in byParent[next] ?? [] {
                result.append(child)
                queue.append(child.pid)
            }
        }
        return result
    }

    /// Whether the recorded process still exists and is not a zombie (same pid and
    /// same start time).
    static func isAlive(_ recorded: Entry) -> Bool {
        guard let now = entry(recorded.pid), now.startTime == recorded.startTime else {
            return false
        }
        return now.state != "Z" && now.state != "X"
    }

    /// Number of threads of `pid` (entries of /proc/PID/task); nil if it is gone.
    static func threadCount(of pid: pid_t) -> Int? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        else { return nil }
        return tasks.count
    }
}
