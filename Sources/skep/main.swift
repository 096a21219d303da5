// A plain synchronous entry point: the master forks children, and fork() is only safe
// before Dispatch or Swift concurrency has started a thread (DESIGN.md section 5).
SkepCommand.main()
