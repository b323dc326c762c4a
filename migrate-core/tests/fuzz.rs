//! The mutation fuzz harness of the file parser (`format::parse`, `load::from_sources`): seeds, PRNG, mutators, oracle.
//!
//! Each iteration builds a set of 1 to 5 files from a seed folder and mutates their bytes, their
//! lines, their markers, their header values and their names, then checks that neither function
//! panics, that the result is `Ok` or a non-empty list of diagnostics, that every diagnostic
//! names one of the input files and a line that file has, and a few sharper facts (the line of a
//! `NotUtf8` diagnostic holds the first invalid byte; a graph diagnostic points at a `revision`
//! or `down_revision` line; a loaded list is in topological order).
//!
//! - `MIGRATE_FUZZ_ITERATIONS`: how many sets to run (default [`DEFAULT_ITERATIONS`]).
//! - `MIGRATE_FUZZ_SEED`: the seed, decimal or `0x` hex (default [`DEFAULT_SEED`], so CI is
//!   deterministic).
//! - `MIGRATE_FUZZ_START`: the first iteration (default 0). A set depends only on the seed and its
//!   iteration number, so a failure prints the one command that replays it.
//!
//! Long run: `MIGRATE_FUZZ_ITERATIONS=10000000 cargo test -p migrate-core --release --test fuzz -- --nocapture`.

use migrate_core::diagnostic::{Diagnostic, DiagnosticKind};
use migrate_core::format::{self, ParsedFile};
use migrate_core::load::{self, Source};
use migrate_core::migration::Migration;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

/// The seed CI runs with.
const DEFAULT_SEED: u64 = 0x6d69_6772_6174_6531;
/// Sets run by a plain `cargo test` (about 3 seconds in a debug build on a shared 2-core machine).
const DEFAULT_ITERATIONS: u64 = 12_000;
/// Below this many sets, the check that every reachable diagnostic kind was produced is skipped.
const COVERAGE_MIN_ITERATIONS: u64 = 2_000;
/// The length of the "very long line" mutations.
const LONG_LINE: usize = 100_000;
/// The most files in one set.
const MAX_FILES: usize = 5;

// ---------------------------------------------------------------------------------------------
// The PRNG: splitmix64, so a set is a pure function of (seed, iteration) with no dependency.

struct Rng(u64);

impl Rng {
    /// The generator of one iteration: independent of every other iteration.
    fn for_iteration(seed: u64, iteration: u64) -> Rng {
        let mut r = Rng(seed ^ iteration.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        unreachable!("x < sum of weights")
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds: folders that are valid, and folders broken in one known way each.

/// What a seed folder, unmutated, must give.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Valid,
    Broken(DiagnosticKind),
}

struct Folder {
    name: &'static str,
    expect: Expect,
    files: Vec<Source>,
}

/// A file in the usual layout: message, revision, down_revision, created, extra header lines,
/// the upgrade section and, if given, the downgrade section.
fn migration_text(message: &str, rev: &str, down: &str, header: &str, up: &str, downgrade: Option<&str>) -> String {
    let mut t =
        format!("-- {message}\n--\n-- revision: {rev}\n-- down_revision: {down}\n-- created: 2026-11-22T01:42:51Z\n");
    t.push_str(header);
    t.push_str("\n-- migrate:upgrade\n");
    t.push_str(up);
    t.push('\n');
    if let Some(d) = downgrade {
        t.push_str("\n-- migrate:downgrade\n");
        t.push_str(d);
        t.push('\n');
    }
    t
}

fn source(path: &str, text: &str) -> Source {
    Source {
        path: path.to_owned(),
        bytes: text.as_bytes().to_vec(),
    }
}

/// `migrations/<rev>_<slug>.sql` holding a usual file.
fn mig(rev: &str, slug: &str, down: &str, up: &str, downgrade: Option<&str>) -> Source {
    let text = migration_text(&slug.replace('_', " "), rev, down, "", up, downgrade);
    source(&format!("migrations/{rev}_{slug}.sql"), &text)
}

fn crlf(mut s: Source) -> Source {
    s.bytes = String::from_utf8(s.bytes).unwrap().replace('\n', "\r\n").into_bytes();
    s
}

fn bom(mut s: Source) -> Source {
    s.bytes.splice(0..0, "\u{feff}".bytes());
    s
}

const ROOT_ID: &str = "1975ea83b712";

fn root() -> Source {
    mig(
        ROOT_ID,
        "create_account",
        "",
        "CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);",
        Some("DROP TABLE account;"),
    )
}

fn seed_folders() -> Vec<Folder> {
    use DiagnosticKind as K;
    use Expect::{Broken, Valid};
    let trigger = "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  -- a comment; with a semicolon\n  NEW.updated = now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;";
    vec![
        Folder {
            name: "linear chain",
            expect: Valid,
            files: vec![
                root(),
                mig(
                    "2b9c41d07a3e",
                    "add_email",
                    ROOT_ID,
                    "ALTER TABLE account ADD COLUMN email TEXT;",
                    Some("ALTER TABLE account DROP COLUMN email;"),
                ),
                mig(
                    "3c5d7e9f1a2b",
                    "touch_trigger",
                    "2b9c41d07a3e",
                    trigger,
                    Some("DROP FUNCTION touch();"),
                ),
            ],
        },
        Folder {
            name: "merge of three parents",
            expect: Valid,
            files: vec![
                mig("r0", "root", "", "CREATE TABLE r (id INT);", Some("DROP TABLE r;")),
                mig("a1", "left", "r0", "CREATE TABLE a (id INT);", Some("DROP TABLE a;")),
                mig("b1", "right", "r0", "CREATE TABLE b (id INT);", Some("DROP TABLE b;")),
                mig("c1", "third", "r0", "CREATE TABLE c (id INT);", Some("DROP TABLE c;")),
                mig("m1", "merge_heads", "a1, b1, c1", "", None),
            ],
        },
        Folder {
            name: "merge of two parents, then a child",
            expect: Valid,
            files: vec![
                mig("p0", "root", "", "SELECT 1;", Some("")),
                mig("p1", "one", "p0", "SELECT 2;", Some("")),
                mig("p2", "two", "p0", "SELECT 3;", Some("")),
                mig("pm", "merge", "p2,p1", "", Some("")),
                mig("p3", "after", "pm", "SELECT 4;", Some("SELECT 5;")),
            ],
        },
        Folder {
            name: "no-transaction",
            expect: Valid,
            files: vec![root(), {
                let text = migration_text(
                    "index concurrently",
                    "4d6e8f0a1b2c",
                    ROOT_ID,
                    "-- migrate:no-transaction\n",
                    "CREATE INDEX CONCURRENTLY account_name ON account (name);",
                    Some("DROP INDEX CONCURRENTLY account_name;"),
                );
                source("migrations/4d6e8f0a1b2c_index.sql", &text)
            }],
        },
        Folder {
            name: "irreversible (no downgrade)",
            expect: Valid,
            files: vec![
                mig("x1", "seed_data", "", "INSERT INTO t VALUES (1);", None),
                mig("x2", "drop_old", "x1", "DROP TABLE old;\nDELETE FROM t;", None),
            ],
        },
        Folder {
            name: "empty downgrade",
            expect: Valid,
            files: vec![
                mig("e1", "noop", "", "SELECT 1;", Some("")),
                source(
                    "migrations/e2_marker_last.sql",
                    "-- marker last\n-- revision: e2\n-- down_revision: e1\n-- migrate:upgrade\nSELECT 2;\n-- migrate:downgrade",
                ),
            ],
        },
        Folder {
            name: "CRLF",
            expect: Valid,
            files: vec![
                crlf(root()),
                crlf(mig(
                    "2b9c41d07a3e",
                    "add_email",
                    ROOT_ID,
                    "ALTER TABLE account ADD COLUMN email TEXT;",
                    None,
                )),
            ],
        },
        Folder {
            name: "BOM",
            expect: Valid,
            files: vec![
                bom(root()),
                bom(crlf(mig(
                    "2b9c41d07a3e",
                    "add_email",
                    ROOT_ID,
                    "SELECT 1;",
                    Some("SELECT 2;"),
                ))),
            ],
        },
        Folder {
            name: "minimal and tight",
            expect: Valid,
            files: vec![
                source("m.sql", "-- revision: m\n-- down_revision:\n-- migrate:upgrade"),
                source(
                    "sub/dir/mm_tight.sql",
                    "--tight\n--revision:mm\n--down_revision:m\n--migrate:no-transaction\n\t--  migrate:upgrade  \nVACUUM;",
                ),
            ],
        },
        Folder {
            name: "bad header",
            expect: Broken(K::BadHeader),
            files: vec![
                root(),
                source(
                    "migrations/bh_sql_in_header.sql",
                    "-- sql in header\n-- revision: bh\n-- down_revision: 1975ea83b712\nCREATE TABLE t (id INT);\n-- migrate:upgrade\n",
                ),
                source(
                    "migrations/head_reserved.sql",
                    "-- reserved\n-- revision: head\n-- revision: head2\n-- down_revision: a b, ,a\n-- down_revision:\n-- migrate:upgrad\n-- migrate:upgrade\n-- migrate:no-transaction\n-- migrate:upgrade\n",
                ),
            ],
        },
        Folder {
            name: "missing upgrade marker",
            expect: Broken(K::MissingUpgrade),
            files: vec![
                root(),
                source(
                    "migrations/mu_missing.sql",
                    "-- missing marker\n-- revision: mu\n-- down_revision: 1975ea83b712\n\nCREATE TABLE t (id INT);\n",
                ),
            ],
        },
        Folder {
            name: "name mismatch",
            expect: Broken(K::NameMismatch),
            files: vec![root(), mig("b3", "x", ROOT_ID, "SELECT 1;", Some("")), {
                let mut s = mig("b3", "x", ROOT_ID, "SELECT 1;", Some(""));
                s.path = "migrations/b2_x.sql".into();
                s
            }],
        },
        Folder {
            name: "duplicate ids",
            expect: Broken(K::DuplicateRevision),
            files: vec![
                root(),
                mig("d1", "one", ROOT_ID, "SELECT 1;", Some("")),
                mig("d1", "two", ROOT_ID, "SELECT 2;", Some("")),
            ],
        },
        Folder {
            name: "dangling parent",
            expect: Broken(K::DanglingParent),
            files: vec![root(), mig("c2", "child", "1975ea83b7", "SELECT 1;", None)],
        },
        Folder {
            name: "cycle",
            expect: Broken(K::Cycle),
            files: vec![
                mig("r", "root", "", "SELECT 0;", Some("")),
                mig("c1", "one", "r, c3", "SELECT 1;", Some("")),
                mig("c2", "two", "c1", "SELECT 2;", Some("")),
                mig("c3", "three", "c2", "SELECT 3;", Some("")),
            ],
        },
        Folder {
            name: "self loop",
            expect: Broken(K::Cycle),
            files: vec![
                mig("r", "root", "", "SELECT 0;", Some("")),
                mig("s", "self", "s, r", "SELECT 1;", Some("")),
            ],
        },
        Folder {
            name: "several roots joined by a merge",
            expect: Valid,
            files: vec![
                mig("ra", "root_a", "", "SELECT 1;", Some("")),
                mig("rb", "root_b", "", "SELECT 2;", Some("")),
                mig("rm", "merge", "ra, rb", "", None),
            ],
        },
        Folder {
            name: "unmerged heads",
            expect: Broken(K::UnmergedHeads),
            files: vec![
                root(),
                mig("h1", "one", ROOT_ID, "SELECT 1;", Some("")),
                mig("h2", "two", ROOT_ID, "SELECT 2;", Some("")),
            ],
        },
        Folder {
            name: "not UTF-8",
            expect: Broken(K::NotUtf8),
            files: vec![root(), {
                let mut s = mig("u1", "latin1", ROOT_ID, "INSERT INTO t VALUES ('caf\u{e9}');", None);
                let at = s.bytes.windows(2).position(|w| w == "\u{e9}".as_bytes()).unwrap();
                s.bytes.splice(at..at + 2, [0xe9]);
                s
            }],
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Mutators.

/// Byte strings worth inserting: line breaks, control bytes, BOMs, invalid UTF-8, multi-byte
/// characters (some of them Unicode whitespace), and the parser's own punctuation.
#[rustfmt::skip]
const CHUNKS: &[&[u8]] = &[
    b"\n", b"\r", b"\r\n", b"\n\r", b"\0", b"\x01", b"\x07", b"\x08", b"\t", b"\x0b", b"\x0c", b"\x1b", b"\x1f", b"\x7f",
    b" ", b":", b",", b", ", b"-", b"--", b"-- ", b"_", b".sql",
    // BOM, then invalid UTF-8: lone continuation bytes, overlong, truncated, surrogate, above U+10FFFF.
    b"\xef\xbb\xbf", b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80", b"\xf0\x9f\x98",
    // Valid multi-byte: e-acute, U+2028, U+0085 (NEL), U+00A0, U+3000 (the last four are whitespace), an emoji.
    b"\xc3\xa9", b"\xe2\x80\xa8", b"\xc2\x85", b"\xc2\xa0", b"\xe3\x80\x80", b"\xf0\x9f\x98\x80",
    b"-- migrate:", b"migrate:upgrade", b"revision:", b"down_revision:", b"-- revision: ", b"-- down_revision: ",
];

/// Marker lines, exact and near misses.
const MARKERS: &[&str] = &[
    "-- migrate:upgrade",
    "-- migrate:downgrade",
    "-- migrate:no-transaction",
    "--migrate:upgrade",
    "   -- migrate:downgrade   ",
    "-- migrate: upgrade",
    "-- migrate :upgrade",
    "-- migrate:upgrad",
    "-- migrate:",
    "-- MIGRATE:upgrade",
    "-- migrate:Downgrade",
    "-- migrate:upgrade -- again",
    "--\tmigrate:no-transaction",
    "- migrate:upgrade",
    "SELECT 1; -- migrate:upgrade",
    "-- migrate:downgrade\r",
    "\u{feff}-- migrate:upgrade",
    "\u{a0}-- migrate:upgrade\u{3000}",
];

/// Values put after `revision:` and `down_revision:`, and ids put in file names.
fn tokens() -> Vec<String> {
    #[rustfmt::skip]
    let words = [
        "", " ", "a", "A", "_", "head", "base", "HEAD", ROOT_ID, "2b9c41d07a3e", "r0", "a1", "m1", "r", "s",
        "a b", "a-b", "a,b", "a, a", "a,,b", ",", "a,", " ,a", "a:b", "revision: a",
        "caf\u{e9}", "\u{feff}a", "a\u{0}", "a\u{2028}b", "1975ea83b712, 2b9c41d07a3e, 3c5d7e9f1a2b",
    ];
    let mut t: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    t.push("f".repeat(format::MAX_REVISION_LEN));
    t.push("f".repeat(format::MAX_REVISION_LEN + 1));
    t.push(format!("{}é", "f".repeat(format::MAX_REVISION_LEN - 1)));
    t
}

/// Splits into lines, each keeping its `\n` (the last one may have none).
fn split_lines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec).collect()
}

fn with_newline(mut line: Vec<u8>) -> Vec<u8> {
    if !line.ends_with(b"\n") {
        line.push(b'\n');
    }
    line
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Replaces every `from` with `to`.
fn replace_all(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Turns the lines back into bytes, putting a line in at `at` (clamped).
fn insert_line(lines: &mut Vec<Vec<u8>>, at: usize, line: Vec<u8>) {
    let at = at.min(lines.len());
    if at == lines.len() {
        if let Some(last) = lines.last_mut() {
            if !last.ends_with(b"\n") {
                last.push(b'\n');
            }
        }
        lines.push(line);
    } else {
        lines.insert(at, with_newline(line));
    }
}

/// The value of a `...revision: value` line, as the byte range after the first `:` and before
/// the line break.
fn value_range(line: &[u8]) -> Option<std::ops::Range<usize>> {
    let colon = line.iter().position(|&c| c == b':')?;
    let mut end = line.len();
    while end > colon + 1 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    Some(colon + 1..end)
}

fn set_value(line: &mut Vec<u8>, value: &[u8]) {
    if let Some(r) = value_range(line) {
        let mut v = vec![b' '];
        v.extend_from_slice(value);
        line.splice(r, v);
    }
}

fn long_line(rng: &mut Rng) -> Vec<u8> {
    let n = LONG_LINE;
    match rng.below(7) {
        0 => vec![b'a'; n],
        1 => [b"-- ".as_slice(), &vec![b'x'; n]].concat(),
        2 => [b"-- revision: ".as_slice(), &vec![b'a'; n]].concat(),
        3 => [b"-- down_revision: ".as_slice(), &b"a,".repeat(n / 2)].concat(),
        4 => "\u{e9}".repeat(n / 2).into_bytes(),
        5 => vec![b' '; n],
        _ => [b"-- migrate:".as_slice(), &vec![b'u'; n]].concat(),
    }
}

/// Applies one mutation to the bytes of a file. `pool` is every seed file, for splicing.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, pool: &[&Source], toks: &[String]) {
    const WEIGHTS: &[usize] = &[
        6,  // 0 flip a bit
        4,  // 1 set a byte
        8,  // 2 insert an interesting chunk
        3,  // 3 insert random bytes
        5,  // 4 delete a range
        3,  // 5 truncate
        5,  // 6 duplicate a line
        5,  // 7 delete a line
        3,  // 8 swap two lines
        4,  // 9 shuffle the header lines
        10, // 10 marker: move, duplicate, drop or insert
        8,  // 11 header value
        4,  // 12 line endings
        3,  // 13 BOM
        1,  // 14 very long line
        2,  // 15 empty file
        3,  // 16 splice from another file
        2,  // 17 control bytes run
    ];
    let len = b.len();
    match rng.weighted(WEIGHTS) {
        0 if len > 0 => {
            let i = rng.below(len);
            b[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            b[i] = if rng.one_in(2) {
                rng.next_u64() as u8
            } else {
                *rng.pick(b"\0\r\n\t :,-_\x7f\x80\xff")
            };
        }
        2 => {
            let at = rng.below(len + 1);
            let chunk = *rng.pick(CHUNKS);
            b.splice(at..at, chunk.iter().copied());
        }
        3 => {
            let at = rng.below(len + 1);
            let n = rng.between(1, 8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            b.splice(at..at, bytes);
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = rng.between(1, 32.min(len - at));
            b.drain(at..at + n);
        }
        5 => b.truncate(rng.below(len + 1)),
        op @ 6..=9 => {
            let mut lines = split_lines(b);
            let n = lines.len();
            match op {
                6 if n > 0 => {
                    let l = lines[rng.below(n)].clone();
                    let at = rng.below(n + 1);
                    insert_line(&mut lines, at, l);
                }
                7 if n > 0 => {
                    lines.remove(rng.below(n));
                }
                8 if n > 1 => {
                    let (i, j) = (rng.below(n), rng.below(n));
                    lines.swap(i, j);
                }
                9 => {
                    let header = lines.iter().position(|l| contains(l, b"migrate:upgrade")).unwrap_or(n);
                    for i in (1..header).rev() {
                        let j = rng.below(i + 1);
                        lines.swap(i, j);
                    }
                    // A line that lost its `\n` in the middle would glue onto the next one; keep
                    // them apart so the shuffle only reorders.
                    for l in lines.iter_mut().take(header.min(n.saturating_sub(1))) {
                        if !l.ends_with(b"\n") {
                            l.push(b'\n');
                        }
                    }
                }
                _ => {}
            }
            *b = lines.concat();
        }
        10 => {
            let mut lines = split_lines(b);
            let markers: Vec<usize> = (0..lines.len()).filter(|&i| contains(&lines[i], b"migrate:")).collect();
            let n = lines.len();
            match rng.below(4) {
                0 if !markers.is_empty() => {
                    let l = lines.remove(*rng.pick(&markers));
                    let at = rng.below(n);
                    insert_line(&mut lines, at, l);
                }
                1 if !markers.is_empty() => {
                    let l = lines[*rng.pick(&markers)].clone();
                    let at = rng.below(n + 1);
                    insert_line(&mut lines, at, l);
                }
                2 if !markers.is_empty() => {
                    lines.remove(*rng.pick(&markers));
                }
                _ => {
                    let m = if rng.one_in(3) {
                        *rng.pick(MARKERS)
                    } else {
                        *rng.pick(&MARKERS[..3])
                    };
                    let at = rng.below(n + 1);
                    insert_line(&mut lines, at, m.as_bytes().to_vec());
                }
            }
            *b = lines.concat();
        }
        11 => {
            let mut lines = split_lines(b);
            let sites: Vec<usize> = (0..lines.len()).filter(|&i| contains(&lines[i], b"revision")).collect();
            if !sites.is_empty() {
                let i = *rng.pick(&sites);
                set_value(&mut lines[i], rng.pick(toks).as_bytes());
                *b = lines.concat();
            }
        }
        12 => {
            *b = match rng.below(5) {
                0 => replace_all(&replace_all(b, b"\r\n", b"\n"), b"\n", b"\r\n"),
                1 => replace_all(b, b"\r\n", b"\n"),
                2 => replace_all(&replace_all(b, b"\r\n", b"\n"), b"\n", b"\r"),
                3 => replace_all(b, b"\n", b"\n\r"),
                _ => {
                    // One line's ending only.
                    let mut lines = split_lines(b);
                    if !lines.is_empty() {
                        let i = rng.below(lines.len());
                        let l = &mut lines[i];
                        while matches!(l.last(), Some(b'\n' | b'\r')) {
                            l.pop();
                        }
                        let endings: [&[u8]; 5] = [b"\r\n", b"\r", b"\n", b"", b"\r\r\n"];
                        let ending: &&[u8] = rng.pick(&endings);
                        l.extend_from_slice(ending);
                    }
                    lines.concat()
                }
            };
        }
        13 => {
            const BOM: &[u8] = b"\xef\xbb\xbf";
            match rng.below(4) {
                0 => {
                    b.splice(0..0, BOM.iter().copied());
                }
                1 => {
                    if b.starts_with(BOM) {
                        b.drain(..3);
                    }
                }
                2 => {
                    b.splice(0..0, BOM.repeat(2));
                }
                _ => {
                    let at = rng.below(len + 1);
                    b.splice(at..at, BOM.iter().copied());
                }
            }
        }
        14 => {
            let mut lines = split_lines(b);
            let at = rng.below(lines.len() + 1);
            let l = long_line(rng);
            insert_line(&mut lines, at, l);
            *b = lines.concat();
        }
        15 => {
            *b = rng
                .pick(&[
                    &b""[..],
                    b"\n",
                    b"\xef\xbb\xbf",
                    b"\r\n",
                    b"  \n\t\n",
                    b"--\n",
                    b"-- migrate:upgrade\n",
                ])
                .to_vec();
        }
        16 => {
            let other = &rng.pick(pool).bytes;
            if !other.is_empty() {
                let from = rng.below(other.len());
                let to = rng.between(from, other.len());
                let at = rng.below(len + 1);
                if rng.one_in(2) {
                    b.splice(at..at, other[from..to].iter().copied());
                } else {
                    // Crossover: this file's head, the other's tail.
                    b.truncate(at);
                    b.extend_from_slice(&other[from..]);
                }
            }
        }
        17 => {
            let at = rng.below(len + 1);
            let n = rng.between(1, 16);
            let run: Vec<u8> = (0..n)
                .map(|_| (rng.below(32) as u8) | if rng.one_in(8) { 0x7f } else { 0 })
                .collect();
            b.splice(at..at, run);
        }
        _ => {} // the chosen mutation did not apply (e.g. flipping a byte of an empty file)
    }
}

/// Mutates a file's path: its id, its extension, its folder.
fn mutate_name(rng: &mut Rng, path: &mut String, others: &[String], toks: &[String]) {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (path[..=i].to_owned(), path[i + 1..].to_owned()),
        None => (String::new(), path.clone()),
    };
    let (id, rest) = match name.find('_') {
        Some(i) => (name[..i].to_owned(), name[i..].to_owned()),
        None => match name.strip_suffix(".sql") {
            Some(stem) => (stem.to_owned(), ".sql".to_owned()),
            None => (name.clone(), String::new()),
        },
    };
    *path = match rng.below(10) {
        0 => format!("{dir}{}{rest}", rng.pick(toks)),
        1 => {
            // One character of the id changed, added or removed.
            let mut id: Vec<char> = id.chars().collect();
            match rng.below(3) {
                0 if !id.is_empty() => {
                    let i = rng.below(id.len());
                    id[i] = *rng.pick(&['a', 'Z', '0', '_', '-', '.', ' ', '\u{e9}']);
                }
                1 => {
                    let i = rng.below(id.len() + 1);
                    id.insert(i, *rng.pick(&['a', '0', '_', 'x']));
                }
                _ if !id.is_empty() => {
                    id.remove(rng.below(id.len()));
                }
                _ => {}
            }
            format!("{dir}{}{rest}", id.into_iter().collect::<String>())
        }
        2 => {
            let stem = name.strip_suffix(".sql").unwrap_or(&name);
            let ext = rng.pick(&[
                ".sql", ".SQL", ".sql.bak", ".txt", "", ".sql~", ".sql ", ".", "_.sql", ".sql.sql",
            ]);
            format!("{dir}{stem}{ext}")
        }
        3 => format!("{dir}.{name}"),
        4 => format!("{dir}{id}.sql"),
        5 => {
            let d = rng.pick(&[
                "",
                "migrations/",
                "./migrations/",
                "a/b/c/",
                "migrations\\",
                "/abs/migrations/",
                "migrations//",
                "é/",
            ]);
            format!("{d}{name}")
        }
        6 => rng
            .pick(&[
                "",
                "/",
                "migrations/",
                ".sql",
                "_.sql",
                "migrations/.sql",
                "\u{feff}a_x.sql",
            ])
            .to_string(),
        7 if !others.is_empty() => rng.pick(others).clone(),
        8 => format!("{dir}{id}{rest}{}", rng.pick(&["/", " ", "\u{0}", "\n"])),
        _ => format!("{dir}{id}{}{rest}", rng.pick(&["x", "_", "0", ".sql"])),
    };
}

/// Where a `revision:` or `down_revision:` value sits: file index and line index.
fn value_sites(files: &[Source]) -> Vec<(usize, usize)> {
    let mut sites = Vec::new();
    for (f, s) in files.iter().enumerate() {
        for (l, line) in split_lines(&s.bytes).iter().enumerate() {
            if contains(line, b"revision:") && value_range(line).is_some() {
                sites.push((f, l));
            }
        }
    }
    sites
}

fn value_at(files: &[Source], (f, l): (usize, usize)) -> Vec<u8> {
    let lines = split_lines(&files[f].bytes);
    let r = value_range(&lines[l]).expect("a site has a value");
    lines[l][r].trim_ascii().to_vec()
}

fn set_value_at(files: &mut [Source], (f, l): (usize, usize), value: &[u8]) {
    let mut lines = split_lines(&files[f].bytes);
    set_value(&mut lines[l], value);
    files[f].bytes = lines.concat();
}

/// One mutation of the set as a whole: header values moved between files, files added,
/// dropped, duplicated or renamed after one another.
fn mutate_set(rng: &mut Rng, files: &mut Vec<Source>, seeds: &[Folder]) {
    match rng.below(6) {
        0..=2 => {
            let sites = value_sites(files);
            if sites.is_empty() {
                return;
            }
            let (a, b) = (*rng.pick(&sites), *rng.pick(&sites));
            let (va, vb) = (value_at(files, a), value_at(files, b));
            match rng.below(3) {
                0 => {
                    // Swap the two values (revision <-> down_revision, or across files).
                    set_value_at(files, a, &vb);
                    set_value_at(files, b, &va);
                }
                1 => set_value_at(files, b, &va),
                _ => {
                    // Append as a further parent: makes merges, duplicates and cycles.
                    let mut v = vb.clone();
                    if !v.is_empty() {
                        v.extend_from_slice(b", ");
                    }
                    v.extend_from_slice(&va);
                    set_value_at(files, b, &v);
                }
            }
        }
        3 if files.len() < MAX_FILES => {
            let folder = rng.pick(seeds);
            files.push(rng.pick(&folder.files).clone());
        }
        4 if files.len() > 1 => {
            let i = rng.below(files.len());
            files.remove(i);
        }
        _ if files.len() < MAX_FILES => {
            let f = rng.pick(files).clone();
            let at = rng.below(files.len() + 1);
            files.insert(at, f);
        }
        _ => {}
    }
}

/// The set of one iteration.
fn generate(rng: &mut Rng, seeds: &[Folder], pool: &[&Source], toks: &[String]) -> Vec<Source> {
    let folder = rng.pick(seeds);
    let mut files = folder.files.clone();
    while files.len() > MAX_FILES {
        files.remove(rng.below(files.len()));
    }
    // 1 to 8 mutations, fewer more often.
    let mut n = 1;
    while n < 8 && rng.one_in(2) {
        n += 1;
    }
    for _ in 0..n {
        match rng.weighted(&[80, 10, 10]) {
            0 => {
                let i = rng.below(files.len());
                mutate_bytes(rng, &mut files[i].bytes, pool, toks);
            }
            1 => {
                let i = rng.below(files.len());
                let others: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
                mutate_name(rng, &mut files[i].path, &others, toks);
            }
            _ => mutate_set(rng, &mut files, seeds),
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/// The lines of a file as `format::parse` numbers them. `parse` drops a leading BOM, turns
/// CRLF and lone CR into LF (`checksum::normalise`), then splits on `\n`: so CRLF, lone CR and
/// LF each end a line, and the text after the last break is a line too, even when empty. A
/// file ending in a newline therefore has one more line than it has newlines (`"a\n"` has two,
/// line 2 being empty), and an empty file has one. Works on raw bytes, valid UTF-8 or not.
fn lines_of(b: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                lines.push(&b[start..i]);
                i += 2;
                start = i;
            }
            b'\r' | b'\n' => {
                lines.push(&b[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    lines.push(&b[start..]);
    lines
}

/// The line (as [`lines_of`] numbers them) that holds byte `offset`.
fn line_of_offset(b: &[u8], offset: usize) -> usize {
    let mut line = 1;
    let mut i = 0;
    while i < offset {
        match b[i] {
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                line += 1;
                i += 2;
            }
            b'\r' | b'\n' => {
                line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    line
}

#[derive(Default)]
struct Stats {
    sets: u64,
    files: u64,
    ok_sets: u64,
    ok_files: u64,
    not_utf8_files: u64,
    kinds: BTreeMap<DiagnosticKind, u64>,
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// The text a line of a diagnostic must contain, by kind: graph problems point at the
/// `revision:` or `down_revision:` line of the file they name.
fn expected_on_line(kind: DiagnosticKind) -> Option<&'static [u8]> {
    match kind {
        DiagnosticKind::NameMismatch | DiagnosticKind::DuplicateRevision | DiagnosticKind::UnmergedHeads => {
            Some(b"revision")
        }
        DiagnosticKind::DanglingParent | DiagnosticKind::Cycle => Some(b"down_revision"),
        _ => None,
    }
}

/// What the oracle knows of one input file, worked out once per file.
struct Facts<'a> {
    source: &'a Source,
    lines: Vec<&'a [u8]>,
    /// The line of the first byte that is not UTF-8, if any.
    first_bad_line: Option<usize>,
}

impl<'a> Facts<'a> {
    fn of(source: &'a Source) -> Self {
        let first_bad_line = std::str::from_utf8(&source.bytes)
            .err()
            .map(|e| line_of_offset(&source.bytes, e.valid_up_to()));
        Facts {
            source,
            lines: lines_of(&source.bytes),
            first_bad_line,
        }
    }
}

/// Checks that diagnostic `d`, placed in the file `f`, names a line that file has, holding what
/// its kind points at.
fn check_line(d: &Diagnostic, f: &Facts<'_>) -> Result<(), String> {
    let Some(line) = d.line else {
        return Ok(());
    };
    if line == 0 || line > f.lines.len() {
        return Err(format!(
            "diagnostic names line {line} but the file has {} line(s): {d:?}",
            f.lines.len()
        ));
    }
    if let Some(want) = expected_on_line(d.kind) {
        if !contains(f.lines[line - 1], want) {
            return Err(format!(
                "diagnostic points at line {line} = {:?}, which has no `{}`: {d:?}",
                String::from_utf8_lossy(f.lines[line - 1]),
                String::from_utf8_lossy(want)
            ));
        }
    }
    if d.kind == DiagnosticKind::NotUtf8 {
        match f.first_bad_line {
            None => return Err(format!("NotUtf8 on a valid UTF-8 file: {d:?}")),
            Some(want) if want != line => {
                return Err(format!(
                    "NotUtf8 names line {line}, but the first invalid byte is on line {want}: {d:?}"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A diagnostic as a hashable key.
type Key<'a> = (Option<&'a str>, Option<usize>, DiagnosticKind, &'a str, Option<&'a str>);

fn key(d: &Diagnostic) -> Key<'_> {
    (d.file.as_deref(), d.line, d.kind, &d.message, d.help.as_deref())
}

/// What a successful parse of `s` must satisfy.
fn check_parsed(f: &Facts<'_>, p: &ParsedFile) -> Result<(), String> {
    let (s, lines) = (f.source, &f.lines);
    let m = &p.migration;
    let at = |n: usize, want: &[u8], what: &str| -> Result<(), String> {
        match n.checked_sub(1).and_then(|i| lines.get(i)) {
            Some(l) if contains(l, want) => Ok(()),
            other => Err(format!("parsed {what} = {n} is {other:?}, not a line with it")),
        }
    };
    at(p.revision_line, b"revision", "revision_line")?;
    at(p.down_revision_line, b"down_revision", "down_revision_line")?;
    if !format::is_valid_revision(m.revision()) {
        return Err(format!("parsed an invalid revision id {:?}", m.revision()));
    }
    let name = s.path.rsplit('/').next().unwrap_or(&s.path);
    let rest = name.strip_prefix(m.revision());
    if !rest.is_some_and(|r| r.starts_with('_') || r == ".sql") {
        return Err(format!(
            "parsed revision {:?} does not match name {name:?}",
            m.revision()
        ));
    }
    let parents: Vec<&str> = m.down_revisions().collect();
    for (i, p) in parents.iter().enumerate() {
        if !format::is_valid_revision(p) || parents[..i].contains(p) {
            return Err(format!("parsed bad or repeated parent {p:?} in {parents:?}"));
        }
    }
    if m.file() != s.path {
        return Err(format!("parsed file {:?} for input {:?}", m.file(), s.path));
    }
    if m.upgrade_sql().trim() != m.upgrade_sql() {
        return Err("upgrade section not trimmed".into());
    }
    Ok(())
}

/// Runs both functions on one set and checks every invariant.
fn check(case: &[Source], stats: &mut Stats) -> Result<(), String> {
    stats.sets += 1;
    let facts: Vec<Facts<'_>> = case.iter().map(Facts::of).collect();
    let mut expected: Vec<Diagnostic> = Vec::new(); // what `parse` said of the UTF-8 files
    let mut all_parse = true;
    for f in &facts {
        let s = f.source;
        stats.files += 1;
        let text = String::from_utf8_lossy(&s.bytes);
        let utf8 = matches!(text, Cow::Borrowed(_));
        if !utf8 {
            stats.not_utf8_files += 1;
            all_parse = false;
        }
        let r = catch_unwind(AssertUnwindSafe(|| format::parse(&s.path, &text)))
            .map_err(|p| format!("format::parse panicked on {:?}: {}", s.path, panic_message(&*p)))?;
        match r {
            Ok(p) => {
                stats.ok_files += 1;
                check_parsed(f, &p).map_err(|e| format!("format::parse of {:?}: {e}", s.path))?;
            }
            Err(ds) => {
                all_parse = false;
                if ds.is_empty() {
                    return Err(format!(
                        "format::parse of {:?} returned Err with no diagnostics",
                        s.path
                    ));
                }
                for d in &ds {
                    if d.file.as_deref() != Some(s.path.as_str()) {
                        return Err(format!(
                            "format::parse of {:?} gave a diagnostic in {:?}",
                            s.path, d.file
                        ));
                    }
                    if d.line.is_none() {
                        return Err(format!("format::parse gave a diagnostic with no line: {d:?}"));
                    }
                    check_line(d, f).map_err(|e| format!("format::parse of {:?}: {e}", s.path))?;
                }
                if utf8 {
                    expected.extend(ds);
                }
            }
        }
    }

    let r = catch_unwind(AssertUnwindSafe(|| load::from_sources(case.to_vec())))
        .map_err(|p| format!("load::from_sources panicked: {}", panic_message(&*p)))?;
    match r {
        Ok(ms) => {
            stats.ok_sets += 1;
            if !all_parse {
                return Err("load::from_sources returned Ok though a file did not parse".into());
            }
            check_order(case, &ms).map_err(|e| format!("load::from_sources: {e}"))?;
        }
        Err(ds) => {
            if ds.is_empty() {
                return Err("load::from_sources returned Err with no diagnostics".into());
            }
            let mut not_utf8_named: Vec<&str> = Vec::new();
            for d in &ds {
                *stats.kinds.entry(d.kind).or_default() += 1;
                let Some(file) = d.file.as_deref() else {
                    if d.line.is_some() {
                        return Err(format!("diagnostic with a line but no file: {d:?}"));
                    }
                    continue;
                };
                if d.kind == DiagnosticKind::NotUtf8 {
                    not_utf8_named.push(file);
                }
                // Several inputs may share a path: the diagnostic must fit one of them.
                let checks: Vec<Result<(), String>> = facts
                    .iter()
                    .filter(|f| f.source.path == file)
                    .map(|f| check_line(d, f))
                    .collect();
                if checks.is_empty() {
                    return Err(format!("diagnostic names {file:?}, which is not an input: {d:?}"));
                }
                if !checks.iter().any(Result::is_ok) {
                    let why = checks.into_iter().find_map(Result::err).expect("none is Ok");
                    return Err(format!("load::from_sources: {why}"));
                }
            }
            let got: HashSet<Key<'_>> = ds.iter().map(key).collect();
            if let Some(e) = expected.iter().find(|e| !got.contains(&key(e))) {
                return Err(format!("load::from_sources dropped what format::parse reported: {e:?}"));
            }
            if let Some(f) = facts
                .iter()
                .find(|f| f.first_bad_line.is_some() && !not_utf8_named.contains(&f.source.path.as_str()))
            {
                return Err(format!("no NotUtf8 diagnostic for {:?}", f.source.path));
            }
        }
    }
    Ok(())
}

/// A loaded list: one migration per input, ids unique, every parent before its child.
fn check_order(case: &[Source], ms: &[Migration]) -> Result<(), String> {
    if ms.len() != case.len() {
        return Err(format!("{} migrations from {} files", ms.len(), case.len()));
    }
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, m) in ms.iter().enumerate() {
        if position.insert(m.revision(), i).is_some() {
            return Err(format!("revision {:?} twice", m.revision()));
        }
        if !case.iter().any(|s| s.path == m.file()) {
            return Err(format!("migration from {:?}, which is not an input", m.file()));
        }
    }
    // Any number of roots (bases), joined into the one head checked below.
    let roots = ms.iter().filter(|m| m.down_revisions().next().is_none()).count();
    if !ms.is_empty() && roots == 0 {
        return Err("no root".into());
    }
    for (i, m) in ms.iter().enumerate() {
        for p in m.down_revisions() {
            match position.get(p) {
                Some(&j) if j < i => {}
                other => {
                    return Err(format!(
                        "parent {p:?} of {:?} is at {other:?}, not before {i}",
                        m.revision()
                    ));
                }
            }
        }
    }
    let heads = ms
        .iter()
        .filter(|m| !ms.iter().any(|c| c.down_revisions().any(|p| p == m.revision())))
        .count();
    if !ms.is_empty() && heads != 1 {
        return Err(format!("{heads} heads"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reporting.

/// A case as Rust source, so a failure can be pasted into a unit test.
fn show(case: &[Source]) -> String {
    let mut out = format!("vec![ // {} file(s)\n", case.len());
    for s in case {
        out.push_str(&format!(
            "    Source {{ path: {:?}.into(), bytes: b\"{}\".to_vec() }}, // {} bytes\n",
            s.path,
            s.bytes.escape_ascii(),
            s.bytes.len()
        ));
    }
    out.push(']');
    out
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => {
            let v = v.trim().replace('_', "");
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// The seeds are what they claim: each valid folder loads, each broken one reports its kind,
/// and every one of them passes the oracle as written.
#[test]
fn seeds_are_what_they_claim() {
    let mut stats = Stats::default();
    for folder in seed_folders() {
        if let Err(why) = check(&folder.files, &mut stats) {
            panic!("seed folder {:?}: {why}\ninput: {}", folder.name, show(&folder.files));
        }
        let got = load::from_sources(folder.files.clone());
        match (folder.expect, &got) {
            (Expect::Valid, Ok(ms)) => assert_eq!(ms.len(), folder.files.len(), "{}", folder.name),
            (Expect::Broken(kind), Err(ds)) => assert!(ds.has(kind), "{}: want {kind:?}, got {ds:#?}", folder.name),
            _ => panic!(
                "seed folder {:?}: expected {:?}, got {got:#?}",
                folder.name, folder.expect
            ),
        }
    }
}

/// Mutated sets never panic either function and get diagnostics that point at real lines.
#[test]
fn mutated_files_never_panic_and_point_at_real_lines() {
    let seed = env_u64("MIGRATE_FUZZ_SEED", DEFAULT_SEED);
    let iterations = env_u64("MIGRATE_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let start = env_u64("MIGRATE_FUZZ_START", 0);
    let seeds = seed_folders();
    let pool: Vec<&Source> = seeds.iter().flat_map(|f| &f.files).collect();
    let toks = tokens();
    let mut stats = Stats::default();
    let began = Instant::now();
    for iteration in start..start.saturating_add(iterations) {
        let mut rng = Rng::for_iteration(seed, iteration);
        let case = generate(&mut rng, &seeds, &pool, &toks);
        if let Err(why) = check(&case, &mut stats) {
            panic!(
                "fuzz failure: {why}\n  seed {seed:#x}, iteration {iteration}\n  replay: MIGRATE_FUZZ_SEED={seed:#x} MIGRATE_FUZZ_START={iteration} MIGRATE_FUZZ_ITERATIONS=1 cargo test -p migrate-core --test fuzz -- --nocapture\n  input: {}",
                show(&case)
            );
        }
    }
    let secs = began.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: {} inputs (sets of 1-{MAX_FILES} files; {} files, {} not UTF-8) from seed {seed:#x}, iterations {start}..{}, in {secs:.1} s ({:.0} inputs/s); {} sets loaded Ok, {} files parsed Ok; diagnostics by kind: {:?}",
        stats.sets,
        stats.files,
        stats.not_utf8_files,
        start.saturating_add(iterations),
        stats.sets as f64 / secs.max(1e-9),
        stats.ok_sets,
        stats.ok_files,
        stats.kinds
    );
    // A mutator mix that drifted (say, one that always breaks the header) would still pass the
    // invariants while testing less: check the run reached every outcome it can reach.
    // (`NoRoot` is not listed: `graph` reports a cycle whenever no revision is a root.)
    if iterations >= COVERAGE_MIN_ITERATIONS {
        use DiagnosticKind as K;
        for kind in [
            K::NotUtf8,
            K::BadHeader,
            K::MissingUpgrade,
            K::NameMismatch,
            K::DuplicateRevision,
            K::DanglingParent,
            K::Cycle,
            K::UnmergedHeads,
        ] {
            assert!(
                stats.kinds.contains_key(&kind),
                "no input produced {kind:?}: {:?}",
                stats.kinds
            );
        }
        assert!(
            stats.ok_sets * 50 >= stats.sets,
            "under 2% of sets loaded Ok ({} of {}): the mutations are too destructive",
            stats.ok_sets,
            stats.sets
        );
    }
}
