import SkepConfig
import SkepHTTP

/// What a hook answers, as Apache's `DECLINED`/`OK`/status codes.
public enum HookResult {
    /// Not this module's business; the next module is asked.
    case declined
    /// Done with this phase; later modules of the phase are not asked.
    case handled
    /// Stop processing and send this response (a redirect, say).
    case respond(Response)
    /// Stop processing and answer with this error status.
    case fail(HTTPStatus)
}

/// A handler: builds the response for a request whose handler name it owns.
public typealias Handler = @Sendable (_ request: Request, _ server: ServerContext) throws -> Response

/// A request-handling module, shaped like an Apache module: a descriptor with its
/// directive table (read by the configuration reader), and an instance made for each
/// configuration generation that joins the request phases it cares about. Phases run
/// in Apache's order: translate, access check, fixups, handler, log.
public protocol HTTPModule: Sendable {
    static var descriptor: ModuleDescriptor { get }
    /// Builds the module's run-time state (tables, open log files) for one generation.
    init(config: ServerConfig) throws
    /// Apache's `post_read_request`: the request head is read, nothing is mapped yet.
    func postReadRequest(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `translate_name`: map the URL to a file or answer it.
    func translate(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `header_parser`: the sections (and `<If>`s) are merged, access is not checked yet.
    func headerParser(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `access_checker` (mod_access_compat's `Order`/`Allow`/`Deny`): every
    /// module is asked; `.handled` and `.declined` let the request through.
    func checkAccess(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `access_checker_ex` (mod_authz_core without a user): the first answer
    /// other than `.declined` decides; `.declined` means a user is needed.
    func checkAccessEx(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `check_user_id` (mod_auth_basic): authenticates and sets `r.user`.
    func checkUserID(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `auth_checker` (mod_authz_core with the user).
    func checkAuthorization(_ request: Request, _ server: ServerContext) -> HookResult
    /// Apache's `type_checker` and `fixups`.
    func fixup(_ request: Request, _ server: ServerContext) -> HookResult
    /// The handlers this module provides, by name.
    var handlers: [String: Handler] { get }
    /// Those of `handlers` that never block (no file, socket or lock wait): the event MPM
    /// may run them on its listener thread.
    var nonBlockingHandlers: Set<String> { get }
    /// The output filters this module offers, by their names (Apache's
    /// `ap_register_output_filter`); configuration names them in `SetOutputFilter`,
    /// `AddOutputFilter`, `FilterProvider`.
    var outputFilters: [any OutputFilter] { get }
    /// Apache's `insert_filter`: after the handler answered, puts this module's filters
    /// (by `chain.add`) on the request's chain. See `OutputFilterChain`.
    func insertFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain)
    /// Apache's `insert_error_filter`: the filters an error page or a 304 runs (it runs
    /// no content filter); they must not block.
    func insertErrorFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain)
    /// Apache's `log_transaction`.
    func log(_ transaction: Transaction)
}

extension HTTPModule {
    public func postReadRequest(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func translate(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func headerParser(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func checkAccess(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func checkAccessEx(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func checkUserID(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func checkAuthorization(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public func fixup(_ request: Request, _ server: ServerContext) -> HookResult { .declined }
    public var handlers: [String: Handler] { [:] }
    public var nonBlockingHandlers: Set<String> { [] }
    public var outputFilters: [any OutputFilter] { [] }
    public func insertFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {}
    public func insertErrorFilters(_ request: Request, _ server: ServerContext, into chain: inout OutputFilterChain) {}
    public func log(_ transaction: Transaction) {}
}
