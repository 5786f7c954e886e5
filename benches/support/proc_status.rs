//! Memory figures of a process from `/proc/PID/status` (Linux), for benchmarks that report them.

/// The fields `names` (e.g. `"VmRSS:"`) of `/proc/{pid}/status`, where `pid` is a process id or
/// `self`, in MB; 0 for a field that is missing or a system without `/proc`.
pub(crate) fn status_mb(pid: &str, names: &[&str]) -> Vec<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    };
    names.iter().map(|name| field(name)).collect()
}
