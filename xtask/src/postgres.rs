//! A PostgreSQL server for the tests: Debian's `postgresql` (installed when missing), a fresh cluster
//! made by `initdb` in `target/postgres/`, started by `pg_ctl` on a free loopback port (as the
//! `postgres` user when run as root: PostgreSQL refuses to run as root), and stopped when dropped.
//! When the `postgres` user cannot reach `target/` (a checkout in a private folder), the cluster goes
//! to a folder of its own in the system's temporary folder, removed when stopped.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, tools};

/// A running server; stopped on drop.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    /// A folder outside the checkout, removed when stopped.
    temporary: Option<PathBuf>,
}

/// The role the tests connect as (trusted on loopback: the cluster is the tests' own).
const ROLE: &str = "preflight";

impl Postgres {
    /// Installs PostgreSQL when missing and starts a fresh cluster.
    ///
    /// # Errors
    /// When it cannot be installed, made or started; the message names the step.
    pub fn start() -> Result<Self, String> {
        let bin = match server_bin() {
            Some(bin) => bin,
            None => {
                tools::apt_install(&["postgresql"])?;
                server_bin().ok_or("postgresql is installed, but no initdb was found")?
            }
        };
        let as_postgres = is_root();
        let port = free_port()?;
        let target = root().join("target");
        let (dir, temporary) = if !as_postgres || reachable_by_postgres(&target) {
            (target.join("postgres"), None)
        } else {
            let dir = std::env::temp_dir().join(format!("preflight-postgres-{port}"));
            (dir.clone(), Some(dir))
        };
        let data = dir.join("data");
        // A server an interrupted run left on the folder is stopped before the folder goes.
        if data.join("postmaster.pid").exists() {
            // Dropped, it is stopped.
            drop(Self {
                bin: bin.clone(),
                data: data.clone(),
                port,
                as_postgres,
                temporary: None,
            });
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        if as_postgres {
            run(None, "chown", &["postgres:", &path_str(&dir)?])?;
        }
        let server = Self {
            bin,
            data,
            port,
            as_postgres,
            temporary,
        };
        server.pg(
            "initdb",
            &[
                "-D",
                &path_str(&server.data)?,
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        // On loopback only, its socket in its own folder; the tests kill processes, not machines, so
        // the cluster needs no fsync. In its configuration file, so that a test restarting it (see
        // `control`) starts it the same.
        let settings = format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 200\n",
            server.port,
            path_str(&dir)?
        );
        fs::OpenOptions::new()
            .append(true)
            .open(server.data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, settings.as_bytes()))
            .map_err(|e| format!("cannot configure the test cluster: {e}"))?;
        server.pg_ctl("start")?;
        Ok(server)
    }

    /// Runs `pg_ctl` on the cluster: `start` (waits until it accepts connections, its log beside it)
    /// or `stop` (fast: connections are closed).
    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let data = path_str(&self.data)?;
        match action {
            "start" => {
                let log = self
                    .data
                    .parent()
                    .map(|d| d.join("server.log"))
                    .ok_or("the cluster has no folder")?;
                self.pg(
                    "pg_ctl",
                    &[
                        "-D",
                        &data,
                        "-l",
                        &path_str(&log)?,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ],
                )
            }
            _ => self.pg("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]),
        }
    }

    /// How a test stops and starts this server again: the environment variables to pass it.
    /// `PREFLIGHT_TEST_POSTGRES_CTL` holds the command, as words separated by tabs, to which the test
    /// adds `stop` or `start`.
    ///
    /// # Errors
    /// When a path is not UTF-8.
    pub fn control(&self) -> Result<String, String> {
        let data = path_str(&self.data)?;
        let log = path_str(&self.data.with_file_name("server.log"))?;
        let pg_ctl = path_str(&self.bin.join("pg_ctl"))?;
        let mut words = Vec::new();
        if self.as_postgres {
            words.extend(["runuser", "-u", "postgres", "--"].map(str::to_owned));
        }
        words.extend([pg_ctl, "-D".into(), data, "-l".into(), log, "-w".into()]);
        words.extend(["-t", "60", "-m", "fast"].map(str::to_owned));
        Ok(words.join("\t"))
    }

    /// Its URL, for the role the tests use, on database `postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one of the server's programs, as `postgres` when run as root.
    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = path_str(&self.bin.join(program))?;
        if self.as_postgres {
            let mut all = vec!["-u", "postgres", "--", program.as_str()];
            all.extend_from_slice(args);
            run(Some(&self.data), "runuser", &all)
        } else {
            run(Some(&self.data), &program, args)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl("stop");
        if let Some(dir) = &self.temporary {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The newest installed server's programs: `/usr/lib/postgresql/<version>/bin`.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether the `postgres` user can enter `dir` (every folder above it searchable).
fn reachable_by_postgres(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on loopback: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port on loopback: {e}"))
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// Runs a command (in the cluster's folder's parent for `Some`, where `postgres` may read), failing
/// with its name when it fails.
fn run(dir: Option<&Path>, program: &str, args: &[&str]) -> Result<(), String> {
    let cwd = dir
        .and_then(Path::parent)
        .map_or_else(root, Path::to_path_buf);
    crate::run_in(&cwd, program, args)
}
