//! `fstest crash-run DIR LOG` and `fstest crash-check DIR LOG`: a crash-consistency test.
//!
//! crash-run makes DIR with two subtrees and runs a random metadata-heavy workload in them until
//! it is killed (or for `--ops N` operations): create, write, truncate, mkdir, rmdir, rename,
//! link, unlink, symlink, fsync. Each operation is one state-changing system call, logged to LOG
//! (on another filesystem) in two records, each written and fsynced before going on:
//!
//! ```text
//! I <seq> <guarantee> <op> <args>    intent, before the call
//! D <seq>                            done, after the call returned (and the fsyncs below)
//! ```
//!
//! The guarantee says what makes the operation durable. In `sync/` every operation is followed
//! by fsync of the files and directories it changed (what POSIX promises on every filesystem);
//! in `ret/` nothing is synced (ferrite promises that every metadata operation is durable when
//! it returns, and DAX writes are in pmem when `write` returns).
//!
//! crash-check replays LOG into a model of the tree (names, kinds, file contents, hard links)
//! and compares DIR with it: everything done must be there. The single operation whose intent
//! is logged without its done record may or may not have happened, so the tree may match the
//! model with or without it (and a write in flight may be torn: each byte old or new, the size
//! old or new). `--synced-only` checks only `sync/`, for filesystems that promise no more than
//! POSIX. Write data is not logged: it is generated from the seed and the sequence number.

use crate::sys::{self, Errno, Res};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

const HEADER: &str = "fstest-crash-log 1";
/// The two subtrees, with the guarantee that applies in each.
const TREES: [&str; 2] = ["sync", "ret"];
/// Names are drawn from small pools, so that they are reused after removal.
const FILE_NAMES: u64 = 24;
const DIR_NAMES: u64 = 5;
const LINK_NAMES: u64 = 4;
/// Directory depth below a tree's root.
const MAX_DEPTH: usize = 3;
/// Above this many files in a tree, creating gives way to unlinking.
const MAX_FILES: usize = 120;

/// What crash-run and crash-check were asked for.
#[derive(Clone, Debug, Default)]
pub struct CrashOptions {
    /// Seed of the workload (default: from the clock).
    pub seed: Option<u64>,
    /// Stop after this many operations (default: run until killed).
    pub ops: Option<u64>,
    /// Check only the subtree whose operations were fsynced.
    pub synced_only: bool,
}

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        v.get(self.below(v.len() as u64) as usize)
    }
}

/// The data that write number `seq` writes.
fn data(seed: u64, seq: u64, len: u64) -> Vec<u8> {
    let mut r = Rng(seed ^ seq.wrapping_mul(0xd6e8_feb8_6659_fd93));
    let mut v = Vec::with_capacity(len as usize + 8);
    while (v.len() as u64) < len {
        v.extend_from_slice(&r.next().to_le_bytes());
    }
    v.truncate(len as usize);
    v
}

/// One logged operation; paths are relative to DIR.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Create(String),
    Write(String, u64, u64),
    Trunc(String, u64),
    Mkdir(String),
    Rmdir(String),
    Rename(String, String),
    Link(String, String),
    Unlink(String),
    Symlink(String, String),
    Fsync(String),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create(p) => write!(f, "create {p}"),
            Op::Write(p, off, len) => write!(f, "write {p} {off} {len}"),
            Op::Trunc(p, size) => write!(f, "trunc {p} {size}"),
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Rmdir(p) => write!(f, "rmdir {p}"),
            Op::Rename(a, b) => write!(f, "rename {a} {b}"),
            Op::Link(a, b) => write!(f, "link {a} {b}"),
            Op::Unlink(p) => write!(f, "unlink {p}"),
            Op::Symlink(p, t) => write!(f, "symlink {p} {t}"),
            Op::Fsync(p) => write!(f, "fsync {p}"),
        }
    }
}

impl Op {
    fn parse(words: &[&str]) -> Option<Op> {
        let s = |w: &&str| w.to_string();
        let n = |w: &&str| w.parse::<u64>().ok();
        Some(match words {
            ["create", p] => Op::Create(s(p)),
            ["write", p, off, len] => Op::Write(s(p), n(off)?, n(len)?),
            ["trunc", p, size] => Op::Trunc(s(p), n(size)?),
            ["mkdir", p] => Op::Mkdir(s(p)),
            ["rmdir", p] => Op::Rmdir(s(p)),
            ["rename", a, b] => Op::Rename(s(a), s(b)),
            ["link", a, b] => Op::Link(s(a), s(b)),
            ["unlink", p] => Op::Unlink(s(p)),
            ["symlink", p, t] => Op::Symlink(s(p), s(t)),
            ["fsync", p] => Op::Fsync(s(p)),
            _ => return None,
        })
    }
}

/// `("a/b", "c")` for `"a/b/c"`, `("", "a")` for `"a"`.
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn parent(path: &str) -> &str {
    split(path).0
}

/// Whether `path` is `dir` or lies below it.
fn within(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A node of the model tree.
#[derive(Clone, Debug)]
enum Node {
    Dir(BTreeMap<String, Node>),
    /// A regular file: its model inode number.
    File(u64),
    Symlink(String),
}

/// What DIR should hold: the tree, and the content of each file.
#[derive(Clone, Debug, Default)]
struct Model {
    root: BTreeMap<String, Node>,
    data: HashMap<u64, Vec<u8>>,
    next_ino: u64,
}

impl Model {
    /// The model right after crash-run's setup: the two empty trees.
    fn new() -> Self {
        let mut m = Model::default();
        for t in TREES {
            m.root.insert(t.to_string(), Node::Dir(BTreeMap::new()));
        }
        m
    }

    fn dir(&self, path: &str) -> Option<&BTreeMap<String, Node>> {
        if path.is_empty() {
            return Some(&self.root);
        }
        match self.get(path)? {
            Node::Dir(d) => Some(d),
            _ => None,
        }
    }

    fn dir_mut(&mut self, path: &str) -> Option<&mut BTreeMap<String, Node>> {
        let mut d = &mut self.root;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            match d.get_mut(name)? {
                Node::Dir(sub) => d = sub,
                _ => return None,
            }
        }
        Some(d)
    }

    fn get(&self, path: &str) -> Option<&Node> {
        let (dir, name) = split(path);
        let mut d = &self.root;
        for n in dir.split('/').filter(|n| !n.is_empty()) {
            match d.get(n)? {
                Node::Dir(sub) => d = sub,
                _ => return None,
            }
        }
        d.get(name)
    }

    fn file(&self, path: &str) -> Option<u64> {
        match self.get(path)? {
            Node::File(ino) => Some(*ino),
            _ => None,
        }
    }

    fn insert(&mut self, path: &str, node: Node) -> Result<(), String> {
        let (dir, name) = split(path);
        let d = self
            .dir_mut(dir)
            .ok_or_else(|| format!("{dir}: no such directory"))?;
        if d.insert(name.to_string(), node).is_some() {
            return Err(format!("{path}: exists"));
        }
        Ok(())
    }

    fn remove(&mut self, path: &str) -> Result<Node, String> {
        let (dir, name) = split(path);
        self.dir_mut(dir)
            .and_then(|d| d.remove(name))
            .ok_or_else(|| format!("{path}: no such entry"))
    }

    /// Applies operation `seq`; an error means the operation could not have succeeded.
    fn apply(&mut self, op: &Op, seq: u64, seed: u64) -> Result<(), String> {
        match op {
            Op::Create(p) => {
                let ino = self.next_ino;
                self.next_ino += 1;
                self.insert(p, Node::File(ino))?;
                self.data.insert(ino, Vec::new());
            }
            Op::Write(p, off, len) => {
                let ino = self.file(p).ok_or_else(|| format!("{p}: not a file"))?;
                let d = self.data.entry(ino).or_default();
                let end = (off + len) as usize;
                if d.len() < end {
                    d.resize(end, 0);
                }
                d[*off as usize..end].copy_from_slice(&data(seed, seq, *len));
            }
            Op::Trunc(p, size) => {
                let ino = self.file(p).ok_or_else(|| format!("{p}: not a file"))?;
                self.data.entry(ino).or_default().resize(*size as usize, 0);
            }
            Op::Mkdir(p) => self.insert(p, Node::Dir(BTreeMap::new()))?,
            Op::Rmdir(p) => match self.get(p) {
                Some(Node::Dir(d)) if d.is_empty() => {
                    self.remove(p)?;
                }
                _ => return Err(format!("{p}: not an empty directory")),
            },
            Op::Rename(a, b) => {
                let src = self.get(a).ok_or_else(|| format!("{a}: no such entry"))?;
                if matches!(src, Node::Dir(_)) && within(b, a) {
                    return Err(format!("{b}: inside {a}"));
                }
                match (src, self.get(b)) {
                    (_, None) => {}
                    (Node::File(x), Some(Node::File(y))) if x == y => return Ok(()),
                    (Node::File(_) | Node::Symlink(_), Some(Node::File(_) | Node::Symlink(_))) => {
                        self.remove(b)?;
                    }
                    (Node::Dir(_), Some(Node::Dir(d))) if d.is_empty() => {
                        self.remove(b)?;
                    }
                    _ => return Err(format!("rename {a} over {b}: not allowed")),
                }
                let node = self.remove(a)?;
                self.insert(b, node)?;
            }
            Op::Link(a, b) => {
                let ino = self.file(a).ok_or_else(|| format!("{a}: not a file"))?;
                self.insert(b, Node::File(ino))?;
            }
            Op::Unlink(p) => match self.get(p) {
                Some(Node::File(_) | Node::Symlink(_)) => {
                    self.remove(p)?;
                }
                _ => return Err(format!("{p}: not a file")),
            },
            Op::Symlink(p, t) => self.insert(p, Node::Symlink(t.clone()))?,
            Op::Fsync(p) => {
                self.get(p).ok_or_else(|| format!("{p}: no such entry"))?;
            }
        }
        Ok(())
    }

    /// Every path below `top` (included) with its node, parents before children.
    fn walk<'a>(&'a self, top: &str) -> Vec<(String, &'a Node)> {
        fn rec<'a>(d: &'a BTreeMap<String, Node>, at: &str, out: &mut Vec<(String, &'a Node)>) {
            for (name, n) in d {
                let p = format!("{at}/{name}");
                out.push((p.clone(), n));
                if let Node::Dir(sub) = n {
                    rec(sub, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        if let Some(n) = self.get(top) {
            out.push((top.to_string(), n));
            if let Node::Dir(d) = n {
                rec(d, top, &mut out);
            }
        }
        out
    }

    /// How many names each model inode has.
    fn link_counts(&self) -> HashMap<u64, u64> {
        let mut c = HashMap::new();
        for t in TREES {
            for (_, n) in self.walk(t) {
                if let Node::File(ino) = n {
                    *c.entry(*ino).or_default() += 1;
                }
            }
        }
        c
    }
}

/// Chooses the next operation in `tree`, one that can succeed in `m`.
fn choose(m: &Model, rng: &mut Rng, tree: &str) -> Op {
    let all = m.walk(tree);
    let dirs: Vec<&str> = all
        .iter()
        .filter(|(_, n)| matches!(n, Node::Dir(_)))
        .map(|(p, _)| p.as_str())
        .collect();
    let files: Vec<&str> = all
        .iter()
        .filter(|(_, n)| matches!(n, Node::File(_)))
        .map(|(p, _)| p.as_str())
        .collect();
    let links: Vec<&str> = all
        .iter()
        .filter(|(_, n)| matches!(n, Node::Symlink(_)))
        .map(|(p, _)| p.as_str())
        .collect();
    let depth = |p: &str| p.matches('/').count();
    let free_name = |rng: &mut Rng, dir: &str, prefix: &str, pool: u64| {
        let p = format!("{dir}/{prefix}{}", rng.below(pool));
        m.get(&p).is_none().then_some(p)
    };
    loop {
        let k = rng.below(100);
        let op = match k {
            0..=19 if files.len() < MAX_FILES => {
                let d = rng.pick(&dirs).copied().unwrap_or(tree);
                free_name(rng, d, "f", FILE_NAMES).map(Op::Create)
            }
            20..=41 => rng.pick(&files).map(|p| {
                let size = m
                    .file(p)
                    .and_then(|i| m.data.get(&i))
                    .map_or(0, |d| d.len() as u64);
                let off = match rng.below(4) {
                    0 => 0,
                    1 => size,
                    2 => rng.below(size + 8192),
                    _ => rng.below(128 * 1024),
                };
                let len = match rng.below(4) {
                    0 => 1 + rng.below(200),
                    1 => 1 + rng.below(8192),
                    2 => 4096 * (1 + rng.below(4)),
                    _ => 1 + rng.below(64 * 1024),
                };
                Op::Write(p.to_string(), off, len)
            }),
            42..=48 => rng.pick(&files).map(|p| {
                let size = m
                    .file(p)
                    .and_then(|i| m.data.get(&i))
                    .map_or(0, |d| d.len() as u64);
                Op::Trunc(p.to_string(), rng.below(size.max(8192) * 2))
            }),
            49..=54 => {
                let d = rng.pick(&dirs).copied().unwrap_or(tree);
                (depth(d) < MAX_DEPTH)
                    .then(|| free_name(rng, d, "d", DIR_NAMES).map(Op::Mkdir))
                    .flatten()
            }
            55..=58 => {
                let empty: Vec<&str> = dirs
                    .iter()
                    .copied()
                    .filter(|&d| d != tree && m.dir(d).is_some_and(|e| e.is_empty()))
                    .collect();
                rng.pick(&empty).map(|d| Op::Rmdir(d.to_string()))
            }
            59..=71 => {
                let src = rng.pick(&all).map(|(p, n)| (p.as_str(), *n));
                let to = rng.pick(&dirs).copied().unwrap_or(tree);
                match src {
                    Some((s, Node::Dir(_)))
                        if s != tree && !within(to, s) && depth(to) < MAX_DEPTH =>
                    {
                        let b = format!("{to}/d{}", rng.below(DIR_NAMES));
                        let ok = match m.get(&b) {
                            None => true,
                            Some(Node::Dir(d)) => d.is_empty() && !within(&b, s),
                            _ => false,
                        };
                        (ok && b != s).then(|| Op::Rename(s.to_string(), b))
                    }
                    Some((s, Node::File(_) | Node::Symlink(_))) => {
                        let b = if matches!(m.get(s), Some(Node::Symlink(_))) {
                            format!("{to}/l{}", rng.below(LINK_NAMES))
                        } else {
                            format!("{to}/f{}", rng.below(FILE_NAMES))
                        };
                        let ok = matches!(m.get(&b), None | Some(Node::File(_) | Node::Symlink(_)));
                        (ok && b != s).then(|| Op::Rename(s.to_string(), b))
                    }
                    _ => None,
                }
            }
            72..=78 => rng.pick(&files).and_then(|&a| {
                let d = rng.pick(&dirs).copied().unwrap_or(tree);
                free_name(rng, d, "f", FILE_NAMES).map(|b| Op::Link(a.to_string(), b))
            }),
            79..=91 => {
                let v = if rng.below(5) == 0 && !links.is_empty() {
                    &links
                } else {
                    &files
                };
                rng.pick(v).map(|p| Op::Unlink(p.to_string()))
            }
            92..=95 => {
                let d = rng.pick(&dirs).copied().unwrap_or(tree);
                free_name(rng, d, "l", LINK_NAMES).map(|p| {
                    let target = format!("target-{}", rng.below(1000));
                    Op::Symlink(p, target)
                })
            }
            _ if tree == "ret" => rng.pick(&all).map(|(p, _)| Op::Fsync(p.clone())),
            _ => None,
        };
        if let Some(op) = op {
            return op;
        }
    }
}

fn fsync_dir(dir: &Path, rel: &str) -> Res<()> {
    sys::fsync_path(dir.join(rel))
}

fn fsync_file(dir: &Path, rel: &str) -> Res<()> {
    sys::open(dir.join(rel), libc::O_RDONLY | libc::O_NOFOLLOW, 0)?.sync_all()?;
    Ok(())
}

/// Runs `op` in `dir`; with `synced`, then fsyncs what it changed.
fn exec(dir: &Path, op: &Op, seq: u64, seed: u64, synced: bool) -> Res<()> {
    let at = |p: &str| dir.join(p);
    match op {
        Op::Create(p) => {
            sys::open(at(p), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644)?;
            if synced {
                fsync_file(dir, p)?;
                fsync_dir(dir, parent(p))?;
            }
        }
        Op::Write(p, off, len) => {
            let f = sys::open(at(p), libc::O_WRONLY, 0)?;
            f.write_all_at(&data(seed, seq, *len), *off)?;
            if synced {
                f.sync_all()?;
            }
        }
        Op::Trunc(p, size) => {
            let f = sys::open(at(p), libc::O_WRONLY, 0)?;
            f.set_len(*size)?;
            if synced {
                f.sync_all()?;
            }
        }
        Op::Mkdir(p) => {
            std::fs::create_dir(at(p))?;
            if synced {
                fsync_dir(dir, p)?;
                fsync_dir(dir, parent(p))?;
            }
        }
        Op::Rmdir(p) => {
            std::fs::remove_dir(at(p))?;
            if synced {
                fsync_dir(dir, parent(p))?;
            }
        }
        Op::Rename(a, b) => {
            std::fs::rename(at(a), at(b))?;
            if synced {
                fsync_dir(dir, parent(a))?;
                fsync_dir(dir, parent(b))?;
            }
        }
        Op::Link(a, b) => {
            std::fs::hard_link(at(a), at(b))?;
            if synced {
                fsync_file(dir, b)?;
                fsync_dir(dir, parent(b))?;
            }
        }
        Op::Unlink(p) => {
            std::fs::remove_file(at(p))?;
            if synced {
                fsync_dir(dir, parent(p))?;
            }
        }
        Op::Symlink(p, t) => {
            std::os::unix::fs::symlink(t, at(p))?;
            if synced {
                fsync_dir(dir, parent(p))?;
            }
        }
        Op::Fsync(p) => {
            let ft = std::fs::symlink_metadata(at(p))?.file_type();
            if ft.is_dir() {
                fsync_dir(dir, p)?;
            } else if ft.is_symlink() {
                // A symlink cannot be opened to fsync it; its directory can.
                fsync_dir(dir, parent(p))?;
            } else {
                fsync_file(dir, p)?;
            }
        }
    }
    Ok(())
}

/// The log: each record appended and fsynced before the workload goes on.
struct Log(File);

impl Log {
    fn record(&mut self, line: &str) -> Result<(), String> {
        self.0
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.0.sync_data())
            .map_err(|e| format!("writing the log: {e}"))
    }
}

pub fn run(dir: &Path, log: &Path, o: &CrashOptions) -> Result<bool, String> {
    let seed = o.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        t ^ u64::from(std::process::id()).rotate_left(32)
    });
    let err = |what: &str, e: Errno| format!("{what}: {e}");
    // The trees exist, durably, before the log says anything.
    std::fs::create_dir(dir).map_err(|e| err(&format!("mkdir {}", dir.display()), e.into()))?;
    for t in TREES {
        std::fs::create_dir(dir.join(t)).map_err(|e| err("mkdir", e.into()))?;
        sys::fsync_path(dir.join(t)).map_err(|e| err("fsync", e))?;
    }
    sys::fsync_path(dir).map_err(|e| err("fsync", e))?;
    if let Some(p) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sys::fsync_path(p).map_err(|e| err("fsync", e))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let mut log_file = Log(f);
    log_file.record(&format!("{HEADER} seed={seed}"))?;
    eprintln!(
        "crash-run: seed {seed}, in {}, log {}",
        dir.display(),
        log.display()
    );
    let mut log = log_file;

    let mut model = Model::new();
    let mut rng = Rng(seed);
    let mut seq = 0u64;
    while o.ops.is_none_or(|n| seq < n) {
        seq += 1;
        let tree = TREES[rng.below(2) as usize];
        let synced = tree == "sync";
        let op = choose(&model, &mut rng, tree);
        log.record(&format!(
            "I {seq} {} {op}",
            if synced { "sync" } else { "ret" }
        ))?;
        exec(dir, &op, seq, seed, synced)
            .map_err(|e| format!("operation {seq} ({op}) failed: {e}"))?;
        log.record(&format!("D {seq}"))?;
        model
            .apply(&op, seq, seed)
            .map_err(|e| format!("operation {seq} ({op}): the model disagrees: {e}"))?;
        if seq.is_multiple_of(100) {
            eprintln!("crash-run: {seq} operations");
        }
    }
    eprintln!("crash-run: {seq} operations, stopping");
    Ok(true)
}

/// The tree as found on the filesystem.
#[derive(Debug)]
enum Found {
    Dir(u64, BTreeMap<String, Found>),
    File { ino: u64, nlink: u64, data: Vec<u8> },
    Symlink(String),
    Other(u32),
}

fn scan(p: &Path) -> Res<Found> {
    let md = std::fs::symlink_metadata(p)?;
    let ft = md.file_type();
    Ok(if ft.is_dir() {
        let mut entries = BTreeMap::new();
        for e in std::fs::read_dir(p)? {
            let e = e?;
            entries.insert(
                e.file_name().to_string_lossy().into_owned(),
                scan(&e.path())?,
            );
        }
        Found::Dir(md.nlink(), entries)
    } else if ft.is_file() {
        Found::File {
            ino: md.ino(),
            nlink: md.nlink(),
            data: std::fs::read(p)?,
        }
    } else if ft.is_symlink() {
        Found::Symlink(std::fs::read_link(p)?.to_string_lossy().into_owned())
    } else {
        Found::Other(md.mode())
    })
}

/// A write that was in flight: its file may hold any mix of the old and new bytes.
struct Torn {
    ino: u64,
    before: Vec<u8>,
    after: Vec<u8>,
}

/// Compares the found tree with a model, collecting differences.
struct Compare<'a> {
    model: &'a Model,
    links: HashMap<u64, u64>,
    torn: Option<&'a Torn>,
    /// Model inode to found inode, and back: hard links must be the same file.
    ino_map: HashMap<u64, u64>,
    ino_back: HashMap<u64, u64>,
    diffs: Vec<String>,
}

impl Compare<'_> {
    fn diff(&mut self, s: String) {
        self.diffs.push(s);
    }

    fn content_ok(&self, ino: u64, got: &[u8]) -> bool {
        let want = self.model.data.get(&ino).map_or(&[][..], Vec::as_slice);
        if got == want {
            return true;
        }
        let Some(t) = self.torn.filter(|t| t.ino == ino) else {
            return false;
        };
        (got.len() == t.before.len() || got.len() == t.after.len())
            && got.iter().enumerate().all(|(i, &b)| {
                b == t.before.get(i).copied().unwrap_or(0) || t.after.get(i) == Some(&b)
            })
    }

    fn dir(&mut self, path: &str, want: &BTreeMap<String, Node>, got: &BTreeMap<String, Found>) {
        for name in got.keys().filter(|n| !want.contains_key(*n)) {
            self.diff(format!("{path}/{name}: exists, but should not"));
        }
        for (name, w) in want {
            let p = format!("{path}/{name}");
            match got.get(name) {
                None => self.diff(format!("{p}: missing")),
                Some(g) => self.node(&p, w, g),
            }
        }
    }

    fn node(&mut self, p: &str, want: &Node, got: &Found) {
        match (want, got) {
            (Node::Dir(w), Found::Dir(nlink, g)) => {
                let subdirs = w.values().filter(|n| matches!(n, Node::Dir(_))).count() as u64;
                if *nlink != 2 + subdirs {
                    self.diff(format!(
                        "{p}: directory has {nlink} links, expected {}",
                        2 + subdirs
                    ));
                }
                self.dir(p, w, g);
            }
            (Node::File(mino), Found::File { ino, nlink, data }) => {
                if !self.content_ok(*mino, data) {
                    let want = self.model.data.get(mino).map_or(0, Vec::len);
                    self.diff(format!(
                        "{p}: wrong content ({} bytes, expected {want})",
                        data.len()
                    ));
                }
                let links = self.links.get(mino).copied().unwrap_or(0);
                if *nlink != links {
                    self.diff(format!("{p}: {nlink} links, expected {links}"));
                }
                if *self.ino_map.entry(*mino).or_insert(*ino) != *ino
                    || *self.ino_back.entry(*ino).or_insert(*mino) != *mino
                {
                    self.diff(format!("{p}: hard links do not match the log"));
                }
            }
            (Node::Symlink(w), Found::Symlink(g)) => {
                if w != g {
                    self.diff(format!("{p}: symlink to '{g}', expected '{w}'"));
                }
            }
            (w, g) => {
                let kind = match w {
                    Node::Dir(_) => "directory",
                    Node::File(_) => "file",
                    Node::Symlink(_) => "symlink",
                };
                let found = match g {
                    Found::Dir(..) => "a directory".to_string(),
                    Found::File { .. } => "a file".to_string(),
                    Found::Symlink(_) => "a symlink".to_string(),
                    Found::Other(mode) => format!("mode {mode:o}"),
                };
                self.diff(format!("{p}: {found}, expected a {kind}"));
            }
        }
    }
}

/// The differences between the tree found and `model`, in the checked trees.
fn compare(
    model: &Model,
    found: &BTreeMap<String, Found>,
    trees: &[&str],
    torn: Option<&Torn>,
) -> Vec<String> {
    let mut c = Compare {
        model,
        links: model.link_counts(),
        torn,
        ino_map: HashMap::new(),
        ino_back: HashMap::new(),
        diffs: Vec::new(),
    };
    for t in trees {
        match (model.root.get(*t), found.get(*t)) {
            (Some(w), Some(g)) => c.node(t, w, g),
            (Some(_), None) => c.diff(format!("{t}: missing")),
            _ => {}
        }
    }
    c.diffs
}

/// A parsed log: the seed, the completed operations, and the one in flight.
struct Parsed {
    seed: u64,
    done: Vec<(u64, bool, Op)>,
    in_flight: Option<(u64, bool, Op)>,
}

fn parse_log(text: &str) -> Result<Option<Parsed>, String> {
    // A record is complete only with its newline: a torn last line was never acknowledged.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => return Ok(None),
    };
    let mut lines = complete.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Ok(None);
    };
    let seed = header
        .strip_prefix(HEADER)
        .and_then(|r| r.trim().strip_prefix("seed="))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("line 1: not a crash log header: {header}"))?;
    let mut p = Parsed {
        seed,
        done: Vec::new(),
        in_flight: None,
    };
    for (i, line) in lines {
        let bad = || format!("line {}: bad record: {line}", i + 1);
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["I", seq, g, op @ ..] => {
                if p.in_flight.is_some() {
                    return Err(format!("line {}: two operations in flight", i + 1));
                }
                let seq = seq.parse().map_err(|_| bad())?;
                let synced = match *g {
                    "sync" => true,
                    "ret" => false,
                    _ => return Err(bad()),
                };
                p.in_flight = Some((seq, synced, Op::parse(op).ok_or_else(bad)?));
            }
            ["D", seq] => match p.in_flight.take() {
                Some(f) if seq.parse() == Ok(f.0) => p.done.push(f),
                _ => return Err(format!("line {}: done without its intent: {line}", i + 1)),
            },
            _ => return Err(bad()),
        }
    }
    Ok(Some(p))
}

pub fn check(dir: &Path, log: &Path, o: &CrashOptions) -> Result<bool, String> {
    let text = match std::fs::read_to_string(log) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", log.display())),
    };
    // A log without its header line means the workload never started: nothing could be
    // checked, and a check that saw nothing must not pass.
    let Some(p) = parse_log(&text).map_err(|e| format!("{}: {e}", log.display()))? else {
        return Err(format!(
            "{}: no complete header line: the workload had not started, nothing to check",
            log.display()
        ));
    };
    let mut model = Model::new();
    for (seq, _, op) in &p.done {
        model
            .apply(op, *seq, p.seed)
            .map_err(|e| format!("operation {seq} ({op}) cannot be replayed: {e}"))?;
    }
    let synced = p.done.iter().filter(|d| d.1).count();
    println!(
        "crash-check: seed {}, {} operations done ({synced} fsynced, {} durable on return)",
        p.seed,
        p.done.len(),
        p.done.len() - synced
    );
    let trees: &[&str] = if o.synced_only { &TREES[..1] } else { &TREES };
    let found = match scan(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        Found::Dir(_, entries) => entries,
        _ => return Err(format!("{}: not a directory", dir.display())),
    };

    let mut candidates = vec![("without the operation in flight", model.clone(), None)];
    if let Some((seq, _, op)) = &p.in_flight {
        println!("crash-check: in flight: {seq} {op}");
        let mut after = model.clone();
        match after.apply(op, *seq, p.seed) {
            Ok(()) => {
                let torn = match op {
                    Op::Write(path, ..) => model.file(path).map(|ino| Torn {
                        ino,
                        before: model.data.get(&ino).cloned().unwrap_or_default(),
                        after: after.data.get(&ino).cloned().unwrap_or_default(),
                    }),
                    _ => None,
                };
                candidates.push(("with the operation in flight", after.clone(), None));
                if let Some(t) = torn {
                    candidates.push(("with the write in flight torn", after, Some(t)));
                }
            }
            Err(e) => {
                return Err(format!(
                    "operation in flight {seq} ({op}) cannot be replayed: {e}"
                ))
            }
        }
    }
    let mut report = Vec::new();
    for (what, m, torn) in &candidates {
        let diffs = compare(m, &found, trees, torn.as_ref());
        if diffs.is_empty() {
            println!("crash-check: ok: {} matches the log {what}", dir.display());
            return Ok(true);
        }
        report.push((what, diffs));
    }
    for (what, diffs) in report {
        println!("crash-check: FAIL: differences from the log {what}:");
        for d in diffs.iter().take(30) {
            println!("  {d}");
        }
        if diffs.len() > 30 {
            println!("  ... {} more", diffs.len() - 30);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_over_own_link_is_a_no_op() {
        let mut m = Model::new();
        m.apply(&Op::Create("ret/a".into()), 1, 0).unwrap();
        m.apply(&Op::Link("ret/a".into(), "ret/b".into()), 2, 0)
            .unwrap();
        m.apply(&Op::Rename("ret/a".into(), "ret/b".into()), 3, 0)
            .unwrap();
        assert!(m.get("ret/a").is_some() && m.get("ret/b").is_some());
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let p = parse_log("fstest-crash-log 1 seed=5\nI 1 ret create ret/f0\nD 1\nI 2 ret mkd")
            .unwrap()
            .unwrap();
        assert_eq!(p.done.len(), 1);
        assert!(p.in_flight.is_none());
    }

    #[test]
    fn a_log_without_a_header_is_nothing_to_check() {
        assert!(parse_log("").unwrap().is_none());
        assert!(parse_log("fstest-crash-log 1 seed=5").unwrap().is_none());
        assert!(parse_log("I 1 ret create ret/f0\nD 1\n").is_err());
        let dir = std::env::temp_dir().join(format!("fstest-crash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        std::fs::write(&log, "").unwrap();
        assert!(check(&dir, &log, &CrashOptions::default()).is_err());
        assert!(check(&dir, &dir.join("missing"), &CrashOptions::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ops_print_and_parse_back() {
        let op = Op::Write("sync/d1/f2".into(), 10, 20);
        let s = op.to_string();
        let words: Vec<&str> = s.split(' ').collect();
        assert_eq!(Op::parse(&words), Some(op));
    }
}
