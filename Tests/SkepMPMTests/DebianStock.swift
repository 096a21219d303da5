/// The stock MPM blocks of Debian/Ubuntu's apache2 package, copied verbatim from
/// /etc/apache2/mods-available/mpm_*.conf so the tests need no Apache installed.
enum DebianStock {
    static let prefork = """
        # prefork MPM
        # StartServers: number of server processes to start
        # MinSpareServers: minimum number of server processes which are kept spare
        # MaxSpareServers: maximum number of server processes which are kept spare
        # MaxRequestWorkers: maximum number of server processes allowed to start
        # MaxConnectionsPerChild: maximum number of requests a server process serves

        StartServers            5
        MinSpareServers         5
        MaxSpareServers         10
        MaxRequestWorkers       150
        MaxConnectionsPerChild  0
        """

    static let worker = """
        # worker MPM
        # StartServers: initial number of server processes to start
        # MinSpareThreads: minimum number of worker threads which are kept spare
        # MaxSpareThreads: maximum number of worker threads which are kept spare
        # ThreadLimit: ThreadsPerChild can be changed to this maximum value during a
        #			  graceful restart. ThreadLimit can only be changed by stopping
        #			  and starting Apache.
        # ThreadsPerChild: constant number of worker threads in each server process
        # MaxRequestWorkers: maximum number of threads
        # MaxConnectionsPerChild: maximum number of requests a server process serves

        StartServers            2
        MinSpareThreads         25
        MaxSpareThreads         75
        ThreadLimit             64
        ThreadsPerChild         25
        MaxRequestWorkers       150
        MaxConnectionsPerChild  0
        """

    static let event = """
        # event MPM
        # StartServers: initial number of server processes to start
        # MinSpareThreads: minimum number of worker threads which are kept spare
        # MaxSpareThreads: maximum number of worker threads which are kept spare
        # ThreadsPerChild: constant number of worker threads in each server process
        # MaxRequestWorkers: maximum number of worker threads
        # MaxConnectionsPerChild: maximum number of requests a server process serves
        StartServers            2
        MinSpareThreads         25
        MaxSpareThreads         75
        ThreadLimit             64
        ThreadsPerChild         25
        MaxRequestWorkers       150
        MaxConnectionsPerChild  0
        """

}
