// skep-example: Skep's whole server (command line, configuration reader, MPMs, logs,
// /server-status) plus one module of our own. Each endpoint lives in its own file;
// example.conf maps them to URLs with <Location> and SetHandler.
import Skep

var example = Module("example_module")

// `ExampleGreeting "text"`, per directory (GreetingConfig.swift).
GreetingConfig.declare(in: &example)
// Per-child state set up in child_init (ChildState.swift).
ChildState.declare(in: &example)

example.handler("example-json", threadSafe: true, JSONEndpoint.handle)
example.handler("example-countdown", threadSafe: true, CountdownEndpoint.handle)
example.handler("example-download", threadSafe: true, DownloadEndpoint.handle)
// Calls a C function that is not thread-safe: prefork only (ClockEndpoint.swift).
example.handler("example-clock", threadSafe: false, ClockEndpoint.handle)

// First thing, before anything starts a thread: the master forks its children.
Server(modules: [example]).run()
