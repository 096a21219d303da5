import SkepConfig
import SkepHTTP

/// Where an output filter stands in the chain, Apache's `ap_filter_type`: resource
/// filters (a content transform such as DEFLATE, mod_filter's smart filters) before
/// content-set filters (mod_headers, mod_expires) before the protocol filters
/// (BYTERANGE, CONTENT_LENGTH, then the connection's HTTP_HEADER and CHUNK).
public enum OutputFilterStage: Int, Sendable, Comparable {
    case resource = 10
    case contentSet = 20

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// An output filter, Apache's `ap_register_output_filter` and nginx's header plus body
/// filter in one: it sees the response a handler answered (status, header fields, body)
/// before the connection frames it, and may change any of them. A filter that
/// transforms a streamed body wraps the stream (`ResponseStream.filtered`), so the body
/// stays streamed and flushes go through.
///
/// A module offers filters by name (`HTTPModule.outputFilters`) and puts them on a
/// request in its `insertFilters` hook (Apache's `insert_filter`); the names written in
/// `SetOutputFilter`, `AddOutputFilter` and `FilterChain` resolve to the same filters.
/// `OutputFilterChain.run` runs them in stage order, then the protocol filters.
public protocol OutputFilter: Sendable {
    /// The name configuration uses (`DEFLATE`); matched without regard to case.
    var name: String { get }
    var stage: OutputFilterStage { get }
    /// Whether running on this response may block or take long (read a file, compress a
    /// body that is not cached): the event listener then hands the request to a worker.
    func mayBlock(_ response: Response, _ request: Request, _ context: ServerContext) -> Bool
    /// Transforms the response in place.
    func filter(_ response: inout Response, _ request: Request, _ context: ServerContext)
}

extension OutputFilter {
    public func mayBlock(_ response: Response, _ request: Request, _ context: ServerContext) -> Bool { false }
}

/// The content filters one request runs, in the order they were inserted (each stage
/// kept together, as Apache's `ap_add_output_filter` places a filter after the others
/// of its type). Empty, and allocation-free, for the common request with none.
public struct OutputFilterChain {
    public private(set) var filters: [any OutputFilter] = []

    public init() {}

    /// Adds a filter unless one of the same name is already on the chain (a name given by
    /// both `SetOutputFilter` and `AddOutputFilter` runs once, as in Apache).
    public mutating func add(_ filter: any OutputFilter) {
        guard !filters.contains(where: { Response.sameName($0.name, filter.name) }) else { return }
        let at = filters.firstIndex { $0.stage > filter.stage } ?? filters.endIndex
        filters.insert(filter, at: at)
    }

    /// Adds the filter registered under `name`, if any module registered one.
    public mutating func add(named name: String, _ context: ServerContext) {
        if let filter = context.outputFilter(named: name) { add(filter) }
    }

    /// Removes the filter named `name` (`RemoveOutputFilter`).
    public mutating func remove(named name: String) {
        filters.removeAll { Response.sameName($0.name, name) }
    }

    /// Builds the chain of `request` (core's `SetOutputFilter`, then each module's
    /// `insertFilters`) and runs it on `response`, then the protocol filters
    /// (conditionals on a handler's validators, BYTERANGE). False, with the response
    /// untouched, when the request runs on the event listener and a filter may block: a
    /// worker is to run it again.
    @discardableResult
    public static func run(_ response: inout Response, _ request: Request, _ context: ServerContext) -> Bool {
        // After an internal redirect the filters work for the request that answered.
        let request = response.finalRequest ?? request
        // A 304 (the default handler's, or the conditional filter's below) goes on: it
        // passes the content-set filters, as in Apache.
        if response.isErrorResponse, response.status != .notModified {
            runErrorFilters(&response, request, context)
            return !request.wouldBlock
        }
        ConditionalFilter.filter(&response, request, context)
        var chain = OutputFilterChain()
        for name in request.config(CoreOutputFilterConfig.self).setOutputFilters { chain.add(named: name, context) }
        for module in context.modules { module.insertFilters(request, context, into: &chain) }
        if let run = request.listenerRun, chain.filters.contains(where: { $0.mayBlock(response, request, context) }) {
            run.blocked = true
            return false
        }
        if response.status == .notModified {
            // Apache's default handler passes its 304 down the output filters, so the
            // content-set ones (mod_headers, mod_expires) change its fields; the resource
            // filters have no body to transform.
            for filter in chain.filters where filter.stage == .contentSet { filter.filter(&response, request, context) }
        } else if response.isErrorResponse {
            // The conditional filter's 412, an error page.
            runErrorFilters(&response, request, context)
        } else {
            for filter in chain.filters { filter.filter(&response, request, context) }
        }
        ByteRangeFilter.filter(&response, request, context)
        // A filter's expression met a file the listener could not look at without
        // blocking (`Header ... expr=-f ...`): a worker runs the request again.
        return !request.wouldBlock
    }

    /// Apache's `insert_error_filter`: an error page gets only the filters modules put on
    /// the error path (`Header always`, mod_expires on a redirect), never the content
    /// filters. None of them may block: they change header fields only.
    static func runErrorFilters(_ response: inout Response, _ request: Request, _ context: ServerContext) {
        var chain = OutputFilterChain()
        for module in context.modules { module.insertErrorFilters(request, context, into: &chain) }
        for filter in chain.filters { filter.filter(&response, request, context) }
    }
}
