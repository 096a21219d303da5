// The helpers every test target shares (Deadline, HarnessError, temporary files) live in
// SkepTestSupport. Re-exported here once so that every file of this target, the harness
// and the tests, sees them as it saw them when they were part of the harness.
@_exported import SkepTestSupport
