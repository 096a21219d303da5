import SkepConfig
import SkepMPM

/// Loads configuration text as `mpm.conf` with every built-in module.
func load(_ text: String, defines: [String] = []) throws(ConfigError) -> (config: ServerConfig, mpm: MPMSettings) {
    try ConfigLoader(source: .text(text, name: "mpm.conf"), serverRoot: "/", defines: defines, modules: .builtin).load()
}

func loadModule(_ kind: MPMKind) -> String {
    "LoadModule \(kind.moduleName) /usr/lib/apache2/modules/mod_mpm_\(kind.rawValue).so"
}

/// Debian's apache2.conf core directives, with its envvars written as Defines.
func debianCore(serverRoot: String) -> String {
    """
    Define APACHE_RUN_USER www-data
    Define APACHE_RUN_GROUP www-data
    Define APACHE_PID_FILE /var/run/apache2/apache2.pid
    Define APACHE_RUN_DIR /var/run/apache2
    Define APACHE_LOCK_DIR /var/lock/apache2
    Define APACHE_LOG_DIR /var/log/apache2
    ServerRoot "\(serverRoot)"
    DefaultRuntimeDir ${APACHE_RUN_DIR}
    PidFile ${APACHE_PID_FILE}
    Timeout 300
    KeepAlive On
    MaxKeepAliveRequests 100
    KeepAliveTimeout 5
    User ${APACHE_RUN_USER}
    Group ${APACHE_RUN_GROUP}
    HostnameLookups Off
    ErrorLog ${APACHE_LOG_DIR}/error.log
    LogLevel warn
    Mutex file:${APACHE_LOCK_DIR} default
    Listen 80
    AccessFileName .htaccess
    """
}

func stockBlock(_ kind: MPMKind) -> String {
    switch kind {
    case .prefork: DebianStock.prefork
    case .worker: DebianStock.worker
    case .event: DebianStock.event
    }
}
