//! The file format: body, then (version 2) a CRC32C per block of the
//! body, then a JSON metadata footer, then a fixed trailer that says where
//! each part lies.
//!
//! Version 2, what this server writes (`.data`, and `.meta`/`.ts` with an
//! empty body and table):
//!
//! ```text
//! +-----------------+-----------------------+----------------+------------------------+
//! | body            | block table           | metadata: JSON | trailer (32 bytes)     |
//! | body_len bytes  | u32 LE CRC32C a block | json_len bytes |                        |
//! +-----------------+-----------------------+----------------+------------------------+
//! 0                 body_len                                  file_len - 32   file_len
//!
//! trailer: body_len u64 LE | block_size u32 LE | json_len u32 LE |
//!          json_crc u32 LE | trailer_crc u32 LE | "SWLTMD02"
//! ```
//!
//! The body is cut in blocks of `block_size` bytes ([`BLOCK_SIZE`], 64 KiB,
//! when written here; the last block may be shorter), and the table holds
//! the CRC32C of each, `ceil(body_len / block_size)` entries. `json_crc` is
//! the CRC32C of the JSON and `trailer_crc` that of the trailer's first 20
//! bytes, so a rotten byte anywhere in the footer is found when the file is
//! opened, and one in the body (or its table entry) when its block is read.
//! A reader reads the end of the file, checks the magic and `trailer_crc`,
//! and requires `file_len == body_len + 4 * blocks + json_len + 32`
//! ([`layout`]); a data file's `Content-Length` must also be `body_len`.
//! The block size is in the file, so it can change without a new version.
//!
//! Version 1, written before: no table, a 16-byte trailer, and the body
//! length derived from the others; still read (a full read checks the body
//! against the metadata's `Crc32c`, or its MD5 against the `ETag`).
//!
//! ```text
//! +----------------------+-----------------------+------------------------------+
//! | body (Content-Length)| metadata: JSON object | json_len: u64 LE | "SWLTMD01" |
//! +----------------------+-----------------------+------------------------------+
//! 0                      body_len                 file_len - 16        file_len
//! ```
//!
//! The body streams to disk as it arrives and a read of the body starts at
//! offset 0; the table and the metadata go last, when they are known (the
//! ETag is only known at the end). Metadata values are strings (Swift's
//! metadata dict); there is no limit on their number or size but the
//! file's, so 90 items and 1024-byte names work on any filesystem (no
//! xattrs).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Swift's metadata: header-like names to string values.
pub type Metadata = BTreeMap<String, String>;

/// Version 1's magic (the last 8 bytes of the file).
pub const MAGIC: &[u8; 8] = b"SWLTMD01";
/// Version 2's magic.
pub const MAGIC_V2: &[u8; 8] = b"SWLTMD02";
/// Version 1's trailer: `json_len` and the magic.
pub const TRAILER_LEN: u64 = 16;
/// Version 2's trailer (see the module docs).
pub const TRAILER_LEN_V2: u64 = 32;
/// Footers larger than this are taken for corruption.
pub const MAX_FOOTER: u64 = 16 << 20;
/// Body bytes per checksummed block in the files written here.
pub const BLOCK_SIZE: u64 = 64 << 10;
/// The block sizes a file may give: powers of two in this range (a reader
/// holds a block in memory).
pub const MIN_BLOCK_SIZE: u64 = 512;
pub const MAX_BLOCK_SIZE: u64 = 16 << 20;
/// Bytes per block table entry (a CRC32C, u32 LE).
pub const ENTRY_LEN: u64 = 4;

/// A file format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `SWLTMD01`: no block table.
    V1,
    /// `SWLTMD02`: a CRC32C per block, checksummed footer.
    V2,
}

/// Where the parts of a file lie, read from its trailer ([`layout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub version: Version,
    pub body_len: u64,
    /// Body bytes per block (version 2; 0 in version 1: no table).
    pub block_size: u64,
    pub json_len: u64,
    /// The CRC32C of the JSON (version 2).
    pub json_crc: Option<u32>,
}

impl Layout {
    /// Blocks of the body, entries of the table.
    pub fn blocks(&self) -> u64 {
        blocks(self.body_len, self.block_size)
    }

    /// The table starts right after the body.
    pub fn table_offset(&self) -> u64 {
        self.body_len
    }

    pub fn table_len(&self) -> u64 {
        self.blocks() * ENTRY_LEN
    }

    pub fn json_offset(&self) -> u64 {
        self.body_len + self.table_len()
    }

    pub fn trailer_len(&self) -> u64 {
        match self.version {
            Version::V1 => TRAILER_LEN,
            Version::V2 => TRAILER_LEN_V2,
        }
    }

    /// Checks the JSON against its CRC32C (version 2) and parses it.
    pub fn metadata(&self, json: &[u8]) -> Result<Metadata, String> {
        if let Some(want) = self.json_crc {
            let got = crc32c::crc32c(json);
            if got != want {
                return Err(format!("metadata CRC32C {got:08x} does not match the trailer's {want:08x}"));
            }
        }
        parse_metadata(json)
    }
}

/// Blocks of `block_size` bytes (the last maybe shorter) in a body of
/// `body_len` bytes: `ceil(body_len / block_size)`; none without a block
/// size (version 1).
pub fn blocks(body_len: u64, block_size: u64) -> u64 {
    if block_size == 0 {
        0
    } else {
        body_len.div_ceil(block_size)
    }
}

/// The version-1 footer to append after a body: JSON and the 16-byte
/// trailer. Files written here are version 2 ([`footer_v2`]); this is for
/// tests and tools that need an old file.
pub fn footer(meta: &Metadata) -> Vec<u8> {
    let mut out = serde_json::to_vec(meta).unwrap_or_else(|_| b"{}".to_vec());
    let json_len = out.len() as u64;
    out.extend_from_slice(&json_len.to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
}

/// The version-2 footer to append after a body of `body_len` bytes: its
/// block `table` (given, and returned extended: see [`BlockSums`]), the
/// JSON and the trailer. A file without a body passes an empty table.
pub fn footer_v2(mut table: Vec<u8>, meta: &Metadata, body_len: u64, block_size: u64) -> Vec<u8> {
    debug_assert_eq!(table.len() as u64, blocks(body_len, block_size) * ENTRY_LEN);
    let start = table.len();
    if serde_json::to_writer(&mut table, meta).is_err() {
        table.truncate(start);
        table.extend_from_slice(b"{}");
    }
    let json = &table[start..];
    let (json_len, json_crc) = (json.len() as u32, crc32c::crc32c(json));
    let mut trailer = [0u8; TRAILER_LEN_V2 as usize];
    trailer[..8].copy_from_slice(&body_len.to_le_bytes());
    trailer[8..12].copy_from_slice(&(block_size as u32).to_le_bytes());
    trailer[12..16].copy_from_slice(&json_len.to_le_bytes());
    trailer[16..20].copy_from_slice(&json_crc.to_le_bytes());
    let trailer_crc = crc32c::crc32c(&trailer[..20]);
    trailer[20..24].copy_from_slice(&trailer_crc.to_le_bytes());
    trailer[24..].copy_from_slice(MAGIC_V2);
    table.extend_from_slice(&trailer);
    table
}

/// Parses the JSON footer. Values holding CR, LF or NUL would split a
/// response: they are corruption. The one exception is `name`, the
/// object's own path, which is never sent as a header: an object name may
/// hold CR and LF (Swift allows them; only NUL is refused, at routing).
pub fn parse_metadata(json: &[u8]) -> Result<Metadata, String> {
    let map: Metadata =
        serde_json::from_slice(json).map_err(|e| format!("metadata is not a JSON object of strings: {e}"))?;
    for (k, v) in &map {
        let bad_value = if k == "name" { v.contains('\0') } else { v.contains(['\r', '\n', '\0']) };
        if k.is_empty() || k.contains(['\r', '\n', '\0', ':']) || bad_value {
            return Err(format!("metadata {k:?} holds a forbidden character"));
        }
    }
    Ok(map)
}

/// The length of the JSON before a version-1 trailer that ends a file of
/// `file_len` bytes; `Err` is a reason to quarantine (or another version:
/// see [`layout`]).
pub fn json_len(trailer: &[u8], file_len: u64) -> Result<u64, String> {
    if file_len < TRAILER_LEN || trailer.len() != TRAILER_LEN as usize {
        return Err(format!("file of {file_len} bytes has no trailer"));
    }
    if &trailer[8..] != MAGIC {
        return Err("bad trailer magic".into());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&trailer[..8]);
    let json_len = u64::from_le_bytes(len);
    if json_len > MAX_FOOTER || json_len > file_len - TRAILER_LEN {
        return Err(format!("metadata length {json_len} does not fit the file"));
    }
    Ok(json_len)
}

fn le32(b: &[u8]) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[..4]);
    u32::from_le_bytes(x)
}

/// The layout of a file of `file_len` bytes from `end`, its last bytes (at
/// least [`TRAILER_LEN_V2`] of them, or the whole file if shorter). `Err`
/// is a reason to quarantine: no known magic, a trailer whose checksum
/// fails, parts that do not add up to the file.
pub fn layout(end: &[u8], file_len: u64) -> Result<Layout, String> {
    if end.len() as u64 > file_len || end.len() < 8 {
        return Err(format!("file of {file_len} bytes has no trailer"));
    }
    let magic = &end[end.len() - 8..];
    if magic == MAGIC {
        let json_len = json_len(&end[end.len().saturating_sub(TRAILER_LEN as usize)..], file_len)?;
        let body_len = file_len - TRAILER_LEN - json_len;
        return Ok(Layout { version: Version::V1, body_len, block_size: 0, json_len, json_crc: None });
    }
    if magic != MAGIC_V2 {
        return Err("bad trailer magic".into());
    }
    if end.len() < TRAILER_LEN_V2 as usize {
        return Err(format!("file of {file_len} bytes has no trailer"));
    }
    let t = &end[end.len() - TRAILER_LEN_V2 as usize..];
    let (want, got) = (le32(&t[20..24]), crc32c::crc32c(&t[..20]));
    if want != got {
        return Err(format!("trailer CRC32C {got:08x} does not match its {want:08x}"));
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&t[..8]);
    let body_len = u64::from_le_bytes(b);
    let block_size = u64::from(le32(&t[8..12]));
    let json_len = u64::from(le32(&t[12..16]));
    if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(format!("block size {block_size} is not a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"));
    }
    if json_len > MAX_FOOTER {
        return Err(format!("metadata length {json_len} is over {MAX_FOOTER}"));
    }
    let l = Layout { version: Version::V2, body_len, block_size, json_len, json_crc: Some(le32(&t[16..20])) };
    // In u128: no sum of these overflows.
    let parts = u128::from(body_len)
        + u128::from(l.blocks()) * u128::from(ENTRY_LEN)
        + u128::from(json_len)
        + u128::from(TRAILER_LEN_V2);
    if parts != u128::from(file_len) {
        return Err(format!(
            "body of {body_len} bytes, {} table entries, {json_len} bytes of metadata and the trailer do not make a \
             file of {file_len} bytes",
            l.blocks()
        ));
    }
    Ok(l)
}

/// Parses a whole file held in memory: its metadata and layout (the block
/// table is `file[l.table_offset()..l.json_offset()]`).
pub fn parse_whole(file: &[u8]) -> Result<(Metadata, Layout), String> {
    let file_len = file.len() as u64;
    let end = &file[file.len().saturating_sub(TRAILER_LEN_V2 as usize)..];
    let l = layout(end, file_len)?;
    let json = &file[l.json_offset() as usize..(file_len - l.trailer_len()) as usize];
    Ok((l.metadata(json)?, l))
}

/// Parses a whole file held in memory: its metadata and body length.
pub fn parse_file(file: &[u8]) -> Result<(Metadata, u64), String> {
    parse_whole(file).map(|(meta, l)| (meta, l.body_len))
}

/// Table entry `i` of `entries` (the CRC32C it holds).
pub fn entry(entries: &[u8], i: usize) -> Option<u32> {
    entries.get(i * ENTRY_LEN as usize..(i + 1) * ENTRY_LEN as usize).map(le32)
}

/// Checks `data`, whole blocks of a body from block `first` on (the last
/// may be the body's shorter last block), against their table `entries`
/// (the first for block `first`). `Err` names the first bad block.
pub fn check_blocks(data: &[u8], first: u64, entries: &[u8], block_size: u64) -> Result<(), String> {
    for (i, block) in data.chunks(block_size as usize).enumerate() {
        let got = crc32c::crc32c(block);
        check_block(first + i as u64, got, entry(entries, i), block_size)?;
    }
    Ok(())
}

/// One block's check: its CRC32C `got` against the table's `want`.
pub fn check_block(index: u64, got: u32, want: Option<u32>, block_size: u64) -> Result<(), String> {
    match want {
        Some(want) if want == got => Ok(()),
        Some(want) => Err(format!(
            "block {index} (body bytes from {}) has CRC32C {got:08x}, its table entry {want:08x}",
            index * block_size
        )),
        None => Err(format!("no table entry for block {index}")),
    }
}

/// `x` as CRC32C would be after `len` more zero bytes, precomputed for one
/// length: combining a block's CRC into a running one costs a few
/// nanoseconds instead of a `crc32c_combine` (tens of GF(2) matrix
/// squarings, microseconds).
#[derive(Clone, Debug)]
pub struct Shift([u32; 32]);

impl Shift {
    pub fn new(len: u64) -> Shift {
        let mut basis = [0u32; 32];
        for (i, b) in basis.iter_mut().enumerate() {
            *b = crc32c::crc32c_combine(1 << i, 0, len as usize);
        }
        Shift(basis)
    }

    /// The shift for [`BLOCK_SIZE`], made once.
    pub fn block() -> &'static Shift {
        static SHIFT: OnceLock<Shift> = OnceLock::new();
        SHIFT.get_or_init(|| Shift::new(BLOCK_SIZE))
    }

    /// The shift for `len` bytes ([`Shift::block`]'s when it is that).
    pub fn for_len(len: u64) -> std::borrow::Cow<'static, Shift> {
        if len == BLOCK_SIZE {
            std::borrow::Cow::Borrowed(Shift::block())
        } else {
            std::borrow::Cow::Owned(Shift::new(len))
        }
    }

    /// The CRC32C of `a || b` from `crc(a)` and `crc(b)`, `b` being the
    /// length this shift was made for.
    pub fn combine(&self, crc_a: u32, crc_b: u32) -> u32 {
        let mut out = crc_b;
        let mut x = crc_a;
        let mut i = 0;
        while x != 0 {
            if x & 1 != 0 {
                out ^= self.0[i];
            }
            x >>= 1;
            i += 1;
        }
        out
    }
}

/// The block table of a body as it streams, and its whole CRC32C.
#[derive(Clone, Debug)]
pub struct BlockSums {
    block_size: u64,
    shift: std::borrow::Cow<'static, Shift>,
    /// Entries of the blocks completed.
    table: Vec<u8>,
    /// CRC32C of the completed blocks, and of the block being filled.
    done: u32,
    current: u32,
    /// Bytes in the block being filled.
    fill: u64,
}

impl BlockSums {
    pub fn new(block_size: u64) -> BlockSums {
        let shift = Shift::for_len(block_size);
        BlockSums { block_size, shift, table: Vec::new(), done: 0, current: 0, fill: 0 }
    }

    /// Adds body bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = ((self.block_size - self.fill) as usize).min(data.len());
            self.current = crc32c::crc32c_append(self.current, &data[..n]);
            self.fill += n as u64;
            data = &data[n..];
            if self.fill == self.block_size {
                self.table.extend_from_slice(&self.current.to_le_bytes());
                self.done = self.shift.combine(self.done, self.current);
                self.current = 0;
                self.fill = 0;
            }
        }
    }

    /// The CRC32C of every byte added.
    pub fn crc32c(&self) -> u32 {
        if self.done == 0 {
            // Nothing before the current block (or a CRC of 0, which
            // shifts to 0): no combine needed.
            return self.current;
        }
        crc32c::crc32c_combine(self.done, self.current, self.fill as usize)
    }

    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// The table: an entry per block, the last one maybe partial.
    pub fn into_table(mut self) -> Vec<u8> {
        if self.fill > 0 {
            self.table.extend_from_slice(&self.current.to_le_bytes());
        }
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_90_items_and_long_names() {
        let mut meta = Metadata::new();
        meta.insert("name".into(), format!("/a/c/{}", "\u{2603}".repeat(341) + "o"));
        meta.insert("X-Timestamp".into(), "1700000000.00000".into());
        for i in 0..90 {
            meta.insert(format!("X-Object-Meta-Item{i:02}"), format!("value {i} \u{e9}\"quoted\"\\"));
        }
        let mut file = vec![7u8; 5000];
        file.extend_from_slice(&footer(&meta));
        let (back, body_len) = parse_file(&file).unwrap();
        assert_eq!(body_len, 5000);
        assert_eq!(back, meta);
        assert!(back["name"].len() > 1024);
        let trailer = &file[file.len() - 16..];
        assert_eq!(json_len(trailer, file.len() as u64).unwrap(), file.len() as u64 - 5016);
        // The same in version 2.
        let body = vec![7u8; 5000];
        let file = v2_file(&body, &meta, BLOCK_SIZE);
        let (back, l) = parse_whole(&file).unwrap();
        assert_eq!((back, l.body_len, l.blocks(), l.version), (meta, 5000, 1, Version::V2));
    }

    #[test]
    fn corrupt_footers_are_reasons_not_panics() {
        assert!(parse_file(b"short").is_err());
        assert!(parse_file(b"").is_err());
        let mut bad = b"body".to_vec();
        bad.extend_from_slice(&footer(&Metadata::new()));
        assert!(parse_file(&bad).is_ok());
        let n = bad.len();
        bad[n - 1] = b'X';
        assert!(parse_file(&bad).is_err());
        // A JSON length beyond the file, or over the cap.
        let mut long = footer(&Metadata::new());
        let n = long.len();
        long[n - 16..n - 8].copy_from_slice(&100u64.to_le_bytes());
        assert!(parse_file(&long).is_err());
        long[n - 16..n - 8].copy_from_slice(&(MAX_FOOTER + 1).to_le_bytes());
        assert!(json_len(&long[n - 16..], u64::MAX).is_err());
        assert!(parse_metadata(b"{\"a\": \"x\\r\\nInjected: 1\"}").is_err());
        // An object's own name may hold CR and LF: it is never a header.
        let named = parse_metadata(b"{\"name\": \"/a/c/line\\r\\nbreak\"}").unwrap();
        assert_eq!(named["name"], "/a/c/line\r\nbreak");
        assert!(parse_metadata(b"{\"name\": \"/a/c/nul\\u0000\"}").is_err());
        assert!(parse_metadata(b"[1]").is_err());
        assert!(parse_metadata(b"{\"a\": 1}").is_err());
    }

    fn v2_file(body: &[u8], meta: &Metadata, block_size: u64) -> Vec<u8> {
        let mut sums = BlockSums::new(block_size);
        sums.update(body);
        let mut file = body.to_vec();
        file.extend_from_slice(&footer_v2(sums.into_table(), meta, body.len() as u64, block_size));
        file
    }

    fn meta() -> Metadata {
        let mut m = Metadata::new();
        m.insert("name".into(), "/a/c/o".into());
        m.insert("X-Object-Meta-Color".into(), "blue".into());
        m
    }

    #[test]
    fn block_math_at_the_edges() {
        let b = BLOCK_SIZE;
        for (len, want) in [(0, 0), (1, 1), (b - 1, 1), (b, 1), (b + 1, 2), (2 * b, 2), (10 * b + 7, 11)] {
            assert_eq!(blocks(len, b), want, "{len}");
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let file = v2_file(&body, &meta(), b);
            let (m, l) = parse_whole(&file).unwrap();
            assert_eq!((m, l.body_len, l.block_size, l.blocks()), (meta(), len, b, want));
            assert_eq!(l.table_len(), want * 4);
            let table = &file[l.table_offset() as usize..l.json_offset() as usize];
            check_blocks(&body, 0, table, b).unwrap();
            // Each entry is its block's CRC32C; the last one covers the rest.
            for (i, block) in body.chunks(b as usize).enumerate() {
                assert_eq!(entry(table, i), Some(crc32c::crc32c(block)));
            }
            assert_eq!(entry(table, want as usize), None);
            // From the middle: blocks from k on against entries from k on.
            if want > 1 {
                check_blocks(&body[b as usize..], 1, &table[4..], b).unwrap();
            }
        }
        assert_eq!(blocks(100, 0), 0);
    }

    #[test]
    fn block_sums_give_the_whole_crc_however_the_body_is_cut() {
        for block_size in [512, 4096, BLOCK_SIZE] {
            let body: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            for piece in [1, 7, 511, 512, 513, 65536, 100_000, 300_000] {
                let mut sums = BlockSums::new(block_size);
                let mut fed = 0;
                for p in body.chunks(piece).take(if piece == 1 { 3000 } else { usize::MAX }) {
                    sums.update(p);
                    fed += p.len();
                }
                assert_eq!(sums.crc32c(), crc32c::crc32c(&body[..fed]), "{block_size} {piece}");
                let table = sums.into_table();
                assert_eq!(table.len() as u64, blocks(fed as u64, block_size) * 4);
                check_blocks(&body[..fed], 0, &table, block_size).unwrap();
            }
        }
        let empty = BlockSums::new(BLOCK_SIZE);
        assert_eq!(empty.crc32c(), 0);
        assert!(empty.into_table().is_empty());
        let s = Shift::new(10);
        assert_eq!(s.combine(crc32c::crc32c(b"abc"), crc32c::crc32c(b"0123456789")), crc32c::crc32c(b"abc0123456789"));
    }

    #[test]
    fn version_1_files_still_parse() {
        let mut file = b"old body".to_vec();
        file.extend_from_slice(&footer(&meta()));
        let (m, l) = parse_whole(&file).unwrap();
        assert_eq!((m, l.version, l.body_len, l.blocks(), l.json_crc), (meta(), Version::V1, 8, 0, None));
        assert_eq!(l.trailer_len(), 16);
        assert_eq!(l.json_offset(), 8);
    }

    #[test]
    fn any_flipped_byte_of_a_v2_footer_is_found() {
        let body = vec![3u8; 70_000];
        let good = v2_file(&body, &meta(), BLOCK_SIZE);
        let (_, l) = parse_whole(&good).unwrap();
        // Every byte of the JSON and the trailer: the open fails.
        for i in l.json_offset() as usize..good.len() {
            for bit in [0x01, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= bit;
                assert!(parse_whole(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
        // A table byte or a body byte: the open passes, the block check fails.
        for i in [0, 65_535, 65_536, 69_999, 70_000, 70_004, 70_007] {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            let (_, l) = parse_whole(&bad).unwrap();
            let table = &bad[l.table_offset() as usize..l.json_offset() as usize];
            let err = check_blocks(&bad[..70_000], 0, table, BLOCK_SIZE).unwrap_err();
            let block = if i < 70_000 { i / 65_536 } else { (i - 70_000) / 4 };
            assert!(err.starts_with(&format!("block {block} ")), "{i}: {err}");
        }
        // Truncated or extended: the parts no longer add up.
        assert!(parse_whole(&good[1..]).is_err());
        let mut longer = vec![0u8];
        longer.extend_from_slice(&good);
        assert!(parse_whole(&longer).is_err());
        // A file that is only a trailer, and one shorter than a trailer.
        assert!(parse_whole(&good[good.len() - 32..]).is_err());
        assert!(parse_whole(&good[good.len() - 20..]).is_err());
    }

    #[test]
    fn block_sizes_must_be_sane() {
        for bs in [0u64, 1, 511, 1000, 32 << 20] {
            // Refused even though the trailer's CRC32C matches.
            assert!(parse_whole(&footer_v2(Vec::new(), &meta(), 0, bs)).is_err(), "{bs}");
        }
        for bs in [512, 4096, BLOCK_SIZE, 16 << 20] {
            let body = vec![1u8; 5000];
            let (_, l) = parse_whole(&v2_file(&body, &meta(), bs)).unwrap();
            assert_eq!((l.block_size, l.blocks()), (bs, blocks(5000, bs)));
        }
        // A marker (.meta, .ts): no body, no table.
        let marker = footer_v2(Vec::new(), &meta(), 0, BLOCK_SIZE);
        assert_eq!(parse_file(&marker).unwrap(), (meta(), 0));
    }
}
