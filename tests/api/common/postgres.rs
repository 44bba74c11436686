//! A throwaway PostgreSQL server for integration tests.
//!
//! [`PostgresServer::shared`] starts one server per test process on first use
//! (fresh `initdb` in a temp dir, random port on 127.0.0.1, trust auth,
//! durability switched off for speed) and hands every test the same one;
//! [`PostgresServer::create_database`] gives each test its own empty database.
//!
//! Why a supervisor: the test harness has no global teardown hook, and statics
//! are never dropped, so nothing in this process can be relied on to stop the
//! server — least of all when the process panics or is killed. So initdb and
//! postgres are run by a small `sh` script (see [`SUPERVISOR_SCRIPT`]) whose
//! stdin is a pipe whose only write end lives in this process. The kernel closes
//! that end however this process ends, the script reads EOF, sends postgres
//! SIGINT (fast shutdown), waits for it and deletes the whole temp dir. A pipe is
//! used rather than polling `kill -0 <test pid>`: when the tests run as root the
//! script runs as `postgres` and may not signal root's processes, and a polled pid
//! can be reused by an unrelated process.
//!
//! The data dir lives on /dev/shm when that has room (see [`temp_base`] for why
//! and how to override it), so every database costs RAM until the process ends.
//!
//! The script runs in its own process group (Ctrl-C on `cargo test` must not kill
//! it before it has cleaned up) and writes only to a log file in the temp dir,
//! never to the test's stdout/stderr, so runners that wait for EOF on those don't
//! hang after the tests finish.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

const BIN_DIR_ENV: &str = "SCIMD_TEST_PG_BIN";
const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
const SUPERUSER: &str = "postgres";
/// Only bind races are retried, and those fail within milliseconds.
const START_ATTEMPTS: usize = 5;
/// Includes initdb on the first attempt (well under a second here), so a slow,
/// loaded CI machine still has ample time.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Written by the supervisor when initdb or postgres ends while this process still runs.
const EXITED_MARKER: &str = "exited";
const LOG_FILE: &str = "postgres.log";

/// Arguments: `$1` temp dir, `$2` initdb binary, `$3` superuser name, then the
/// full postgres command line. Stdin is the lifeline (see the module docs).
const SUPERVISOR_SCRIPT: &str = r#"
set -u
dir=$1 initdb=$2 superuser=$3
shift 3
# Keep the lifeline on fd 3 so that nothing started below inherits it as stdin.
exec 3<&0 </dev/null

await_test_exit() {
    while read -r line <&3; do :; done
}

# initdb or postgres died under a live test process: say so (atomically, the
# harness polls for it), but still clean up once the test process is gone. On a
# port clash the harness kills us here instead and starts another supervisor.
report_and_linger() {
    echo "$1" >"$dir/exited.tmp" && mv "$dir/exited.tmp" "$dir/exited"
    await_test_exit
    rm -rf "$dir"
    exit 1
}

# Done here rather than by the harness so that the data dir is never without a
# cleaner, even if the test process dies during initdb.
if [ ! -e "$dir/data/PG_VERSION" ]; then
    "$initdb" -D "$dir/data" -A trust -U "$superuser" --no-sync -E UTF8 --locale=C 3<&- ||
        report_and_linger "initdb failed with exit status $?"
fi

"$@" 3<&- &
pg=$!
(
    await_test_exit
    : >"$dir/test-exited"
    kill -INT "$pg" 2>/dev/null
) &
watcher=$!

wait "$pg"
status=$?
if [ ! -e "$dir/test-exited" ]; then
    # The watcher would otherwise signal a pid that may belong to someone else by then.
    kill "$watcher" 2>/dev/null
    report_and_linger "postgres exited with status $status"
fi
wait
rm -rf "$dir"
"#;

/// A PostgreSQL server started for this test process, shared by all its tests and stopped when the process ends.
pub struct PostgresServer {
    port: u16,
    dir: PathBuf,
    next_database: AtomicU64,
    /// Serialises CREATE DATABASE. Each one copies the whole template, so doing
    /// them in parallel gains little, and one at a time they cannot make each
    /// other fail with "source database ... is being accessed by other users".
    /// tokio's mutex because it is held across an await; it belongs to no
    /// runtime, so tests with runtimes of their own can share it.
    create_lock: tokio::sync::Mutex<()>,
    /// Never dropped (it lives in a static); the supervisor stops the server
    /// when the kernel closes it at process exit.
    _lifeline: ChildStdin,
    _supervisor: Child,
}

impl PostgresServer {
    /// Starts the server on first use (initdb in a fresh temp dir, random free port, listening on 127.0.0.1 only, trust auth for local TCP), then returns the same one. Safe to call from many tests/threads at once and from inside or outside a tokio runtime (tests use #[tokio::test], each test has its own runtime; do not rely on any one runtime surviving).
    pub fn shared() -> &'static PostgresServer {
        // The error is stored rather than panicking inside get_or_init: a panic
        // there leaves the cell empty, and every other test would then repeat
        // the whole failing start-up.
        static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();
        let server = SERVER.get_or_init(|| {
            // A thread of its own with a runtime of its own, because the caller
            // may or may not be inside a runtime (block_on would panic inside one)
            // and no test's runtime outlives that test.
            std::thread::spawn(start).join().unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                Err(format!("start-up panicked: {message}"))
            })
        });
        match server {
            Ok(server) => server,
            Err(message) => panic!("test PostgreSQL server could not be started: {message}"),
        }
    }

    /// Creates a fresh, empty database with a unique name and returns its URL (postgres://USER@127.0.0.1:PORT/NAME).
    pub async fn create_database(&self) -> String {
        let number = self.next_database.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("t_{number}_{:08x}", random_u32());
        // A fresh connection per call: a pool would belong to the runtime that
        // created it, and that runtime ends with its test.
        let mut conn = connect(&self.url(SUPERUSER)).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to the test PostgreSQL server to create a database: {e}\n{}",
                self.log_tail()
            )
        });
        // template0 because nothing connects to it (datallowconn is off), whereas
        // autovacuum or a test may be connected to template1 and make CREATE
        // DATABASE fail with "being accessed by other users".
        let sql = format!(r#"CREATE DATABASE "{name}" TEMPLATE template0"#);
        let mut attempt = 0;
        loop {
            let result = {
                let _serialised = self.create_lock.lock().await;
                sqlx::Executor::execute(&mut conn, sql.as_str()).await
            };
            match result {
                Ok(_) => break,
                Err(e) if attempt < 50 && is_object_in_use(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{sql} failed: {e}\n{}", self.log_tail()),
            }
        }
        // Not worth failing a test over: the server drops the session anyway.
        let _ = conn.close().await;
        self.url(&name)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    fn log_tail(&self) -> String {
        let log = read_log_from(&self.dir.join(LOG_FILE), 0);
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        let tail = &log[start..];
        format!("--- end of server log ---\n{tail}")
    }
}

fn start() -> Result<PostgresServer, String> {
    let bin_dir = find_bin_dir()?;
    let owner = server_owner()?;
    let dir = temp_dir_in(&temp_base())
        .or_else(|_| temp_dir_in(&std::env::temp_dir()))
        .map_err(|e| format!("cannot create a temp dir: {e}"))?
        // The supervisor deletes it; a TempDir drop would pull it out from under
        // a running server (and statics are never dropped anyway).
        .keep();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| {
            let _ = fs::remove_dir_all(&dir);
            format!("cannot hand {} to the postgres user: {e}", dir.display())
        })?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a tokio runtime: {e}"))?;
    let log_path = dir.join(LOG_FILE);

    for attempt in 1..=START_ATTEMPTS {
        let port = free_port()?;
        let log_start = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let _ = fs::remove_file(dir.join(EXITED_MARKER));
        let mut supervisor = match spawn_supervisor(&bin_dir, &dir, port, owner) {
            Ok(supervisor) => supervisor,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let failure = match runtime.block_on(wait_until_ready(&mut supervisor.child, &dir, port)) {
            Ok(()) => {
                return Ok(PostgresServer {
                    port,
                    dir,
                    next_database: AtomicU64::new(0),
                    create_lock: tokio::sync::Mutex::new(()),
                    _lifeline: supervisor.lifeline,
                    _supervisor: supervisor.child,
                })
            }
            Err(failure) => failure,
        };
        let log = read_log_from(&log_path, log_start);
        // Another process can take the port between our probe and postgres' bind.
        let port_taken =
            log.contains("could not bind") || log.contains("could not create any TCP/IP sockets");
        if failure.server_exited && port_taken && attempt < START_ATTEMPTS {
            // It is lingering with nothing left to stop; killing it (instead of
            // closing its lifeline) keeps it from deleting the data dir we reuse.
            let _ = supervisor.child.kill();
            let _ = supervisor.child.wait();
            continue;
        }
        let log = read_log_from(&log_path, 0);
        supervisor.shut_down(&dir);
        let hint = if owner.is_some() {
            "\n(running as root, so initdb and postgres ran as the `postgres` user)"
        } else {
            ""
        };
        return Err(format!(
            "{} (binaries: {}, temp dir: {}, now removed){hint}\n--- server log ---\n{log}",
            failure.reason,
            bin_dir.display(),
            dir.display()
        ));
    }
    unreachable!("the last attempt always returns")
}

struct Supervisor {
    child: Child,
    lifeline: ChildStdin,
}

impl Supervisor {
    /// Lets the supervisor stop postgres and delete the dir as it would at exit,
    /// then makes sure both happened.
    fn shut_down(self, dir: &Path) {
        let Supervisor {
            mut child,
            lifeline,
        } = self;
        drop(lifeline);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_dir_all(dir);
    }
}

fn spawn_supervisor(
    bin_dir: &Path,
    dir: &Path,
    port: u16,
    owner: Option<(u32, u32)>,
) -> Result<Supervisor, String> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))
        .map_err(|e| format!("cannot open the server log: {e}"))?;
    let log_for_stderr = log
        .try_clone()
        .map_err(|e| format!("cannot open the server log: {e}"))?;
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(SUPERVISOR_SCRIPT)
        .arg("postgres-test-supervisor")
        .arg(dir)
        .arg(bin_dir.join("initdb"))
        .arg(SUPERUSER)
        .arg(bin_dir.join("postgres"))
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-p")
        .arg(port.to_string())
        .arg("-c")
        .arg("listen_addresses=127.0.0.1")
        .arg("-c")
        // Keeps the socket out of /var/run/postgresql, which may not exist or be writable.
        .arg(format!("unix_socket_directories={}", dir.display()));
    // Throwaway data: durability buys nothing, and many tests with pools need many connections.
    for setting in [
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=400",
        "shared_buffers=128MB",
    ] {
        command.arg("-c").arg(setting);
    }
    command
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_for_stderr)
        // The test's working dir may not be reachable by the postgres user.
        .current_dir("/")
        .process_group(0);
    if let Some((uid, gid)) = owner {
        // initdb and postgres refuse to run as root.
        command.uid(uid).gid(gid);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the supervisor (/bin/sh): {e}"))?;
    let lifeline = child.stdin.take().expect("stdin was piped");
    Ok(Supervisor { child, lifeline })
}

struct StartFailure {
    reason: String,
    server_exited: bool,
}

async fn wait_until_ready(
    supervisor: &mut Child,
    dir: &Path,
    port: u16,
) -> Result<(), StartFailure> {
    let deadline = Instant::now() + START_TIMEOUT;
    let url = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres");
    let mut last_error = String::from("the server never reported itself ready");
    loop {
        if let Ok(reason) = fs::read_to_string(dir.join(EXITED_MARKER)) {
            return Err(StartFailure {
                reason: reason.trim().to_owned(),
                server_exited: true,
            });
        }
        if let Ok(Some(status)) = supervisor.try_wait() {
            return Err(StartFailure {
                reason: format!("the supervisor exited unexpectedly ({status})"),
                server_exited: true,
            });
        }
        // postmaster.pid says "ready" only once *our* postgres listens; a bare
        // connection could reach whoever grabbed the port after we probed it.
        if postmaster_ready(dir, port) {
            match connect(&url).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e) => last_error = e,
            }
        }
        if Instant::now() >= deadline {
            return Err(StartFailure {
                reason: format!("not ready after {START_TIMEOUT:?}: {last_error}"),
                server_exited: false,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn postmaster_ready(dir: &Path, port: u16) -> bool {
    let Ok(pid_file) = fs::read_to_string(dir.join("data/postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = pid_file.lines().collect();
    lines.len() > 7 && lines[3].trim() == port.to_string() && lines[7].trim() == "ready"
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("connecting timed out after {CONNECT_TIMEOUT:?}")),
    }
}

fn is_object_in_use(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("55006"))
}

fn find_bin_dir() -> Result<PathBuf, String> {
    // A client-only install has a bin dir too (psql, pg_dump), hence the check for the server binaries.
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        let dir = PathBuf::from(dir);
        if has_server(&dir) {
            return Ok(dir);
        }
        return Err(format!(
            "{BIN_DIR_ENV}={} does not contain initdb and postgres",
            dir.display()
        ));
    }
    let default = Path::new(DEFAULT_BIN_DIR);
    if has_server(default) {
        return Ok(default.to_path_buf());
    }
    let newest = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest {
        return Ok(bin);
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    Err(format!(
        "no PostgreSQL server binaries (initdb, postgres) found in ${BIN_DIR_ENV}, {DEFAULT_BIN_DIR}, \
         /usr/lib/postgresql/*/bin or `pg_config --bindir`: install the server \
         (e.g. `apt-get install postgresql-15`) or set {BIN_DIR_ENV} to the directory holding initdb and postgres"
    ))
}

/// `Some((uid, gid))` of the `postgres` user when running as root, `None` to run as ourselves.
fn server_owner() -> Result<Option<(u32, u32)>, String> {
    if effective_uid()? != 0 {
        return Ok(None);
    }
    let hint = |e: String| {
        format!(
            "{e}: running the tests as root needs a `postgres` OS user to run the server as \
             (or run them as an ordinary user)"
        )
    };
    let uid = run_id(&["-u", "postgres"]).map_err(hint)?;
    let gid = run_id(&["-g", "postgres"]).map_err(hint)?;
    Ok(Some((uid, gid)))
}

fn effective_uid() -> Result<u32, String> {
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            // "Uid:  real  effective  saved  filesystem"
            let line = status.lines().find(|line| line.starts_with("Uid:"))?;
            line.split_whitespace().nth(2)?.parse().ok()
        });
    match from_proc {
        Some(uid) => Ok(uid),
        None => run_id(&["-u"]),
    }
}

fn run_id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `id`: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|_| output.status.success())
        .ok_or_else(|| {
            format!(
                "`id {}` failed ({})",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })
}

fn temp_dir_in(base: &Path) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("scimd-test-pg-")
        .tempdir_in(base)
}

/// tmpfs when it has room, unless TMPDIR says otherwise: each CREATE DATABASE
/// creates ~300 files, and on a disk file creation dominates (measured ~250 ms
/// per database on ext4 against ~15 ms on tmpfs, even with fsync off).
fn temp_base() -> PathBuf {
    const NEEDED_KIB: u64 = 2 * 1024 * 1024;
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none()
        && available_kib(shm).is_some_and(|kib| kib >= NEEDED_KIB)
    {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn available_kib(path: &Path) -> Option<u64> {
    let output = Command::new("df").arg("-Pk").arg(path).output().ok()?;
    if !output.status.success() {
        return None;
    }
    // POSIX format: a header line, then "filesystem blocks used available capacity mount".
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn read_log_from(path: &Path, offset: u64) -> String {
    let mut log = Vec::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_end(&mut log);
        }
    }
    String::from_utf8_lossy(&log).into_owned()
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    // Each RandomState is freshly keyed, so this differs per call and per process.
    RandomState::new().hash_one(std::process::id()) as u32
}
