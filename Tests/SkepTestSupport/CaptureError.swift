import SkepConfig
import Testing

/// The configuration error `body` throws, or nil when it succeeds; any other error is
/// recorded as an issue (and nil returned), so a test can assert on the message.
public func captureError<T>(_ body: () throws -> T) -> ConfigError? {
    do {
        _ = try body()
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}
