//! Bytes made from a snapshot's rows, kept with that snapshot so that the next query reading
//! the same rows copies them instead of making them again.
//!
//! The wire crate keeps the DataRow bodies of whole rows here: a full fetch of the table then
//! copies each row's bytes instead of printing its nineteen values (timestamps among them)
//! again. The memo is filled lazily, [`CHUNK_ROWS`] rows at a time, by whoever reads those rows
//! first, and it lives and dies with its snapshot: a refresh publishes a snapshot with an empty
//! memo, and the old one's memory goes with the old snapshot.
//!
//! What the bytes mean is the filler's business, named by a *kind* (the wire crate's column
//! formats): the first chunk kept fixes the kind, and a reader of another kind finds nothing
//! and keeps nothing. The bytes kept are bounded by [`MEMO_BUDGET`] per snapshot.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows per memo chunk.
pub const CHUNK_ROWS: usize = 256;

/// The most bytes one snapshot's memo keeps (past it, rows are made afresh each time).
pub const MEMO_BUDGET: usize = 1 << 30;

/// One chunk's bytes: the rows one after another, and where each ends.
#[derive(Debug)]
pub struct MemoChunk {
    bytes: Box<[u8]>,
    /// The end of each row in `bytes`, in row order.
    ends: Box<[u32]>,
}

impl MemoChunk {
    /// A chunk of rows laid out one after another in `bytes`, row `i` ending at `ends[i]`;
    /// `None` when the ends do not ascend within `bytes`.
    pub fn new(bytes: Box<[u8]>, ends: Box<[u32]>) -> Option<MemoChunk> {
        let ascending = ends.windows(2).all(|w| w[0] <= w[1]);
        let within = ends.last().is_none_or(|&e| e as usize <= bytes.len());
        (ascending && within).then_some(MemoChunk { bytes, ends })
    }

    /// Rows in the chunk.
    pub fn rows(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of rows `rows` (a range within the chunk), and where each of them ends,
    /// counted from the start of the returned bytes.
    pub fn rows_bytes(&self, rows: std::ops::Range<usize>) -> (&[u8], impl Iterator<Item = usize>) {
        let start = match rows.start {
            0 => 0,
            r => self.ends[r - 1] as usize,
        };
        let end = match rows.end {
            0 => 0,
            r => self.ends[r - 1] as usize,
        };
        let ends = self.ends[rows].iter().map(move |&e| e as usize - start);
        (&self.bytes[start..end], ends)
    }
}

/// The memo of one snapshot: one slot per [`CHUNK_ROWS`] rows.
#[derive(Debug)]
pub struct RowMemo {
    kind: OnceLock<Box<[u8]>>,
    chunks: Box<[OnceLock<MemoChunk>]>,
    kept: AtomicUsize,
}

impl RowMemo {
    /// An empty memo for `rows` rows.
    pub fn new(rows: usize) -> RowMemo {
        RowMemo {
            kind: OnceLock::new(),
            chunks: (0..rows.div_ceil(CHUNK_ROWS))
                .map(|_| OnceLock::new())
                .collect(),
            kept: AtomicUsize::new(0),
        }
    }

    /// Chunk `index` (rows `index * CHUNK_ROWS ..`) if it was kept for `kind`.
    pub fn chunk(&self, kind: &[u8], index: usize) -> Option<&MemoChunk> {
        if self.kind.get().map(|k| &**k) != Some(kind) {
            return None;
        }
        self.chunks.get(index)?.get()
    }

    /// Keeps `chunk` as chunk `index` for `kind` and returns what is kept there, unless the
    /// memo holds another kind, the budget is spent or `index` is out of range. Two readers
    /// racing to keep one chunk both made the same bytes; the first is kept.
    pub fn keep(&self, kind: &[u8], index: usize, chunk: MemoChunk) -> Option<&MemoChunk> {
        let slot = self.chunks.get(index)?;
        if &**self.kind.get_or_init(|| kind.into()) != kind {
            return None;
        }
        let size = chunk.bytes.len() + 4 * chunk.ends.len();
        let before = self.kept.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) > MEMO_BUDGET {
            self.kept.fetch_sub(size, Ordering::Relaxed);
            return None;
        }
        if let Err(lost) = slot.set(chunk) {
            self.kept.fetch_sub(size, Ordering::Relaxed);
            drop(lost);
        }
        slot.get()
    }

    /// Bytes kept.
    pub fn kept_bytes(&self) -> usize {
        self.kept.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(rows: &[&str]) -> MemoChunk {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for r in rows {
            bytes.extend_from_slice(r.as_bytes());
            ends.push(bytes.len() as u32);
        }
        MemoChunk::new(bytes.into(), ends.into()).expect("ascending ends")
    }

    #[test]
    fn a_chunk_hands_back_any_run_of_its_rows() {
        let c = chunk(&["ab", "", "cde", "f"]);
        assert_eq!(c.rows(), 4);
        let (bytes, ends) = c.rows_bytes(1..3);
        assert_eq!(bytes, b"cde");
        assert_eq!(ends.collect::<Vec<_>>(), vec![0, 3]);
        let (bytes, ends) = c.rows_bytes(0..4);
        assert_eq!(bytes, b"abcdef");
        assert_eq!(ends.collect::<Vec<_>>(), vec![2, 2, 5, 6]);
        let (bytes, ends) = c.rows_bytes(2..2);
        assert!(bytes.is_empty());
        assert_eq!(ends.count(), 0);
        assert!(MemoChunk::new(b"ab".to_vec().into(), vec![2, 1].into()).is_none());
        assert!(MemoChunk::new(b"ab".to_vec().into(), vec![3].into()).is_none());
    }

    #[test]
    fn a_memo_keeps_one_kind_and_one_chunk_per_slot() {
        let memo = RowMemo::new(CHUNK_ROWS + 1);
        assert!(memo.chunk(b"text", 0).is_none());
        let kept = memo.keep(b"text", 1, chunk(&["x"])).expect("kept");
        assert_eq!(kept.rows_bytes(0..1).0, b"x");
        // The first chunk kept wins; the kind is fixed.
        let again = memo.keep(b"text", 1, chunk(&["y"])).expect("the first");
        assert_eq!(again.rows_bytes(0..1).0, b"x");
        assert_eq!(memo.kept_bytes(), 1 + 4);
        assert!(memo.keep(b"binary", 0, chunk(&["z"])).is_none());
        assert!(memo.chunk(b"binary", 1).is_none());
        assert!(
            memo.keep(b"text", 2, chunk(&["z"])).is_none(),
            "out of range"
        );
        assert!(memo.chunk(b"text", 0).is_none());
        assert_eq!(memo.chunk(b"text", 1).map(|c| c.rows()), Some(1));
    }
}
