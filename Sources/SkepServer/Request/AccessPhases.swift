import SkepConfig
import SkepHTTP

/// The access, authentication and authorization phases of Apache's
/// `ap_process_request_internal`, in its order and with its `Satisfy` logic:
/// `access_checker` (mod_access_compat's host rules), `access_checker_ex` (mod_authz_core
/// deciding what needs no user), `check_user_id` (mod_auth_basic) when a user is needed,
/// then `auth_checker` (mod_authz_core with the user). With `Satisfy Any`, passing the
/// host rules is enough.
struct AccessPhases {
    let context: ServerContext

    /// `.handled` or `.declined` when the request may go on; otherwise the answer.
    func run(_ r: Request) -> HookResult {
        let satisfy = AccessCompatModule.satisfies(r)
        let access = accessChecker(r)
        if r.wouldBlock { return .declined }
        switch satisfy {
        case .any:
            if isOK(access) { return .handled }
        case .all, .unspecified:
            guard isOK(access) else { return declinedIsFatal(access, "check access (with Satisfy All)", r) }
        }
        let accessEx = first(r) { $0.checkAccessEx(r, context) }
        if r.wouldBlock { return .declined }
        switch accessEx {
        case .handled:
            // Authorized without authentication (no module forces it).
            return .handled
        case .declined:
            break
        default:
            return declinedIsFatal(accessEx, "check access", r)
        }
        // A user is needed: checking a password (bcrypt takes ~50-100 ms by design) and
        // reading the password and group files may block, so the event listener hands the
        // request to a worker.
        if let run = r.listenerRun {
            run.blocked = true
            return .declined
        }
        let user = first(r) { $0.checkUserID(r, context) }
        guard isOK(user) else { return declinedIsFatal(user, "check user", r) }
        guard r.user != nil else {
            context.errorLog.log(.error, module: "core", client: r.client,
                                 "AH00027: No authentication done but request not allowed without authentication for \(r.uri). Authentication not configured?")
            return .fail(.internalServerError)
        }
        let authorization = first(r) { $0.checkAuthorization(r, context) }
        guard isOK(authorization) else { return declinedIsFatal(authorization, "check authorization", r) }
        return .handled
    }

    /// A RUN_ALL hook: every module is asked until one answers other than OK/DECLINED.
    private func accessChecker(_ r: Request) -> HookResult {
        for module in context.modules {
            let result = module.checkAccess(r, context)
            if !isOK(result) && !isDeclined(result) { return result }
            if r.wouldBlock { return .declined }
        }
        return .handled
    }

    /// A RUN_FIRST hook: the first answer other than DECLINED.
    private func first(_ r: Request, _ hook: (any HTTPModule) -> HookResult) -> HookResult {
        for module in context.modules {
            let result = hook(module)
            if !isDeclined(result) || r.wouldBlock { return result }
        }
        return .declined
    }

    private func isOK(_ result: HookResult) -> Bool { if case .handled = result { true } else { false } }
    private func isDeclined(_ result: HookResult) -> Bool { if case .declined = result { true } else { false } }

    /// Apache's `decl_die`: a phase nobody handled is a configuration error (500).
    private func declinedIsFatal(_ result: HookResult, _ phase: String, _ r: Request) -> HookResult {
        guard isDeclined(result) else { return result }
        context.errorLog.log(.crit, module: "core", client: r.client, "AH00025: configuration error:  couldn't \(phase): \(r.uri)")
        return .fail(.internalServerError)
    }

    /// `ap_auth_type`: the `AuthType` in effect, nil for none or `None`.
    static func authType(_ r: Request) -> String? { r.config(AuthnCoreConfig.self).authType }

    /// `ap_note_auth_failure`: the authentication scheme adds its challenge to the 401.
    static func noteAuthFailure(_ r: Request, _ server: ServerContext) {
        guard let type = authType(r) else {
            server.errorLog.log(.error, module: "core", client: r.client, "AH00571: need AuthType to note auth failure: \(r.uri)")
            return
        }
        if type.lowercased() == "basic", server.modules.contains(where: { $0 is AuthBasicModule }) {
            AuthBasicModule.noteFailure(r)
        } else {
            server.errorLog.log(.error, module: "core", client: r.client,
                                "AuthType \(type) configured without corresponding module")
        }
    }
}
